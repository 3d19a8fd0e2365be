//! JSON, base64, URL encoding and hashes.

use base64::Engine;
use sha2::Digest;

use super::{Call, FuncError};
use crate::lang::value::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// JSON text as Terraform's `jsonencode` writes it: compact, keys sorted, integers without a
/// fraction, and `<`, `>`, `&`, U+2028, U+2029 escaped (Go's encoder does that, and configs
/// that compare `jsonencode` output with literal strings depend on it).
pub fn json_text(v: &Value) -> String {
    let raw = v.to_json().to_string();
    let mut out = String::with_capacity(raw.len());
    for ch in raw.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

pub fn jsonencode(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(json_text(c.arg(0))))
}

pub fn jsondecode(c: &Call) -> Result<Value, FuncError> {
    let parsed: serde_json::Value =
        serde_json::from_str(c.str(0)).map_err(|e| c.err(0, format!("invalid JSON: {e}")))?;
    Ok(Value::from_json(&parsed))
}

pub fn base64encode(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(B64.encode(c.str(0))))
}

pub fn base64decode(c: &Call) -> Result<Value, FuncError> {
    let bytes =
        B64.decode(c.str(0)).map_err(|_| c.fail(format!("failed to decode base64 data {}", c.shown(0, c.str(0)))))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| c.fail("the result of decoding the provided string is not valid UTF-8"))
}

pub fn base64sha256(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(B64.encode(sha2::Sha256::digest(c.str(0).as_bytes()))))
}

pub fn base64sha512(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(B64.encode(sha2::Sha512::digest(c.str(0).as_bytes()))))
}

pub fn sha256(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha2::Sha256::digest(c.str(0).as_bytes()))))
}

pub fn sha512(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha2::Sha512::digest(c.str(0).as_bytes()))))
}

pub fn sha1(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha1_digest(c.str(0).as_bytes()))))
}

pub fn md5(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(md5_digest(c.str(0).as_bytes()))))
}

/// Go's `url.QueryEscape`: unreserved characters stay, space becomes `+`, the rest is %XX.
pub fn urlencode(c: &Call) -> Result<Value, FuncError> {
    let mut out = String::new();
    for b in c.str(0).bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

/// Padding shared by MD5 and SHA-1: 0x80, zeros, then the bit length (little-endian for MD5,
/// big-endian for SHA-1).
fn pad_message(data: &[u8], big_endian: bool) -> Vec<u8> {
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&if big_endian { bit_len.to_be_bytes() } else { bit_len.to_le_bytes() });
    msg
}

/// MD5 (RFC 1321). Only for Terraform's `md5()`/`filemd5()`; not a security primitive.
pub fn md5_digest(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ];
    let k: Vec<u32> = (0..64).map(|i: i32| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32).collect();
    let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    for chunk in pad_message(data, false).chunks(64) {
        let m: Vec<u32> = chunk.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, word) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// SHA-1 (FIPS 180-4). Only for Terraform's `sha1()`; not a security primitive.
pub fn sha1_digest(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    for chunk in pad_message(data, true).chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5A827999),
                1 => (b ^ c ^ d, 0x6ED9EBA1),
                2 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6u32),
            };
            let temp = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *slot = slot.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::lang::value::Value;

    #[test]
    fn json_round_trip_and_shape() {
        let v = Value::map([("b", n(1.0)), ("a", list(vec![n(1.5), Value::Bool(true), Value::Null, s("<x>")]))]);
        assert_eq!(ok("jsonencode", vec![v]), s(r#"{"a":[1.5,true,null,"\u003cx\u003e"],"b":1}"#));
        assert_eq!(ok("jsonencode", vec![Value::Null]), s("null"));
        assert_eq!(
            ok("jsondecode", vec![s(r#"{"hello": "world", "n": [1, 2.5]}"#)]),
            Value::map([("hello", s("world")), ("n", nums(&[1.0, 2.5]))])
        );
        let e = err("jsondecode", vec![s("{nope")]);
        assert_eq!(e.arg, Some(0));
        assert!(e.message.contains("invalid JSON"), "{}", e.message);
    }

    #[test]
    fn base64() {
        assert_eq!(ok("base64encode", vec![s("Hello World")]), s("SGVsbG8gV29ybGQ="));
        assert_eq!(ok("base64decode", vec![s("SGVsbG8gV29ybGQ=")]), s("Hello World"));
        assert!(err("base64decode", vec![s("!!!")]).message.contains("failed to decode base64 data"));
        assert!(err("base64decode", vec![s("/w==")]).message.contains("not valid UTF-8"));
        assert_eq!(ok("base64sha256", vec![s("hello world")]), s("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="));
        let b512 = ok("base64sha512", vec![s("hello world")]);
        assert!(
            b512.as_str()
                .is_some_and(|h| h.starts_with("MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+Y") && h.len() == 88),
            "{b512}"
        );
    }

    #[test]
    fn hashes_match_reference_vectors() {
        assert_eq!(ok("md5", vec![s("hello world")]), s("5eb63bbbe01eeed093cb22bb8f5acdc3"));
        assert_eq!(ok("md5", vec![s("")]), s("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(ok("sha1", vec![s("hello world")]), s("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"));
        assert_eq!(ok("sha1", vec![s(&"a".repeat(100))]), s("7f9000257a4918d7072655ea468540cdcbd42e0c"));
        assert_eq!(
            ok("sha256", vec![s("hello world")]),
            s("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        );
        let sha512 = ok("sha512", vec![s("hello world")]);
        assert!(sha512.as_str().is_some_and(|h| h.starts_with("309ecc489c12d6eb4cc40f50c902f2b4") && h.len() == 128));
    }

    #[test]
    fn urlencode_like_go() {
        assert_eq!(ok("urlencode", vec![s("Hello World!")]), s("Hello+World%21"));
        assert_eq!(ok("urlencode", vec![s("a/b?c=d&é")]), s("a%2Fb%3Fc%3Dd%26%C3%A9"));
    }

    #[test]
    fn marks() {
        assert!(ok("sha256", vec![s("pw").sensitive()]).is_sensitive());
        assert!(ok("jsonencode", vec![Value::map([("a", s("pw").sensitive())])]).is_sensitive());
        assert!(ok("jsonencode", vec![list(vec![Value::unknown()])]).is_unknown());
    }
}
