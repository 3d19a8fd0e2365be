//! `random_password`: a random string treated as a secret.
//!
//! The result is sensitive: `create` returns it so the same apply can pass it on, and the
//! state codec keeps only a keyed fingerprint, so later plans see it as withheld.
//!
//! `bcrypt_hash` is deliberately not offered: it would store a hash of the secret in state,
//! which an attacker with the state can brute-force offline — exactly what withholding the
//! result is meant to prevent.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use rand::seq::SliceRandom as _;
use rand::Rng as _;

use super::{int_arg, planned_with_prior, read_from_state};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, Rule, Schema, Validator};

const NUMERIC: &str = "0123456789";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// The random provider's default special characters.
const SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

const MINIMUMS: [&str; 4] = ["min_upper", "min_lower", "min_numeric", "min_special"];
const CLASSES: [&str; 4] = ["upper", "lower", "numeric", "special"];

pub struct RandomPassword {
    schema: Schema,
}

fn whole_number(min: f64) -> Validator {
    Validator::Custom(Arc::new(move |v: &Value| match v.as_f64() {
        Some(n) if n >= min && n.fract() == 0.0 => Ok(()),
        _ => Err(format!("must be a whole number of at least {min}")),
    }))
}

impl RandomPassword {
    pub fn new() -> Self {
        let mut schema = Schema::new()
            .attr(
                "length",
                Attribute::required(AttrType::Number)
                    .force_new()
                    .validate(whole_number(1.0))
                    .describe("The number of characters."),
            )
            .attr(
                "keepers",
                Attribute::optional(AttrType::Map(Box::new(AttrType::String)))
                    .force_new()
                    .describe("Arbitrary values whose change generates a new password."),
            );
        for class in CLASSES {
            schema = schema.attr(
                class,
                Attribute::optional(AttrType::Bool).default(true).force_new().describe("Include this character class."),
            );
        }
        for min in MINIMUMS {
            schema = schema.attr(
                min,
                Attribute::optional(AttrType::Number)
                    .default(0i64)
                    .force_new()
                    .validate(whole_number(0.0))
                    .describe("At least this many characters of the class."),
            );
        }
        let schema = schema
            .attr(
                "override_special",
                Attribute::optional(AttrType::String)
                    .force_new()
                    .describe("The special characters to use instead of the default set."),
            )
            .attr("result", Attribute::computed(AttrType::String).sensitive().describe("The generated password."))
            .attr("id", Attribute::computed(AttrType::String).describe("Always \"none\"."))
            .rule(Rule::Custom(Arc::new(check_lengths)));
        RandomPassword { schema }
    }
}

impl Default for RandomPassword {
    fn default() -> Self {
        Self::new()
    }
}

/// Cross-field checks the provider would only make at apply: the minimums must fit in the
/// length, and there must be characters to fill the rest with.
fn check_lengths(config: &Value) -> Vec<(AttrPath, String)> {
    let Some(length) = config.get("length").and_then(Value::as_i64) else { return Vec::new() };
    let mut sum = 0i64;
    for name in MINIMUMS {
        match config.get(name) {
            None => {}
            Some(v) if v.is_null() => {}
            Some(v) => match v.as_i64() {
                Some(n) => sum = sum.saturating_add(n.max(0)),
                None => return Vec::new(),
            },
        }
    }
    if sum > length {
        return vec![(
            AttrPath::attr("length"),
            format!("min_upper + min_lower + min_numeric + min_special ({sum}) exceeds length ({length})"),
        )];
    }
    let all_disabled = CLASSES.iter().all(|c| config.get(c).is_some_and(|v| v.as_bool() == Some(false)));
    if all_disabled && length > sum {
        return vec![(
            AttrPath::attr("upper"),
            format!(
                "upper, lower, numeric and special are all false, so only the minimums ({sum}) can be generated but length is {length}; \
                 set at least one of them to true"
            ),
        )];
    }
    Vec::new()
}

