//! One instance's planned change: the contract between the core and a resource type.
//!
//! As in Terraform (`internal/plans/objchange`, `PlanResourceChange`): the core proposes the
//! new value from configuration, prior object and schema ([`propose_with`]); the type may
//! adjust it and name more attribute paths that force replacement
//! ([`ResourceType::customize_plan`]); if the type asks for a replacement of an object the
//! core had planned to update in place, **the core** plans the replacement (computed
//! attributes unknown again) and lets the type adjust that once more. A type never calls back
//! into the planner.
//!
//! `plan` and `apply` both go through [`plan_instance`]. Apply plans each step again with the
//! values its dependencies produced and refuses to send anything that contradicts a value the
//! plan showed as known ([`check_consistent`]), as Terraform's "Provider produced inconsistent
//! final plan" does.

use crate::addr::{AttrPath, PathStep};
use crate::lang::config::IgnoreChanges;
use crate::lang::value::Value;
use crate::plan::model::Action;
use crate::providers::{ProviderError, ResourceType};
use crate::schema::diff::changed_paths_with_schema;
use crate::schema::propose::{propose_with, ProposeOptions};

/// What planning one instance needs besides the resource type.
pub struct InstanceInput<'a> {
    /// The refreshed current object; None when creating.
    pub prior: Option<&'a Value>,
    /// The evaluated, conformed configuration (write-only arguments included).
    pub config: &'a Value,
    /// The caller already knows this replaces (tainted, `--replace`, `replace_triggered_by`,
    /// or apply carrying out a planned replacement).
    pub force_replace: bool,
    pub ignore_changes: &'a IgnoreChanges,
    /// The state's keyed fingerprint of a secret (see [`ProposeOptions::fingerprint`]).
    pub fingerprint: &'a dyn Fn(&Value) -> String,
}

/// The decided change for one instance.
#[derive(Clone, Debug)]
pub struct InstancePlan {
    /// Create, Update, NoOp or DeleteThenCreate (the caller turns a replacement into
    /// CreateThenDelete under `create_before_destroy`).
    pub action: Action,
    /// The planned new object, with the schema's sensitive marks. For a no-op, the prior.
    pub planned: Value,
    /// Attribute paths that differ between prior and planned, sorted.
    pub changed: Vec<AttrPath>,
    /// The paths that force replacement (schema force-new plus what the type added).
    pub replace_paths: Vec<AttrPath>,
    /// What the type wants the user to know about this change.
    pub warnings: Vec<String>,
}

/// Plans one instance: core proposal, type adjustment, core re-proposal on replace.
pub fn plan_instance(rt: &dyn ResourceType, input: &InstanceInput<'_>) -> Result<InstancePlan, ProviderError> {
    let schema = rt.schema();
    let opts = ProposeOptions { ignore_changes: Some(input.ignore_changes), fingerprint: Some(input.fingerprint) };
    let mut proposal = propose_with(schema, input.prior, input.config, input.force_replace, opts);
    let planned_as_replacement = input.force_replace || !proposal.requires_replace.is_empty();
    let mut warnings = rt.customize_plan(&mut proposal)?;

    let Some(before) = input.prior else {
        return Ok(InstancePlan {
            action: Action::Create,
            planned: schema.mark_sensitive(proposal.planned),
            changed: Vec::new(),
            replace_paths: Vec::new(),
            warnings,
        });
    };
    if !planned_as_replacement && !proposal.requires_replace.is_empty() {
        // The type found a reason to replace what the schema would update in place: plan the
        // replacement (computed attributes unknown again) and let the type adjust that.
        let asked = std::mem::take(&mut proposal.requires_replace);
        proposal = propose_with(schema, input.prior, input.config, true, opts);
        for p in asked {
            if !proposal.requires_replace.contains(&p) {
                proposal.requires_replace.push(p);
            }
        }
        for w in rt.customize_plan(&mut proposal)? {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    let mut changed = changed_paths_with_schema(schema, before, &proposal.planned, input.fingerprint);
    changed.sort();
    let replace_paths = proposal.requires_replace;
    let action = if input.force_replace || !replace_paths.is_empty() {
        Action::DeleteThenCreate
    } else if changed.is_empty() {
        Action::NoOp
    } else {
        Action::Update
    };
    let planned = if action == Action::NoOp { before.clone() } else { schema.mark_sensitive(proposal.planned) };
    Ok(InstancePlan { action, planned, changed, replace_paths, warnings })
}

/// Where the value apply is about to send contradicts the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Inconsistency {
    pub path: AttrPath,
    /// What the plan showed and what apply computed, as shown to the user (sensitive values
    /// redacted by `Value`'s `Display`).
    pub planned: String,
    pub now: String,
}

impl std::fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: the plan showed {}, but it is now {}", self.path, self.planned, self.now)
    }
}

