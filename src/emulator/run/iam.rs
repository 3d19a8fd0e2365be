//! IAM policies on a resource (google.iam.v1 `getIamPolicy` / `setIamPolicy` /
//! `testIamPermissions`), kept in the resource's internal data so they live and die with it.
//!
//! Each stored policy has a serial; its etag is the serial's eight big-endian bytes in base64,
//! as Google's policy etags look (`BwYmYqZ2wX8=`), and the empty policy a resource starts with
//! has the etag `ACAB`, as the real APIs answer for a policy never set. `setIamPolicy` with an
//! etag other than the current one fails with ABORTED (409): the google.iam.v1.Policy `etag`
//! description in the discovery document says clients put the etag they read in the request
//! "to ensure that their change will be applied to the same version of the policy", so a
//! read-modify-write client re-reads and retries on 409.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::super::errors::{aborted, invalid_argument, ApiError};

/// The etag of a policy that was never set.
const EMPTY_POLICY_ETAG: &str = "ACAB";

/// The message the real APIs answer a stale policy etag with.
pub const CONCURRENT_CHANGE: &str =
    "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.";

fn etag_of(serial: u64) -> String {
    if serial == 0 {
        return EMPTY_POLICY_ETAG.to_string();
    }
    base64::engine::general_purpose::STANDARD.encode(serial.to_be_bytes())
}

/// The policy stored in `internal` (under `iamPolicy`, serial `iamSerial`), as the API renders it.
pub fn policy(internal: &Value) -> Value {
    let serial = internal.get("iamSerial").and_then(Value::as_u64).unwrap_or(0);
    let mut out = internal.get("iamPolicy").and_then(Value::as_object).cloned().unwrap_or_default();
    out.insert("etag".into(), json!(etag_of(serial)));
    if !out.contains_key("version") && serial != 0 {
        out.insert("version".into(), json!(1));
    }
    Value::Object(out)
}

/// Applies a `setIamPolicy` request body to `internal`, taking `serial` as the new policy's
/// serial (any number that never repeats for this resource), and returns the policy as stored.
pub fn set(internal: &mut Value, body: &Map<String, Value>, serial: u64) -> Result<Value, ApiError> {
    let Some(Value::Object(given)) = body.get("policy") else {
        return Err(invalid_argument("policy is required."));
    };
    let current_serial = internal.get("iamSerial").and_then(Value::as_u64).unwrap_or(0);
    if let Some(etag) = given.get("etag").and_then(Value::as_str).filter(|e| !e.is_empty()) {
        if etag != etag_of(current_serial) {
            return Err(aborted(CONCURRENT_CHANGE));
        }
    }
    // SetIamPolicyRequest.update_mask: "If no mask is provided, the following default mask is
    // used: `paths: \"bindings, etag\"`" (discovery document).
    let mask: Vec<String> = match body.get("updateMask").and_then(Value::as_str).filter(|m| !m.is_empty()) {
        Some(m) => m.split(',').map(|p| p.trim().to_string()).collect(),
        None => vec!["bindings".into(), "etag".into()],
    };
    let mut stored = internal.get("iamPolicy").and_then(Value::as_object).cloned().unwrap_or_default();
    for path in &mask {
        match path.as_str() {
            "etag" => {}
            "bindings" => {
                let bindings = normalize_bindings(given.get("bindings"))?;
                if bindings.is_empty() {
                    stored.remove("bindings");
                } else {
                    stored.insert("bindings".into(), Value::Array(bindings));
                }
            }
            "auditConfigs" | "audit_configs" => match given.get("auditConfigs") {
                Some(v) => {
                    stored.insert("auditConfigs".into(), v.clone());
                }
                None => {
                    stored.remove("auditConfigs");
                }
            },
            "version" => {}
            other => return Err(invalid_argument(format!("Invalid update_mask path \"{other}\" for a policy."))),
        }
    }
    let conditional = stored
        .get("bindings")
        .and_then(Value::as_array)
        .is_some_and(|bs| bs.iter().any(|b| b.get("condition").is_some()));
    // Policy.version: "Any operation that affects conditional role bindings must specify
    // version `3`" (discovery document); a policy without conditions is stored as version 1.
    let version = given.get("version").and_then(Value::as_i64).unwrap_or(0);
    if conditional && version != 3 {
        return Err(invalid_argument("A policy with conditional role bindings must specify version 3."));
    }
    stored.insert("version".into(), json!(if conditional { 3 } else { 1 }));
    let mut obj = internal.as_object().cloned().unwrap_or_default();
    obj.insert("iamPolicy".into(), Value::Object(stored));
    obj.insert("iamSerial".into(), json!(serial.max(current_serial + 1)));
    *internal = Value::Object(obj);
    Ok(policy(internal))
}

