//! IAM policies shared by the `*_iam_member` types: one binding member added to or removed
//! from a resource's policy by read-modify-write (getIamPolicy, change, setIamPolicy with the
//! etag read), retried when another writer changed the policy in between, so that members
//! added at the same time all survive.
//!
//! The policy is handled as its REST JSON (`{"version", "etag", "bindings": [{"role",
//! "members", "condition"}]}`), the same for every API that has get/setIamPolicy, so each type
//! only supplies its two calls.

use std::future::Future;
use std::time::Duration;

use google_cloud_gax::error::Error as GaxError;
use serde_json::{json, Value as Json};
use tokio::time::Instant;

use super::errors::{api_error, error_text, http_status, status_name};
use super::retry::{classify, deadline_error, Retrier, Retry};
use crate::providers::ProviderError;

/// An IAM condition (google.type.Expr): a binding with one is a different binding from the
/// same role without.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Condition {
    pub title: String,
    pub description: String,
    pub expression: String,
}

/// One member of one role's binding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub role: String,
    pub member: String,
    pub condition: Option<Condition>,
}

/// Policies with conditional bindings must be read and written as version 3
/// (cloud.google.com/iam/docs/policies#versions).
pub const CONDITIONAL_POLICY_VERSION: i32 = 3;

fn condition_json(c: &Condition) -> Json {
    let mut o = serde_json::Map::new();
    o.insert("expression".into(), json!(c.expression));
    if !c.title.is_empty() {
        o.insert("title".into(), json!(c.title));
    }
    if !c.description.is_empty() {
        o.insert("description".into(), json!(c.description));
    }
    Json::Object(o)
}

fn condition_of(binding: &Json) -> Option<Condition> {
    let c = binding.get("condition").filter(|c| c.is_object())?;
    let s = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    Some(Condition { title: s("title"), description: s("description"), expression: s("expression") })
}

fn same_binding(binding: &Json, g: &Grant) -> bool {
    binding.get("role").and_then(Json::as_str) == Some(g.role.as_str()) && condition_of(binding) == g.condition
}

fn members(binding: &Json) -> impl Iterator<Item = &str> {
    binding.get("members").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str)
}

/// Terraform compares members with their type prefix case-insensitively
/// (`serviceAccount:` and `serviceaccount:` name the same principal).
fn same_member(a: &str, b: &str) -> bool {
    match (a.split_once(':'), b.split_once(':')) {
        (Some((ta, ia)), Some((tb, ib))) => ta.eq_ignore_ascii_case(tb) && ia == ib,
        _ => a == b,
    }
}

fn bindings_mut(policy: &mut Json) -> &mut Vec<Json> {
    if !policy.is_object() {
        *policy = json!({});
    }
    let o = policy.as_object_mut().expect("an object");
    let b = o.entry("bindings").or_insert_with(|| json!([]));
    if !b.is_array() {
        *b = json!([]);
    }
    b.as_array_mut().expect("an array")
}

/// Whether the policy grants `g`.
pub fn has(policy: &Json, g: &Grant) -> bool {
    policy
        .get("bindings")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .any(|b| same_binding(b, g) && members(b).any(|m| same_member(m, &g.member)))
}

/// Adds `g`'s member to its binding (creating it); false when it was already there.
pub fn add(policy: &mut Json, g: &Grant) -> bool {
    if has(policy, g) {
        return false;
    }
    if g.condition.is_some() {
        policy["version"] = json!(CONDITIONAL_POLICY_VERSION);
    }
    let bindings = bindings_mut(policy);
    match bindings.iter_mut().find(|b| same_binding(b, g)) {
        Some(b) => {
            if !b.get("members").is_some_and(Json::is_array) {
                b["members"] = json!([]);
            }
            b["members"].as_array_mut().expect("an array").push(json!(g.member));
        }
        None => {
            let mut b = json!({"role": g.role, "members": [g.member]});
            if let Some(c) = &g.condition {
                b["condition"] = condition_json(c);
            }
            bindings.push(b);
        }
    }
    true
}

/// Removes `g`'s member only (a binding left empty goes); false when it was not there.
pub fn remove(policy: &mut Json, g: &Grant) -> bool {
    if !has(policy, g) {
        return false;
    }
    let bindings = bindings_mut(policy);
    for b in bindings.iter_mut().filter(|b| same_binding(b, g)) {
        if let Some(ms) = b.get_mut("members").and_then(Json::as_array_mut) {
            ms.retain(|m| !m.as_str().is_some_and(|m| same_member(m, &g.member)));
        }
    }
    bindings.retain(|b| members(b).next().is_some());
    true
}