/// Checks that every value the plan showed as known is what apply now plans. Unknown planned
/// values (pending, or secrets the plan did not keep) may become anything.
pub fn check_consistent(planned: &Value, now: &Value) -> Result<(), Inconsistency> {
    walk_consistent(planned, now, &mut AttrPath::default())
}

fn walk_consistent(planned: &Value, now: &Value, path: &mut AttrPath) -> Result<(), Inconsistency> {
    let inconsistent = |path: &AttrPath| Inconsistency { path: path.clone(), planned: show(planned), now: show(now) };
    match (planned.peel(), now.peel()) {
        (Value::Unknown(_), _) => Ok(()),
        (Value::Map(p), Value::Map(n)) => {
            for (k, pv) in p.iter() {
                path.0.push(PathStep::Attr(k.clone()));
                walk_consistent(pv, n.get(k).unwrap_or(&Value::Null), path)?;
                path.0.pop();
            }
            match n.keys().find(|k| !p.contains_key(*k) && !n[*k].is_null()) {
                Some(extra) => {
                    path.0.push(PathStep::Attr(extra.clone()));
                    let err = Inconsistency { path: path.clone(), planned: "null".into(), now: show(&n[extra]) };
                    path.0.pop();
                    Err(err)
                }
                None => Ok(()),
            }
        }
        (Value::List(p), Value::List(n)) if p.len() == n.len() => {
            for (i, (pv, nv)) in p.iter().zip(n).enumerate() {
                path.0.push(PathStep::Index(i as i64));
                walk_consistent(pv, nv, path)?;
                path.0.pop();
            }
            Ok(())
        }
        // Set elements have no identity: a set the plan could not fully know may become anything.
        (Value::Set(p), _) if p.iter().any(|v| !v.is_wholly_known()) => Ok(()),
        (p, n) if p.same_as(n) => Ok(()),
        _ => Err(inconsistent(path)),
    }
}

