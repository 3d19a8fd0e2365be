//! CIDR arithmetic (`cidrhost`, `cidrsubnet`, `cidrsubnets`, `cidrnetmask`), with addresses as
//! integers so IPv4 and IPv6 share one implementation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Call, FuncError};
use crate::lang::value::Value;

/// A network: its first address, the address width in bits (32 or 128), and the prefix length.
#[derive(Clone, Copy)]
struct Net {
    base: u128,
    width: u32,
    prefix: u32,
}

impl Net {
    fn size_bits(&self) -> u32 {
        self.width - self.prefix
    }

    fn last(&self) -> u128 {
        if self.size_bits() >= 128 {
            u128::MAX
        } else {
            self.base + (block(self.size_bits()) - 1)
        }
    }

    fn address(&self, n: u128) -> String {
        if self.width == 32 {
            Ipv4Addr::from(n as u32).to_string()
        } else {
            Ipv6Addr::from(n).to_string()
        }
    }

    fn cidr(&self) -> String {
        format!("{}/{}", self.address(self.base), self.prefix)
    }
}

/// Addresses in a block of `bits` host bits; the whole IPv6 space (2^128) does not fit, so it
/// reports u128::MAX, which callers only use for bounds checks.
fn block(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        1u128 << bits
    }
}

fn parse(c: &Call, i: usize) -> Result<Net, FuncError> {
    let text = c.str(i);
    let net: ipnet::IpNet = text
        .parse()
        .map_err(|_| c.err(i, format!("invalid CIDR expression: invalid CIDR address: {}", c.shown(i, text))))?;
    Ok(match net.network() {
        IpAddr::V4(a) => Net { base: u32::from(a) as u128, width: 32, prefix: net.prefix_len() as u32 },
        IpAddr::V6(a) => Net { base: u128::from(a), width: 128, prefix: net.prefix_len() as u32 },
    })
}

pub fn cidrhost(c: &Call) -> Result<Value, FuncError> {
    let net = parse(c, 0)?;
    let hostnum = c.int(1)?;
    let hosts = block(net.size_bits());
    let offset: Option<u128> = if hostnum >= 0 {
        Some(hostnum as u128).filter(|h| net.size_bits() >= 128 || *h < hosts)
    } else {
        let back = hostnum.unsigned_abs() as u128;
        (net.size_bits() >= 128 || back <= hosts).then(|| hosts.wrapping_sub(back))
    };
    let Some(offset) = offset else {
        return Err(c.err(1, format!("prefix of {} does not accommodate a host numbered {hostnum}", net.prefix)));
    };
    Ok(Value::String(net.address(net.base.wrapping_add(offset))))
}

pub fn cidrnetmask(c: &Call) -> Result<Value, FuncError> {
    let net = parse(c, 0)?;
    if net.width != 32 {
        return Err(c.err(0, format!("IPv6 addresses cannot have a netmask: {}", c.shown(0, c.str(0)))));
    }
    let mask: u32 = if net.prefix == 0 { 0 } else { u32::MAX << (32 - net.prefix) };
    Ok(Value::String(Ipv4Addr::from(mask).to_string()))
}

fn subnet(
    c: &Call,
    net: Net,
    newbits: i64,
    netnum: i64,
    newbits_arg: usize,
    netnum_arg: usize,
) -> Result<Net, FuncError> {
    if newbits < 0 {
        return Err(c.err(newbits_arg, "must not be negative"));
    }
    // Compared before narrowing: a cast of 4294967295 to u32 would wrap the new prefix around
    // to a shorter one and return a larger network than the one given.
    let newbits = match u32::try_from(newbits) {
        Ok(bits) if bits <= net.size_bits() => bits,
        _ => {
            return Err(c.err(
                newbits_arg,
                format!("insufficient address space to extend prefix of {} by {newbits}", net.prefix),
            ))
        }
    };
    if netnum < 0 || (newbits < 64 && (netnum as u128) >= (1u128 << newbits)) {
        return Err(c.err(
            netnum_arg,
            format!("prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"),
        ));
    }
    let prefix = net.prefix + newbits;
    let shift = net.width - prefix;
    let offset = if shift >= 128 { 0 } else { (netnum as u128) << shift };
    let Some(base) = net.base.checked_add(offset) else {
        return Err(c.err(
            netnum_arg,
            format!("prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"),
        ));
    };
    Ok(Net { base, width: net.width, prefix })
}

pub fn cidrsubnet(c: &Call) -> Result<Value, FuncError> {
    let net = parse(c, 0)?;
    let sub = subnet(c, net, c.int(1)?, c.int(2)?, 1, 2)?;
    Ok(Value::String(sub.cidr()))
}