/// Another writer changed the policy between our read and our write: setIamPolicy refuses a
/// stale etag with 409 ABORTED ("There were concurrent policy changes", the message
/// terraform-provider-google's IAM retry looks for).
pub fn is_concurrent_change(e: &GaxError) -> bool {
    http_status(e) == Some(409)
        && (status_name(e) == Some("ABORTED") || error_text(e).contains("concurrent policy changes"))
}

/// Reads the policy, lets `change` edit it (false: nothing to do, no write), writes it back
/// with the etag read; a concurrent change (see [`is_concurrent_change`]) starts over from a
/// fresh read, with backoff, until `timeout`. Returns the policy as written (or as read when
/// nothing changed).
pub async fn read_modify_write<G, GF, S, SF>(
    calls: &Retrier,
    set_method: &str,
    timeout: Duration,
    mut get: G,
    mut set: S,
    change: impl Fn(&mut Json) -> bool,
) -> Result<Json, ProviderError>
where
    G: FnMut() -> GF,
    GF: Future<Output = Result<Json, ProviderError>>,
    S: FnMut(Json) -> SF,
    SF: Future<Output = Result<Json, GaxError>>,
{
    let deadline = Instant::now() + timeout;
    let mut last: Option<GaxError> = None;
    for attempt in 0u32.. {
        let mut policy = get().await?;
        if !change(&mut policy) {
            return Ok(policy);
        }
        match calls.attempt(deadline, set(policy)).await {
            Ok(written) => return Ok(written),
            Err(super::retry::Stop::Failed(e)) => {
                // setIamPolicy replaces the whole policy, guarded by the etag: resending after
                // a fresh read is safe whatever the failure.
                if !is_concurrent_change(&e) && classify(&e) == Retry::Permanent {
                    return Err(api_error(set_method, &e));
                }
                last = Some(e);
            }
            Err(super::retry::Stop::Deadline(_)) => break,
        }
        if !calls.pause(attempt, deadline).await {
            break;
        }
    }
    Err(deadline_error(set_method, timeout, last.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: &str, member: &str) -> Grant {
        Grant { role: role.into(), member: member.into(), condition: None }
    }

    #[test]
    fn add_and_remove_touch_only_their_member() {
        let mut p = json!({"etag": "BwX", "bindings": [{"role": "roles/run.invoker", "members": ["user:a@x.com"]}]});
        let b = grant("roles/run.invoker", "serviceAccount:lb@p.iam.gserviceaccount.com");
        assert!(add(&mut p, &b));
        assert!(!add(&mut p, &b), "already there");
        assert_eq!(p["bindings"][0]["members"].as_array().unwrap().len(), 2);
        assert!(has(&p, &grant("roles/run.invoker", "serviceaccount:lb@p.iam.gserviceaccount.com")));
        assert!(remove(&mut p, &grant("roles/run.invoker", "user:a@x.com")));
        assert_eq!(p["bindings"][0]["members"], json!(["serviceAccount:lb@p.iam.gserviceaccount.com"]));
        assert!(remove(&mut p, &b));
        assert_eq!(p["bindings"], json!([]), "an empty binding goes");
        assert!(!remove(&mut p, &b));
    }

    #[test]
    fn a_condition_makes_its_own_binding_in_a_version_3_policy() {
        let mut p = json!({});
        let plain = grant("roles/run.invoker", "allUsers");
        let cond = Grant {
            condition: Some(Condition {
                title: "expires".into(),
                description: String::new(),
                expression: "request.time < timestamp(\"2030-01-01T00:00:00Z\")".into(),
            }),
            ..plain.clone()
        };
        assert!(add(&mut p, &plain));
        assert!(add(&mut p, &cond));
        assert_eq!(p["version"], 3);
        assert_eq!(p["bindings"].as_array().unwrap().len(), 2);
        assert!(remove(&mut p, &plain));
        assert!(has(&p, &cond) && !has(&p, &plain));
    }

    #[test]
    fn a_stale_etag_is_a_concurrent_change() {
        use google_cloud_gax::error::rpc::{Code, Status};
        let aborted = GaxError::service(
            Status::default().set_code(Code::Aborted).set_message("There were concurrent policy changes."),
        );
        assert!(is_concurrent_change(&aborted));
        let denied = GaxError::service(Status::default().set_code(Code::PermissionDenied).set_message("no"));
        assert!(!is_concurrent_change(&denied));
    }
}
