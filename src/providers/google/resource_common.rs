//! What the Google types outside compute share (compute's collections share
//! [`super::compute_collection`]): refresh by one listing per parent, deletes that find the
//! object gone, the error for a prior state without identity, and uniform timeouts.
//!
//! Their APIs differ in how an object is named (a project, an instance, a region, a secret),
//! so each type keeps its own SDK calls and passes them in here.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::fields::string;
use super::Shared;
use crate::lang::config::Timeouts;
use crate::lang::value::Value;
use crate::providers::{ProviderError, ReadRequest};

/// Refresh with one listing per group: `identity` splits a prior state into the group that
/// lists it (a project, an instance, a secret) and its key within that group; `list` lists a
/// group (None: the group is gone, and every object in it); `state_of` finds a request's
/// object in its group's listing. Requests without identity, and objects not listed, read as
/// gone. Groups are listed one after another, in order.
pub async fn read_grouped<G, K, S, L, Fut>(
    reqs: &[ReadRequest],
    identity: impl Fn(&Value) -> Option<(G, K)>,
    mut list: L,
    state_of: impl Fn(&G, &S, &K, &Value) -> Option<Value>,
) -> Result<Vec<Option<Value>>, ProviderError>
where
    G: Ord + Clone,
    L: FnMut(G) -> Fut,
    Fut: Future<Output = Result<Option<S>, ProviderError>>,
{
    let wanted: Vec<Option<(G, K)>> = reqs.iter().map(|r| identity(&r.prior)).collect();
    let mut groups: BTreeMap<G, Vec<usize>> = BTreeMap::new();
    for (i, w) in wanted.iter().enumerate() {
        if let Some((group, _)) = w {
            groups.entry(group.clone()).or_default().push(i);
        }
    }
    let mut out = vec![None; reqs.len()];
    for (group, idxs) in groups {
        let Some(live) = list(group.clone()).await? else { continue };
        for i in idxs {
            let Some((_, key)) = &wanted[i] else { continue };
            out[i] = state_of(&group, &live, key, &reqs[i].prior);
        }
    }
    Ok(out)
}

/// A delete that finds the object already gone (deleted outside Cairn, or by an earlier
/// attempt whose answer was lost) has done its work.
pub fn gone_is_deleted(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match result {
        Err(e) if e.not_found => Ok(()),
        other => other,
    }
}

/// A listing whose parent (a project, an instance) is gone: None, as the objects in it are.
pub fn none_if_gone<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(x) => Ok(Some(x)),
        Err(e) if e.not_found => Ok(None),
        Err(e) => Err(e),
    }
}

/// What is left of `deadline`, at least a second: the read that follows a mutation gets its
/// chance even when the mutation used up the time.
pub fn time_left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1))
}

/// A prior state that lacks the attributes naming its object (`what`: `project/name`).
pub fn no_identity(type_name: &str, what: &str) -> ProviderError {
    ProviderError::new(format!("{type_name}: the prior state has no {what}"))
}

/// The cloud name of an object directly under a project, `projects/{project}/{collection}/{id}`
/// (`id` from the attribute `id_attr`), the project from the provider when the resource sets none.
pub fn project_child_name(shared: &Shared, planned: &Value, collection: &str, id_attr: &str) -> Option<String> {
    let id = string(planned, id_attr)?;
    let project = shared.planned_project(planned)?;
    Some(format!("projects/{project}/{collection}/{id}"))
}

/// The same timeout for every mutation, none for reads (Terraform's per-type defaults).
pub fn mutation_timeouts(minutes: u64) -> Timeouts {
    let t = Some(Duration::from_secs(minutes * 60));
    Timeouts { create: t, update: t, delete: t, read: None }
}

/// Inside `impl ResourceType`: Terraform's type name, the type's `schema` field, and
/// [`mutation_timeouts`] of `minutes` — what every Google type outside compute answers alike.
macro_rules! name_schema_timeouts {
    ($type_name:expr, $minutes:expr) => {
        fn name(&self) -> &'static str {
            $type_name
        }

        fn schema(&self) -> &$crate::schema::Schema {
            &self.schema
        }

        fn default_timeouts(&self) -> $crate::lang::config::Timeouts {
            $crate::providers::google::resource_common::mutation_timeouts($minutes)
        }
    };
}
pub(crate) use name_schema_timeouts;