/// Bindings as IAM stores them: one per (role, condition), members deduplicated and sorted,
/// bindings without members dropped.
fn normalize_bindings(given: Option<&Value>) -> Result<Vec<Value>, ApiError> {
    let mut out: Vec<(String, Option<Value>, Vec<String>)> = Vec::new();
    let items = match given {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid_argument("policy.bindings must be a list.")),
    };
    for (i, binding) in items.iter().enumerate() {
        let role = binding.get("role").and_then(Value::as_str).unwrap_or("");
        if !valid_role(role) {
            return Err(invalid_argument(format!(
                "policy.bindings[{i}].role \"{role}\" is not a role: use roles/…, projects/…/roles/… or organizations/…/roles/…."
            )));
        }
        let condition = binding.get("condition").filter(|c| !c.is_null()).cloned();
        let mut members = Vec::new();
        for member in binding.get("members").and_then(Value::as_array).into_iter().flatten() {
            let member = member.as_str().unwrap_or("");
            if !valid_member(member) {
                return Err(invalid_argument(format!(
                    "policy.bindings[{i}]: invalid member \"{member}\" (expected allUsers, allAuthenticatedUsers, or user:, serviceAccount:, group:, domain:, principal://, principalSet:// followed by an identity)."
                )));
            }
            members.push(member.to_string());
        }
        match out.iter_mut().find(|(r, c, _)| r == role && *c == condition) {
            Some((_, _, existing)) => existing.extend(members),
            None => out.push((role.to_string(), condition, members)),
        }
    }
    Ok(out
        .into_iter()
        .filter_map(|(role, condition, mut members)| {
            members.sort();
            members.dedup();
            if members.is_empty() {
                return None;
            }
            let mut b = Map::new();
            b.insert("role".into(), json!(role));
            b.insert("members".into(), json!(members));
            if let Some(c) = condition {
                b.insert("condition".into(), c);
            }
            Some(Value::Object(b))
        })
        .collect())
}

fn valid_role(role: &str) -> bool {
    let custom = |prefix: &str| {
        role.strip_prefix(prefix)
            .and_then(|rest| rest.split_once("/roles/"))
            .is_some_and(|(owner, name)| !owner.is_empty() && !owner.contains('/') && !name.is_empty())
    };
    role.strip_prefix("roles/").is_some_and(|r| !r.is_empty()) || custom("projects/") || custom("organizations/")
}

fn valid_member(member: &str) -> bool {
    if matches!(member, "allUsers" | "allAuthenticatedUsers") {
        return true;
    }
    const PREFIXES: &[&str] = &[
        "user:",
        "serviceAccount:",
        "group:",
        "domain:",
        "principal://",
        "principalSet://",
        "deleted:user:",
        "deleted:serviceAccount:",
        "deleted:group:",
    ];
    PREFIXES.iter().any(|p| member.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
}

/// `testIamPermissions`: the caller (the emulator has no identities) holds every permission of
/// `known` that it asks about. TestIamPermissionsRequest.permissions: "Permissions with
/// wildcards (such as `*` or `storage.*`) are not allowed" (discovery document).
pub fn test_permissions(body: &Map<String, Value>, known: &[&str]) -> Result<Value, ApiError> {
    let asked: Vec<&str> =
        body.get("permissions").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    if let Some(wild) = asked.iter().find(|p| p.contains('*')) {
        return Err(invalid_argument(format!(
            "Permissions with wildcards (such as '*' or 'storage.*') are not allowed in TestIamPermissions requests: \"{wild}\"."
        )));
    }
    let held: Vec<&str> = asked.into_iter().filter(|p| known.contains(p)).collect();
    let mut out = Map::new();
    if !held.is_empty() {
        out.insert("permissions".into(), json!(held));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::errors::Code;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_never_set_policy_has_the_empty_etag_and_each_set_a_new_one() {
        let mut internal = Value::Null;
        assert_eq!(policy(&internal), json!({"etag": "ACAB"}));
        let first = set(
            &mut internal,
            &body(json!({"policy": {"etag": "ACAB", "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}})),
            7,
        )
        .unwrap();
        assert_eq!(first["etag"], etag_of(7));
        assert_ne!(first["etag"], "ACAB");
        assert_eq!(first["version"], 1);
        let stale = set(&mut internal, &body(json!({"policy": {"etag": "ACAB", "bindings": []}})), 8).unwrap_err();
        assert_eq!((stale.code, stale.http_status), (Code::Aborted, 409));
        assert_eq!(policy(&internal), first, "a refused set changes nothing");
        let blind = set(&mut internal, &body(json!({"policy": {}})), 9).unwrap();
        assert!(blind.get("bindings").is_none(), "no etag: overwritten blindly");
    }

    #[test]
    fn bindings_are_merged_by_role_and_members_sorted() {
        let mut internal = Value::Null;
        let p = set(
            &mut internal,
            &body(json!({"policy": {"bindings": [
                {"role": "roles/run.invoker", "members": ["user:b@example.com", "user:a@example.com"]},
                {"role": "roles/run.invoker", "members": ["user:a@example.com"]},
                {"role": "roles/run.viewer", "members": []}
            ]}})),
            1,
        )
        .unwrap();
        assert_eq!(
            p["bindings"],
            json!([{"role": "roles/run.invoker", "members": ["user:a@example.com", "user:b@example.com"]}])
        );
        for bad in
            [json!({"role": "run.invoker", "members": ["allUsers"]}), json!({"role": "roles/x", "members": ["bob"]})]
        {
            let err = set(&mut internal, &body(json!({"policy": {"bindings": [bad]}})), 2).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument, "{}", err.message);
        }
        assert!(valid_role("projects/p/roles/custom") && !valid_role("projects//roles/x"));
    }

    #[test]
    fn test_permissions_returns_the_known_subset_and_refuses_wildcards() {
        let known = ["run.services.get", "run.routes.invoke"];
        let got = test_permissions(&body(json!({"permissions": ["run.routes.invoke", "x.y.z"]})), &known).unwrap();
        assert_eq!(got, json!({"permissions": ["run.routes.invoke"]}));
        assert_eq!(test_permissions(&body(json!({})), &known).unwrap(), json!({}));
        assert!(test_permissions(&body(json!({"permissions": ["run.*"]})), &known).is_err());
    }
}
