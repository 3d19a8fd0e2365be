//! `google_logging_project_sink`: routes a project's log entries to BigQuery, Cloud Storage,
//! Pub/Sub or a log bucket.
//!
//! The Logging API is synchronous. As in Terraform, create adopts a sink that already exists
//! under the same name (it is updated to match the configuration), which also makes a create
//! whose answer was lost safe to resend. Updates send an explicit `updateMask`: the API treats
//! an empty mask as `destination,filter,includeChildren` only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_logging_v2::model;
use google_cloud_wkt::FieldMask;

use super::compute_backend_service::keep_computed_blocks;
use super::compute_common::{self as cc, Renames};
use super::fields::{self, blocks, conform_to_schema, first_block, set, string};
use super::resource_common::{
    gone_is_deleted, list_by_last_segment, name_schema_timeouts, no_identity, project_child_name, read_grouped,
};
use super::{Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, BlockType, Nesting, Rule, Schema, Validator};

const TYPE: &str = "google_logging_project_sink";
const LIST: &str = "logging.projects.sinks.list";
const GET: &str = "logging.projects.sinks.get";
const CREATE: &str = "logging.projects.sinks.create";
const UPDATE: &str = "logging.projects.sinks.update";
const DELETE: &str = "logging.projects.sinks.delete";

const RENAMES: Renames = &[
    ("id", ""),
    ("project", ""),
    ("unique_writer_identity", ""),
    ("custom_writer_identity", ""),
    ("deletion_policy", ""),
    ("exclusions[]", "exclusions"),
];

pub struct LoggingProjectSink {
    shared: Arc<Shared>,
    schema: Schema,
}

/// The destination forms the API accepts.
pub fn destination_problem(d: &str) -> Option<String> {
    let parts: Vec<&str> = d.split('/').collect();
    let ok = match parts.as_slice() {
        ["storage.googleapis.com", bucket] => !bucket.is_empty(),
        ["bigquery.googleapis.com", "projects", p, "datasets", ds] => !p.is_empty() && !ds.is_empty(),
        ["pubsub.googleapis.com", "projects", p, "topics", t] => !p.is_empty() && !t.is_empty(),
        ["logging.googleapis.com", "projects", p, "locations", l, "buckets", b] => {
            !p.is_empty() && !l.is_empty() && !b.is_empty()
        }
        ["logging.googleapis.com", "projects", p] => !p.is_empty(),
        _ => false,
    };
    (!ok).then(|| {
        format!(
            "is \"{d}\"; a sink destination is one of storage.googleapis.com/BUCKET, bigquery.googleapis.com/projects/PROJECT/datasets/DATASET, \
             pubsub.googleapis.com/projects/PROJECT/topics/TOPIC or logging.googleapis.com/projects/PROJECT/locations/LOCATION/buckets/BUCKET"
        )
    })
}