/// Allocates consecutive subnets, each aligned to its own size, as Terraform's `cidrsubnets`.
pub fn cidrsubnets(c: &Call) -> Result<Value, FuncError> {
    let net = parse(c, 0)?;
    let mut next_free = net.base;
    let mut previous: Option<Net> = None;
    let mut out = Vec::new();
    for i in 1..c.args.len() {
        let newbits = c.int(i)?;
        if newbits < 1 {
            return Err(c.err(i, "must extend prefix by at least one bit"));
        }
        if newbits > 32 {
            return Err(c.err(i, "may not extend prefix by more than 32 bits"));
        }
        // 1..=32 checked above, so the sum cannot overflow.
        let prefix = net.prefix + u32::try_from(newbits).unwrap_or(u32::MAX).min(32);
        if prefix > net.width {
            let proto = if net.width == 32 { "IPv4" } else { "IPv6" };
            return Err(
                c.err(i, format!("would extend prefix to {prefix} bits, which is too long for an {proto} address"))
            );
        }
        let size = block(net.width - prefix);
        let start = next_free.div_ceil(size).checked_mul(size);
        let fits = start.is_some_and(|s| s.checked_add(size - 1).is_some_and(|end| s >= net.base && end <= net.last()));
        let (Some(start), true) = (start, fits) else {
            let after = previous.map(|p| p.cidr()).unwrap_or_else(|| net.cidr());
            return Err(c.err(
                i,
                format!("not enough remaining address space for a subnet with a prefix of {prefix} bits after {after}"),
            ));
        };
        let sub = Net { base: start, width: net.width, prefix };
        out.push(Value::String(sub.cidr()));
        previous = Some(sub);
        next_free = start.saturating_add(size);
    }
    Ok(Value::List(out))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::lang::value::Value;

    #[test]
    fn cidrhost_counts_from_either_end() {
        assert_eq!(ok("cidrhost", vec![s("10.12.112.0/20"), n(16.0)]), s("10.12.112.16"));
        assert_eq!(ok("cidrhost", vec![s("10.12.112.0/20"), n(268.0)]), s("10.12.113.12"));
        assert_eq!(ok("cidrhost", vec![s("10.0.0.0/24"), n(-1.0)]), s("10.0.0.255"));
        assert_eq!(ok("cidrhost", vec![s("fd00:fd12:3456:7890:00a2::/72"), n(34.0)]), s("fd00:fd12:3456:7890::22"));
        let e = err("cidrhost", vec![s("10.0.0.0/24"), n(256.0)]);
        assert_eq!(
            e.message,
            "Invalid value for \"hostnum\" parameter: prefix of 24 does not accommodate a host numbered 256."
        );
        let e = err("cidrhost", vec![s("nonsense"), n(1.0)]);
        assert_eq!(e.arg, Some(0));
        assert!(e.message.contains("invalid CIDR expression"), "{}", e.message);
    }

    #[test]
    fn cidrsubnet_extends_prefix() {
        assert_eq!(ok("cidrsubnet", vec![s("172.16.0.0/12"), n(4.0), n(2.0)]), s("172.18.0.0/16"));
        assert_eq!(ok("cidrsubnet", vec![s("10.1.2.0/24"), n(4.0), n(15.0)]), s("10.1.2.240/28"));
        assert_eq!(
            ok("cidrsubnet", vec![s("fd00:fd12:3456:7890::/56"), n(16.0), n(162.0)]),
            s("fd00:fd12:3456:7800:a200::/72")
        );
        assert_eq!(ok("cidrsubnet", vec![s("10.0.0.5/8"), n(8.0), n(1.0)]), s("10.1.0.0/16"));
        let e = err("cidrsubnet", vec![s("10.0.0.0/30"), n(4.0), n(0.0)]);
        assert!(e.message.contains("insufficient address space to extend prefix of 30 by 4"), "{}", e.message);
        let e = err("cidrsubnet", vec![s("10.0.0.0/8"), n(2.0), n(4.0)]);
        assert!(e.message.contains("prefix extension of 2 does not accommodate a subnet numbered 4"), "{}", e.message);
        assert_eq!(e.arg, Some(2));
    }

    #[test]
    fn cidrsubnets_packs_aligned_blocks() {
        assert_eq!(
            ok("cidrsubnets", vec![s("10.1.0.0/16"), n(4.0), n(4.0), n(8.0), n(4.0)]),
            strs(&["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"])
        );
        assert_eq!(
            ok("cidrsubnets", vec![s("fd00:fd12:3456:7890::/56"), n(16.0), n(16.0), n(16.0), n(32.0)]),
            strs(&[
                "fd00:fd12:3456:7800::/72",
                "fd00:fd12:3456:7800:100::/72",
                "fd00:fd12:3456:7800:200::/72",
                "fd00:fd12:3456:7800:300::/88"
            ])
        );
        let e = err("cidrsubnets", vec![s("10.0.0.0/24"), n(1.0), n(1.0), n(1.0)]);
        assert!(e.message.contains("not enough remaining address space"), "{}", e.message);
        assert_eq!(e.arg, Some(3));
        assert_eq!(err("cidrsubnets", vec![s("10.0.0.0/24"), n(0.0)]).arg, Some(1));
    }

    #[test]
    fn cidrnetmask_ipv4_only() {
        assert_eq!(ok("cidrnetmask", vec![s("172.16.0.0/12")]), s("255.240.0.0"));
        assert_eq!(ok("cidrnetmask", vec![s("0.0.0.0/0")]), s("0.0.0.0"));
        assert!(err("cidrnetmask", vec![s("fd00::/8")]).message.contains("IPv6"));
    }

    #[test]
    fn marks() {
        assert!(ok("cidrhost", vec![s("10.0.0.0/8").sensitive(), n(1.0)]).is_sensitive());
        assert!(ok("cidrsubnets", vec![s("10.0.0.0/8"), Value::unknown()]).is_unknown());
    }
}
