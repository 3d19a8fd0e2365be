//! The planned new value of one resource instance, following Terraform's rules for merging
//! configuration, defaults, prior state and computed attributes, and deciding which changes
//! force replacement.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::addr::{AttrPath, PathStep};
use crate::lang::config::IgnoreChanges;
use crate::lang::value::{Unknown, Value};
use crate::schema::diff;
use crate::schema::{Nesting, Schema};

/// The planner's proposal for one instance, which the type may adjust
/// (see `providers::ResourceType::customize_plan`).
#[derive(Clone, Debug)]
pub struct PlanProposal {
    /// None when creating.
    pub prior: Option<Value>,
    /// The evaluated configuration (write-only arguments included).
    pub config: Value,
    /// The proposed new state: config merged with defaults and computed attributes (unknown
    /// where the provider will decide).
    pub planned: Value,
    /// Attribute paths whose change forces replacement, found from the schema. A type may add
    /// (e.g. "shrinking max_instances replaces") or remove paths.
    pub requires_replace: Vec<AttrPath>,
    /// Paths that differ between prior and planned, as the engine computed them (with secret
    /// fingerprints, which a type cannot recompute).
    pub changed: Vec<AttrPath>,
}

/// Optional inputs to [`propose_with`].
#[derive(Clone, Copy, Default)]
pub struct ProposeOptions<'a> {
    /// `lifecycle { ignore_changes = … }`: applied to the configuration before planning, as
    /// Terraform does, so an ignored change neither updates nor replaces.
    pub ignore_changes: Option<&'a IgnoreChanges>,
    /// The state's keyed fingerprint of a secret. Without it a sensitive attribute whose prior
    /// is withheld cannot be shown unchanged and counts as changed — the engine should always
    /// pass it.
    pub fingerprint: Option<&'a dyn Fn(&Value) -> String>,
}

/// Plans one instance. `prior`: the refreshed current object (None when creating). `config`:
/// the conformed configuration (see [`crate::schema::validate::conform`]).
/// `replace_forced`: the caller already knows it will replace (tainted, `--replace`,
/// `replace_triggered_by`).
pub fn propose(schema: &Schema, prior: Option<&Value>, config: &Value, replace_forced: bool) -> PlanProposal {
    propose_with(schema, prior, config, replace_forced, ProposeOptions::default())
}

/// [`propose`] with ignore_changes and the secret fingerprint.
pub fn propose_with(
    schema: &Schema,
    prior: Option<&Value>,
    config: &Value,
    replace_forced: bool,
    opts: ProposeOptions<'_>,
) -> PlanProposal {
    let effective_config = match (prior, opts.ignore_changes) {
        (Some(prior), Some(ignore)) => ignore_in_config(schema, config, prior, ignore),
        _ => config.clone(),
    };
    let Some(prior_value) = prior else {
        return PlanProposal {
            prior: None,
            config: config.clone(),
            planned: plan_object(schema, None, &effective_config, false),
            requires_replace: Vec::new(),
            changed: Vec::new(),
        };
    };
    let planned_in_place = plan_object(schema, Some(prior_value), &effective_config, true);
    let requires_replace: Vec<AttrPath> =
        diff::changed_paths_schema_opt(schema, prior_value, &planned_in_place, opts.fingerprint)
            .into_iter()
            .filter(|p| forces_replacement(schema, p))
            .collect();
    let planned = if replace_forced || !requires_replace.is_empty() {
        plan_object(schema, Some(prior_value), &effective_config, false)
    } else {
        planned_in_place
    };
    let changed = diff::changed_paths_schema_opt(schema, prior_value, &planned, opts.fingerprint);
    PlanProposal { prior: Some(prior_value.clone()), config: config.clone(), planned, requires_replace, changed }
}

