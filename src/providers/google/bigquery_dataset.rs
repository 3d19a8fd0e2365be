//! `google_bigquery_dataset`: a BigQuery dataset, e.g. the one the staging log sinks write to.
//!
//! Refresh is one `datasets.get` per dataset, not one list per project: the list's reduced
//! form (id, labels, friendlyName, location) lacks `access`, `description` and the default
//! expirations, which the plan compares.
//!
//! Updates are read-modify-write: read the dataset (and its etag), build the whole dataset
//! from the plan, and `datasets.update` (PUT) it with `If-Match: <etag>`, again from the read
//! on 412. When the configuration has no `access` block the live access list is sent back
//! unchanged, so grants made by `google_bigquery_dataset_iam_member` (or anyone) survive.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_bigquery_v2::model;
use google_cloud_gax::options::RequestOptionsBuilder;

use super::compute_backend_service::keep_computed_blocks;
use super::compute_common::{self as cc, Renames};
use super::fields::{self, conform_to_schema, set, string};
use super::resource_common::{gone_is_deleted, name_schema_timeouts, no_identity, none_if_gone, project_child_name};
use super::{mmv1, Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{Rule, Schema, Validator};

const TYPE: &str = "google_bigquery_dataset";
const GET: &str = "bigquery.datasets.get";
const INSERT: &str = "bigquery.datasets.insert";
const UPDATE: &str = "bigquery.datasets.update";
const DELETE: &str = "bigquery.datasets.delete";

/// How often an update re-reads and resends after a 412 (someone else wrote in between).
pub const ETAG_ATTEMPTS: u32 = 8;

/// `defaultTableExpirationMs`' minimum (the API's discovery document: "The minimum lifetime
/// value is 3600000 milliseconds (one hour)").
pub const MIN_TABLE_EXPIRATION_MS: f64 = 3_600_000.0;

/// The member kinds of an access entry; the API takes exactly one per entry.
pub const MEMBER_KINDS: &[&str] =
    &["user_by_email", "group_by_email", "domain", "special_group", "iam_member", "view", "dataset", "routine"];

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

/// The generated schema plus the API's rules that magic-modules leaves to Go functions
/// (`validateDatasetId`, `validateDefaultTableExpirationMs`) and one access member per entry.
pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("dataset_id", |a| {
            // The API's rule (discovery: DatasetReference.datasetId).
            a.validate(Validator::Pattern {
                regex: r"^[0-9A-Za-z_]{1,1024}$",
                description: "1 to 1024 letters, digits or underscores (e.g. \"infrastructure_monitoring\")",
            })
        })
        .modify("default_table_expiration_ms", |a| {
            a.validate(Validator::Range { min: MIN_TABLE_EXPIRATION_MS, max: 9.0e15 })
                .describe("At least 3600000 (one hour).")
        })
        .modify("labels", |a| {
            a.validate(Validator::Custom(Arc::new(check_labels)))
                .describe("Labels this configuration manages (non-authoritative; see effective_labels).")
        })
        .rule(Rule::Custom(Arc::new(check_access)))
}

/// The label rules of cloud.google.com/bigquery/docs/labels-intro#requirements.
pub fn check_labels(v: &Value) -> Result<(), String> {
    let Some(m) = v.as_map() else { return Ok(()) };
    if m.len() > 64 {
        return Err(format!("has {} labels; BigQuery allows at most 64", m.len()));
    }
    let allowed = |c: char| c.is_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    for (k, val) in m {
        if k.chars().count() > 63 || !k.chars().next().is_some_and(char::is_lowercase) || !k.chars().all(allowed) {
            return Err(format!(
                "has the key \"{k}\"; label keys are 1 to 63 lowercase letters, digits, _ or -, starting with a lowercase letter"
            ));
        }
        if let Some(s) = val.as_str() {
            if s.chars().count() > 63 || !s.chars().all(allowed) {
                return Err(format!(
                    "has the value \"{s}\" for \"{k}\"; label values are at most 63 lowercase letters, digits, _ or -"
                ));
            }
        }
    }
    Ok(())
}

