//! `google_sql_database`: a database inside a Cloud SQL instance.
//!
//! `name`, `instance` and `project` replace; `charset` and `collation` are updated in place
//! (`databases.update`, a full PUT, as the provider's definition has it). Mutations are Cloud
//! SQL operations and share the instance's one-at-a-time lock, so they go through the instance
//! type's call and wait helpers (409 "operation in progress" is waited out).
//!
//! The definition's `read_error_transform` (a database of a gone instance reads as gone) is
//! the listing's `none_if_gone`. Its `pre_read` (a stopped instance's databases are not read)
//! has no counterpart yet: a refresh of a stopped instance's databases fails with the API's
//! message.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_sql_v1::model;
use tokio::time::Instant;

use super::fields::{self, conform_to_schema, set, string};
use super::resource_common::{name_schema_timeouts, no_identity, none_if_gone, read_grouped, time_left};
use super::sql_database_instance::{sql_call, sql_delete, sql_insert, sql_read, wait_operation};
use super::{mmv1, Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::Schema;

const TYPE: &str = "google_sql_database";
const LIST: &str = "sql.databases.list";
const INSERT: &str = "sql.databases.insert";
const GET: &str = "sql.databases.get";
const DELETE: &str = "sql.databases.delete";
const UPDATE: &str = "sql.databases.update";

pub struct SqlDatabase {
    shared: Arc<Shared>,
    schema: Schema,
}

/// The generated schema (charset compared case-insensitively: the definition's
/// `CaseDiffSuppress`), with Cairn's descriptions.
pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("instance", |a| a.describe("The instance's name (not its connection name)."))
        .modify("charset", |a| a.describe("Postgres: UTF8 only; MySQL: e.g. utf8mb4."))
        .modify("deletion_policy", |a| {
            a.describe(
                "ABANDON leaves the database when the resource is destroyed (Postgres refuses to drop one with connections or owned objects); PREVENT refuses to destroy it.",
            )
        })
        .modify("id", |a| a.describe("projects/{project}/instances/{instance}/databases/{name}"))
}

fn full_id(p: &str, i: &str, n: &str) -> String {
    format!("projects/{p}/instances/{i}/databases/{n}")
}

/// `projects/{p}/instances/{i}/databases/{n}`, `{p}/{i}/{n}`, `instances/{i}/databases/{n}` or
/// `{i}/{n}` (the definition's import formats).
pub fn parse_import_id(id: &str, default_project: Option<&str>) -> Result<(String, String, String), ProviderError> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let ok = |s: &&str| !s.is_empty();
    match parts.as_slice() {
        ["projects", p, "instances", i, "databases", n] | [p, i, n] if ok(p) && ok(i) && ok(n) => Ok((p.to_string(), i.to_string(), n.to_string())),
        ["instances", i, "databases", n] | [i, n] if ok(i) && ok(n) => match default_project {
            Some(p) => Ok((p.to_string(), i.to_string(), n.to_string())),
            None => Err(ProviderError::new(format!("import id \"{id}\" names no project and the provider has none; use projects/PROJECT/instances/{i}/databases/{n}"))),
        },
        _ => Err(ProviderError::new(format!("import id \"{id}\" is not projects/PROJECT/instances/INSTANCE/databases/NAME, PROJECT/INSTANCE/NAME, instances/INSTANCE/databases/NAME or INSTANCE/NAME"))),
    }
}