fn show(v: &Value) -> String {
    if v.contains_sensitive() {
        "(sensitive value)".to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{CallContext, PlanProposal, ReadRequest};
    use crate::schema::{AttrType, Attribute, Schema};
    use async_trait::async_trait;

    /// A type whose `size` may grow in place but replaces when it shrinks (a rule the schema
    /// cannot express), with a computed `state`.
    struct Sized {
        schema: Schema,
    }

    fn sized() -> Sized {
        Sized {
            schema: Schema::new()
                .attr("name", Attribute::required(AttrType::String).force_new())
                .attr("size", Attribute::required(AttrType::Number))
                .attr("state", Attribute::computed(AttrType::String)),
        }
    }

    #[async_trait]
    impl ResourceType for Sized {
        fn name(&self) -> &'static str {
            "test_sized"
        }
        fn schema(&self) -> &Schema {
            &self.schema
        }
        fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
            let size = |v: &Value| v.get("size").and_then(Value::as_f64);
            if let (Some(before), Some(after)) = (p.prior.as_ref().and_then(size), size(&p.planned)) {
                if after < before && !p.requires_replace.contains(&AttrPath::attr("size")) {
                    p.requires_replace.push(AttrPath::attr("size"));
                    return Ok(vec!["shrinking replaces".into()]);
                }
            }
            Ok(Vec::new())
        }
        async fn read_many(&self, _: &CallContext, _: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
            unreachable!("planning reads nothing")
        }
        async fn create(&self, _: &CallContext, _: &Value, _: &Value) -> Result<Value, ProviderError> {
            unreachable!("planning creates nothing")
        }
        async fn update(
            &self,
            _: &CallContext,
            _: &Value,
            _: &Value,
            _: &Value,
            _: &[AttrPath],
        ) -> Result<Value, ProviderError> {
            unreachable!("planning updates nothing")
        }
        async fn delete(&self, _: &CallContext, _: &Value) -> Result<(), ProviderError> {
            unreachable!("planning deletes nothing")
        }
        async fn import(&self, _: &CallContext, _: &str) -> Result<Value, ProviderError> {
            unreachable!("planning imports nothing")
        }
    }

    fn object(name: &str, size: f64, state: Value) -> Value {
        Value::map([("name", Value::string(name)), ("size", Value::from(size)), ("state", state)])
    }

    fn plan(prior: Option<&Value>, config: &Value) -> InstancePlan {
        let ignore = IgnoreChanges::default();
        let fingerprint = |v: &Value| v.to_string();
        let input =
            InstanceInput { prior, config, force_replace: false, ignore_changes: &ignore, fingerprint: &fingerprint };
        plan_instance(&sized(), &input).unwrap()
    }

    #[test]
    fn a_replacement_the_type_asks_for_is_planned_by_the_core() {
        let prior = object("a", 3.0, Value::string("READY"));
        let config = |size: f64| Value::map([("name", Value::string("a")), ("size", Value::from(size))]);

        let same = plan(Some(&prior), &config(3.0));
        assert_eq!(same.action, Action::NoOp);

        let grow = plan(Some(&prior), &config(4.0));
        assert_eq!((grow.action, grow.changed.clone()), (Action::Update, vec![AttrPath::attr("size")]));
        assert_eq!(grow.planned.get("state"), Some(&Value::string("READY")), "an update keeps computed values");

        let shrink = plan(Some(&prior), &config(2.0));
        assert_eq!(shrink.action, Action::DeleteThenCreate);
        assert_eq!(shrink.replace_paths, vec![AttrPath::attr("size")]);
        assert_eq!(shrink.warnings, vec!["shrinking replaces".to_string()], "asked once, said once");
        assert!(
            shrink.planned.get("state").is_some_and(Value::is_unknown),
            "a replacement's computed values are unknown"
        );

        let renamed_and_shrunk =
            plan(Some(&prior), &Value::map([("name", Value::string("b")), ("size", Value::from(2.0))]));
        assert_eq!(renamed_and_shrunk.replace_paths, vec![AttrPath::attr("name"), AttrPath::attr("size")]);

        let create = plan(None, &config(1.0));
        assert_eq!(create.action, Action::Create);
        assert!(create.planned.get("state").is_some_and(Value::is_unknown));
    }

    #[test]
    fn known_values_must_stay_and_unknown_ones_may_become_anything() {
        let planned = Value::map([("name", Value::string("a")), ("id", Value::unknown())]);
        let same = Value::map([("name", Value::string("a")), ("id", Value::string("x"))]);
        assert_eq!(check_consistent(&planned, &same), Ok(()));
        let changed = Value::map([("name", Value::string("b")), ("id", Value::string("x"))]);
        let err = check_consistent(&planned, &changed).unwrap_err();
        assert_eq!(err.to_string(), "name: the plan showed \"a\", but it is now \"b\"");
    }

    #[test]
    fn nested_paths_are_named_and_secrets_are_not_shown() {
        let planned =
            Value::map([("settings", Value::List(vec![Value::map([("pw", Value::string("s1").sensitive())])]))]);
        let now = Value::map([("settings", Value::List(vec![Value::map([("pw", Value::string("s2").sensitive())])]))]);
        let err = check_consistent(&planned, &now).unwrap_err();
        assert_eq!(err.path.to_string(), "settings[0].pw");
        assert!(!err.to_string().contains("s1") && !err.to_string().contains("s2"), "{err}");
    }

    #[test]
    fn an_attribute_the_plan_did_not_have_is_an_inconsistency() {
        let planned = Value::map([("a", Value::Null)]);
        let now = Value::map([("a", Value::Null), ("b", Value::Bool(true))]);
        assert_eq!(check_consistent(&planned, &now).unwrap_err().path.to_string(), "b");
        let list_grew = Value::map([("a", Value::List(vec![Value::Null]))]);
        assert!(check_consistent(&Value::map([("a", Value::List(vec![]))]), &list_grew).is_err());
    }
}