/// What a password must satisfy.
#[derive(Clone, Debug)]
pub struct PasswordSpec {
    pub length: usize,
    pub upper: bool,
    pub lower: bool,
    pub numeric: bool,
    pub special: bool,
    pub min_upper: usize,
    pub min_lower: usize,
    pub min_numeric: usize,
    pub min_special: usize,
    /// Replaces the default special characters when non-empty.
    pub override_special: Option<String>,
}

impl PasswordSpec {
    fn from_planned(obj: &BTreeMap<String, Value>) -> Result<Self, ProviderError> {
        let count = |name: &str, default: i64| -> Result<usize, ProviderError> {
            let n = int_arg(obj, name, default)?;
            usize::try_from(n)
                .map_err(|_| ProviderError::new(format!("random_password.{name} must not be negative, got {n}")))
        };
        let flag = |name: &str| obj.get(name).and_then(Value::as_bool).unwrap_or(true);
        Ok(PasswordSpec {
            length: count("length", 0)?,
            upper: flag("upper"),
            lower: flag("lower"),
            numeric: flag("numeric"),
            special: flag("special"),
            min_upper: count("min_upper", 0)?,
            min_lower: count("min_lower", 0)?,
            min_numeric: count("min_numeric", 0)?,
            min_special: count("min_special", 0)?,
            override_special: obj.get("override_special").and_then(Value::as_str).map(str::to_string),
        })
    }

    fn special_chars(&self) -> Vec<char> {
        match &self.override_special {
            Some(s) if !s.is_empty() => s.chars().collect(),
            _ => SPECIAL.chars().collect(),
        }
    }
}

/// Generates a password as the random provider does: the minimum of each class first (even
/// for a class that is otherwise disabled, as the provider does), the rest from the enabled
/// classes, then shuffled. Uses the operating system's CSPRNG.
pub fn generate(spec: &PasswordSpec) -> Result<String, ProviderError> {
    let special = spec.special_chars();
    let class = |s: &str| s.chars().collect::<Vec<char>>();
    let (upper, lower, numeric) = (class(UPPER), class(LOWER), class(NUMERIC));
    let required = spec.min_upper + spec.min_lower + spec.min_numeric + spec.min_special;
    if required > spec.length {
        return Err(ProviderError::new(format!(
            "min_upper + min_lower + min_numeric + min_special ({required}) exceeds length ({})",
            spec.length
        )));
    }
    let mut pool: Vec<char> = Vec::new();
    for (enabled, chars) in
        [(spec.upper, &upper), (spec.lower, &lower), (spec.numeric, &numeric), (spec.special, &special)]
    {
        if enabled {
            pool.extend(chars.iter().copied());
        }
    }
    if pool.is_empty() && spec.length > required {
        return Err(ProviderError::new(
            "random_password: upper, lower, numeric and special are all false; set at least one to true",
        ));
    }
    let mut rng = rand::rngs::OsRng;
    let mut pick = |chars: &[char], n: usize, out: &mut Vec<char>| {
        for _ in 0..n {
            out.push(chars[rng.gen_range(0..chars.len())]);
        }
    };
    let mut out = Vec::with_capacity(spec.length);
    pick(&upper, spec.min_upper, &mut out);
    pick(&lower, spec.min_lower, &mut out);
    pick(&numeric, spec.min_numeric, &mut out);
    pick(&special, spec.min_special, &mut out);
    let rest = spec.length - out.len();
    if rest > 0 {
        pick(&pool, rest, &mut out);
    }
    out.shuffle(&mut rand::rngs::OsRng);
    Ok(out.into_iter().collect())
}

#[async_trait]
impl ResourceType for RandomPassword {
    fn name(&self) -> &'static str {
        "random_password"
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
        let spec = PasswordSpec::from_planned(&obj)?;
        if spec.length == 0 {
            return Err(ProviderError::new("random_password.length must be at least 1"));
        }
        obj.insert("result".into(), Value::string(generate(&spec)?).sensitive());
        obj.insert("id".into(), Value::from("none"));
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

