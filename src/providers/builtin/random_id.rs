//! `random_id`: random bytes, presented in the encodings the random provider offers.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::RngCore as _;

use super::{int_arg, planned_with_prior, read_from_state};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, Schema, Validator};

pub struct RandomId {
    schema: Schema,
}

impl RandomId {
    pub fn new() -> Self {
        let at_least_one = Validator::Custom(Arc::new(|v: &Value| match v.as_f64() {
            Some(n) if n >= 1.0 && n.fract() == 0.0 => Ok(()),
            _ => Err("must be a whole number of at least 1".to_string()),
        }));
        let computed = |d: &'static str| Attribute::computed(AttrType::String).describe(d);
        RandomId {
            schema: Schema::new()
                .attr(
                    "byte_length",
                    Attribute::required(AttrType::Number)
                        .force_new()
                        .validate(at_least_one)
                        .describe("The number of random bytes to produce."),
                )
                .attr(
                    "prefix",
                    Attribute::optional(AttrType::String)
                        .force_new()
                        .describe("Prepended to b64_url, b64_std, hex and dec."),
                )
                .attr(
                    "keepers",
                    Attribute::optional(AttrType::Map(Box::new(AttrType::String)))
                        .force_new()
                        .describe("Arbitrary values whose change generates new bytes."),
                )
                .attr("id", computed("The bytes, base64 URL-safe without padding (no prefix)."))
                .attr("b64_url", computed("prefix + the bytes in base64 URL-safe without padding."))
                .attr("b64_std", computed("prefix + the bytes in standard padded base64."))
                .attr("hex", computed("prefix + the bytes in lowercase hexadecimal."))
                .attr("dec", computed("prefix + the bytes as a big-endian unsigned decimal integer.")),
        }
    }
}

impl Default for RandomId {
    fn default() -> Self {
        Self::new()
    }
}

/// The computed attributes for `bytes`, as the random provider derives them.
pub fn encodings(bytes: &[u8], prefix: &str) -> BTreeMap<String, Value> {
    let id = URL_SAFE_NO_PAD.encode(bytes);
    BTreeMap::from([
        ("b64_url".to_string(), Value::string(format!("{prefix}{id}"))),
        ("b64_std".to_string(), Value::string(format!("{prefix}{}", STANDARD.encode(bytes)))),
        ("hex".to_string(), Value::string(format!("{prefix}{}", hex::encode(bytes)))),
        ("dec".to_string(), Value::string(format!("{prefix}{}", big_endian_decimal(bytes)))),
        ("id".to_string(), Value::string(id)),
    ])
}

/// The decimal digits of `bytes` read as one big-endian unsigned integer.
pub fn big_endian_decimal(bytes: &[u8]) -> String {
    // Little-endian limbs in base 10^9: each byte multiplies the number by 256 and adds itself.
    const BASE: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = Vec::new();
    for &byte in bytes {
        let mut carry = byte as u64;
        for limb in limbs.iter_mut() {
            let x = *limb * 256 + carry;
            *limb = x % BASE;
            carry = x / BASE;
        }
        while carry > 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    }
    let Some((most, rest)) = limbs.split_last() else { return "0".to_string() };
    let mut s = most.to_string();
    for limb in rest.iter().rev() {
        s.push_str(&format!("{limb:09}"));
    }
    s
}

fn prefix_of(obj: &BTreeMap<String, Value>) -> String {
    obj.get("prefix").and_then(Value::as_str).unwrap_or("").to_string()
}