/// Each `access` block names exactly one member kind (the API refuses others), and a role
/// unless it is a view, dataset or routine (which take none).
pub fn check_access(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    for (i, entry) in fields::blocks(config, "access").iter().enumerate() {
        let present = |k: &str| entry.get(k).is_some_and(|v| !v.is_null() && v.as_list().is_none_or(|l| !l.is_empty()));
        let kinds: Vec<&str> = MEMBER_KINDS.iter().copied().filter(|k| present(k)).collect();
        let at = AttrPath::attr("access").join_index(i as i64);
        if kinds.len() != 1 {
            out.push((
                at.clone(),
                format!(
                    "an access block names exactly one of {}; this one names {}",
                    MEMBER_KINDS.join(", "),
                    if kinds.is_empty() { "none".to_string() } else { kinds.join(" and ") }
                ),
            ));
            continue;
        }
        let takes_role = !matches!(kinds[0], "view" | "dataset" | "routine");
        if takes_role && !present("role") {
            out.push((
                at.join_attr("role"),
                format!("an access block with {} needs a role (OWNER, WRITER, READER or roles/…)", kinds[0]),
            ));
        }
        if !takes_role && present("role") {
            out.push((at.join_attr("role"), format!("an access block with {} takes no role", kinds[0])));
        }
    }
    out
}

/// The request body for the planned dataset; `live_access` is sent when the configuration
/// manages no access (so an unmanaged list is kept as it is).
pub fn request(
    schema: &Schema,
    planned: &Value,
    project: &str,
    dataset_id: &str,
    live_access: Option<&serde_json::Value>,
) -> Result<model::Dataset, ProviderError> {
    let mut j = cc::to_wire(schema, planned, renames());
    if let Some(o) = j.as_object_mut() {
        o.remove("labels");
        let labels = fields::effective_to_send(planned, "effective_labels", "labels");
        if !labels.is_empty() {
            o.insert("labels".into(), serde_json::to_value(labels).unwrap_or_default());
        }
        o.insert("datasetReference".into(), serde_json::json!({"projectId": project, "datasetId": dataset_id}));
        if let Some(a) = live_access {
            o.insert("access".into(), a.clone());
        } else if let (Some(access), Some(entries)) =
            (schema.blocks.get("access"), planned.get("access").and_then(Value::as_list))
        {
            // Without the type's renames, which would drop the `dataset_id` of a view, routine or
            // dataset entry (see `to_state`).
            let wire: Vec<serde_json::Value> = entries.iter().map(|e| cc::to_wire(&access.block, e, &[])).collect();
            o.insert("access".into(), serde_json::Value::Array(wire));
        }
    }
    cc::json_model(j, TYPE)
}

pub struct BigqueryDataset {
    shared: Arc<Shared>,
    schema: Schema,
}

fn identity(v: &Value) -> Option<(String, String)> {
    Some((string(v, "project")?, string(v, "dataset_id")?))
}

fn manages_access(config: &Value) -> bool {
    config.get("access").and_then(Value::as_list).is_some_and(|l| !l.is_empty())
}

/// `projects/{p}/datasets/{d}`, `{p}/{d}` or `{d}`.
pub fn parse_import_id(id: &str, default_project: Option<&str>) -> Result<(String, String), ProviderError> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "datasets", d] if !p.is_empty() && !d.is_empty() => Ok((p.to_string(), d.to_string())),
        [p, d] if !p.is_empty() && !d.is_empty() && *p != "projects" => Ok((p.to_string(), d.to_string())),
        [d] if !d.is_empty() => match default_project {
            Some(p) => Ok((p.to_string(), d.to_string())),
            None => Err(ProviderError::new(format!(
                "import id \"{id}\" names no project and the provider has none; use projects/PROJECT/datasets/{id}"
            ))),
        },
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not projects/PROJECT/datasets/DATASET, PROJECT/DATASET or DATASET"
        ))),
    }
}

