//! `google_secret_manager_secret`: a Secret Manager secret (the container; values are
//! `google_secret_manager_secret_version`s).
//!
//! Arguments, replace rules and computed attributes follow terraform-provider-google. Labels
//! and annotations are non-authoritative as there: the state's `labels` holds only the keys the
//! configuration manages, `effective_labels` everything on the secret, and an update sends the
//! full effective set so that keys added outside Cairn survive.
//!
//! Refresh lists each project's secrets once (paginated) instead of one GET per secret.
//!
//! `enabled_version_count` is Cairn's own attribute (the Terraform provider has none like it):
//! how many versions of the secret are ENABLED, so that a check block can say which secrets
//! have no usable value — the ones whose value their owner sets outside the configuration.
//! Counting costs one `versions.list` per secret, which only a health check needs: it is read
//! when the engine reads for [`ReadPurpose::Health`] (`cairn check`) and is unknown otherwise
//! (plan, apply, drift), so it is never stored and never slows a plan down.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_secretmanager_v1::model;
use google_cloud_wkt::{Duration as PbDuration, FieldMask, Timestamp};

use super::errors::{api_error, is_already_exists};
use super::fields::{self, conform_to_schema, first_block, parse_secret_name, set, string, string_map};
use super::resource_common::{
    gone_is_deleted, list_by_last_segment, name_schema_timeouts, no_identity, project_child_name, read_grouped,
    time_left,
};
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;

use super::retry::{classify, deadline_error, Retry, Stop};
use super::{mmv1, Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadPurpose, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, BlockType, Nesting, Rule, Schema, Validator};

const TYPE: &str = "google_secret_manager_secret";
const LIST: &str = "secretmanager.projects.secrets.list";
const CREATE: &str = "secretmanager.projects.secrets.create";
const GET: &str = "secretmanager.projects.secrets.get";
const PATCH: &str = "secretmanager.projects.secrets.patch";
const DELETE: &str = "secretmanager.projects.secrets.delete";
const LIST_VERSIONS: &str = "secretmanager.projects.secrets.versions.list";

/// Cairn's attribute: the number of ENABLED versions, read for health checks only.
pub const ENABLED_VERSION_COUNT: &str = "enabled_version_count";
/// The API's largest page: one call per secret however many versions it has.
const VERSIONS_PAGE_SIZE: i32 = 25_000;

/// Attributes an in-place update sends, with their update-mask path (snake_case: the SDK's
/// field mask writes it in the API's camelCase). `rotation` is named field by field (see
/// [`update_mask`]).
const UPDATABLE: [(&str, &str); 8] = [
    ("labels", "labels"),
    ("annotations", "annotations"),
    ("version_aliases", "version_aliases"),
    ("version_destroy_ttl", "version_destroy_ttl"),
    ("expire_time", "expire_time"),
    ("ttl", "ttl"),
    ("topics", "topics"),
    ("rotation", "rotation"),
];

pub struct SecretManagerSecret {
    shared: Arc<Shared>,
    schema: Schema,
}

/// The generated schema, plus what magic-modules leaves to hand-written code: the API's
/// secret-id limits, Cairn's `enabled_version_count`, the replication rule with a message
/// that says how to fix it (it replaces the generated exactly-one-of inside `replication`),
/// and `expire_time` xor `ttl`, which the API refuses only at apply.
///
/// The definition's `secretManagerSecretAutoCustomizeDiff` only spares a replacement when a
/// configuration moves from the removed `replication.automatic` boolean to `auto {}`; no GA
/// schema has that boolean, so there is nothing to port.
pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("secret_id", |a| {
            a.validate(Validator::Pattern {
                regex: r"^[A-Za-z0-9_-]{1,255}$",
                description: "1 to 255 letters, digits, hyphens and underscores",
            })
            .describe("The secret's ID, unique within the project.")
        })
        .modify("labels", |a| a.describe("Labels this configuration manages (non-authoritative; see effective_labels)."))
        .modify("annotations", |a| a.describe("Annotations this configuration manages (non-authoritative)."))
        .modify("version_aliases", |a| a.describe("Alias → version number."))
        .modify("version_destroy_ttl", |a| {
            a.describe("Delay before a destroyed version is really destroyed, e.g. \"86400s\".")
        })
        .modify("ttl", |a| a.describe("Input only: the secret expires this long after the apply, e.g. \"3600s\"."))
        .modify("expire_time", |a| a.describe("When the secret expires (RFC 3339)."))
        .modify("tags", |a| a.describe("Resource Manager tags bound at creation."))
        .modify("deletion_protection", |a| a.describe("When true, Cairn refuses to delete the secret."))
        .modify("id", |a| a.describe("projects/{project}/secrets/{secret_id}"))
        .modify("name", |a| a.describe("The API's name, projects/{project number}/secrets/{secret_id}."))
        .attr(
            ENABLED_VERSION_COUNT,
            Attribute::computed(AttrType::Number).describe(
                "Cairn only: how many versions of the secret are ENABLED (0: the secret has no usable value). \
                 Read live by `cairn check` (one versions.list per secret); unknown during plan and apply, never stored.",
            ),
        )
        .modify_block("replication", |mut b| {
            b.block.rules.retain(|r| !matches!(r, Rule::ExactlyOneOf(_)));
            b
        })
        // Replicas have no order that means anything: compared by content, as Cairn's schema
        // always had them (a reordered list must not replace the secret).
        .modify_block("replication.user_managed.replicas", |b| BlockType { nesting: Nesting::Set, ..b })
        .rule(Rule::Custom(Arc::new(check_replication)))
        .rule(Rule::AtMostOneOf(vec!["expire_time", "ttl"]))
}