/// Whether a change at `path` replaces the resource. A set-nested block is reported as a whole
/// (its elements have no identity), so it replaces when the block or anything inside it is
/// force-new — as the SDK does when a set element with a force-new field appears or goes.
pub fn forces_replacement(schema: &Schema, path: &AttrPath) -> bool {
    if schema.is_force_new(path) {
        return true;
    }
    let mut s = schema;
    let mut steps = path.0.iter().peekable();
    while let Some(step) = steps.next() {
        let PathStep::Attr(name) = step else { return false };
        let Some(bt) = s.blocks.get(name.as_str()) else { return false };
        if bt.nesting == Nesting::Set && steps.peek().is_none() {
            return any_force_new(&bt.block);
        }
        if let Some(PathStep::Index(_)) = steps.peek() {
            steps.next();
        }
        s = &bt.block;
    }
    false
}

fn any_force_new(schema: &Schema) -> bool {
    schema.attributes.values().any(|a| a.force_new)
        || schema.blocks.values().any(|b| b.force_new || any_force_new(&b.block))
}

/// Builds the planned object. `keep_prior`: computed attributes keep the prior's values (an
/// in-place update); otherwise they become unknown (a create or replacement).
fn plan_object(schema: &Schema, prior: Option<&Value>, config: &Value, keep_prior: bool) -> Value {
    let mut out = BTreeMap::new();
    let prior = if keep_prior { prior } else { None };
    for (name, attr) in &schema.attributes {
        let configured = config.get(name).filter(|v| !v.is_null());
        let value = if attr.write_only {
            // Write-only arguments live only in the configuration handed to create/update.
            Value::Null
        } else if let Some(v) = configured {
            v.clone()
        } else if let Some(d) = &attr.default {
            d.clone()
        } else if attr.computed {
            match prior {
                Some(p) => p.get(name).cloned().unwrap_or_else(Value::unknown),
                None => Value::unknown(),
            }
        } else {
            Value::Null
        };
        let value = match (attr.equivalent, prior.and_then(|p| p.get(name))) {
            (Some(same), Some(before)) if value.is_wholly_known() && same(&value, before) => before.clone(),
            _ => value,
        };
        let sensitive_known =
            attr.sensitive && !value.is_null() && !matches!(value.peel(), Value::Unknown(Unknown::Pending));
        out.insert(name.to_string(), value.mark_if(sensitive_known));
    }
    for (name, bt) in &schema.blocks {
        let cfg = config.get(name).unwrap_or(&Value::Null);
        if cfg.is_unknown() {
            out.insert(name.to_string(), cfg.clone());
            continue;
        }
        let cfg_items = cfg.as_list().unwrap_or(&[]);
        let prior_items = prior.and_then(|p| p.get(name)).and_then(|v| v.as_list()).unwrap_or(&[]);
        let planned = match bt.nesting {
            Nesting::Single | Nesting::List => Value::List(
                cfg_items
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if c.is_unknown() {
                            c.clone()
                        } else {
                            plan_object(&bt.block, prior_items.get(i), c, keep_prior)
                        }
                    })
                    .collect(),
            ),
            Nesting::Set => {
                let mut used = vec![false; prior_items.len()];
                let items = cfg_items
                    .iter()
                    .map(|c| {
                        if c.is_unknown() {
                            return c.clone();
                        }
                        let matched = prior_items
                            .iter()
                            .enumerate()
                            .find(|(j, p)| !used[*j] && matches_configured(&bt.block, c, p));
                        match matched {
                            Some((j, p)) => {
                                used[j] = true;
                                plan_object(&bt.block, Some(p), c, keep_prior)
                            }
                            None => plan_object(&bt.block, None, c, keep_prior),
                        }
                    })
                    .collect();
                Value::set(items)
            }
        };
        out.insert(name.to_string(), planned);
    }
    Value::object(out)
}