fn check_destination(v: &Value) -> Result<(), String> {
    match v.as_str().and_then(destination_problem) {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

pub fn schema() -> Schema {
    let exclusion = Schema::new()
        .attr(
            "name",
            Attribute::required(AttrType::String).validate(Validator::Pattern {
                regex: r"^[A-Za-z0-9_.-]{1,100}$",
                description: "1 to 100 letters, digits, _, - or .",
            }),
        )
        .attr("description", Attribute::optional(AttrType::String))
        .attr(
            "filter",
            Attribute::required(AttrType::String).describe("Log entries matching this filter are not exported."),
        )
        .attr("disabled", Attribute::optional(AttrType::Bool).default(false));
    Schema::new()
        .attr(
            "name",
            Attribute::required(AttrType::String).force_new().validate(Validator::Pattern {
                regex: r"^[A-Za-z0-9_.-]{1,100}$",
                description: "1 to 100 letters, digits, _, - or . (e.g. \"vpc-connector-monitoring\")",
            }),
        )
        .attr(
            "destination",
            Attribute::required(AttrType::String).validate(Validator::Custom(Arc::new(check_destination))),
        )
        .attr("filter", Attribute::optional(AttrType::String).describe("Which log entries to export; all when unset."))
        .attr("description", Attribute::optional(AttrType::String))
        .attr("disabled", Attribute::optional(AttrType::Bool).default(false))
        .attr(
            "unique_writer_identity",
            Attribute::optional(AttrType::Bool)
                .default(true)
                .describe("Write as the project's own logging service agent rather than the shared legacy identity."),
        )
        .attr(
            "custom_writer_identity",
            Attribute::optional(AttrType::String)
                .describe("serviceAccount:EMAIL, for a destination outside the sink's project."),
        )
        .attr(
            "deletion_policy",
            super::resource_common::deletion_policy_attribute(
                "PREVENT: refuse to delete; ABANDON: forget the sink without deleting it.",
            ),
        )
        .attr("project", Attribute::optional_computed(AttrType::String).force_new())
        .attr(
            "writer_identity",
            Attribute::computed(AttrType::String)
                .describe("The identity that writes to the destination: grant it access there."),
        )
        .attr("id", Attribute::computed(AttrType::String).describe("projects/{project}/sinks/{name}"))
        .block(
            "exclusions",
            BlockType { nesting: Nesting::List, min_items: 0, max_items: 0, force_new: false, block: exclusion },
        )
        .block(
            "bigquery_options",
            BlockType {
                nesting: Nesting::Single,
                min_items: 0,
                max_items: 1,
                force_new: false,
                block: Schema::new().attr(
                    "use_partitioned_tables",
                    Attribute::required(AttrType::Bool)
                        .describe("Write to date-partitioned tables instead of date-suffixed ones."),
                ),
            },
        )
        .rule(Rule::Custom(Arc::new(check_sink)))
}

/// bigquery_options only with a BigQuery destination; exclusion names unique;
/// custom_writer_identity refused (see below).
pub fn check_sink(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    // The API takes it as the customWriterIdentity query parameter of sinks.create/update,
    // which the official client Cairn calls through does not expose: sending the sink without
    // it would silently write as another identity.
    if config.get("custom_writer_identity").is_some_and(|v| !v.is_null()) {
        out.push((
            AttrPath::attr("custom_writer_identity"),
            "custom_writer_identity is not supported by Cairn yet: the Logging client it uses cannot send the customWriterIdentity parameter, so the sink would write as another identity. Remove it (the sink then writes as its writer_identity; grant that access to the destination)".to_string(),
        ));
    }
    if let (Some(_), Some(d)) =
        (first_block(config, "bigquery_options"), config.get("destination").and_then(Value::as_str))
    {
        if !d.starts_with("bigquery.googleapis.com/") {
            out.push((
                AttrPath::attr("bigquery_options"),
                format!("bigquery_options applies only to a BigQuery destination, but destination is \"{d}\": remove bigquery_options or export to bigquery.googleapis.com/projects/PROJECT/datasets/DATASET"),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, e) in blocks(config, "exclusions").iter().enumerate() {
        if let Some(n) = e.get("name").and_then(Value::as_str) {
            if !seen.insert(n.to_string()) {
                out.push((
                    AttrPath::attr("exclusions").join_index(i as i64).join_attr("name"),
                    format!("exclusions.name \"{n}\" is used twice; each exclusion of a sink needs its own name"),
                ));
            }
        }
    }
    out
}

pub fn request(planned: &Value, name: &str) -> Result<model::LogSink, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, RENAMES);
    if let Some(o) = j.as_object_mut() {
        o.insert("name".into(), name.into());
    }
    cc::json_model(j, TYPE)
}

/// The update mask: every field Cairn manages, so that clearing one is sent too.
fn update_mask(planned: &Value) -> FieldMask {
    let mut paths = vec!["destination", "filter", "description", "disabled", "exclusions"];
    if first_block(planned, "bigquery_options").is_some() {
        paths.push("bigquery_options");
    }
    FieldMask::default().set_paths(paths)
}

fn is_already_exists(e: &ProviderError) -> bool {
    e.message.contains("ALREADY_EXISTS") || e.message.contains("already exists") || e.message.contains("(HTTP 409)")
}

impl LoggingProjectSink {
    pub fn new(shared: Arc<Shared>) -> Self {
        LoggingProjectSink { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    pub fn to_state(&self, project: &str, s: &model::LogSink, prior: Option<&Value>) -> Value {
        let j = cc::model_json(s);
        let mut v = cc::from_wire(&self.schema, &j, RENAMES);
        let name = cc::jstr(&j, "name");
        let name = fields::last_segment(name).to_string();
        set(&mut v, "name", Value::string(name.clone()));
        set(&mut v, "project", Value::string(project));
        set(&mut v, "id", Value::string(format!("projects/{project}/sinks/{name}")));
        // Not returned by the API: the choice made at create/update time.
        let unique = prior.and_then(|p| p.get("unique_writer_identity")).and_then(Value::as_bool).unwrap_or(true);
        set(&mut v, "unique_writer_identity", Value::Bool(unique));
        // Terraform-only: what the configuration said.
        set(
            &mut v,
            "custom_writer_identity",
            prior.and_then(|p| p.get("custom_writer_identity")).cloned().unwrap_or(Value::Null),
        );
        conform_to_schema(&self.schema, v)
    }

    async fn list_project(
        &self,
        c: &Clients,
        project: &str,
        timeout: Duration,
    ) -> Result<Option<BTreeMap<String, model::LogSink>>, ProviderError> {
        list_by_last_segment!(
            c.logging_calls,
            LIST,
            timeout,
            c.logging.list_sinks().set_parent(format!("projects/{project}")),
            200,
            sinks
        )
        .await
    }

    async fn get(
        &self,
        c: &Clients,
        project: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<model::LogSink, ProviderError> {
        c.logging_calls
            .idempotent(GET, timeout, || {
                c.logging.get_sink().set_sink_name(format!("projects/{project}/sinks/{name}")).send()
            })
            .await
    }

    async fn put(
        &self,
        c: &Clients,
        project: &str,
        name: &str,
        planned: &Value,
        timeout: Duration,
    ) -> Result<model::LogSink, ProviderError> {
        let body = request(planned, name)?;
        let mask = update_mask(planned);
        let unique = fields::boolean(planned, "unique_writer_identity", true);
        c.logging_calls
            .idempotent(UPDATE, timeout, || {
                c.logging
                    .update_sink()
                    .set_sink_name(format!("projects/{project}/sinks/{name}"))
                    .set_sink(body.clone())
                    .set_update_mask(mask.clone())
                    .set_unique_writer_identity(unique)
                    .send()
            })
            .await
    }
}

fn identity(v: &Value) -> Option<(String, String)> {
    let name = string(v, "name")?;
    let project =
        string(v, "project").or_else(|| string(v, "id").and_then(|id| id.split('/').nth(1).map(str::to_string)))?;
    Some((project, name))
}

/// `projects/{p}/sinks/{name}`, `{p}/{name}` or `{name}`.
pub fn parse_import_id(id: &str, default_project: Option<&str>) -> Result<(String, String), ProviderError> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "sinks", n] if !p.is_empty() && !n.is_empty() => Ok((p.to_string(), n.to_string())),
        [p, n] if !p.is_empty() && !n.is_empty() && *p != "projects" => Ok((p.to_string(), n.to_string())),
        [n] if !n.is_empty() => match default_project {
            Some(p) => Ok((p.to_string(), n.to_string())),
            None => Err(ProviderError::new(format!(
                "import id \"{id}\" names no project and the provider has none; use projects/PROJECT/sinks/{id}"
            ))),
        },
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not projects/PROJECT/sinks/NAME, PROJECT/NAME or NAME"
        ))),
    }
}