impl BigqueryDataset {
    pub fn new(shared: Arc<Shared>) -> Self {
        BigqueryDataset { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    pub fn to_state(&self, project: &str, d: &model::Dataset, prior: Option<&Value>) -> Value {
        let mut j = cc::model_json(d);
        name_enums(&mut j);
        let mut v = cc::from_wire(&self.schema, &j, renames());
        // The type's renames are by attribute name: the top-level `dataset_id` is flattened from
        // `datasetReference`, which must not apply to the `dataset_id` of an access entry's view,
        // routine or dataset (camelCase throughout the entry, so no renames at all).
        if let (Some(access), Some(entries)) =
            (self.schema.blocks.get("access"), j.get("access").and_then(|a| a.as_array()))
        {
            let live: Vec<Value> = entries.iter().map(|e| cc::from_wire(&access.block, e, &[])).collect();
            set(&mut v, "access", Value::set(keep_configured_roles(live, prior)));
        }
        let dataset_id = j.pointer("/datasetReference/datasetId").and_then(|x| x.as_str()).unwrap_or_default();
        set(&mut v, "dataset_id", Value::string(dataset_id));
        set(&mut v, "project", Value::string(project));
        set(&mut v, "id", Value::string(format!("projects/{project}/datasets/{dataset_id}")));
        let live: HashMap<String, String> = d.labels.clone();
        let prior_labels = prior.map(|p| p.get("labels").unwrap_or(&Value::Null));
        let labels = fields::managed_subset(&live, prior_labels);
        set(&mut v, "terraform_labels", Value::object(labels.as_map().cloned().unwrap_or_default()));
        set(&mut v, "labels", labels);
        set(&mut v, "effective_labels", fields::full_map(&live));
        // The provider's CaseDiffSuppress on location: keep the configured spelling.
        if let (Some(p), Some(l)) = (prior.and_then(|p| string(p, "location")), string(&v, "location")) {
            if p.eq_ignore_ascii_case(&l) {
                set(&mut v, "location", Value::string(p));
            }
        }
        conform_to_schema(&self.schema, v)
    }

    /// Read, rebuild from the plan, PUT with If-Match; again on 412.
    async fn put(
        &self,
        c: &Clients,
        project: &str,
        dataset: &str,
        planned: &Value,
        keep_live_access: bool,
        timeout: Duration,
    ) -> Result<model::Dataset, ProviderError> {
        read_modify_write(c, project, dataset, timeout, |live| {
            let live_json = cc::model_json(live);
            let live_access =
                keep_live_access.then(|| live_json.get("access").cloned().unwrap_or(serde_json::json!([])));
            request(&self.schema, planned, project, dataset, live_access.as_ref()).map(Some)
        })
        .await
    }
}

/// The SDK serializes its enums as their numbers (it asks for `enum-encoding=int`); state holds
/// the names, as the provider does. The orders are bigquery.v2.json's enum lists.
fn name_enums(j: &mut serde_json::Value) {
    const ROUNDING_MODES: &[&str] = &["ROUNDING_MODE_UNSPECIFIED", "ROUND_HALF_AWAY_FROM_ZERO", "ROUND_HALF_EVEN"];
    const BILLING_MODELS: &[&str] = &["STORAGE_BILLING_MODEL_UNSPECIFIED", "LOGICAL", "PHYSICAL"];
    const TARGET_TYPES: &[&str] = &["TARGET_TYPE_UNSPECIFIED", "VIEWS", "ROUTINES"];
    fn name(x: &mut serde_json::Value, names: &[&str]) {
        let n = match x {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        if let Some(name) = n.and_then(|n| usize::try_from(n).ok()).and_then(|n| names.get(n)) {
            *x = serde_json::Value::String((*name).to_string());
        }
    }
    if let Some(x) = j.get_mut("defaultRoundingMode") {
        name(x, ROUNDING_MODES);
    }
    if let Some(x) = j.get_mut("storageBillingModel") {
        name(x, BILLING_MODELS);
    }
    for entry in j.get_mut("access").and_then(|a| a.as_array_mut()).into_iter().flatten() {
        let types = entry.pointer_mut("/dataset/targetTypes").and_then(|t| t.as_array_mut());
        for t in types.into_iter().flatten() {
            name(t, TARGET_TYPES);
        }
    }
}

/// The API accepts `roles/bigquery.dataOwner|dataEditor|dataViewer` in an access entry and
/// always answers with the basic form (OWNER, WRITER, READER; magic-modules DatasetAccess.yaml):
/// an entry the prior state holds with the IAM spelling keeps it, so it reads as unchanged.
fn keep_configured_roles(live: Vec<Value>, prior: Option<&Value>) -> Vec<Value> {
    let prior_entries = prior.and_then(|p| p.get("access")).and_then(Value::as_list).unwrap_or(&[]);
    live.into_iter()
        .map(|entry| {
            let Some(basic) = string(&entry, "role") else { return entry };
            let iam = super::bigquery_dataset_iam_member::iam_role(&basic);
            if iam == basic {
                return entry;
            }
            let mut spelled = entry.clone();
            set(&mut spelled, "role", Value::string(iam));
            if prior_entries.contains(&spelled) {
                spelled
            } else {
                entry
            }
        })
        .collect()
}

/// `datasets.get`.
pub async fn get_dataset(
    c: &Clients,
    project: &str,
    dataset: &str,
    timeout: Duration,
) -> Result<model::Dataset, ProviderError> {
    c.bigquery_calls
        .idempotent(GET, timeout, || {
            c.bigquery_datasets.get_dataset().set_project_id(project).set_dataset_id(dataset).send()
        })
        .await
}

/// The one way Cairn writes a dataset after creating it: read it, let `edit` build the whole
/// dataset to send from what was read (None: nothing to change, the read is the answer), and
/// `datasets.update` (PUT) it with `If-Match: <etag read>`. A 412 means another writer (an
/// iam_member of the same dataset, another apply) got in between: read again and redo the
/// edit on the fresh dataset, after a backoff pause, so that both writes survive.
pub async fn read_modify_write(
    c: &Clients,
    project: &str,
    dataset: &str,
    timeout: Duration,
    mut edit: impl FnMut(&model::Dataset) -> Result<Option<model::Dataset>, ProviderError>,
) -> Result<model::Dataset, ProviderError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempt = 0;
    loop {
        let live = get_dataset(c, project, dataset, timeout).await?;
        let Some(body) = edit(&live)? else { return Ok(live) };
        let etag = live.etag.clone();
        let sent = c
            .bigquery_calls
            .idempotent(UPDATE, timeout, || {
                let mut call = c
                    .bigquery_datasets
                    .update_dataset()
                    .set_project_id(project)
                    .set_dataset_id(dataset)
                    .set_dataset(body.clone());
                if let Ok(tag) = axum::http::HeaderValue::from_str(&etag) {
                    call = call.with_custom_header(axum::http::header::IF_MATCH, tag);
                }
                call.send()
            })
            .await;
        match sent {
            Err(e)
                if is_stale(&e) && attempt + 1 < ETAG_ATTEMPTS && c.bigquery_calls.pause(attempt, deadline).await =>
            {
                attempt += 1
            }
            other => return other,
        }
    }
}

/// A write refused because the dataset changed since it was read (If-Match, HTTP 412).
pub fn is_stale(e: &ProviderError) -> bool {
    e.message.contains("(HTTP 412")
}

#[async_trait]
impl ResourceType for BigqueryDataset {
    // Terraform's default for the dataset: 20 minutes.
    name_schema_timeouts!(TYPE, 20);

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        // Optional+Computed in the provider: without access blocks, the live list (the API's
        // default, or what iam_member resources granted) is not this configuration's business.
        keep_computed_blocks(p, &["access"]);
        self.shared.fill_project(&mut p.planned);
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let (Some(project), Some(d)) = (string(&p.planned, "project"), string(&p.planned, "dataset_id")) {
                set(&mut p.planned, "id", Value::string(format!("projects/{project}/datasets/{d}")));
            }
        }
        cc::plan_labels(p);
        if let Some(m) = p.planned.map_mut() {
            // plan_labels' fingerprint is compute's; datasets change their etag on any write.
            m.remove("label_fingerprint");
        }
        if let Some(prior) = &p.prior {
            // Terraform-only arguments (delete_contents_on_destroy, deletion_policy) change no
            // dataset, so no new etag.
            let changed = crate::schema::diff::changed_paths(prior, &p.planned);
            if changed.iter().any(|c| !matches!(c.top(), Some("delete_contents_on_destroy" | "deletion_policy"))) {
                for k in ["etag", "last_modified_time"] {
                    set(&mut p.planned, k, Value::unknown());
                }
            }
        }
        Ok(Vec::new())
    }

    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.clients(ctx).await?;
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let Some((project, dataset)) = identity(&r.prior) else {
                out.push(None);
                continue;
            };
            let live = none_if_gone(get_dataset(&c, &project, &dataset, ctx.timeout).await)?;
            out.push(live.map(|d| self.to_state(&project, &d, Some(&r.prior))));
        }
        Ok(out)
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let dataset = fields::required_string(planned, "dataset_id", TYPE)?;
        let body = request(&self.schema, planned, &project, &dataset, None)?;
        let created = c
            .bigquery_calls
            .idempotent(INSERT, ctx.timeout, || {
                c.bigquery_datasets.insert_dataset().set_project_id(&project).set_dataset(body.clone()).send()
            })
            .await?;
        Ok(self.to_state(&project, &created, Some(planned)))
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        _changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, dataset) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/dataset_id"))?;
        let d = self.put(&c, &project, &dataset, planned, !manages_access(config), ctx.timeout).await?;
        Ok(self.to_state(&project, &d, Some(planned)))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, dataset) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/dataset_id"))?;
        let contents = fields::boolean(prior, "delete_contents_on_destroy", false);
        let c = self.clients(ctx).await?;
        let deleted = c
            .bigquery_calls
            .idempotent(DELETE, ctx.timeout, || {
                c.bigquery_datasets
                    .delete_dataset()
                    .set_project_id(&project)
                    .set_dataset_id(&dataset)
                    .set_delete_contents(contents)
                    .send()
            })
            .await;
        gone_is_deleted(deleted)
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, dataset) = parse_import_id(id, c.config.project.as_deref())?;
        let d = get_dataset(&c, &project, &dataset, ctx.timeout).await?;
        Ok(self.to_state(&project, &d, None))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        project_child_name(&self.shared, planned, "datasets", "dataset_id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"google_bigquery_dataset\" \"d\" {{\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    #[test]
    fn plan_time_rules() {
        assert_eq!(diags("  dataset_id = \"infrastructure_monitoring\"\n"), Vec::<String>::new());
        let one = |body: &str, line: &str| {
            let d = diags(body);
            assert!(d.len() == 1 && d[0].starts_with(line), "{body}: {d:?}");
        };
        one("  dataset_id = \"has-dash\"\n", "main.tf:2:");
        one("  dataset_id = \"d\"\n  default_table_expiration_ms = 1000\n", "main.tf:3:");
        one("  dataset_id = \"d\"\n  labels = { Env = \"x\" }\n", "main.tf:3:");
        one("  dataset_id = \"d\"\n  access {\n    role = \"READER\"\n  }\n", "main.tf:3:");
        one("  dataset_id = \"d\"\n  access {\n    role = \"READER\"\n    domain = \"x.com\"\n    special_group = \"projectReaders\"\n  }\n", "main.tf:3:");
        assert_eq!(
            diags("  dataset_id = \"d\"\n  default_table_expiration_ms = 3600000\n  access {\n    role = \"OWNER\"\n    special_group = \"projectOwners\"\n  }\n"),
            Vec::<String>::new()
        );
    }

    /// tests/it/corpus/google_bigquery_dataset/ sets every argument and block, and validates.
    #[test]
    fn the_corpus_covers_every_argument() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn import_ids() {
        assert_eq!(parse_import_id("projects/p/datasets/d", None).unwrap(), ("p".into(), "d".into()));
        assert_eq!(parse_import_id("p/d", None).unwrap(), ("p".into(), "d".into()));
        assert_eq!(parse_import_id("d", Some("q")).unwrap(), ("q".into(), "d".into()));
        assert!(parse_import_id("d", None).is_err());
        assert!(parse_import_id("a/b/c", None).is_err());
    }
}