/// A prior set element "is" the configured one when it agrees on everything configured.
fn matches_configured(schema: &Schema, config: &Value, prior: &Value) -> bool {
    let attrs_match = schema.attributes.iter().all(|(name, attr)| {
        let c = config.get(name).unwrap_or(&Value::Null);
        attr.write_only || c.is_null() || diff::values_equal(prior.get(name).unwrap_or(&Value::Null), c)
    });
    attrs_match
        && schema.blocks.iter().all(|(name, bt)| {
            let cs = config.get(name).and_then(|v| v.as_list()).unwrap_or(&[]);
            let ps = prior.get(name).and_then(|v| v.as_list()).unwrap_or(&[]);
            match bt.nesting {
                Nesting::Single | Nesting::List => {
                    cs.len() == ps.len() && cs.iter().zip(ps).all(|(c, p)| matches_configured(&bt.block, c, p))
                }
                Nesting::Set => cs.iter().all(|c| ps.iter().any(|p| matches_configured(&bt.block, c, p))),
            }
        })
}

/// Terraform's ignore_changes, applied to the configuration: an ignored argument is planned
/// as if it were configured to its prior value. Computed-only attributes are left alone (they
/// are not configuration) and write-only ones too (their prior is never stored).
fn ignore_in_config(schema: &Schema, config: &Value, prior: &Value, ignore: &IgnoreChanges) -> Value {
    let mut out = config.clone();
    let settable = |name: &str| {
        schema.attributes.get(name).map(|a| (a.required || a.optional) && !a.write_only).unwrap_or(false)
            || schema.blocks.contains_key(name)
    };
    match ignore {
        IgnoreChanges::None => {}
        IgnoreChanges::All => {
            if let Some(m) = out.map_mut() {
                for name in schema.attributes.keys().chain(schema.blocks.keys()) {
                    if settable(name) {
                        m.insert(name.to_string(), prior.get(name).cloned().unwrap_or(Value::Null));
                    }
                }
            }
        }
        IgnoreChanges::Paths(paths) => {
            for (path, _) in paths {
                if path.top().is_some_and(settable) {
                    ignore_path(&mut out, prior, path);
                }
            }
        }
    }
    out
}

/// Makes `planned` keep the prior's value at every ignored path (only when there is a prior).
/// `All`: every attribute that is set in `planned` takes the prior's value.
pub fn apply_ignore_changes(planned: &mut Value, prior: Option<&Value>, ignore: &IgnoreChanges) {
    let Some(prior) = prior else { return };
    match ignore {
        IgnoreChanges::None => {}
        IgnoreChanges::All => {
            if let Some(m) = planned.map_mut() {
                for (k, v) in m.iter_mut() {
                    if !v.is_null() {
                        if let Some(p) = prior.get(k) {
                            *v = p.clone();
                        }
                    }
                }
            }
        }
        IgnoreChanges::Paths(paths) => {
            for (path, _) in paths {
                ignore_path(planned, prior, path);
            }
        }
    }
}

fn ignore_path(target: &mut Value, prior: &Value, path: &AttrPath) {
    let Some((last, parent_path)) = path.0.split_last() else { return };
    let Some(prior_parent) = get_path(prior, parent_path) else { return };
    let prior_value = step(prior_parent, last);
    let Some(target_parent) = get_path_mut(target, parent_path) else { return };
    match (target_parent, last, prior_value) {
        (Value::Map(m), PathStep::Attr(k), Some(pv)) => {
            Arc::make_mut(m).insert(k.clone(), pv.clone());
        }
        // An ignored map key that the prior lacks stays absent.
        (Value::Map(m), PathStep::Attr(k), None) if prior_parent.as_map().is_some() => {
            Arc::make_mut(m).remove(k);
        }
        (Value::List(xs), PathStep::Index(i), Some(pv)) => {
            if let Some(slot) = usize::try_from(*i).ok().and_then(|i| xs.get_mut(i)) {
                *slot = pv.clone();
            }
        }
        _ => {}
    }
}