/// The request body: the database's identity and the configured charset and collation (the
/// API picks the engine's defaults for those left unset).
fn database_request(planned: &Value, project: &str, instance: &str, name: &str) -> model::Database {
    let known = |attr: &str| {
        planned
            .get(attr)
            .filter(|v| !v.is_unknown())
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut body = model::Database::new().set_name(name).set_instance(instance).set_project(project);
    if let Some(cs) = known("charset") {
        body = body.set_charset(cs);
    }
    if let Some(co) = known("collation") {
        body = body.set_collation(co);
    }
    body
}

fn identity(v: &Value) -> Option<(String, String, String)> {
    Some((string(v, "project")?, string(v, "instance")?, string(v, "name")?))
}

impl SqlDatabase {
    pub fn new(shared: Arc<Shared>) -> Self {
        SqlDatabase { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    fn to_state(&self, project: &str, instance: &str, d: &model::Database) -> Value {
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        m.insert("name".into(), Value::string(d.name.clone()));
        m.insert("instance".into(), Value::string(instance));
        m.insert("project".into(), Value::string(project));
        m.insert("charset".into(), Value::string(d.charset.clone()));
        m.insert("collation".into(), Value::string(d.collation.clone()));
        m.insert("id".into(), Value::string(full_id(project, instance, &d.name)));
        let link = if d.self_link.is_empty() {
            format!("https://sqladmin.googleapis.com/v1/{}", full_id(project, instance, &d.name))
        } else {
            d.self_link.clone()
        };
        m.insert("self_link".into(), Value::string(link));
        conform_to_schema(&self.schema, Value::object(m))
    }

    async fn list(
        &self,
        c: &Clients,
        project: &str,
        instance: &str,
        timeout: Duration,
    ) -> Result<Option<HashMap<String, model::Database>>, ProviderError> {
        let listed = sql_read(&c.sql_calls, LIST, timeout, || {
            c.sql_databases.list().set_project(project).set_instance(instance).send()
        })
        .await;
        Ok(none_if_gone(listed)?.map(|r| r.items.into_iter().map(|d| (d.name.clone(), d)).collect()))
    }

    async fn get(
        &self,
        c: &Clients,
        project: &str,
        instance: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<model::Database, ProviderError> {
        sql_read(&c.sql_calls, GET, timeout, || {
            c.sql_databases.get().set_project(project).set_instance(instance).set_database(name).send()
        })
        .await
    }
}

#[async_trait]
impl ResourceType for SqlDatabase {
    name_schema_timeouts!(TYPE, 20);

    /// Estimate: an SQL Admin operation on a running instance (a CREATE DATABASE), seconds to
    /// tens of seconds; the API runs one operation per instance at a time.
    fn expected_durations(&self) -> crate::providers::ExpectedDurations {
        crate::providers::ExpectedDurations::secs(15, 15, 15)
    }

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        self.shared.fill_project(&mut p.planned);
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let (Some(pr), Some(i), Some(n)) =
                (string(&p.planned, "project"), string(&p.planned, "instance"), string(&p.planned, "name"))
            {
                set(&mut p.planned, "id", Value::string(full_id(&pr, &i, &n)));
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
            |v| identity(v).map(|(p, i, n)| ((p, i), n)),
            |(project, instance)| async move { self.list(c, &project, &instance, ctx.timeout).await },
            |(project, instance), live, name, _prior| live.get(name).map(|d| self.to_state(project, instance, d)),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let instance = fields::required_string(planned, "instance", TYPE)?;
        let name = fields::required_string(planned, "name", TYPE)?;
        let body = database_request(planned, &project, &instance, &name);
        let deadline = Instant::now() + ctx.timeout;
        let what = format!("creating database {name} in instance {instance}");
        let (c, project, instance, name) = (&c, project.as_str(), instance.as_str(), name.as_str());
        sql_insert(
            c,
            ctx,
            project,
            INSERT,
            &what,
            deadline,
            || c.sql_databases.insert().set_project(project).set_instance(instance).set_body(body.clone()).send(),
            |remaining| async move { self.get(c, project, instance, name, remaining).await.is_ok() },
        )
        .await?;
        let remaining = time_left(deadline);
        let live = self.get(c, project, instance, name, remaining).await?;
        Ok(self.to_state(project, instance, &live))
    }

    /// `charset` and `collation` are sent in full (`databases.update`); `deletion_policy` is
    /// client-only and kept by the core.
    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        if !changed.iter().any(|p| matches!(p.top(), Some("charset" | "collation"))) {
            return Ok(prior.clone());
        }
        let (project, instance, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/instance/name"))?;
        let c = self.clients(ctx).await?;
        let body = database_request(planned, &project, &instance, &name);
        let deadline = Instant::now() + ctx.timeout;
        let (c, project, instance, name) = (&c, project.as_str(), instance.as_str(), name.as_str());
        let mut ambiguous = false;
        // A full PUT of the same body is idempotent: an ambiguous failure is retried.
        let op = sql_call(&c.sql_calls, UPDATE, ctx.timeout, deadline, true, &mut ambiguous, || {
            c.sql_databases
                .update()
                .set_project(project)
                .set_instance(instance)
                .set_database(name)
                .set_body(body.clone())
                .send()
        })
        .await
        .map_err(|e| e.into_error(UPDATE))?;
        let what = format!("updating database {name} in instance {instance}");
        wait_operation(c, ctx, project, op, UPDATE, &what, None, deadline).await?;
        let live = self.get(c, project, instance, name, time_left(deadline)).await?;
        Ok(self.to_state(project, instance, &live))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, instance, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/instance/name"))?;
        let c = self.clients(ctx).await?;
        let what = format!("deleting database {name} in instance {instance}");
        sql_delete(&c, ctx, &project, DELETE, &what, || {
            c.sql_databases.delete().set_project(&project).set_instance(&instance).set_database(&name).send()
        })
        .await
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, instance, name) = parse_import_id(id, c.config.project.as_deref())?;
        let live = self.get(&c, &project, &instance, &name, ctx.timeout).await?;
        Ok(self.to_state(&project, &instance, &live))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        let project = self.shared.planned_project(planned)?;
        Some(full_id(&project, &string(planned, "instance")?, &string(planned, "name")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::{check_values, test_hcl};

    #[test]
    fn deletion_policy_is_checked() {
        let p = test_hcl::resource("resource \"google_sql_database\" \"d\" {\n  name = \"netra_db\"\n  instance = \"i\"\n  deletion_policy = \"KEEP\"\n}\n");
        let d = check_values(&p.body, &p.value, &schema(), p.block_span);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].span.map(|s| p.sources.location(s).to_string()).as_deref(), Some("main.tf:4:3"));
    }

    #[test]
    fn import_ids() {
        let want = ("p".to_string(), "i".to_string(), "d".to_string());
        assert_eq!(parse_import_id("projects/p/instances/i/databases/d", None).unwrap(), want);
        assert_eq!(parse_import_id("p/i/d", None).unwrap(), want);
        assert_eq!(parse_import_id("i/d", Some("p")).unwrap(), want);
        assert_eq!(parse_import_id("instances/i/databases/d", Some("p")).unwrap(), want);
        assert!(parse_import_id("i/d", None).is_err());
        assert!(parse_import_id("d", Some("p")).is_err());
    }

    #[test]
    fn state_round_trips_and_abandon_is_kept() {
        let t = SqlDatabase::new(Arc::new(Shared::new(Default::default())));
        let d = model::Database::new().set_name("netra_db").set_charset("UTF8").set_collation("en_US.UTF8");
        let prior = Value::map([("deletion_policy", Value::from("ABANDON"))]);
        // What a refresh stores: the API's object, and the client-only arguments of the prior.
        let s = t.schema().keep_client_only(&prior, t.to_state("p", "i", &d));
        assert_eq!(s.get("id"), Some(&Value::from("projects/p/instances/i/databases/netra_db")));
        assert_eq!(s.get("deletion_policy"), Some(&Value::from("ABANDON")));
        let config = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("netra_db")),
                ("instance", Value::from("i")),
                ("project", Value::from("p")),
                ("deletion_policy", Value::from("ABANDON")),
            ]),
        );
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&s), &config, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(crate::schema::diff::changed_paths(&s, &prop.planned).is_empty());

        // The API's spelling of the charset is no change (the definition's CaseDiffSuppress);
        // another collation is an update in place, not a replacement.
        let mut lower = config.clone();
        set(&mut lower, "charset", Value::from("utf8"));
        set(&mut lower, "collation", Value::from("en_GB.UTF8"));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&s), &lower, false);
        t.customize_plan(&mut prop).unwrap();
        let changed = crate::schema::diff::changed_paths(&s, &prop.planned);
        assert_eq!(changed, vec![AttrPath::attr("collation")]);
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
    }

    /// The corpus stack's arguments (tests/it/corpus/google_sql_database).
    #[test]
    fn every_documented_argument_validates() {
        let src = "resource \"google_sql_database\" \"d\" {\n  name = \"netra_db\"\n  instance = \"i\"\n  project = \"p\"\n  charset = \"UTF8\"\n  collation = \"en_US.UTF8\"\n  deletion_policy = \"PREVENT\"\n}\n";
        assert_eq!(test_hcl::check(src, &schema()), Vec::<String>::new());
        let body = cc_json(&database_request(&test_hcl::resource(src).value, "p", "i", "netra_db"));
        assert_eq!(
            body,
            serde_json::json!({"name": "netra_db", "instance": "i", "project": "p", "charset": "UTF8", "collation": "en_US.UTF8"})
        );
    }

    fn cc_json(d: &model::Database) -> serde_json::Value {
        serde_json::to_value(d).unwrap()
    }
}