/// `replication` needs exactly one of `auto` and `user_managed` (the API rejects anything else
/// only at apply).
fn check_replication(config: &Value) -> Vec<(AttrPath, String)> {
    let Some(rep) = first_block(config, "replication") else { return Vec::new() };
    if rep.is_unknown() {
        return Vec::new();
    }
    let state = |name: &str| match rep.get(name) {
        Some(v) if v.is_unknown() => None,
        Some(v) => Some(v.as_list().is_some_and(|xs| !xs.is_empty())),
        None => Some(false),
    };
    let base = AttrPath::attr("replication").join_index(0);
    match (state("auto"), state("user_managed")) {
        (Some(true), Some(true)) => vec![(
            base.join_attr("user_managed"),
            "replication.auto and replication.user_managed are both set; a secret is replicated one way: keep exactly one of them".into(),
        )],
        (Some(false), Some(false)) => {
            vec![(base, "replication needs exactly one of replication.auto or replication.user_managed; add `auto {}` for Google-managed replication".into())]
        }
        _ => Vec::new(),
    }
}

impl SecretManagerSecret {
    pub fn new(shared: Arc<Shared>) -> Self {
        SecretManagerSecret { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    /// Every secret of a project, by secret id: one paginated list. None: the project is gone
    /// (or the caller cannot see it), and so are its secrets.
    async fn list_project(
        &self,
        c: &Clients,
        project: &str,
        timeout: Duration,
    ) -> Result<Option<BTreeMap<String, model::Secret>>, ProviderError> {
        list_by_last_segment!(
            c.secret_manager_calls,
            LIST,
            timeout,
            c.secret_manager.list_secrets().set_parent(format!("projects/{project}")),
            250,
            secrets
        )
        .await
    }

    /// The state value for a secret as the API returned it. `prior`: the state before (None on
    /// import), for Terraform-only and input-only arguments and non-authoritative maps.
    fn to_state(&self, project: &str, s: &model::Secret, prior: Option<&Value>) -> Value {
        let secret_id = fields::last_segment(&s.name).to_string();
        let prior_attr = |name: &str| prior.and_then(|p| p.get(name));
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        m.insert("id".into(), Value::string(format!("projects/{project}/secrets/{secret_id}")));
        m.insert("name".into(), Value::string(s.name.clone()));
        m.insert("secret_id".into(), Value::string(secret_id));
        m.insert("project".into(), Value::string(project));
        m.insert("create_time".into(), s.create_time.map(|t| Value::string(String::from(t))).unwrap_or(Value::Null));
        m.insert(
            "labels".into(),
            fields::managed_subset(&s.labels, prior_attr("labels").or(prior.map(|_| &Value::Null))),
        );
        m.insert(
            "annotations".into(),
            fields::managed_subset(&s.annotations, prior_attr("annotations").or(prior.map(|_| &Value::Null))),
        );
        m.insert("effective_labels".into(), fields::full_map(&s.labels));
        m.insert("effective_annotations".into(), fields::full_map(&s.annotations));
        let managed_labels = m.get("labels").and_then(Value::as_map).cloned().unwrap_or_default();
        m.insert("terraform_labels".into(), Value::object(managed_labels));
        let aliases: HashMap<String, String> =
            s.version_aliases.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        m.insert("version_aliases".into(), fields::api_map(&aliases, prior_attr("version_aliases")));
        m.insert(
            "version_destroy_ttl".into(),
            s.version_destroy_ttl.map(|d| Value::string(String::from(d))).unwrap_or(Value::Null),
        );
        m.insert(
            "expire_time".into(),
            s.expire_time().map(|t| Value::string(String::from(**t))).unwrap_or(Value::Null),
        );
        // Input only: the API never returns them.
        m.insert("ttl".into(), prior_attr("ttl").cloned().unwrap_or(Value::Null));
        m.insert("tags".into(), prior_attr("tags").cloned().unwrap_or_else(|| fields::api_map(&s.tags, None)));
        m.insert("replication".into(), Value::List(replication_state(s.replication.as_ref()).into_iter().collect()));
        m.insert(
            "topics".into(),
            Value::List(s.topics.iter().map(|t| Value::map([("name", Value::string(t.name.clone()))])).collect()),
        );
        let rotation = s.rotation.as_ref().map(|r| {
            Value::map([
                (
                    "next_rotation_time",
                    r.next_rotation_time.map(|t| Value::string(String::from(t))).unwrap_or(Value::Null),
                ),
                ("rotation_period", r.rotation_period.map(|d| Value::string(String::from(d))).unwrap_or(Value::Null)),
            ])
        });
        m.insert("rotation".into(), Value::List(rotation.into_iter().collect()));
        // Known only where a health read counted the versions (see the module comment).
        m.insert(ENABLED_VERSION_COUNT.into(), Value::unknown());
        conform_to_schema(&self.schema, Value::object(m))
    }

    async fn get(&self, c: &Clients, name: &str, timeout: Duration) -> Result<model::Secret, ProviderError> {
        c.secret_manager_calls
            .idempotent(GET, timeout, || c.secret_manager.get_secret().set_name(name.to_string()).send())
            .await
    }

    /// Fills `enabled_version_count` of every state value, one versions.list per secret, run
    /// concurrently (the Secret Manager retrier bounds how many are in flight).
    async fn count_versions(
        &self,
        c: &Arc<Clients>,
        states: &mut [Option<Value>],
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, state) in states.iter().enumerate() {
            let Some((project, secret_id)) = state.as_ref().and_then(identity) else { continue };
            let c = c.clone();
            tasks.spawn(async move {
                (i, count_enabled_versions(&c, &format!("projects/{project}/secrets/{secret_id}"), timeout).await)
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((i, Ok(n))) => {
                    if let Some(Some(state)) = states.get_mut(i) {
                        set(state, ENABLED_VERSION_COUNT, Value::from(n as i64));
                    }
                }
                Ok((_, Err(e))) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert_with(|| {
                        ProviderError::new(format!("{TYPE}: counting secret versions failed unexpectedly"))
                            .method(LIST_VERSIONS)
                    });
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The filter that keeps only usable versions (https://cloud.google.com/secret-manager/docs/filtering).
const ENABLED_FILTER: &str = "state:ENABLED";

/// How many versions of `secret` (`projects/{p}/secrets/{id}`) are ENABLED. A filtered list
/// carries no totalSize, so the versions themselves are counted; the state is checked again
/// here so that a server ignoring the filter cannot inflate the count.
async fn count_enabled_versions(c: &Clients, secret: &str, timeout: Duration) -> Result<usize, ProviderError> {
    let mut count = 0;
    let mut token = String::new();
    loop {
        let page = c
            .secret_manager_calls
            .idempotent(LIST_VERSIONS, timeout, || {
                c.secret_manager
                    .list_secret_versions()
                    .set_parent(secret.to_string())
                    .set_filter(ENABLED_FILTER)
                    .set_page_size(VERSIONS_PAGE_SIZE)
                    .set_page_token(token.clone())
                    .send()
            })
            .await;
        let page = match page {
            Ok(p) => p,
            // Deleted between the secrets list and this call: it holds no value.
            Err(e) if e.not_found => return Ok(0),
            Err(e) => return Err(e),
        };
        count += page.versions.iter().filter(|v| v.state == VersionState::Enabled).count();
        if page.next_page_token.is_empty() {
            return Ok(count);
        }
        token = page.next_page_token;
    }
}

fn cmek_state(kms: Option<&model::CustomerManagedEncryption>) -> Value {
    Value::List(
        kms.map(|k| Value::map([("kms_key_name", Value::string(k.kms_key_name.clone()))])).into_iter().collect(),
    )
}

fn replication_state(r: Option<&model::Replication>) -> Option<Value> {
    let r = r?;
    if let Some(auto) = r.automatic() {
        return Some(Value::map([
            (
                "auto",
                Value::List(vec![Value::map([(
                    "customer_managed_encryption",
                    cmek_state(auto.customer_managed_encryption.as_ref()),
                )])]),
            ),
            ("user_managed", Value::List(vec![])),
        ]));
    }
    if let Some(um) = r.user_managed() {
        let replicas = um
            .replicas
            .iter()
            .map(|rep| {
                Value::map([
                    ("location", Value::string(rep.location.clone())),
                    ("customer_managed_encryption", cmek_state(rep.customer_managed_encryption.as_ref())),
                ])
            })
            .collect();
        return Some(Value::map([
            ("auto", Value::List(vec![])),
            ("user_managed", Value::List(vec![Value::map([("replicas", Value::set(replicas))])])),
        ]));
    }
    None
}

fn cmek_request(block: &Value) -> Option<model::CustomerManagedEncryption> {
    let kms = first_block(block, "customer_managed_encryption").and_then(|c| string(c, "kms_key_name"))?;
    Some(model::CustomerManagedEncryption::new().set_kms_key_name(kms))
}

fn replication_request(planned: &Value) -> Result<model::Replication, ProviderError> {
    let rep = first_block(planned, "replication")
        .ok_or_else(|| ProviderError::new(format!("{TYPE}: a replication block is required")))?;
    if let Some(auto) = first_block(rep, "auto") {
        let mut a = model::replication::Automatic::new();
        if let Some(k) = cmek_request(auto) {
            a = a.set_customer_managed_encryption(k);
        }
        return Ok(model::Replication::new().set_automatic(a));
    }
    if let Some(um) = first_block(rep, "user_managed") {
        let replicas = fields::blocks(um, "replicas")
            .iter()
            .map(|r| {
                let mut rep = model::replication::user_managed::Replica::new()
                    .set_location(string(r, "location").unwrap_or_default());
                if let Some(k) = cmek_request(r) {
                    rep = rep.set_customer_managed_encryption(k);
                }
                rep
            })
            .collect::<Vec<_>>();
        return Ok(
            model::Replication::new().set_user_managed(model::replication::UserManaged::new().set_replicas(replicas))
        );
    }
    Err(ProviderError::new(format!("{TYPE}: replication needs exactly one of auto or user_managed")))
}

fn timestamp(v: &str, what: &str) -> Result<Timestamp, ProviderError> {
    Timestamp::try_from(v).map_err(|_| {
        ProviderError::new(format!("{what} = \"{v}\" is not an RFC 3339 timestamp such as \"2030-01-01T00:00:00Z\""))
    })
}

fn duration(v: &str, what: &str) -> Result<PbDuration, ProviderError> {
    PbDuration::try_from(v).map_err(|_| {
        ProviderError::new(format!("{what} = \"{v}\" is not a duration in seconds such as \"86400s\" or \"3.5s\""))
    })
}

/// The request body for the fields in `only` (all of them on create).
fn secret_request(planned: &Value, only: Option<&[&str]>) -> Result<model::Secret, ProviderError> {
    let wanted = |f: &str| only.is_none_or(|o| o.contains(&f));
    let mut s = model::Secret::new();
    if wanted("labels") {
        // The full effective set: labels are non-authoritative, so keys set outside Cairn stay.
        s = s.set_labels(fields::effective_to_send(planned, "effective_labels", "labels"));
    }
    if wanted("annotations") {
        s = s.set_annotations(fields::effective_to_send(planned, "effective_annotations", "annotations"));
    }
    if wanted("version_aliases") {
        let mut aliases = HashMap::new();
        for (k, v) in string_map(planned, "version_aliases") {
            let n: i64 = v.trim().parse().map_err(|_| {
                ProviderError::new(format!("version_aliases.{k} = \"{v}\" must be a version number, e.g. \"2\""))
            })?;
            aliases.insert(k, n);
        }
        s = s.set_version_aliases(aliases);
    }
    if wanted("version_destroy_ttl") {
        if let Some(t) = string(planned, "version_destroy_ttl") {
            s = s.set_version_destroy_ttl(duration(&t, "version_destroy_ttl")?);
        }
    }
    if wanted("ttl") {
        if let Some(t) = string(planned, "ttl") {
            s = s.set_ttl(duration(&t, "ttl")?);
        }
    }
    if wanted("expire_time") && !(wanted("ttl") && string(planned, "ttl").is_some()) {
        if let Some(t) =
            planned.get("expire_time").filter(|v| !v.is_unknown()).and_then(Value::as_str).filter(|s| !s.is_empty())
        {
            s = s.set_expire_time(timestamp(t, "expire_time")?);
        }
    }
    if wanted("topics") {
        s = s.set_topics(
            fields::blocks(planned, "topics")
                .iter()
                .filter_map(|t| string(t, "name"))
                .map(|n| model::Topic::new().set_name(n)),
        );
    }
    if wanted("rotation") {
        if let Some(r) = first_block(planned, "rotation") {
            let mut rot = model::Rotation::new();
            if let Some(t) = string(r, "next_rotation_time") {
                rot = rot.set_next_rotation_time(timestamp(&t, "rotation.next_rotation_time")?);
            }
            if let Some(p) = string(r, "rotation_period") {
                rot = rot.set_rotation_period(duration(&p, "rotation.rotation_period")?);
            }
            s = s.set_rotation(rot);
        }
    }
    if only.is_none() {
        s = s.set_replication(replication_request(planned)?);
        let tags = string_map(planned, "tags");
        if !tags.is_empty() {
            s = s.set_tags(tags);
        }
    }
    Ok(s)
}

/// The update mask for the attributes in `fields_to_send`. A `rotation` kept but changed is
/// named by its changed fields (`rotation.next_rotation_time`: nested paths, which the real
/// API accepts), so that a rotation time the service has advanced is not reset when only the
/// period changes; a rotation added or removed is named whole.
fn update_mask(fields_to_send: &[&str], prior: &Value, planned: &Value) -> Vec<String> {
    let mut mask = Vec::new();
    for (attr, path) in UPDATABLE.iter().filter(|(attr, _)| fields_to_send.contains(attr)) {
        if *attr != "rotation" {
            mask.push(path.to_string());
            continue;
        }
        match (first_block(prior, "rotation"), first_block(planned, "rotation")) {
            (Some(old), Some(new)) => {
                let changed: Vec<String> = ["next_rotation_time", "rotation_period"]
                    .into_iter()
                    .filter(|f| old.get(f) != new.get(f))
                    .map(|f| format!("rotation.{f}"))
                    .collect();
                if changed.is_empty() {
                    mask.push("rotation".into());
                } else {
                    mask.extend(changed);
                }
            }
            _ => mask.push("rotation".into()),
        }
    }
    mask
}

/// Accepts `projects/{p}/secrets/{id}`, `{p}/{id}` and `{id}` (the provider's project).
pub fn parse_import_id(id: &str, default_project: Option<&str>) -> Result<(String, String), ProviderError> {
    if let Some(ps) = parse_secret_name(id) {
        return Ok(ps);
    }
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [p, s] if !p.is_empty() && !s.is_empty() => Ok((p.to_string(), s.to_string())),
        [s] if !s.is_empty() => match default_project {
            Some(p) => Ok((p.to_string(), s.to_string())),
            None => Err(ProviderError::new(format!(
                "import id \"{id}\" names no project and the provider has none; use projects/PROJECT/secrets/{id}"
            ))),
        },
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not projects/PROJECT/secrets/SECRET_ID, PROJECT/SECRET_ID or SECRET_ID"
        ))),
    }
}

/// The project and secret id of a state value: its attributes, else its id.
fn identity(v: &Value) -> Option<(String, String)> {
    match (string(v, "project"), string(v, "secret_id")) {
        (Some(p), Some(s)) => Some((p, s)),
        _ => string(v, "id").and_then(|id| parse_secret_name(&id)),
    }
}

#[async_trait]
impl ResourceType for SecretManagerSecret {
    name_schema_timeouts!(TYPE, 20);

    /// Fills what Terraform's plan shows as known: the project (from the provider), the id,
    /// and the effective label and annotation sets when they change.
    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        self.shared.fill_project(&mut p.planned);
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let (Some(project), Some(secret_id)) = (string(&p.planned, "project"), string(&p.planned, "secret_id")) {
                set(&mut p.planned, "id", Value::string(format!("projects/{project}/secrets/{secret_id}")));
            }
        }
        let replacing = p.prior.is_none() || !p.requires_replace.is_empty();
        let prior = if replacing { None } else { p.prior.clone() };
        let changed = |name: &str| replacing || p.changed.iter().any(|c| c.top() == Some(name));
        for (managed, effective) in [("labels", "effective_labels"), ("annotations", "effective_annotations")] {
            if changed(managed) {
                let configured = p.planned.get(managed).cloned();
                let eff = fields::effective_after(
                    prior.as_ref().and_then(|x| x.get(effective)),
                    prior.as_ref().and_then(|x| x.get(managed)),
                    configured.as_ref(),
                );
                set(&mut p.planned, effective, eff);
                if managed == "labels" {
                    let tl = configured.filter(|v| v.as_map().is_some()).unwrap_or(Value::object(BTreeMap::new()));
                    set(&mut p.planned, "terraform_labels", tl);
                }
            }
        }
        if !replacing && changed("ttl") && p.planned.get("ttl").is_some_and(|v| !v.is_null()) {
            set(&mut p.planned, "expire_time", Value::unknown());
        }
        Ok(Vec::new())
    }

    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.clients(ctx).await?;
        let cr = &c;
        let mut out = read_grouped(
            reqs,
            identity,
            |project| async move { self.list_project(cr, &project, ctx.timeout).await },
            |project, live, secret_id, prior| live.get(secret_id).map(|s| self.to_state(project, s, Some(prior))),
        )
        .await?;
        if ctx.purpose == ReadPurpose::Health {
            self.count_versions(&c, &mut out, ctx.timeout).await?;
        }
        Ok(out)
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let secret_id = fields::required_string(planned, "secret_id", TYPE)?;
        let body = secret_request(planned, None)?;
        let deadline = tokio::time::Instant::now() + ctx.timeout;
        let calls = &c.secret_manager_calls;
        let mut maybe_created = false;
        let mut last = None;
        let mut created = None;
        for attempt in 0u32.. {
            let call = c
                .secret_manager
                .create_secret()
                .set_parent(format!("projects/{project}"))
                .set_secret_id(secret_id.clone())
                .set_secret(body.clone())
                .send();
            match calls.attempt(deadline, call).await {
                Ok(s) => {
                    created = Some(s);
                    break;
                }
                // Our earlier attempt went through after all: adopt what it created.
                Err(Stop::Failed(e)) if maybe_created && is_already_exists(&e) => break,
                Err(Stop::Failed(e)) => match classify(&e) {
                    Retry::Permanent if is_already_exists(&e) => {
                        let mut err = api_error(CREATE, &e);
                        err.message.push_str(&format!(
                            "; the secret exists but is not in Cairn's state: import it with `cairn import <address> projects/{project}/secrets/{secret_id}`"
                        ));
                        return Err(err);
                    }
                    Retry::Permanent => return Err(api_error(CREATE, &e)),
                    Retry::Ambiguous => {
                        maybe_created = true;
                        last = Some(e);
                    }
                    Retry::NotProcessed => last = Some(e),
                },
                Err(Stop::Deadline(_)) => return Err(deadline_error(CREATE, ctx.timeout, last.as_ref())),
            }
            if !calls.pause(attempt, deadline).await {
                return Err(deadline_error(CREATE, ctx.timeout, last.as_ref()));
            }
        }
        let secret = match created {
            Some(s) => s,
            None => {
                let remaining = time_left(deadline);
                self.get(&c, &format!("projects/{project}/secrets/{secret_id}"), remaining).await?
            }
        };
        let mut state = self.to_state(&project, &secret, Some(planned));
        // Input-only arguments come from the plan (the core keeps the client-only ones).
        for name in ["ttl", "tags"] {
            set(&mut state, name, planned.get(name).cloned().unwrap_or(Value::Null));
        }
        Ok(state)
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, secret_id) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/secret_id"))?;
        let touched = |name: &str| changed.iter().any(|p| p.top() == Some(name));
        let mut fields_to_send: Vec<&str> =
            UPDATABLE.iter().filter(|(attr, _)| touched(attr)).map(|(attr, _)| *attr).collect();
        if touched("effective_labels") && !fields_to_send.contains(&"labels") {
            fields_to_send.push("labels");
        }
        if touched("effective_annotations") && !fields_to_send.contains(&"annotations") {
            fields_to_send.push("annotations");
        }
        // `ttl` sets the expiry; sending expire_time too would contradict it.
        if fields_to_send.contains(&"ttl") {
            fields_to_send.retain(|f| *f != "expire_time");
        }
        let name = format!("projects/{project}/secrets/{secret_id}");
        let live = if fields_to_send.is_empty() {
            self.get(&c, &name, ctx.timeout).await?
        } else {
            let body = secret_request(planned, Some(&fields_to_send))?.set_name(name.clone());
            let mask = FieldMask::default().set_paths(update_mask(&fields_to_send, prior, planned));
            c.secret_manager_calls
                .idempotent(PATCH, ctx.timeout, || {
                    c.secret_manager.update_secret().set_secret(body.clone()).set_update_mask(mask.clone()).send()
                })
                .await?
        };
        let mut state = self.to_state(&project, &live, Some(planned));
        for name in ["ttl", "tags"] {
            set(&mut state, name, planned.get(name).cloned().unwrap_or(Value::Null));
        }
        Ok(state)
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, secret_id) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/secret_id"))?;
        if fields::boolean(prior, "deletion_protection", false) {
            return Err(ProviderError::new(format!(
                "cannot destroy secret projects/{project}/secrets/{secret_id}: deletion_protection is true. \
                 Set deletion_protection = false and apply that change first, then destroy"
            )));
        }
        let c = self.clients(ctx).await?;
        let name = format!("projects/{project}/secrets/{secret_id}");
        let deleted = c
            .secret_manager_calls
            .idempotent(DELETE, ctx.timeout, || c.secret_manager.delete_secret().set_name(name.clone()).send())
            .await;
        gone_is_deleted(deleted)
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, secret_id) = parse_import_id(id, c.config.project.as_deref())?;
        let secret = self.get(&c, &format!("projects/{project}/secrets/{secret_id}"), ctx.timeout).await?;
        let mut state = [Some(self.to_state(&project, &secret, None))];
        if ctx.purpose == ReadPurpose::Health {
            self.count_versions(&c, &mut state, ctx.timeout).await?;
        }
        let [state] = state;
        Ok(state.unwrap_or(Value::Null))
    }

    /// The secret's full id: user-chosen, so an interrupted apply can find it again.
    fn cloud_name(&self, planned: &Value) -> Option<String> {
        project_child_name(&self.shared, planned, "secrets", "secret_id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    #[test]
    fn replication_needs_exactly_one_kind() {
        let ok = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  replication {\n    auto {}\n  }\n}\n";
        assert_eq!(diags(ok), Vec::<String>::new());
        let um = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  replication {\n    user_managed {\n      replicas {\n        location = \"us-east1\"\n      }\n    }\n  }\n}\n";
        assert_eq!(diags(um), Vec::<String>::new());
        let both = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  replication {\n    auto {}\n    user_managed {\n      replicas {\n        location = \"us-east1\"\n      }\n    }\n  }\n}\n";
        let d = diags(both);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("main.tf:5:5: replication.auto and replication.user_managed are both set"), "{d:?}");
        let none = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  replication {\n  }\n}\n";
        let d = diags(none);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("exactly one of replication.auto or replication.user_managed"), "{d:?}");
    }

    #[test]
    fn secret_id_ttl_and_rotation_rules() {
        let bad_id = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"has space\"\n  replication {\n    auto {}\n  }\n}\n";
        let d = diags(bad_id);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("main.tf:2:"), "{d:?}");
        let long = format!("resource \"google_secret_manager_secret\" \"s\" {{\n  secret_id = \"{}\"\n  replication {{\n    auto {{}}\n  }}\n}}\n", "a".repeat(256));
        assert_eq!(diags(&long).len(), 1);
        let both = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  ttl = \"60s\"\n  expire_time = \"2030-01-01T00:00:00Z\"\n  replication {\n    auto {}\n  }\n}\n";
        assert_eq!(diags(both).len(), 1, "{:?}", diags(both));
        let rot = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  rotation {\n    rotation_period = \"3600s\"\n  }\n  replication {\n    auto {}\n  }\n}\n";
        let d = diags(rot);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("\"topics\" is required when \"rotation\" is set"), "{d:?}");
    }

    /// The corpus stack's secret (tests/it/corpus/google_secret_manager_secret): every documented
    /// top-level argument and block.
    #[test]
    fn every_documented_argument_validates() {
        let src = r#"resource "google_secret_manager_secret" "s" {
  secret_id           = "db-password"
  project             = "p"
  labels              = { team = "platform" }
  annotations         = { "owner.example.com/contact" = "platform@example.com" }
  version_aliases     = { current = "1" }
  version_destroy_ttl = "86400s"
  expire_time         = "2035-01-01T00:00:00Z"
  tags                = { "tagKeys/281484271805522" = "tagValues/281479612660046" }
  deletion_protection = false
  deletion_policy     = "ABANDON"
  replication {
    user_managed {
      replicas {
        location = "us-central1"
        customer_managed_encryption {
          kms_key_name = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
        }
      }
    }
  }
  topics {
    name = "projects/p/topics/t"
  }
  rotation {
    next_rotation_time = "2030-06-01T00:00:00Z"
    rotation_period    = "2592000s"
  }
}
"#;
        assert_eq!(diags(src), Vec::<String>::new());
        let ttl = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  ttl = \"60s\"\n  replication {\n    auto {\n      customer_managed_encryption {\n        kms_key_name = \"k\"\n      }\n    }\n  }\n}\n";
        assert_eq!(diags(ttl), Vec::<String>::new());
        let policy = "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"a\"\n  deletion_policy = \"KEEP\"\n  replication {\n    auto {}\n  }\n}\n";
        assert_eq!(diags(policy).len(), 1, "{:?}", diags(policy));
    }

    #[test]
    fn a_kept_rotation_is_masked_field_by_field() {
        let rotation = |time: &str, period: &str| {
            Value::map([(
                "rotation",
                Value::List(vec![Value::map([
                    ("next_rotation_time", Value::from(time)),
                    ("rotation_period", Value::from(period)),
                ])]),
            )])
        };
        let prior = rotation("2030-06-01T00:00:00Z", "3600s");
        let planned = rotation("2030-06-01T00:00:00Z", "7200s");
        assert_eq!(update_mask(&["labels", "rotation"], &prior, &planned), ["labels", "rotation.rotation_period"]);
        let both = rotation("2031-01-01T00:00:00Z", "7200s");
        assert_eq!(
            update_mask(&["rotation"], &prior, &both),
            ["rotation.next_rotation_time", "rotation.rotation_period"]
        );
        let removed = Value::map([("rotation", Value::List(vec![]))]);
        assert_eq!(update_mask(&["rotation"], &prior, &removed), ["rotation"]);
        assert_eq!(update_mask(&["rotation"], &removed, &planned), ["rotation"]);
    }

    #[test]
    fn import_ids_in_three_forms() {
        assert_eq!(parse_import_id("projects/p/secrets/s", None).unwrap(), ("p".into(), "s".into()));
        assert_eq!(parse_import_id("p/s", None).unwrap(), ("p".into(), "s".into()));
        assert_eq!(parse_import_id("s", Some("dflt")).unwrap(), ("dflt".into(), "s".into()));
        assert!(parse_import_id("s", None).unwrap_err().message.contains("names no project"));
        assert!(parse_import_id("a/b/c", None).is_err());
    }

    fn planned() -> Value {
        conform_to_schema(
            &schema(),
            Value::map([
                ("secret_id", Value::from("db-password")),
                ("project", Value::from("p")),
                ("labels", Value::map([("team", Value::from("platform"))])),
                ("version_aliases", Value::map([("current", Value::from("2"))])),
                ("version_destroy_ttl", Value::from("86400s")),
                ("ttl", Value::from("3600s")),
                ("replication", Value::List(vec![Value::map([("auto", Value::List(vec![Value::map::<&str>([])]))])])),
                ("topics", Value::List(vec![Value::map([("name", Value::from("projects/p/topics/t"))])])),
                ("rotation", Value::List(vec![Value::map([("rotation_period", Value::from("3600s"))])])),
            ]),
        )
    }

    #[test]
    fn create_body_carries_every_argument() {
        let s = secret_request(&planned(), None).unwrap();
        assert_eq!(s.labels.get("team").map(String::as_str), Some("platform"));
        assert_eq!(s.version_aliases.get("current"), Some(&2));
        assert_eq!(s.version_destroy_ttl.map(String::from).as_deref(), Some("86400s"));
        assert_eq!(s.ttl().map(|d| String::from(**d)).as_deref(), Some("3600s"));
        assert!(s.replication.as_ref().and_then(|r| r.automatic()).is_some());
        assert_eq!(s.topics.len(), 1);
        assert_eq!(s.rotation.as_ref().and_then(|r| r.rotation_period).map(String::from).as_deref(), Some("3600s"));
        let mut bad = planned();
        set(&mut bad, "version_aliases", Value::map([("x", Value::from("two"))]));
        assert!(secret_request(&bad, None).unwrap_err().message.contains("version_aliases.x"));
    }

    #[test]
    fn update_body_sends_only_the_masked_fields() {
        let s = secret_request(&planned(), Some(&["labels"])).unwrap();
        assert_eq!(s.labels.len(), 1);
        assert!(s.version_aliases.is_empty() && s.topics.is_empty() && s.rotation.is_none() && s.replication.is_none());
    }

    #[test]
    fn state_from_the_api_round_trips_to_a_no_op_plan() {
        let t = SecretManagerSecret::new(Arc::new(Shared::new(Default::default())));
        let api = model::Secret::new()
            .set_name("projects/123456789012/secrets/db-password")
            .set_labels([("team", "platform"), ("owner", "console")])
            .set_replication(model::Replication::new().set_automatic(model::replication::Automatic::new()))
            .set_create_time(Timestamp::clamp(1_700_000_000, 0));
        let prior = Value::map([
            ("labels", Value::map([("team", Value::from("x"))])),
            ("deletion_protection", Value::Bool(true)),
        ]);
        // What a refresh stores: the API's object, and the client-only arguments of the prior.
        let v = t.schema().keep_client_only(&prior, t.to_state("p", &api, Some(&prior)));
        assert_eq!(v.get("id"), Some(&Value::from("projects/p/secrets/db-password")));
        assert_eq!(v.get("name"), Some(&Value::from("projects/123456789012/secrets/db-password")));
        assert_eq!(v.get("labels"), Some(&Value::map([("team", Value::from("platform"))])), "only managed keys");
        assert_eq!(v.get("effective_labels").and_then(Value::as_map).map(|m| m.len()), Some(2));
        assert_eq!(v.get("deletion_protection"), Some(&Value::Bool(true)));
        assert_eq!(v.get("create_time"), Some(&Value::from("2023-11-14T22:13:20Z")));

        // Planning the same configuration against it changes nothing.
        let config = Value::map([
            ("secret_id", Value::from("db-password")),
            ("labels", Value::map([("team", Value::from("platform"))])),
            ("deletion_protection", Value::Bool(true)),
            ("replication", Value::List(vec![Value::map([("auto", Value::List(vec![Value::map::<&str>([])]))])])),
        ]);
        let config = conform_to_schema(&schema(), config);
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(
            crate::schema::diff::changed_paths(&v, &prop.planned).is_empty(),
            "{:?}",
            crate::schema::diff::changed_paths(&v, &prop.planned)
        );

        // Changing a label keeps the console's label in the effective set sent to the API.
        let mut relabel = config.clone();
        set(&mut relabel, "labels", Value::map([("team", Value::from("data"))]));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &relabel, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.requires_replace.is_empty());
        assert_eq!(
            prop.planned.get("effective_labels"),
            Some(&Value::map([("owner", Value::from("console")), ("team", Value::from("data"))]))
        );
        let body = secret_request(&prop.planned, Some(&["labels"])).unwrap();
        assert_eq!(body.labels.len(), 2);
    }

    /// A plan reads the secrets with one list call and leaves enabled_version_count unknown; a
    /// health read (`cairn check`) adds one filtered versions.list per secret, paginated.
    #[tokio::test]
    async fn enabled_versions_are_counted_for_health_reads_only() {
        use std::sync::Mutex;
        let calls: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = calls.clone();
        let endpoint = crate::providers::google::test_server::start(Arc::new(move |method: &str, path: &str, query: &str, _b: &[u8]| {
            seen.lock().unwrap().push(format!("{method} {path}?{query}"));
            let secret = |id: &str| serde_json::json!({"name": format!("projects/123/secrets/{id}"), "replication": {"automatic": {}}});
            let version = |id: &str, n: u32| serde_json::json!({"name": format!("projects/123/secrets/{id}/versions/{n}"), "state": "ENABLED"});
            let filtered = query.contains("filter=state%3AENABLED") || query.contains("filter=state:ENABLED");
            match path {
                "/v1/projects/p/secrets" => (200, serde_json::json!({"secrets": [secret("two"), secret("none"), secret("gone")]})),
                "/v1/projects/p/secrets/two" => (200, secret("two")),
                // Two pages; a filtered list carries no totalSize.
                "/v1/projects/p/secrets/two/versions" if filtered && query.contains("pageToken=next") => (200, serde_json::json!({"versions": [version("two", 1)]})),
                "/v1/projects/p/secrets/two/versions" if filtered => (200, serde_json::json!({"versions": [version("two", 3)], "nextPageToken": "next"})),
                "/v1/projects/p/secrets/none/versions" if filtered => (200, serde_json::json!({})),
                _ => (404, serde_json::json!({"error": {"code": 404, "message": format!("Secret [{path}] not found."), "status": "NOT_FOUND"}})),
            }
        }))
        .await;
        let (shared, mut ctx) = crate::providers::google::test_server::shared(&endpoint).await;
        let t = SecretManagerSecret::new(shared);
        let req = |id: &str| ReadRequest {
            addr: crate::addr::ResourceAddr::managed(
                crate::addr::ModulePath::root(),
                "google_secret_manager_secret",
                id,
            )
            .instance(crate::addr::InstanceKey::None),
            prior: Value::map([("project", Value::from("p")), ("secret_id", Value::from(id))]),
        };
        let reqs = [req("two"), req("none"), req("gone"), req("never-existed")];
        let count = |v: &Option<Value>| v.as_ref().and_then(|v| v.get(ENABLED_VERSION_COUNT)).cloned();

        let plan = t.read_many(&ctx, &reqs).await.unwrap();
        assert!(plan[..3].iter().all(|v| count(v).is_some_and(|c| c.is_unknown())), "{plan:?}");
        assert!(plan[3].is_none());
        assert_eq!(calls.lock().unwrap().len(), 1, "a plan makes one list call: {:?}", calls.lock().unwrap());

        calls.lock().unwrap().clear();
        ctx.purpose = ReadPurpose::Health;
        let health = t.read_many(&ctx, &reqs).await.unwrap();
        assert_eq!(
            health.iter().map(count).collect::<Vec<_>>(),
            [Some(Value::from(2i64)), Some(Value::from(0i64)), Some(Value::from(0i64)), None]
        );
        let calls_made = calls.lock().unwrap().clone();
        assert_eq!(
            calls_made.len(),
            1 + 2 + 1 + 1,
            "one list, two pages for `two`, one each for `none` and `gone`: {calls_made:?}"
        );
        assert!(
            calls_made.iter().filter(|c| c.contains("/versions?")).all(|c| c.contains("pageSize=25000")),
            "{calls_made:?}"
        );

        let imported = t.import(&ctx, "projects/p/secrets/two").await.unwrap();
        assert_eq!(imported.get(ENABLED_VERSION_COUNT), Some(&Value::from(2i64)));
        ctx.purpose = ReadPurpose::Plan;
        let imported = t.import(&ctx, "projects/p/secrets/two").await.unwrap();
        assert!(imported.get(ENABLED_VERSION_COUNT).is_some_and(Value::is_unknown));
    }

    /// secrets.create went through but its answer was lost (503); the retry's 409 means "ours":
    /// the secret is read back and adopted. A 409 with no earlier ambiguity is a real conflict.
    #[tokio::test]
    async fn create_adopts_after_an_ambiguous_failure_but_not_otherwise() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        let exists = Arc::new(Mutex::new(false));
        let creates = Arc::new(AtomicUsize::new(0));
        let (e2, c2) = (exists.clone(), creates.clone());
        let endpoint = crate::providers::google::test_server::start(Arc::new(move |method: &str, path: &str, query: &str, _b: &[u8]| {
            let mut exists = e2.lock().unwrap();
            let secret = serde_json::json!({"name": "projects/123/secrets/s", "replication": {"automatic": {}}, "createTime": "2024-01-01T00:00:00Z", "labels": {"team": "a"}});
            match (method, path) {
                ("POST", "/v1/projects/p/secrets") => {
                    assert!(query.contains("secretId=s"), "{query}");
                    let n = c2.fetch_add(1, Ordering::SeqCst);
                    if *exists {
                        return (409, serde_json::json!({"error": {"code": 409, "message": "Secret [projects/123/secrets/s] already exists.", "status": "ALREADY_EXISTS"}}));
                    }
                    *exists = true;
                    if n == 0 {
                        (503, serde_json::json!({"error": {"code": 503, "message": "lost", "status": "UNAVAILABLE"}}))
                    } else {
                        (200, secret)
                    }
                }
                ("GET", "/v1/projects/p/secrets/s") if *exists => (200, secret),
                _ => (404, serde_json::json!({"error": {"code": 404, "message": "Secret [projects/123/secrets/s] not found.", "status": "NOT_FOUND"}})),
            }
        }))
        .await;
        let (shared, ctx) = crate::providers::google::test_server::shared(&endpoint).await;
        let t = SecretManagerSecret::new(shared);
        let mut p = crate::schema::propose::propose(
            t.schema(),
            None,
            &conform_to_schema(
                &schema(),
                Value::map([
                    ("secret_id", Value::from("s")),
                    ("labels", Value::map([("team", Value::from("a"))])),
                    (
                        "replication",
                        Value::List(vec![Value::map([("auto", Value::List(vec![Value::map::<&str>([])]))])]),
                    ),
                ]),
            ),
            false,
        );
        t.customize_plan(&mut p).unwrap();
        assert_eq!(p.planned.get("project"), Some(&Value::from("p")), "the provider's project is known at plan time");
        assert_eq!(p.planned.get("id"), Some(&Value::from("projects/p/secrets/s")));
        assert_eq!(t.cloud_name(&p.planned).as_deref(), Some("projects/p/secrets/s"));
        let state = t.create(&ctx, &p.planned, &p.config).await.unwrap();
        assert_eq!(creates.load(Ordering::SeqCst), 2);
        assert_eq!(state.get("name"), Some(&Value::from("projects/123/secrets/s")));
        assert_eq!(state.get("id"), p.planned.get("id"));
        assert_eq!(
            state.get("effective_labels"),
            p.planned.get("effective_labels"),
            "the plan's effective labels hold after apply"
        );

        // A fresh create of an existing secret is a conflict that says how to import it.
        let e = t.create(&ctx, &p.planned, &p.config).await.unwrap_err();
        assert_eq!(e.method.as_deref(), Some(CREATE));
        assert!(e.message.contains("already exists") && e.message.contains("cairn import"), "{}", e.message);
    }
}