fn step<'a>(v: &'a Value, s: &PathStep) -> Option<&'a Value> {
    match s {
        PathStep::Attr(k) => v.get(k),
        PathStep::Index(i) => v.as_list().and_then(|xs| usize::try_from(*i).ok().and_then(|i| xs.get(i))),
    }
}

fn get_path<'a>(v: &'a Value, path: &[PathStep]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, s| step(v, s))
}

/// Mutable descent; passes through sensitive marks so that the mark stays on the container.
fn get_path_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        while let Value::Sensitive(inner) = cur {
            cur = inner.as_mut();
        }
        cur = match (cur, s) {
            (Value::Map(m), PathStep::Attr(k)) => Arc::make_mut(m).get_mut(k)?,
            (Value::List(xs), PathStep::Index(i)) => xs.get_mut(usize::try_from(*i).ok()?)?,
            _ => return None,
        };
    }
    while let Value::Sensitive(inner) = cur {
        cur = inner.as_mut();
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::diag::{FileId, Span};
    use crate::schema::{AttrType, Attribute, BlockType};

    fn p(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }

    fn schema() -> Schema {
        Schema::new()
            .attr("name", Attribute::required(AttrType::String).force_new())
            .attr("tier", Attribute::optional(AttrType::String).default("small"))
            .attr("labels", Attribute::optional(AttrType::Map(Box::new(AttrType::String))))
            .attr("id", Attribute::computed(AttrType::String))
            .attr("zone", Attribute::optional_computed(AttrType::String))
            .attr("token", Attribute::optional(AttrType::String).write_only())
            .attr("password", Attribute::optional(AttrType::String).sensitive())
            .block(
                "disk",
                BlockType::list(
                    Schema::new()
                        .attr("size", Attribute::required(AttrType::Number))
                        .attr("self_link", Attribute::computed(AttrType::String)),
                ),
            )
            .block(
                "rule",
                BlockType::set(
                    Schema::new()
                        .attr("port", Attribute::required(AttrType::Number))
                        .attr("rule_id", Attribute::computed(AttrType::String)),
                ),
            )
    }

    fn config(name: &str) -> Value {
        Value::map([
            ("name", Value::from(name)),
            ("tier", Value::Null),
            ("labels", Value::Null),
            ("id", Value::Null),
            ("zone", Value::Null),
            ("token", Value::from("write-only-token")),
            ("password", Value::Null),
            ("disk", Value::List(vec![Value::map([("size", Value::from(10)), ("self_link", Value::Null)])])),
            (
                "rule",
                Value::set(vec![
                    Value::map([("port", Value::from(80)), ("rule_id", Value::Null)]),
                    Value::map([("port", Value::from(443)), ("rule_id", Value::Null)]),
                ]),
            ),
        ])
    }

    fn prior(name: &str) -> Value {
        Value::map([
            ("name", Value::from(name)),
            ("tier", Value::from("small")),
            ("labels", Value::Null),
            ("id", Value::from("id-1")),
            ("zone", Value::from("europe-west1-b")),
            ("token", Value::Null),
            ("password", Value::Null),
            (
                "disk",
                Value::List(vec![Value::map([("size", Value::from(10)), ("self_link", Value::from("disk-link"))])]),
            ),
            (
                "rule",
                Value::set(vec![
                    Value::map([("port", Value::from(443)), ("rule_id", Value::from("r443"))]),
                    Value::map([("port", Value::from(22)), ("rule_id", Value::from("r22"))]),
                ]),
            ),
        ])
    }

    fn rule_ids(planned: &Value) -> Vec<(i64, String)> {
        planned
            .get("rule")
            .and_then(|r| r.as_list())
            .unwrap_or(&[])
            .iter()
            .map(|r| {
                (
                    r.get("port").and_then(Value::as_i64).unwrap_or(-1),
                    r.get("rule_id").map(|v| v.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn create_fills_defaults_and_unknowns() {
        let prop = propose(&schema(), None, &config("a"), false);
        let pl = &prop.planned;
        assert_eq!(pl.get("tier"), Some(&Value::from("small")));
        assert!(pl.get("id").unwrap().is_unknown());
        assert!(pl.get("zone").unwrap().is_unknown());
        assert_eq!(pl.get("labels"), Some(&Value::Null));
        assert_eq!(pl.get("token"), Some(&Value::Null), "write-only must never be planned");
        assert!(pl.get("disk").unwrap().as_list().unwrap()[0].get("self_link").unwrap().is_unknown());
        assert!(prop.requires_replace.is_empty());
        assert_eq!(prop.config.get("token"), Some(&Value::from("write-only-token")));
        // Every schema attribute is present.
        for k in schema().attributes.keys() {
            assert!(pl.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn update_keeps_computed_values() {
        let mut cfg = config("a");
        if let Some(m) = cfg.map_mut() {
            m.insert("tier".into(), "large".into());
        }
        let prior = prior("a");
        let prop = propose(&schema(), Some(&prior), &cfg, false);
        let pl = &prop.planned;
        assert!(prop.requires_replace.is_empty());
        assert_eq!(pl.get("id"), Some(&Value::from("id-1")));
        assert_eq!(pl.get("zone"), Some(&Value::from("europe-west1-b")));
        assert_eq!(pl.get("tier"), Some(&Value::from("large")));
        assert_eq!(pl.get("disk").unwrap().as_list().unwrap()[0].get("self_link"), Some(&Value::from("disk-link")));
        let changed = diff::changed_paths(&prior, pl);
        assert_eq!(changed, vec![p("rule"), p("tier")]);
    }

    #[test]
    fn force_new_change_replaces_with_unknown_computed() {
        let prior = prior("a");
        let prop = propose(&schema(), Some(&prior), &config("b"), false);
        assert_eq!(prop.requires_replace, vec![p("name")]);
        assert!(prop.planned.get("id").unwrap().is_unknown());
        assert!(prop.planned.get("zone").unwrap().is_unknown());
        assert!(rule_ids(&prop.planned).iter().all(|(_, id)| id == "(known after apply)"));
    }

    #[test]
    fn forced_replacement_makes_computed_unknown() {
        let prior = prior("a");
        let prop = propose(&schema(), Some(&prior), &config("a"), true);
        assert!(prop.requires_replace.is_empty());
        assert!(prop.planned.get("id").unwrap().is_unknown());
    }

    #[test]
    fn set_blocks_match_prior_by_content() {
        let prior = prior("a");
        let prop = propose(&schema(), Some(&prior), &config("a"), false);
        let ids = rule_ids(&prop.planned);
        assert!(ids.contains(&(443, "\"r443\"".to_string())), "{ids:?}");
        assert!(ids.contains(&(80, "(known after apply)".to_string())), "{ids:?}");
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn set_block_change_replaces_when_inner_attribute_is_force_new() {
        let mut s = schema();
        if let Some(bt) = s.blocks.get_mut("rule") {
            bt.block.attributes.get_mut("port").unwrap().force_new = true;
        }
        let prop = propose(&s, Some(&prior("a")), &config("a"), false);
        assert_eq!(prop.requires_replace, vec![p("rule")]);
    }

    #[test]
    fn sensitive_config_is_marked_in_plan() {
        let mut cfg = config("a");
        if let Some(m) = cfg.map_mut() {
            m.insert("password".into(), "hunter2".into());
        }
        let prop = propose(&schema(), None, &cfg, false);
        assert!(prop.planned.get("password").unwrap().is_sensitive());
    }

    #[test]
    fn sensitive_attribute_unchanged_by_fingerprint() {
        let mut cfg = config("a");
        let mut pr = prior("a");
        if let (Some(c), Some(pm)) = (cfg.map_mut(), pr.map_mut()) {
            c.insert("password".into(), "hunter2".into());
            pm.insert(
                "password".into(),
                Value::Unknown(Unknown::Withheld { fingerprint: Some("F:hunter2".into()) }).sensitive(),
            );
        }
        let fp = |v: &Value| format!("F:{}", v.as_str().unwrap_or(""));
        let mut s = schema();
        s.attributes.get_mut("password").unwrap().force_new = true;
        let prop =
            propose_with(&s, Some(&pr), &cfg, false, ProposeOptions { ignore_changes: None, fingerprint: Some(&fp) });
        assert!(prop.requires_replace.is_empty());
        let without_key = propose(&s, Some(&pr), &cfg, false);
        assert_eq!(without_key.requires_replace, vec![p("password")]);
    }

    fn span() -> Span {
        Span { file: FileId(0), start: 0, end: 0 }
    }

    #[test]
    fn ignore_changes_paths_keep_prior_and_avoid_replacement() {
        let ignore = IgnoreChanges::Paths(vec![(p("name"), span()), (p("labels.env"), span())]);
        let mut cfg = config("renamed");
        let mut pr = prior("a");
        if let (Some(c), Some(pm)) = (cfg.map_mut(), pr.map_mut()) {
            c.insert("labels".into(), Value::map([("env", Value::from("prod")), ("team", "x".into())]));
            pm.insert("labels".into(), Value::map([("env", Value::from("dev")), ("team", "y".into())]));
        }
        let prop = propose_with(
            &schema(),
            Some(&pr),
            &cfg,
            false,
            ProposeOptions { ignore_changes: Some(&ignore), fingerprint: None },
        );
        assert!(prop.requires_replace.is_empty());
        assert_eq!(prop.planned.get("name"), Some(&Value::from("a")));
        assert_eq!(prop.planned.get("labels").unwrap().get("env"), Some(&Value::from("dev")));
        assert_eq!(prop.planned.get("labels").unwrap().get("team"), Some(&Value::from("x")));
        assert_eq!(prop.planned.get("id"), Some(&Value::from("id-1")));
    }

    #[test]
    fn ignored_map_key_absent_in_prior_stays_absent() {
        let mut planned = Value::map([("labels", Value::map([("new", Value::from("v")), ("k", "2".into())]))]);
        let prior = Value::map([("labels", Value::map([("k", Value::from("1"))]))]);
        apply_ignore_changes(
            &mut planned,
            Some(&prior),
            &IgnoreChanges::Paths(vec![(p("labels.new"), span()), (p("labels.k"), span())]),
        );
        assert_eq!(planned, prior);
    }

    #[test]
    fn ignore_changes_all_and_no_prior() {
        let mut planned = Value::map([("a", Value::from(2)), ("b", Value::Null)]);
        let original = planned.clone();
        apply_ignore_changes(&mut planned, None, &IgnoreChanges::All);
        assert_eq!(planned, original, "nothing to keep when creating");
        let small_prior = Value::map([("a", Value::from(1)), ("b", Value::from(5))]);
        apply_ignore_changes(&mut planned, Some(&small_prior), &IgnoreChanges::All);
        assert_eq!(planned, Value::map([("a", Value::from(1)), ("b", Value::Null)]));

        let ignore = IgnoreChanges::All;
        let prop = propose_with(
            &schema(),
            Some(&prior("a")),
            &config("zzz"),
            false,
            ProposeOptions { ignore_changes: Some(&ignore), fingerprint: None },
        );
        assert!(prop.requires_replace.is_empty());
        assert!(diff::changed_paths(&prior("a"), &prop.planned).is_empty());
    }

    #[test]
    fn ignore_changes_into_list_elements() {
        let mut planned = Value::map([("disk", Value::List(vec![Value::map([("size", Value::from(20))])]))]);
        let prior = Value::map([("disk", Value::List(vec![Value::map([("size", Value::from(10))])]))]);
        apply_ignore_changes(&mut planned, Some(&prior), &IgnoreChanges::Paths(vec![(p("disk[0].size"), span())]));
        assert_eq!(planned, prior);
    }
}