#[async_trait]
impl ResourceType for RandomId {
    fn name(&self) -> &'static str {
        "random_id"
    }

    /// Computed in the process: no API to wait for.
    fn expected_durations(&self) -> crate::providers::ExpectedDurations {
        crate::providers::ExpectedDurations::LOCAL
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read_many(&self, _ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        Ok(read_from_state(reqs))
    }

    async fn create(&self, _ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let mut obj = planned_with_prior(planned, None);
        let length = int_arg(&obj, "byte_length", 0)?;
        let length = usize::try_from(length)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ProviderError::new(format!("random_id.byte_length must be at least 1, got {length}")))?;
        let mut bytes = vec![0u8; length];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let prefix = prefix_of(&obj);
        obj.extend(encodings(&bytes, &prefix));
        Ok(Value::object(obj))
    }

    /// Every argument forces replacement, so an update only ever carries the object forward.
    async fn update(
        &self,
        _ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        _changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        Ok(Value::object(planned_with_prior(planned, Some(prior))))
    }

    async fn delete(&self, _ctx: &CallContext, _prior: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    /// `ID` is the b64_url value without prefix, or `PREFIX,ID`.
    async fn import(&self, _ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let (prefix, encoded) = match id.rfind(',') {
            Some(i) => (Some(&id[..i]), &id[i + 1..]),
            None => (None, id),
        };
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|e| {
            ProviderError::new(format!(
                "cannot import random_id: \"{encoded}\" is not unpadded URL-safe base64 ({e}). \
                 Use the resource's b64_url value without its prefix, or PREFIX,B64_URL."
            ))
        })?;
        if bytes.is_empty() {
            return Err(ProviderError::new("cannot import random_id: the id decodes to zero bytes"));
        }
        let mut obj = encodings(&bytes, prefix.unwrap_or(""));
        obj.insert("byte_length".into(), Value::from(bytes.len() as i64));
        obj.insert("prefix".into(), prefix.map(Value::from).unwrap_or(Value::Null));
        obj.insert("keepers".into(), Value::Null);
        Ok(Value::object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::propose::propose;

    fn ctx() -> CallContext {
        CallContext::new(Value::Null)
    }

    fn s(v: &Value, k: &str) -> String {
        v.get(k).and_then(Value::as_str).unwrap_or("<missing>").to_string()
    }

    #[test]
    fn encodings_of_known_bytes() {
        let e = encodings(&[0xde, 0xad, 0xbe, 0xef], "");
        assert_eq!(e["id"], Value::from("3q2-7w"));
        assert_eq!(e["b64_url"], Value::from("3q2-7w"));
        assert_eq!(e["b64_std"], Value::from("3q2+7w=="));
        assert_eq!(e["hex"], Value::from("deadbeef"));
        assert_eq!(e["dec"], Value::from("3735928559"));
        let p = encodings(&[0xfb, 0xff], "srv-");
        assert_eq!(p["id"], Value::from("-_8"), "id carries no prefix");
        assert_eq!(p["b64_url"], Value::from("srv--_8"));
        assert_eq!(p["b64_std"], Value::from("srv-+/8="));
        assert_eq!(p["hex"], Value::from("srv-fbff"));
        assert_eq!(p["dec"], Value::from("srv-64511"));
    }

    #[test]
    fn big_decimals() {
        assert_eq!(big_endian_decimal(&[]), "0");
        assert_eq!(big_endian_decimal(&[0, 0]), "0");
        assert_eq!(big_endian_decimal(&[1, 0]), "256");
        assert_eq!(big_endian_decimal(&[0x3b, 0x9a, 0xca, 0x00]), "1000000000");
        assert_eq!(big_endian_decimal(&[0xff; 16]), "340282366920938463463374607431768211455");
        assert_eq!(big_endian_decimal(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0]), "18446744073709551616");
    }

    #[tokio::test]
    async fn create_generates_consistent_encodings() {
        let t = RandomId::new();
        let config =
            Value::map([("byte_length", Value::from(8)), ("prefix", Value::from("p-")), ("keepers", Value::Null)]);
        let prop = propose(t.schema(), None, &config, false);
        assert!(prop.planned.get("hex").unwrap().is_unknown());
        let state = t.create(&ctx(), &prop.planned, &prop.config).await.unwrap();
        let id = s(&state, "id");
        let bytes = URL_SAFE_NO_PAD.decode(&id).unwrap();
        assert_eq!(bytes.len(), 8);
        assert_eq!(Value::object(encodings(&bytes, "p-")).get("hex"), state.get("hex"));
        assert_eq!(s(&state, "b64_url"), format!("p-{id}"));
        assert_eq!(state.get("byte_length"), Some(&Value::from(8)));
    }

    #[tokio::test]
    async fn keepers_change_replaces_and_update_carries_forward() {
        let t = RandomId::new();
        let prior = Value::object({
            let mut m = encodings(&[1, 2, 3], "");
            m.insert("byte_length".into(), Value::from(3));
            m.insert("prefix".into(), Value::Null);
            m.insert("keepers".into(), Value::map([("k", Value::from("1"))]));
            m
        });
        let same = Value::map([
            ("byte_length", Value::from(3)),
            ("prefix", Value::Null),
            ("keepers", Value::map([("k", Value::from("1"))])),
        ]);
        let prop = propose(t.schema(), Some(&prior), &same, false);
        assert!(prop.requires_replace.is_empty());
        assert_eq!(prop.planned, prior);
        let updated = t.update(&ctx(), &prior, &prop.planned, &same, &[]).await.unwrap();
        assert_eq!(updated, prior);

        let changed = Value::map([
            ("byte_length", Value::from(3)),
            ("prefix", Value::Null),
            ("keepers", Value::map([("k", Value::from("2"))])),
        ]);
        let prop = propose(t.schema(), Some(&prior), &changed, false);
        assert_eq!(prop.requires_replace, vec![AttrPath::parse("keepers.k").unwrap()]);
        assert!(prop.planned.get("id").unwrap().is_unknown());
    }

    #[tokio::test]
    async fn import_with_and_without_prefix() {
        let t = RandomId::new();
        let plain = t.import(&ctx(), "3q2-7w").await.unwrap();
        assert_eq!(s(&plain, "dec"), "3735928559");
        assert_eq!(plain.get("byte_length"), Some(&Value::from(4)));
        assert_eq!(plain.get("prefix"), Some(&Value::Null));
        let prefixed = t.import(&ctx(), "my,prefix-,3q2-7w").await.unwrap();
        assert_eq!(s(&prefixed, "prefix"), "my,prefix-");
        assert_eq!(s(&prefixed, "hex"), "my,prefix-deadbeef");
        assert_eq!(s(&prefixed, "id"), "3q2-7w");
        let err = t.import(&ctx(), "not base64!").await.unwrap_err();
        assert!(err.message.contains("not unpadded URL-safe base64"), "{}", err.message);
    }

    #[test]
    fn byte_length_must_be_at_least_one() {
        let t = RandomId::new();
        let src = "resource \"random_id\" \"x\" {\n  byte_length = 0\n}\n";
        let p = crate::schema::validate::test_hcl::resource(src);
        let d = crate::schema::validate::check_values(&p.body, &p.value, t.schema(), p.block_span);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].summary, "\"byte_length\" must be a whole number of at least 1");
        assert_eq!(p.sources.location(d.0[0].span.unwrap()), "main.tf:2:3");
    }
}