    /// The import id is the password itself, as with the random provider.
    async fn import(&self, _ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        if id.is_empty() {
            return Err(ProviderError::new(
                "cannot import random_password: the import id is the password, and it is empty",
            ));
        }
        let mut obj = BTreeMap::new();
        obj.insert("result".to_string(), Value::from(id).sensitive());
        obj.insert("length".to_string(), Value::from(id.chars().count() as i64));
        for class in CLASSES {
            obj.insert(class.to_string(), Value::Bool(true));
        }
        for min in MINIMUMS {
            obj.insert(min.to_string(), Value::from(0));
        }
        obj.insert("override_special".to_string(), Value::Null);
        obj.insert("keepers".to_string(), Value::Null);
        obj.insert("id".to_string(), Value::from("none"));
        Ok(Value::object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::value::Unknown;
    use crate::schema::propose::propose;

    fn ctx() -> CallContext {
        CallContext::new(Value::Null)
    }

    fn spec(length: usize) -> PasswordSpec {
        PasswordSpec {
            length,
            upper: true,
            lower: true,
            numeric: true,
            special: true,
            min_upper: 0,
            min_lower: 0,
            min_numeric: 0,
            min_special: 0,
            override_special: None,
        }
    }

    fn count(s: &str, set: &str) -> usize {
        s.chars().filter(|c| set.contains(*c)).count()
    }

    #[test]
    fn minimums_and_classes_hold_over_many_generations() {
        let specs = [
            PasswordSpec { min_upper: 3, min_lower: 2, min_numeric: 4, min_special: 1, ..spec(12) },
            PasswordSpec { special: false, numeric: false, min_upper: 2, ..spec(16) },
            PasswordSpec { upper: false, lower: false, special: false, min_numeric: 6, ..spec(6) },
            PasswordSpec { override_special: Some("^~".into()), min_special: 5, ..spec(8) },
            PasswordSpec {
                upper: false,
                lower: false,
                numeric: false,
                override_special: Some("é€".into()),
                ..spec(10)
            },
        ];
        for (i, sp) in specs.iter().enumerate() {
            let specials: String = sp.special_chars().into_iter().collect();
            for _ in 0..200 {
                let pw = generate(sp).unwrap();
                assert_eq!(pw.chars().count(), sp.length, "spec {i}");
                assert!(count(&pw, UPPER) >= sp.min_upper, "spec {i}");
                assert!(count(&pw, LOWER) >= sp.min_lower, "spec {i}");
                assert!(count(&pw, NUMERIC) >= sp.min_numeric, "spec {i}");
                assert!(count(&pw, &specials) >= sp.min_special, "spec {i}");
                assert!(sp.upper || count(&pw, UPPER) == sp.min_upper, "spec {i}: disabled class appeared");
                assert!(sp.lower || count(&pw, LOWER) == sp.min_lower, "spec {i}");
                assert!(sp.numeric || count(&pw, NUMERIC) == sp.min_numeric, "spec {i}");
                assert!(sp.special || count(&pw, &specials) == sp.min_special, "spec {i}");
                assert!(
                    pw.chars()
                        .all(|c| UPPER.contains(c) || LOWER.contains(c) || NUMERIC.contains(c) || specials.contains(c)),
                    "spec {i}"
                );
            }
        }
    }

    #[test]
    fn impossible_specs_are_errors_not_panics() {
        assert!(generate(&PasswordSpec { min_upper: 5, min_lower: 5, ..spec(8) }).is_err());
        assert!(
            generate(&PasswordSpec { upper: false, lower: false, numeric: false, special: false, ..spec(4) }).is_err()
        );
        assert_eq!(generate(&spec(0)).unwrap(), "");
    }

    #[test]
    fn minimums_exceeding_length_are_a_plan_time_error() {
        let t = RandomPassword::new();
        let src = "resource \"random_password\" \"x\" {\n  length = 4\n  min_upper = 2\n  min_numeric = 3\n}\n";
        let p = crate::schema::validate::test_hcl::resource(src);
        let d = crate::schema::validate::check_values(&p.body, &p.value, t.schema(), p.block_span);
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert_eq!(d.0[0].summary, "min_upper + min_lower + min_numeric + min_special (5) exceeds length (4)");
        assert_eq!(p.sources.location(d.0[0].span.unwrap()), "main.tf:2:3");
        let ok = "resource \"random_password\" \"x\" {\n  length = 5\n  min_upper = 2\n  min_numeric = 3\n}\n";
        let p = crate::schema::validate::test_hcl::resource(ok);
        assert!(crate::schema::validate::check_values(&p.body, &p.value, t.schema(), p.block_span).is_empty());
        let none = "resource \"random_password\" \"x\" {\n  length = 5\n  upper = false\n  lower = false\n  numeric = false\n  special = false\n}\n";
        let p = crate::schema::validate::test_hcl::resource(none);
        let d = crate::schema::validate::check_values(&p.body, &p.value, t.schema(), p.block_span);
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert_eq!(p.sources.location(d.0[0].span.unwrap()), "main.tf:3:3");
    }

    fn config(length: i64) -> Value {
        let mut m = BTreeMap::new();
        for (name, _) in &RandomPassword::new().schema.attributes {
            m.insert(name.to_string(), Value::Null);
        }
        m.insert("length".into(), Value::from(length));
        m.insert("min_numeric".into(), Value::from(2));
        Value::object(m)
    }

    #[tokio::test]
    async fn create_plan_and_result_are_sensitive() {
        let t = RandomPassword::new();
        let prop = propose(t.schema(), None, &config(20), false);
        assert!(prop.planned.get("result").unwrap().is_unknown());
        assert_eq!(prop.planned.get("special"), Some(&Value::Bool(true)), "defaults are planned");
        let state = t.create(&ctx(), &prop.planned, &prop.config).await.unwrap();
        let result = state.get("result").unwrap();
        assert!(result.is_sensitive());
        assert_eq!(result.as_str().map(|s| s.chars().count()), Some(20));
        assert!(count(result.as_str().unwrap(), NUMERIC) >= 2);
        assert_eq!(state.get("id"), Some(&Value::from("none")));
        assert!(!format!("{state:?}").contains(result.as_str().unwrap()));
    }

    #[tokio::test]
    async fn refreshed_withheld_result_plans_no_change_and_keepers_replace() {
        let t = RandomPassword::new();
        let created =
            t.create(&ctx(), &propose(t.schema(), None, &config(12), false).planned, &Value::Null).await.unwrap();
        // What the state codec gives back: the result withheld.
        let mut prior = created.clone();
        if let Some(m) = prior.map_mut() {
            m.insert("result".into(), Value::Unknown(Unknown::Withheld { fingerprint: Some("f".into()) }).sensitive());
        }
        let read = t
            .read_many(
                &ctx(),
                &[ReadRequest {
                    addr: crate::addr::ResourceAddr::managed(crate::addr::ModulePath::root(), "random_password", "x")
                        .instance(crate::addr::InstanceKey::None),
                    prior: prior.clone(),
                }],
            )
            .await
            .unwrap();
        assert_eq!(read, vec![Some(prior.clone())]);

        let prop = propose(t.schema(), Some(&prior), &config(12), false);
        assert!(prop.requires_replace.is_empty());
        assert!(crate::schema::diff::changed_paths(&prior, &prop.planned).is_empty());
        let updated = t.update(&ctx(), &prior, &prop.planned, &config(12), &[]).await.unwrap();
        assert_eq!(updated, prior);

        let mut with_keepers = config(12);
        if let Some(m) = with_keepers.map_mut() {
            m.insert("keepers".into(), Value::map([("rotate", Value::from("2024"))]));
        }
        let prop = propose(t.schema(), Some(&prior), &with_keepers, false);
        assert_eq!(prop.requires_replace, vec![AttrPath::attr("keepers")]);
        assert!(matches!(prop.planned.get("result").unwrap().peel(), Value::Unknown(Unknown::Pending)));
    }

    #[tokio::test]
    async fn import_uses_the_password_as_id() {
        let t = RandomPassword::new();
        let v = t.import(&ctx(), "s3cr3t!").await.unwrap();
        assert!(v.get("result").unwrap().is_sensitive());
        assert_eq!(v.get("length"), Some(&Value::from(7)));
        assert_eq!(v.get("id"), Some(&Value::from("none")));
        assert!(t.import(&ctx(), "").await.is_err());
    }
}
