//! `google_secret_manager_secret_version`: one value of a secret.
//!
//! The payload is a secret: it arrives as a sensitive value (`secret_data`) or a write-only one
//! (`secret_data_wo`), is unmarked only while the request body is built, and is never logged
//! or put in an error. The API never returns payloads on refresh, so the state keeps what the
//! engine stored (a fingerprint) and a rotation is asked for by bumping
//! `secret_data_wo_version`, which replaces the version.
//!
//! `addVersion` is not idempotent: after an ambiguous failure (5xx, dropped connection) the
//! versions are listed and one created since the attempt began is adopted, instead of adding
//! a duplicate. Versions of one secret are added one at a time within a run so that "created
//! since the attempt began" identifies ours.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use google_cloud_secretmanager_v1::model;
use google_cloud_secretmanager_v1::model::secret_version::State;

use super::errors::api_error;
use super::fields::{self, conform_to_schema, parse_secret_name, parse_version_name, set, string};
use super::resource_common::{gone_is_deleted, list_by_last_segment, name_schema_timeouts, no_identity, read_grouped};
use super::retry::{classify, deadline_error, Retry, Stop};
use super::{mmv1, Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{Attribute, Rule, Schema, Validator};

const TYPE: &str = "google_secret_manager_secret_version";
const LIST: &str = "secretmanager.projects.secrets.versions.list";
const ADD: &str = "secretmanager.projects.secrets.addVersion";
const GET: &str = "secretmanager.projects.secrets.versions.get";
const ACCESS: &str = "secretmanager.projects.secrets.versions.access";
const ENABLE: &str = "secretmanager.projects.secrets.versions.enable";
const DISABLE: &str = "secretmanager.projects.secrets.versions.disable";
const DESTROY: &str = "secretmanager.projects.secrets.versions.destroy";

pub struct SecretManagerSecretVersion {
    shared: Arc<Shared>,
    schema: Schema,
    /// One addVersion at a time per secret, so that adoption after an ambiguous failure can
    /// tell our version from one added by a sibling resource in the same apply.
    adding: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The generated schema, plus what the definition leaves to hand-written code and Cairn's
/// stricter checks:
/// - `enabled` is the API's `state` (custom expand/flatten): mapped in [`to_state`] and by the
///   enable/disable calls; `version` is the name's last segment (custom flatten); the payload
///   (`secret_data`, flattened from `payload.data`, custom expand/flatten) is built by
///   [`payload`] and never read back but on import.
/// - `secret_data_wo` is write-only: never stored, so never compared, so it cannot force a
///   replacement (the definition's `immutable` is carried by `secret_data_wo_version`).
/// - `is_secret_data_base64` defaults to false; it stays a stored attribute rather than a
///   client-only one because an import decides it (a payload that is not UTF-8 is imported
///   base64-encoded), which the core's client-only rule would overwrite with the default.
/// - `deletion_policy` defaults to DELETE and takes the documented values.
/// - The generated `conflicts_with` between the two data arguments repeats the exactly-one-of.
pub fn schema() -> Schema {
    let mut s = mmv1::schema(TYPE)
        .modify("secret", |a| {
            a.describe(
                "The secret: its id (projects/{project}/secrets/{secret_id}) or its name with the project number.",
            )
        })
        .modify("project", |a| a.describe("The secret's project; taken from `secret` when unset."))
        .modify("secret_data", |a| a.describe("The secret value; stored only as a fingerprint."))
        .modify("secret_data_wo", |a| {
            Attribute { force_new: false, ..a }.describe("The secret value, never stored or diffed.")
        })
        .modify("secret_data_wo_version", |a| {
            a.describe("Bump to send a new secret_data_wo (a new version replaces this one).")
        })
        .modify("is_secret_data_base64", |a| {
            Attribute { client_only: false, ..a.default(false) }.describe("The data is already base64-encoded bytes.")
        })
        .modify("enabled", |a| a.describe("Whether the version can be accessed."))
        .modify("deletion_policy", |a| {
            a.default("DELETE")
                .validate(Validator::OneOf(vec!["DELETE", "DISABLE", "ABANDON", "PREVENT"]))
                .describe("What destroying the resource does: destroy the version, disable it, leave it, or refuse.")
        })
        .modify("name", |a| a.describe("projects/{project number}/secrets/{secret_id}/versions/{version}"));
    s.rules.retain(|r| !matches!(r, Rule::AtMostOneOf(g) if g.contains(&"secret_data_wo")));
    s
}

/// The parent secret of a state value, as `projects/{p}/secrets/{s}`.
fn parent_of(v: &Value) -> Option<String> {
    let from_secret = string(v, "secret").and_then(|s| parse_secret_name(&s));
    let from_name = || string(v, "name").and_then(|n| parse_version_name(&n)).map(|(p, s, _)| (p, s));
    from_secret.or_else(from_name).map(|(p, s)| format!("projects/{p}/secrets/{s}"))
}

fn version_number(v: &Value) -> Option<String> {
    string(v, "version").or_else(|| string(v, "name").and_then(|n| parse_version_name(&n)).map(|(_, _, n)| n))
}

fn number_of(name: &str) -> u64 {
    fields::last_segment(name).parse().unwrap_or(0)
}

/// The payload bytes, unmarked only here. `config` is evaluated at apply time, so it carries
/// both the sensitive and the write-only argument in full.
fn payload(planned: &Value, config: &Value) -> Result<Vec<u8>, ProviderError> {
    let pick = |name: &str| -> Option<Value> {
        [config.get(name), planned.get(name)]
            .into_iter()
            .flatten()
            .find(|v| !v.is_null() && v.is_wholly_known())
            .cloned()
    };
    let raw = pick("secret_data_wo").or_else(|| pick("secret_data")).ok_or_else(|| {
        ProviderError::new(format!("{TYPE}: secret_data or secret_data_wo must be known at apply time"))
    })?;
    let (bare, _) = raw.unmark_deep();
    let Value::String(text) = bare else {
        return Err(ProviderError::new(format!("{TYPE}: the secret data must be a string")));
    };
    let base64 = fields::boolean(planned, "is_secret_data_base64", false);
    if base64 {
        // The error never quotes the data.
        return base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| {
            ProviderError::new(format!("{TYPE}: is_secret_data_base64 is true but the secret data is not valid base64; encode it with base64encode() or set is_secret_data_base64 = false"))
        });
    }
    Ok(text.into_bytes())
}

impl SecretManagerSecretVersion {
    pub fn new(shared: Arc<Shared>) -> Self {
        SecretManagerSecretVersion { shared, schema: schema(), adding: Mutex::new(HashMap::new()) }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    fn parent_lock(&self, parent: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.adding.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        m.entry(parent.to_string()).or_default().clone()
    }

    /// Every version of a secret (one paginated list), by version number; None when the
    /// secret is gone.
    async fn list_versions(
        &self,
        c: &Clients,
        parent: &str,
        timeout: Duration,
    ) -> Result<Option<BTreeMap<String, model::SecretVersion>>, ProviderError> {
        list_by_last_segment!(
            c.secret_manager_calls,
            LIST,
            timeout,
            c.secret_manager.list_secret_versions().set_parent(parent.to_string()),
            250,
            versions
        )
        .await
    }

    /// The state value: live facts from the API, everything else (the secret data's
    /// fingerprint, Terraform-only arguments) from `base`.
    fn to_state(&self, v: &model::SecretVersion, base: &Value) -> Value {
        let mut m: BTreeMap<String, Value> = base.as_map().cloned().unwrap_or_default();
        m.insert("id".into(), Value::string(v.name.clone()));
        m.insert("name".into(), Value::string(v.name.clone()));
        m.insert("version".into(), Value::string(fields::last_segment(&v.name)));
        m.insert("create_time".into(), v.create_time.map(|t| Value::string(String::from(t))).unwrap_or(Value::Null));
        m.insert("destroy_time".into(), v.destroy_time.map(|t| Value::string(String::from(t))).unwrap_or(Value::Null));
        m.insert("enabled".into(), Value::Bool(v.state == State::Enabled));
        m.insert("secret_data_wo".into(), Value::Null);
        if m.get("is_secret_data_base64").is_none_or(Value::is_null) {
            m.insert("is_secret_data_base64".into(), Value::Bool(false));
        }
        if m.get("project").is_none_or(|p| p.is_null() || p.is_unknown()) {
            let project = parent_of(&Value::object(m.clone())).and_then(|p| parse_secret_name(&p)).map(|(p, _)| p);
            m.insert("project".into(), project.map(Value::string).unwrap_or(Value::Null));
        }
        conform_to_schema(&self.schema, Value::object(m))
    }

    async fn set_enabled(
        &self,
        c: &Clients,
        name: &str,
        enabled: bool,
        timeout: Duration,
    ) -> Result<model::SecretVersion, ProviderError> {
        if enabled {
            c.secret_manager_calls
                .idempotent(ENABLE, timeout, || {
                    c.secret_manager.enable_secret_version().set_name(name.to_string()).send()
                })
                .await
        } else {
            c.secret_manager_calls
                .idempotent(DISABLE, timeout, || {
                    c.secret_manager.disable_secret_version().set_name(name.to_string()).send()
                })
                .await
        }
    }

    /// addVersion with Terraform's retries, made safe for a non-idempotent call: a request
    /// refused before processing (429, …) is resent; after an ambiguous failure the versions
    /// are listed and one that did not exist before is adopted.
    async fn add_version(
        &self,
        c: &Clients,
        parent: &str,
        data: Vec<u8>,
        timeout: Duration,
    ) -> Result<model::SecretVersion, ProviderError> {
        let lock = self.parent_lock(parent);
        let _serialised = lock.lock().await;
        let deadline = tokio::time::Instant::now() + timeout;
        let existed: BTreeSet<String> = match self.list_versions(c, parent, timeout).await? {
            Some(vs) => vs.into_values().map(|v| v.name).collect(),
            None => {
                return Err(ProviderError {
                    method: Some(LIST.into()),
                    message: format!("the secret {parent} does not exist; create it first (e.g. reference google_secret_manager_secret.<name>.id in `secret`)"),
                    retryable: false,
                    not_found: true,
                    already_exists: false,
                })
            }
        };
        let crc = i64::from(crc32c::crc32c(&data));
        let body = model::SecretPayload::new().set_data(data).set_data_crc32c(crc);
        let calls = &c.secret_manager_calls;
        let mut last = None;
        for attempt in 0u32.. {
            let call =
                c.secret_manager.add_secret_version().set_parent(parent.to_string()).set_payload(body.clone()).send();
            match calls.attempt(deadline, call).await {
                Ok(v) => return Ok(v),
                Err(Stop::Failed(e)) => match classify(&e) {
                    Retry::Permanent => return Err(api_error(ADD, &e)),
                    Retry::NotProcessed => last = Some(e),
                    Retry::Ambiguous => {
                        last = Some(e);
                        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                        if remaining.is_zero() {
                            break;
                        }
                        let now = self.list_versions(c, parent, remaining).await?.unwrap_or_default();
                        // The lowest new number: anything later was added by someone else after us.
                        if let Some(ours) =
                            now.into_values().filter(|v| !existed.contains(&v.name)).min_by_key(|v| number_of(&v.name))
                        {
                            return Ok(ours);
                        }
                    }
                },
                Err(Stop::Deadline(_)) => break,
            }
            if !calls.pause(attempt, deadline).await {
                break;
            }
        }
        Err(deadline_error(ADD, timeout, last.as_ref()))
    }
}

#[async_trait]
impl ResourceType for SecretManagerSecretVersion {
    name_schema_timeouts!(TYPE, 20);

    /// The project is the secret's, known as soon as `secret` is.
    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        if p.planned.get("project").is_some_and(Value::is_unknown) {
            if let Some((project, _)) = string(&p.planned, "secret").and_then(|s| parse_secret_name(&s)) {
                set(&mut p.planned, "project", Value::string(project));
            }
        }
        Ok(Vec::new())
    }

    /// One list per parent secret, never a GET per version. A destroyed version is gone.
    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.clients(ctx).await?;
        let c = &c;
        // A version number is looked for only once its secret has been listed.
        read_grouped(
            reqs,
            |v| Some((parent_of(v)?, version_number(v))),
            |parent| async move { self.list_versions(c, &parent, ctx.timeout).await },
            |_, by_number, n, prior| {
                by_number.get(n.as_deref()?).filter(|v| v.state != State::Destroyed).map(|v| self.to_state(v, prior))
            },
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let secret = fields::required_string(planned, "secret", TYPE)?;
        let (project, secret_id) = parse_secret_name(&secret).ok_or_else(|| {
            ProviderError::new(format!(
                "{TYPE}.secret = \"{secret}\" is not a secret id such as projects/PROJECT/secrets/SECRET_ID"
            ))
        })?;
        let parent = format!("projects/{project}/secrets/{secret_id}");
        let data = payload(planned, config)?;
        let mut version = self.add_version(&c, &parent, data, ctx.timeout).await?;
        if !fields::boolean(planned, "enabled", true) && version.state == State::Enabled {
            version = self.set_enabled(&c, &version.name, false, ctx.timeout).await?;
        }
        Ok(self.to_state(&version, planned))
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let mut base = planned.clone();
        for name in ["id", "name", "version", "create_time", "destroy_time"] {
            if base.get(name).is_none_or(Value::is_unknown) {
                set(&mut base, name, prior.get(name).cloned().unwrap_or(Value::Null));
            }
        }
        let name = string(prior, "name").ok_or_else(|| no_identity(TYPE, "version name"))?;
        let want = fields::boolean(planned, "enabled", true);
        if changed.iter().any(|p| p.top() == Some("enabled")) || fields::boolean(prior, "enabled", true) != want {
            let c = self.clients(ctx).await?;
            let v = self.set_enabled(&c, &name, want, ctx.timeout).await?;
            return Ok(self.to_state(&v, &base));
        }
        // Only Terraform-side arguments (deletion_policy) changed.
        Ok(base)
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        // ABANDON and PREVENT are the core's (see apply's delete_as_policy_says); DISABLE is
        // this type's own: the version stays, disabled.
        let policy = string(prior, "deletion_policy").unwrap_or_else(|| "DELETE".into());
        let name = string(prior, "name").ok_or_else(|| no_identity(TYPE, "version name"))?;
        let c = self.clients(ctx).await?;
        let result = if policy == "DISABLE" {
            self.set_enabled(&c, &name, false, ctx.timeout).await.map(|_| ())
        } else {
            c.secret_manager_calls
                .idempotent(DESTROY, ctx.timeout, || {
                    c.secret_manager.destroy_secret_version().set_name(name.clone()).send()
                })
                .await
                .map(|_| ())
        };
        gone_is_deleted(result)
    }

    /// By version name, `projects/{p}/secrets/{s}/versions/{n}`. The payload is read back (as
    /// Terraform does) so that the configuration's secret_data compares equal; it is marked
    /// sensitive at once and stored only as a fingerprint.
    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let (project, secret_id, _) = parse_version_name(id).ok_or_else(|| {
            ProviderError::new(format!("import id \"{id}\" is not projects/PROJECT/secrets/SECRET_ID/versions/VERSION"))
        })?;
        let c = self.clients(ctx).await?;
        let v = c
            .secret_manager_calls
            .idempotent(GET, ctx.timeout, || c.secret_manager.get_secret_version().set_name(id.to_string()).send())
            .await?;
        if v.state == State::Destroyed {
            return Err(ProviderError::new(format!("{id} is destroyed; there is nothing to import")));
        }
        let mut base = Value::map([("secret", Value::string(format!("projects/{project}/secrets/{secret_id}")))]);
        if v.state == State::Enabled {
            let access = c
                .secret_manager_calls
                .idempotent(ACCESS, ctx.timeout, || {
                    c.secret_manager.access_secret_version().set_name(v.name.clone()).send()
                })
                .await?;
            let bytes = access.payload.map(|p| p.data.to_vec()).unwrap_or_default();
            let (data, is_b64) = match String::from_utf8(bytes) {
                Ok(s) => (s, false),
                Err(e) => (base64::engine::general_purpose::STANDARD.encode(e.into_bytes()), true),
            };
            set(&mut base, "secret_data", Value::string(data).sensitive());
            set(&mut base, "is_secret_data_base64", Value::Bool(is_b64));
        }
        Ok(self.to_state(&v, &base))
    }

    /// Versions have no user-chosen name (the API numbers them): the journal records the
    /// parent secret, and [`Self::find_interrupted_create`] looks among its versions.
    fn cloud_name(&self, planned: &Value) -> Option<String> {
        string(planned, "secret").and_then(|s| parse_secret_name(&s)).map(|(p, s)| format!("projects/{p}/secrets/{s}"))
    }

    /// The earliest version of the journaled secret created since the interrupted create was
    /// journaled whose payload is this create's payload: the payloads are compared here, in
    /// memory (nothing payload-derived is ever journaled). A payload not known yet (at plan
    /// time, from a value of this apply) cannot be compared: the plan says so and the apply
    /// decides once it is known, before it adds a version.
    async fn find_interrupted_create(
        &self,
        ctx: &CallContext,
        journaled: &str,
        since: &str,
        planned: &Value,
        config: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let data = payload(planned, config).map_err(|e| ProviderError {
            message: format!("its payload cannot be compared with the versions added since ({}); the apply compares it once it is known, and adopts a match instead of adding a version", e.message),
            ..e
        })?;
        // The journal's clock is this machine's, the create times the server's: a minute of
        // skew is allowed for (an earlier version with the very same payload is as good).
        let since = chrono::DateTime::parse_from_rfc3339(since)
            .map_err(|e| ProviderError::new(format!("the journal's time {since:?} is not RFC 3339: {e}")))?
            - chrono::Duration::seconds(60);
        let c = self.clients(ctx).await?;
        let Some(versions) = self.list_versions(&c, journaled, ctx.timeout).await? else { return Ok(None) };
        let mut candidates: Vec<model::SecretVersion> = versions
            .into_values()
            .filter(|v| v.state == State::Enabled)
            .filter(|v| {
                v.create_time
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&String::from(t)).ok())
                    .is_some_and(|t| t >= since)
            })
            .collect();
        candidates.sort_by_key(|v| number_of(&v.name));
        for v in candidates {
            let access = c
                .secret_manager_calls
                .idempotent(ACCESS, ctx.timeout, || {
                    c.secret_manager.access_secret_version().set_name(v.name.clone()).send()
                })
                .await?;
            if access.payload.is_some_and(|p| p.data[..] == data[..]) {
                // Named under the journaled secret (the configured form of `secret`), not the
                // API's project number, which would read as a different, replacing `secret`.
                let name = format!("{journaled}/versions/{}", fields::last_segment(&v.name));
                return self.import(ctx, &name).await.map(Some);
            }
        }
        Ok(None)
    }

    /// addVersion adds a version whatever exists.
    fn create_refuses_duplicates(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::{check_values, test_hcl};

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"google_secret_manager_secret_version\" \"v\" {{\n  secret = \"projects/p/secrets/s\"\n{body}}}\n");
        let p = test_hcl::resource(&src);
        check_values(&p.body, &p.value, &schema(), p.block_span).0.iter().map(|d| d.summary.clone()).collect()
    }

    #[test]
    fn exactly_one_source_of_data_and_wo_version_needs_wo() {
        assert_eq!(diags("  secret_data = sensitive(\"x\")\n"), Vec::<String>::new());
        assert_eq!(
            diags("  secret_data_wo = sensitive(\"x\")\n  secret_data_wo_version = \"1\"\n"),
            Vec::<String>::new()
        );
        let both = diags("  secret_data = \"x\"\n  secret_data_wo = \"y\"\n");
        assert_eq!(both.len(), 1, "{both:?}");
        assert!(both[0].starts_with("Only one of \"secret_data\", \"secret_data_wo\" may be set"), "{both:?}");
        let none = diags("");
        assert_eq!(none, vec!["Exactly one of \"secret_data\", \"secret_data_wo\" must be set".to_string()]);
        let orphan = diags("  secret_data = \"x\"\n  secret_data_wo_version = \"2\"\n");
        assert_eq!(orphan, vec!["\"secret_data_wo\" is required when \"secret_data_wo_version\" is set".to_string()]);
        // PREVENT is one of the provider's documented policies (delete refuses); KEEP is none.
        let policy = diags("  secret_data = \"x\"\n  deletion_policy = \"KEEP\"\n");
        assert_eq!(policy.len(), 1, "{policy:?}");
        assert_eq!(diags("  secret_data = \"x\"\n  deletion_policy = \"PREVENT\"\n"), Vec::<String>::new());
    }

    /// The corpus stack's arguments (tests/it/corpus/google_secret_manager_secret_version).
    #[test]
    fn every_documented_argument_validates() {
        let all = "  project = \"p\"\n  secret_data = \"eA==\"\n  is_secret_data_base64 = true\n  enabled = false\n  deletion_policy = \"DISABLE\"\n";
        assert_eq!(diags(all), Vec::<String>::new());
        let wo = "  secret_data_wo = \"x\"\n  secret_data_wo_version = \"2\"\n  deletion_policy = \"ABANDON\"\n";
        assert_eq!(diags(wo), Vec::<String>::new());
        let s = schema();
        assert!(!s.attributes["secret_data_wo"].force_new, "a write-only value is never compared");
        assert!(s.attributes["secret_data_wo_version"].force_new && s.attributes["secret_data"].force_new);
    }

    #[test]
    fn payload_prefers_write_only_and_decodes_base64_without_quoting_it() {
        let planned = Value::map([("secret_data", Value::Null), ("is_secret_data_base64", Value::Bool(false))]);
        let config = Value::map([("secret_data_wo", Value::from("token-v1").sensitive())]);
        assert_eq!(payload(&planned, &config).unwrap(), b"token-v1");
        assert_eq!(crc32c::crc32c(b"token-v1"), 3113634025, "the wire notes' reference value");

        let planned = Value::map([
            ("secret_data", Value::from("dG9rZW4tdjE=").sensitive()),
            ("is_secret_data_base64", Value::Bool(true)),
        ]);
        assert_eq!(payload(&planned, &Value::Null).unwrap(), b"token-v1");
        let bad = Value::map([
            ("secret_data", Value::from("not base64 !!! hunter2").sensitive()),
            ("is_secret_data_base64", Value::Bool(true)),
        ]);
        let e = payload(&bad, &Value::Null).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("not valid base64"));
        assert!(payload(&Value::map([("secret_data", Value::unknown())]), &Value::Null).is_err());
    }

    #[test]
    fn parents_and_numbers_come_from_either_form() {
        let v = Value::map([("secret", Value::from("projects/p/secrets/s")), ("version", Value::from("3"))]);
        assert_eq!(parent_of(&v).as_deref(), Some("projects/p/secrets/s"));
        assert_eq!(version_number(&v).as_deref(), Some("3"));
        let by_name =
            Value::map([("secret", Value::Null), ("name", Value::from("projects/123456789012/secrets/s/versions/7"))]);
        assert_eq!(parent_of(&by_name).as_deref(), Some("projects/123456789012/secrets/s"));
        assert_eq!(version_number(&by_name).as_deref(), Some("7"));
    }

    #[test]
    fn refresh_state_keeps_the_fingerprint_and_reports_enabled() {
        let t = SecretManagerSecretVersion::new(Arc::new(Shared::new(Default::default())));
        let withheld =
            Value::Unknown(crate::lang::value::Unknown::Withheld { fingerprint: Some("f".into()) }).sensitive();
        let prior = conform_to_schema(
            &schema(),
            Value::map([
                ("secret", Value::from("projects/p/secrets/s")),
                ("secret_data", withheld.clone()),
                ("enabled", Value::Bool(true)),
                ("deletion_policy", Value::from("DELETE")),
                ("is_secret_data_base64", Value::Bool(false)),
            ]),
        );
        let live = model::SecretVersion::new()
            .set_name("projects/123456789012/secrets/s/versions/2")
            .set_state(State::Disabled);
        let v = t.to_state(&live, &prior);
        assert_eq!(v.get("secret_data"), Some(&withheld));
        assert_eq!(v.get("enabled"), Some(&Value::Bool(false)));
        assert_eq!(v.get("version"), Some(&Value::from("2")));
        assert_eq!(v.get("secret"), Some(&Value::from("projects/p/secrets/s")), "the configured form is kept");
        assert_eq!(v.get("id"), v.get("name"));
        assert_eq!(v.get("project"), Some(&Value::from("p")), "the secret's project");
    }

    /// addVersion is processed but the answer is lost (503): the retry must adopt the version
    /// that appeared, not add a second one.
    #[tokio::test]
    async fn an_ambiguous_add_version_is_adopted_not_repeated() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let versions = Arc::new(Mutex::new(vec![
            serde_json::json!({"name": "projects/1/secrets/s/versions/1", "state": "DESTROYED"}),
        ]));
        let adds = Arc::new(AtomicUsize::new(0));
        let (v2, a2) = (versions.clone(), adds.clone());
        let endpoint = crate::providers::google::test_server::start(Arc::new(move |method: &str, path: &str, _q: &str, body: &[u8]| {
            let mut vs = v2.lock().unwrap();
            match (method, path) {
                ("GET", "/v1/projects/p/secrets/s/versions") => (200, serde_json::json!({"versions": vs.clone()})),
                ("POST", "/v1/projects/p/secrets/s:addVersion") => {
                    let n = a2.fetch_add(1, Ordering::SeqCst);
                    let b: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    assert_eq!(b.pointer("/payload/dataCrc32c").and_then(|c| c.as_str()), Some("3113634025"), "{b}");
                    let v = serde_json::json!({"name": format!("projects/1/secrets/s/versions/{}", vs.len() + 1), "state": "ENABLED"});
                    vs.push(v.clone());
                    if n == 0 {
                        (503, serde_json::json!({"error": {"code": 503, "message": "backend hiccup", "status": "UNAVAILABLE"}}))
                    } else {
                        (200, v)
                    }
                }
                _ => (404, serde_json::json!({"error": {"code": 404, "message": "no route", "status": "NOT_FOUND"}})),
            }
        }))
        .await;
        let (shared, ctx) = crate::providers::google::test_server::shared(&endpoint).await;
        let t = SecretManagerSecretVersion::new(shared);
        let planned = conform_to_schema(
            &schema(),
            Value::map([
                ("secret", Value::from("projects/p/secrets/s")),
                ("enabled", Value::Bool(true)),
                ("is_secret_data_base64", Value::Bool(false)),
            ]),
        );
        let config = Value::map([("secret_data_wo", Value::from("token-v1").sensitive())]);
        let state = t.create(&ctx, &planned, &config).await.unwrap();
        assert_eq!(adds.load(Ordering::SeqCst), 1, "no second addVersion");
        assert_eq!(versions.lock().unwrap().len(), 2);
        assert_eq!(state.get("name"), Some(&Value::from("projects/1/secrets/s/versions/2")));
        assert_eq!(state.get("version"), Some(&Value::from("2")));
        assert_eq!(state.get("secret_data_wo"), Some(&Value::Null), "write-only never enters state");
    }
}