/// Every object under an AIP parent, by the last segment of its name, None when the parent is
/// gone (see `compute_common::list_by_name`): `$request` is the SDK's list call with its parent
/// set, to which this adds the page size and token; `$items` names the page's repeated field.
/// The SDK gives each collection its own builder types, hence a macro.
macro_rules! list_by_last_segment {
    ($calls:expr, $method:expr, $timeout:expr, $request:expr, $page_size:expr, $items:ident) => {
        $crate::providers::google::compute_common::list_by_name(
            |token| async move {
                let page = $calls
                    .idempotent($method, $timeout, || {
                        $request.set_page_size($page_size).set_page_token(token.clone()).send()
                    })
                    .await?;
                Ok((page.$items, Some(page.next_page_token)))
            },
            |x| Some($crate::providers::google::fields::last_segment(&x.name).to_string()),
        )
    };
}
pub(crate) use list_by_last_segment;

/// The provider's resource-wide `deletion_policy` for a hand-written type (generated types get
/// it from their definition): Terraform-only, DELETE by default; the core honours PREVENT and
/// ABANDON (see `plan::planner::DELETION_POLICY`).
pub fn deletion_policy_attribute(description: &'static str) -> crate::schema::Attribute {
    use crate::schema::{AttrType, Attribute, Validator};
    Attribute::optional(AttrType::String)
        .default("DELETE")
        .client_only()
        .validate(Validator::OneOf(vec!["DELETE", "ABANDON", "PREVENT"]))
        .describe(description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{InstanceKey, ModulePath, ResourceAddr};
    use std::cell::RefCell;

    fn req(prior: Value) -> ReadRequest {
        ReadRequest {
            addr: ResourceAddr::managed(ModulePath::root(), "google_x", "a").instance(InstanceKey::None),
            prior,
        }
    }

    fn identity(v: &Value) -> Option<(String, String)> {
        Some((v.get("project")?.as_str()?.to_string(), v.get("name")?.as_str()?.to_string()))
    }

    #[tokio::test]
    async fn one_listing_per_group_and_missing_objects_read_as_gone() {
        let obj = |p: &str, n: &str| Value::map([("project", Value::from(p)), ("name", Value::from(n))]);
        let reqs = [obj("b", "x"), obj("a", "y"), Value::Null, obj("a", "z"), obj("gone", "w")].map(req);
        let listed = RefCell::new(Vec::new());
        let out = read_grouped(
            &reqs,
            identity,
            |project: String| {
                listed.borrow_mut().push(project.clone());
                async move {
                    Ok(match project.as_str() {
                        "gone" => None,
                        p => Some(vec![format!("{p}/x"), format!("{p}/y")]),
                    })
                }
            },
            |project, live: &Vec<String>, name, _prior| {
                let full = format!("{project}/{name}");
                live.contains(&full).then(|| Value::from(full.as_str()))
            },
        )
        .await
        .unwrap();
        assert_eq!(listed.into_inner(), ["a", "b", "gone"]);
        assert_eq!(out, vec![Some(Value::from("b/x")), Some(Value::from("a/y")), None, None, None]);
    }

    #[tokio::test]
    async fn a_listing_error_fails_the_refresh() {
        let reqs = [req(Value::map([("project", Value::from("p")), ("name", Value::from("n"))]))];
        let r = read_grouped(
            &reqs,
            identity,
            |_: String| async { Err::<Option<()>, _>(ProviderError::new("denied")) },
            |_, _, _: &String, _| None,
        )
        .await;
        assert_eq!(r.unwrap_err().message, "denied");
    }

    #[test]
    fn a_listing_of_a_gone_parent_is_none() {
        let gone = ProviderError { not_found: true, ..ProviderError::new("404") };
        assert_eq!(none_if_gone(Err::<u8, _>(gone)).unwrap(), None);
        assert_eq!(none_if_gone(Ok(3)).unwrap(), Some(3));
        assert_eq!(none_if_gone(Err::<u8, _>(ProviderError::new("403"))).unwrap_err().message, "403");
    }

    #[test]
    fn only_not_found_counts_as_deleted() {
        let gone = ProviderError { not_found: true, ..ProviderError::new("404") };
        assert!(gone_is_deleted(Err(gone)).is_ok());
        assert!(gone_is_deleted(Ok(())).is_ok());
        assert_eq!(gone_is_deleted(Err(ProviderError::new("403"))).unwrap_err().message, "403");
    }
}