#[async_trait]
impl ResourceType for LoggingProjectSink {
    // Synchronous calls: the timeout bounds retries only.
    name_schema_timeouts!(TYPE, 5);

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        keep_computed_blocks(p, &["bigquery_options"]);
        self.shared.fill_project(&mut p.planned);
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let (Some(project), Some(name)) = (string(&p.planned, "project"), string(&p.planned, "name")) {
                set(&mut p.planned, "id", Value::string(format!("projects/{project}/sinks/{name}")));
            }
        }
        // Switching identities gives the sink a different writer (Terraform's CustomizeDiff).
        if let Some(prior) = &p.prior {
            if prior.get("unique_writer_identity") != p.planned.get("unique_writer_identity")
                && p.requires_replace.is_empty()
            {
                set(&mut p.planned, "writer_identity", Value::unknown());
            }
        }
        Ok(Vec::new())
    }

    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.clients(ctx).await?;
        let c = &c;
        read_grouped(
            reqs,
            identity,
            |project| async move { self.list_project(c, &project, ctx.timeout).await },
            |project, live, name, prior| live.get(name).map(|s| self.to_state(project, s, Some(prior))),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let name = fields::required_string(planned, "name", TYPE)?;
        let body = request(planned, &name)?;
        let unique = fields::boolean(planned, "unique_writer_identity", true);
        // A resend after a lost answer meets 409 and adopts its own sink, like a pre-existing one.
        let created = c
            .logging_calls
            .idempotent(CREATE, ctx.timeout, || {
                c.logging
                    .create_sink()
                    .set_parent(format!("projects/{project}"))
                    .set_sink(body.clone())
                    .set_unique_writer_identity(unique)
                    .send()
            })
            .await;
        let sink = match created {
            Ok(s) => s,
            Err(e) if is_already_exists(&e) => {
                (ctx.progress)(&format!("sink {name} already exists in project {project}: adopting it and updating it to match the configuration"));
                self.put(&c, &project, &name, planned, ctx.timeout).await?
            }
            Err(e) => return Err(e),
        };
        let mut state = self.to_state(&project, &sink, Some(planned));
        set(&mut state, "unique_writer_identity", Value::Bool(unique));
        Ok(state)
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        _changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/name"))?;
        let sink = self.put(&c, &project, &name, planned, ctx.timeout).await?;
        Ok(self.to_state(&project, &sink, Some(planned)))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/name"))?;
        let c = self.clients(ctx).await?;
        let deleted = c
            .logging_calls
            .idempotent(DELETE, ctx.timeout, || {
                c.logging.delete_sink().set_sink_name(format!("projects/{project}/sinks/{name}")).send()
            })
            .await;
        gone_is_deleted(deleted)
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, name) = parse_import_id(id, c.config.project.as_deref())?;
        let sink = self.get(&c, &project, &name, ctx.timeout).await?;
        Ok(self.to_state(&project, &sink, None))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        project_child_name(&self.shared, planned, "sinks", "name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    fn sink(dest: &str, extra: &str) -> String {
        format!("resource \"google_logging_project_sink\" \"s\" {{\n  name = \"vpc-connector-monitoring\"\n  destination = \"{dest}\"\n{extra}}}\n")
    }

    #[test]
    fn destinations_options_and_exclusions_are_checked() {
        let bq = "bigquery.googleapis.com/projects/netra-staging/datasets/infrastructure_monitoring";
        assert_eq!(diags(&sink(bq, "  filter = \"resource.type=vpc_access_connector\"\n  bigquery_options {\n    use_partitioned_tables = true\n  }\n")), Vec::<String>::new());
        for ok in [
            "storage.googleapis.com/my-bucket",
            "pubsub.googleapis.com/projects/p/topics/t",
            "logging.googleapis.com/projects/p/locations/global/buckets/b",
        ] {
            assert_eq!(diags(&sink(ok, "")), Vec::<String>::new(), "{ok}");
        }
        let bad = diags(&sink("bigquery.googleapis.com/infrastructure_monitoring", ""));
        assert!(
            bad.len() == 1 && bad[0].starts_with("main.tf:3:") && bad[0].contains("a sink destination is one of"),
            "{bad:?}"
        );
        let opts =
            diags(&sink("storage.googleapis.com/b", "  bigquery_options {\n    use_partitioned_tables = true\n  }\n"));
        assert!(opts.len() == 1 && opts[0].contains("only to a BigQuery destination"), "{opts:?}");
        let dup = diags(&sink(bq, "  exclusions {\n    name = \"x\"\n    filter = \"a\"\n  }\n  exclusions {\n    name = \"x\"\n    filter = \"b\"\n  }\n"));
        assert!(dup.len() == 1 && dup[0].starts_with("main.tf:9:") && dup[0].contains("used twice"), "{dup:?}");
        let bad_name = diags("resource \"google_logging_project_sink\" \"s\" {\n  name = \"has space\"\n  destination = \"storage.googleapis.com/b\"\n}\n");
        assert_eq!(bad_name.len(), 1, "{bad_name:?}");
    }

    #[test]
    fn state_round_trips_and_the_mask_names_every_field() {
        let t = LoggingProjectSink::new(Arc::new(Shared::new(Default::default())));
        let config = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("cloud-sql-monitoring")),
                (
                    "destination",
                    Value::from("bigquery.googleapis.com/projects/netra-staging/datasets/infrastructure_monitoring"),
                ),
                ("filter", Value::from("resource.type=cloud_sql_database")),
                ("disabled", Value::Bool(false)),
                ("unique_writer_identity", Value::Bool(true)),
            ]),
        );
        let body = cc::model_json(&request(&config, "cloud-sql-monitoring").unwrap());
        assert_eq!(body["name"], "cloud-sql-monitoring");
        assert_eq!(body["filter"], "resource.type=cloud_sql_database");
        assert!(body.get("uniqueWriterIdentity").is_none(), "a query parameter, not a field");
        let mut answer = body.clone();
        answer["writerIdentity"] = "serviceAccount:service-123@gcp-sa-logging.iam.gserviceaccount.com".into();
        answer["createTime"] = "2026-01-01T00:00:00Z".into();
        let api: model::LogSink = serde_json::from_value(answer).unwrap();
        let v = t.schema().keep_client_only(&config, t.to_state("netra-staging", &api, Some(&config)));
        assert_eq!(v.get("id"), Some(&Value::from("projects/netra-staging/sinks/cloud-sql-monitoring")));
        assert_eq!(
            v.get("writer_identity"),
            Some(&Value::from("serviceAccount:service-123@gcp-sa-logging.iam.gserviceaccount.com"))
        );
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config, false);
        t.customize_plan(&mut prop).unwrap();
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?}");
        assert_eq!(update_mask(&config).paths, vec!["destination", "filter", "description", "disabled", "exclusions"]);
        assert_eq!(parse_import_id("projects/p/sinks/s", None).unwrap(), ("p".into(), "s".into()));
        assert_eq!(parse_import_id("s", Some("d")).unwrap(), ("d".into(), "s".into()));
    }

    /// Terraform's acquire-or-create: a sink of the same name is adopted and updated.
    #[tokio::test]
    async fn create_adopts_an_existing_sink() {
        use std::sync::Mutex;
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s2 = seen.clone();
        let endpoint = crate::providers::google::test_server::start(Arc::new(move |method: &str, path: &str, query: &str, body: &[u8]| {
            s2.lock().unwrap().push(format!("{method} {path} {query}"));
            match (method, path) {
                ("POST", "/v2/projects/p/sinks") => (409, serde_json::json!({"error": {"code": 409, "message": "Sink vpc-connector-monitoring already exists", "status": "ALREADY_EXISTS"}})),
                ("PUT", "/v2/projects/p/sinks/vpc-connector-monitoring") => {
                    let mut b: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    b["writerIdentity"] = "serviceAccount:service-1@gcp-sa-logging.iam.gserviceaccount.com".into();
                    (200, b)
                }
                _ => (404, serde_json::json!({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})),
            }
        }))
        .await;
        let (shared, ctx) = crate::providers::google::test_server::shared(&endpoint).await;
        let t = LoggingProjectSink::new(shared);
        let config = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("vpc-connector-monitoring")),
                ("destination", Value::from("bigquery.googleapis.com/projects/p/datasets/infrastructure_monitoring")),
                ("filter", Value::from("resource.type=vpc_access_connector")),
            ]),
        );
        let mut prop = crate::schema::propose::propose(t.schema(), None, &config, false);
        t.customize_plan(&mut prop).unwrap();
        let state = t.create(&ctx, &prop.planned, &prop.config).await.unwrap();
        assert_eq!(state.get("filter"), Some(&Value::from("resource.type=vpc_access_connector")));
        assert_eq!(
            state.get("writer_identity"),
            Some(&Value::from("serviceAccount:service-1@gcp-sa-logging.iam.gserviceaccount.com"))
        );
        let calls = seen.lock().unwrap().clone();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert!(
            calls[1].starts_with("PUT /v2/projects/p/sinks/vpc-connector-monitoring")
                && calls[1].contains("updateMask=destination%2Cfilter")
                && calls[1].contains("uniqueWriterIdentity=true"),
            "{calls:?}"
        );
    }

    /// Every documented argument and block; custom_writer_identity validates its shape but is
    /// refused with the reason.
    #[test]
    fn every_documented_argument_and_block_validates() {
        let bq = "bigquery.googleapis.com/projects/p/datasets/d";
        let full = sink(
            bq,
            "  project = \"p\"\n  filter = \"severity>=ERROR\"\n  description = \"errors\"\n  disabled = false\n  unique_writer_identity = true\n  deletion_policy = \"PREVENT\"\n  bigquery_options {\n    use_partitioned_tables = true\n  }\n  exclusions {\n    name = \"no-debug\"\n    description = \"drop debug\"\n    filter = \"severity=DEBUG\"\n    disabled = false\n  }\n",
        );
        assert_eq!(diags(&full), Vec::<String>::new());
        let custom = full.replace(
            "  project = \"p\"\n",
            "  project = \"p\"\n  custom_writer_identity = \"serviceAccount:w@other.iam.gserviceaccount.com\"\n",
        );
        let d = diags(&custom);
        assert!(d.len() == 1 && d[0].contains("custom_writer_identity is not supported by Cairn yet"), "{d:?}");
    }
}
