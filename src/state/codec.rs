//! Keeping secrets out of state: the conversion between an engine [`Value`] and the JSON that
//! is stored.
//!
//! A secret is stored as `null` plus a keyed fingerprint (HMAC-SHA256 with the backend's
//! fingerprint key, which lives apart from the state document). The fingerprint lets a later plan
//! tell "same secret" from "changed secret" without the state holding anything a reader could
//! use to recover or test guesses of the secret. Write-only attributes are not stored at all.
//!
//! Fingerprints are keyed by the attribute path's text (`settings[0].password`); nested blocks
//! are lists of objects, so their paths carry an index.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::addr::AttrPath;
use crate::lang::value::{Unknown, Value};
use crate::schema::{AttrType, BlockType, Schema};

type HmacSha256 = Hmac<Sha256>;

pub const FINGERPRINT_PREFIX: &str = "hmac-sha256:";

/// "hmac-sha256:<hex>" of the canonical JSON (sorted keys, no whitespace) of the value with its
/// marks removed. Unknown parts count as null.
pub fn fingerprint(key: &[u8; 32], v: &Value) -> String {
    let (bare, _) = v.clone().unmark_deep();
    let mut text = String::new();
    write_canonical(&bare.to_json(), &mut text);
    // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(text.as_bytes());
    format!("{FINGERPRINT_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// serde_json keeps insertion order here (preserve_order), so sort keys ourselves: the same
/// value must always give the same bytes.
pub(crate) fn write_canonical(j: &serde_json::Value, out: &mut String) {
    match j {
        serde_json::Value::Array(xs) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(m) => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// What the schema says about the value at hand.
#[derive(Clone, Copy)]
enum Shape<'a> {
    /// A resource or block body.
    Object(&'a Schema),
    /// A nested block: a list of bodies.
    Blocks(&'a BlockType),
    /// An attribute of a known type.
    Typed(&'a AttrType),
    /// Nothing known (an attribute the schema does not list, or `Dynamic`).
    Free,
}

/// Value → stored form: write-only attributes (at any block depth) dropped; sensitive-marked
/// subtrees and schema-sensitive attributes replaced by null with their fingerprint recorded
/// under the path's text; already-withheld values keep their fingerprint; unknowns → null.
pub fn encode(value: &Value, schema: &Schema, key: &[u8; 32]) -> (serde_json::Value, BTreeMap<String, String>) {
    let mut enc = Encoder { key, fingerprints: BTreeMap::new() };
    let json = enc.node(value, Shape::Object(schema), &AttrPath::root());
    (json, enc.fingerprints)
}

struct Encoder<'k> {
    key: &'k [u8; 32],
    fingerprints: BTreeMap<String, String>,
}

impl Encoder<'_> {
    fn node(&mut self, v: &Value, shape: Shape<'_>, path: &AttrPath) -> serde_json::Value {
        match v {
            Value::Sensitive(inner) => {
                self.withhold(inner, path);
                serde_json::Value::Null
            }
            Value::Unknown(Unknown::Withheld { fingerprint: Some(fp) }) => {
                self.fingerprints.insert(path.to_string(), fp.clone());
                serde_json::Value::Null
            }
            Value::Unknown(_) | Value::Null => serde_json::Value::Null,
            Value::Map(m) => match shape {
                Shape::Object(schema) => self.object(m, schema, path),
                Shape::Typed(AttrType::Map(elem)) => self.map(m, Shape::Typed(elem), path),
                _ => self.map(m, Shape::Free, path),
            },
            Value::List(xs) | Value::Set(xs) => {
                let elem = match shape {
                    Shape::Blocks(b) => Shape::Object(&b.block),
                    Shape::Typed(AttrType::List(t) | AttrType::Set(t)) => Shape::Typed(t),
                    _ => Shape::Free,
                };
                serde_json::Value::Array(
                    xs.iter().enumerate().map(|(i, x)| self.node(x, elem, &path.join_index(i as i64))).collect(),
                )
            }
            scalar => scalar.to_json(),
        }
    }

    fn object(&mut self, m: &BTreeMap<String, Value>, schema: &Schema, path: &AttrPath) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (name, v) in m {
            let child = path.join_attr(name);
            let json = if let Some(attr) = schema.attributes.get(name.as_str()) {
                if attr.write_only {
                    continue;
                }
                if attr.sensitive {
                    self.withhold(v, &child);
                    serde_json::Value::Null
                } else {
                    self.node(v, Shape::Typed(&attr.ty), &child)
                }
            } else if let Some(block) = schema.blocks.get(name.as_str()) {
                self.node(v, Shape::Blocks(block), &child)
            } else {
                self.node(v, Shape::Free, &child)
            };
            out.insert(name.clone(), json);
        }
        serde_json::Value::Object(out)
    }

    fn map(&mut self, m: &BTreeMap<String, Value>, elem: Shape<'_>, path: &AttrPath) -> serde_json::Value {
        serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), self.node(v, elem, &path.join_attr(k)))).collect())
    }

    /// Records the fingerprint of a secret. Nothing is recorded for a null secret (there is
    /// nothing to compare) or one not yet known (it cannot be fingerprinted).
    fn withhold(&mut self, secret: &Value, path: &AttrPath) {
        let fp = match secret.peel() {
            Value::Unknown(Unknown::Withheld { fingerprint: Some(fp) }) => fp.clone(),
            Value::Null => return,
            v if v.contains_unknown() => return,
            v => fingerprint(self.key, v),
        };
        self.fingerprints.insert(path.to_string(), fp);
    }
}

/// Stored form → Value: at each fingerprint path a sensitive `Withheld` unknown carrying the
/// fingerprint; schema-sensitive attributes marked sensitive; set-typed attributes become sets
/// (in stored order, so fingerprint indexes stay valid); nested blocks are lists of maps.
pub fn decode(attrs: &serde_json::Value, fingerprints: &BTreeMap<String, String>, schema: &Schema) -> Value {
    Decoder { fingerprints }.node(attrs, Shape::Object(schema), &AttrPath::root())
}

struct Decoder<'f> {
    fingerprints: &'f BTreeMap<String, String>,
}

impl Decoder<'_> {
    fn node(&self, j: &serde_json::Value, shape: Shape<'_>, path: &AttrPath) -> Value {
        if !self.fingerprints.is_empty() {
            if let Some(fp) = self.fingerprints.get(&path.to_string()) {
                return Value::Unknown(Unknown::Withheld { fingerprint: Some(fp.clone()) }).sensitive();
            }
        }
        match j {
            serde_json::Value::Object(m) => match shape {
                Shape::Object(schema) => self.object(m, schema, path),
                Shape::Typed(AttrType::Map(elem)) => self.map(m, Shape::Typed(elem), path),
                _ => self.map(m, Shape::Free, path),
            },
            serde_json::Value::Array(xs) => {
                let (elem, is_set) = match shape {
                    Shape::Blocks(b) => (Shape::Object(&b.block), false),
                    Shape::Typed(AttrType::List(t)) => (Shape::Typed(t), false),
                    Shape::Typed(AttrType::Set(t)) => (Shape::Typed(t), true),
                    _ => (Shape::Free, false),
                };
                let items =
                    xs.iter().enumerate().map(|(i, x)| self.node(x, elem, &path.join_index(i as i64))).collect();
                if is_set {
                    Value::Set(items)
                } else {
                    Value::List(items)
                }
            }
            scalar => Value::from_json(scalar),
        }
    }

    fn object(&self, m: &serde_json::Map<String, serde_json::Value>, schema: &Schema, path: &AttrPath) -> Value {
        let mut out = BTreeMap::new();
        for (name, j) in m {
            let child = path.join_attr(name);
            let v = if let Some(attr) = schema.attributes.get(name.as_str()) {
                self.node(j, Shape::Typed(&attr.ty), &child).mark_if(attr.sensitive)
            } else if let Some(block) = schema.blocks.get(name.as_str()) {
                self.node(j, Shape::Blocks(block), &child)
            } else {
                self.node(j, Shape::Free, &child)
            };
            out.insert(name.clone(), v);
        }
        Value::object(out)
    }

    fn map(&self, m: &serde_json::Map<String, serde_json::Value>, elem: Shape<'_>, path: &AttrPath) -> Value {
        Value::object(m.iter().map(|(k, j)| (k.clone(), self.node(j, elem, &path.join_attr(k)))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    const KEY: [u8; 32] = [7; 32];

    fn schema() -> Schema {
        let settings = Schema::new()
            .attr("tier", Attribute::required(AttrType::String))
            .attr("password", Attribute::optional(AttrType::String).sensitive())
            .attr("bootstrap_token", Attribute::optional(AttrType::String).write_only())
            .block(
                "database_flags",
                BlockType::list(
                    Schema::new()
                        .attr("name", Attribute::required(AttrType::String))
                        .attr("value", Attribute::required(AttrType::String).sensitive()),
                ),
            );
        Schema::new()
            .attr("name", Attribute::required(AttrType::String))
            .attr("root_password", Attribute::optional(AttrType::String).sensitive())
            .attr("init_secret", Attribute::optional(AttrType::String).write_only())
            .attr("labels", Attribute::optional(AttrType::Map(Box::new(AttrType::String))))
            .attr("tags", Attribute::optional(AttrType::Set(Box::new(AttrType::String))))
            .attr("id", Attribute::computed(AttrType::String))
            .block("settings", BlockType::single(settings).max_items(1))
    }

    fn sample() -> Value {
        Value::map([
            ("name", Value::string("db1")),
            ("root_password", Value::string("ROOT-PW-hunter2")),
            ("init_secret", Value::string("WRITE-ONLY-xyzzy")),
            (
                "labels",
                Value::map([
                    ("team", Value::string("infra")),
                    ("api_key", Value::string("LABEL-SECRET-42").sensitive()),
                ]),
            ),
            ("tags", Value::set(vec!["a".into(), "b".into()])),
            ("id", Value::unknown()),
            (
                "settings",
                Value::List(vec![Value::map([
                    ("tier", Value::string("db-f1-micro")),
                    ("password", Value::string("NESTED-PW-plugh")),
                    ("bootstrap_token", Value::string("NESTED-WO-frotz")),
                    (
                        "database_flags",
                        Value::List(vec![Value::map([
                            ("name", Value::string("flag")),
                            ("value", Value::string("FLAG-SECRET-zork")),
                        ])]),
                    ),
                ])]),
            ),
        ])
    }

    const SECRETS: [&str; 6] = [
        "ROOT-PW-hunter2",
        "WRITE-ONLY-xyzzy",
        "LABEL-SECRET-42",
        "NESTED-PW-plugh",
        "NESTED-WO-frotz",
        "FLAG-SECRET-zork",
    ];

    #[test]
    fn secrets_never_reach_the_stored_form() {
        let (json, fps) = encode(&sample(), &schema(), &KEY);
        let bytes = serde_json::to_vec(&(json, &fps)).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        for s in SECRETS {
            assert!(!text.contains(s), "{s} leaked into {text}");
        }
    }

    #[test]
    fn stored_form_has_nulls_fingerprints_and_no_write_only() {
        let (json, fps) = encode(&sample(), &schema(), &KEY);
        assert_eq!(json["root_password"], serde_json::Value::Null);
        assert_eq!(json["labels"]["api_key"], serde_json::Value::Null);
        assert_eq!(json["labels"]["team"], "infra");
        assert_eq!(json["id"], serde_json::Value::Null);
        assert_eq!(json["tags"], serde_json::json!(["a", "b"]));
        assert_eq!(json["settings"][0]["database_flags"][0]["value"], serde_json::Value::Null);
        assert!(json.get("init_secret").is_none(), "top-level write-only kept: {json}");
        assert!(json["settings"][0].get("bootstrap_token").is_none(), "nested write-only kept: {json}");
        assert_eq!(
            fps.keys().map(String::as_str).collect::<Vec<_>>(),
            ["labels.api_key", "root_password", "settings[0].database_flags[0].value", "settings[0].password"]
        );
        assert_eq!(fps["root_password"], fingerprint(&KEY, &Value::string("ROOT-PW-hunter2")));
        assert!(fps.values().all(|f| f.starts_with(FINGERPRINT_PREFIX) && f.len() == FINGERPRINT_PREFIX.len() + 64));
    }

    #[test]
    fn fingerprints_are_stable_key_dependent_and_ignore_marks() {
        let v = Value::map([("b", Value::from(1)), ("a", Value::string("x"))]);
        assert_eq!(fingerprint(&KEY, &v), fingerprint(&KEY, &v.clone()));
        assert_eq!(fingerprint(&KEY, &v), fingerprint(&KEY, &v.clone().sensitive()));
        assert_ne!(fingerprint(&KEY, &v), fingerprint(&[8; 32], &v));
        assert_ne!(fingerprint(&KEY, &Value::string("x")), fingerprint(&KEY, &Value::string("y")));
        // Known answer: pins the canonical form so stored fingerprints stay comparable.
        let expected = {
            let mut mac = HmacSha256::new_from_slice(&KEY).unwrap();
            mac.update(br#"{"a":"x","b":1}"#);
            format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
        };
        assert_eq!(fingerprint(&KEY, &v), expected);
    }

    #[test]
    fn decode_restores_structure_with_withheld_secrets() {
        let (json, fps) = encode(&sample(), &schema(), &KEY);
        let v = decode(&json, &fps, &schema());
        let withheld = |secret: &str| {
            Value::Unknown(Unknown::Withheld { fingerprint: Some(fingerprint(&KEY, &Value::string(secret))) })
                .sensitive()
        };
        assert_eq!(v.get("name"), Some(&Value::string("db1")));
        assert_eq!(v.get("root_password"), Some(&withheld("ROOT-PW-hunter2")));
        assert_eq!(v.get("labels").and_then(|l| l.get("api_key")), Some(&withheld("LABEL-SECRET-42")));
        assert_eq!(v.get("labels").and_then(|l| l.get("team")), Some(&Value::string("infra")));
        assert_eq!(v.get("tags"), Some(&Value::Set(vec!["a".into(), "b".into()])));
        assert_eq!(v.get("id"), Some(&Value::Null));
        assert_eq!(v.get("init_secret"), None);
        let settings = &v.get("settings").and_then(|s| s.as_list()).unwrap()[0];
        assert_eq!(settings.get("password"), Some(&withheld("NESTED-PW-plugh")));
        assert_eq!(settings.get("tier"), Some(&Value::string("db-f1-micro")));
        let flag = &settings.get("database_flags").and_then(|s| s.as_list()).unwrap()[0];
        assert_eq!(flag.get("value"), Some(&withheld("FLAG-SECRET-zork")));
        assert!(format!("{v:?}").contains("(sensitive value)"));
    }

    #[test]
    fn re_encoding_a_decoded_value_keeps_fingerprints() {
        let (json, fps) = encode(&sample(), &schema(), &KEY);
        let decoded = decode(&json, &fps, &schema());
        let (json2, fps2) = encode(&decoded, &schema(), &[9; 32]);
        assert_eq!(json2, json);
        assert_eq!(fps2, fps, "withheld fingerprints must survive even under another key");
    }

    #[test]
    fn schema_sensitive_null_is_marked_without_fingerprint() {
        let v = Value::map([("name", Value::string("db")), ("root_password", Value::Null)]);
        let (json, fps) = encode(&v, &schema(), &KEY);
        assert!(fps.is_empty());
        assert_eq!(json["root_password"], serde_json::Value::Null);
        let back = decode(&json, &fps, &schema());
        assert_eq!(back.get("root_password"), Some(&Value::Null.sensitive()));
    }

    #[test]
    fn sensitive_unknown_and_sensitive_list_elements() {
        let v = Value::map([
            ("root_password", Value::unknown().sensitive()),
            ("extra", Value::List(vec![Value::string("open"), Value::string("LIST-SECRET").sensitive()])),
        ]);
        let (json, fps) = encode(&v, &schema(), &KEY);
        assert_eq!(json["extra"], serde_json::json!(["open", null]));
        assert_eq!(fps.keys().collect::<Vec<_>>(), ["extra[1]"]);
        assert!(!serde_json::to_string(&json).unwrap().contains("LIST-SECRET"));
    }
}
