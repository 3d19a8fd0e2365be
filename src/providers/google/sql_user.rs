//! `google_sql_user`: a database user of a Cloud SQL instance.
//!
//! The password never reaches state: `password_wo` is write-only (sent on create, and again
//! when `password_wo_version` changes, through `users.update` — in place, not a replacement);
//! the older `password` is sensitive, so the engine keeps only its fingerprint. Neither is ever
//! put in an error or a progress message; it is unmarked only while the request body is built.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_sql_v1::model;
use tokio::time::Instant;

use super::compute_common as cc;
use super::fields::{self, conform_to_schema, set, string};
use super::resource_common::{name_schema_timeouts, no_identity, none_if_gone, read_grouped, time_left};
use super::sql_database_instance::{settle, sql_call, sql_delete, sql_insert, sql_read, wait_operation};
use super::{Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, BlockType, Rule, Schema, Validator};

const TYPE: &str = "google_sql_user";
const LIST: &str = "sql.users.list";
const INSERT: &str = "sql.users.insert";
const UPDATE: &str = "sql.users.update";
const DELETE: &str = "sql.users.delete";

const TYPES: [&str; 6] = [
    "BUILT_IN",
    "CLOUD_IAM_USER",
    "CLOUD_IAM_SERVICE_ACCOUNT",
    "CLOUD_IAM_GROUP",
    "CLOUD_IAM_GROUP_USER",
    "CLOUD_IAM_GROUP_SERVICE_ACCOUNT",
];

pub struct SqlUser {
    shared: Arc<Shared>,
    schema: Schema,
}

pub fn schema() -> Schema {
    Schema::new()
        .attr("name", Attribute::required(AttrType::String).force_new())
        .attr("instance", Attribute::required(AttrType::String).force_new())
        .attr("project", Attribute::optional_computed(AttrType::String).force_new())
        .attr(
            "host",
            Attribute::optional_computed(AttrType::String)
                .force_new()
                .describe("MySQL only: the host the user connects from; leave unset for Postgres."),
        )
        .attr(
            "type",
            Attribute::optional(AttrType::String)
                .default("BUILT_IN")
                .force_new()
                .validate(Validator::OneOf(TYPES.to_vec())),
        )
        .attr(
            "password",
            Attribute::optional(AttrType::String)
                .sensitive()
                .describe("Stored only as a fingerprint; prefer password_wo."),
        )
        .attr(
            "password_wo",
            Attribute::optional(AttrType::String)
                .sensitive()
                .write_only()
                .describe("Never stored: sent on create and when password_wo_version changes."),
        )
        .attr(
            "password_wo_version",
            Attribute::optional(AttrType::String).describe("Change it to send a new password_wo (updates in place)."),
        )
        .attr(
            "deletion_policy",
            super::resource_common::deletion_policy_attribute("ABANDON: leave the user when destroyed (Postgres users that own objects cannot be dropped); PREVENT: refuse to destroy."),
        )
        .attr(
            "database_roles",
            Attribute::optional(AttrType::List(Box::new(AttrType::String)))
                .describe("MySQL 8+ and PostgreSQL. Not read back: replaces the user's roles when it changes."),
        )
        .attr("iam_email", Attribute::computed(AttrType::String).describe("MySQL IAM users only."))
        .attr("id", Attribute::computed(AttrType::String).describe("{name}/{host}/{instance}"))
        .block("password_policy", BlockType::single(password_policy_schema()))
        .rule(Rule::AtMostOneOf(vec!["password", "password_wo"]))
        .rule(Rule::RequiredWith("password_wo_version", vec!["password_wo"]))
        .rule(Rule::Custom(Arc::new(check_iam_password)))
}

fn password_policy_schema() -> Schema {
    Schema::new()
        .attr("allowed_failed_attempts", Attribute::optional(AttrType::Number))
        .attr(
            "password_expiration_duration",
            Attribute::optional(AttrType::String).describe("A duration such as \"604800s\" (plus a week's grace)."),
        )
        .attr("enable_failed_attempts_check", Attribute::optional(AttrType::Bool))
        .attr("enable_password_verification", Attribute::optional(AttrType::Bool).describe("MySQL only."))
        .attr(
            "status",
            Attribute::computed(AttrType::List(Box::new(AttrType::Map(Box::new(AttrType::String)))))
                .describe("[{locked, password_expiration_time}]"),
        )
}

/// The password policy as the API's JSON; `status` is output only.
fn password_policy_request(planned: &Value) -> Result<Option<model::UserPasswordValidationPolicy>, ProviderError> {
    match fields::first_block(planned, "password_policy") {
        Some(p) => cc::json_model(cc::to_wire(&password_policy_schema(), p, &[]), TYPE).map(Some),
        None => Ok(None),
    }
}

fn password_policy_state(u: &model::User, prior: Option<&Value>) -> Value {
    let Some(policy) = u.password_policy.as_ref() else { return Value::List(Vec::new()) };
    let j = cc::model_json(policy);
    let mut v = cc::from_wire(&password_policy_schema(), &j, &[]);
    let status: Vec<Value> = j
        .get("status")
        .map(|s| {
            Value::map([
                ("locked", Value::string(s.get("locked").and_then(|l| l.as_bool()).unwrap_or(false).to_string())),
                ("password_expiration_time", Value::string(cc::jstr(s, "passwordExpirationTime"))),
            ])
        })
        .into_iter()
        .collect();
    set(&mut v, "status", Value::List(status));
    let prior = prior.and_then(|p| fields::first_block(p, "password_policy"));
    Value::List(vec![settle(&password_policy_schema(), v, prior)])
}

/// IAM users log in with tokens; the API rejects a password for them.
fn check_iam_password(config: &Value) -> Vec<(AttrPath, String)> {
    let Some(t) = config.get("type").filter(|v| !v.is_unknown()).and_then(Value::as_str) else { return Vec::new() };
    if !t.starts_with("CLOUD_IAM") {
        return Vec::new();
    }
    ["password", "password_wo"]
        .into_iter()
        .filter(|n| config.get(n).is_some_and(|v| !v.is_null()))
        .map(|n| (AttrPath::attr(n), format!("{n} cannot be set for a user of type {t}: IAM users sign in with IAM tokens; remove {n} or use type = \"BUILT_IN\"")))
        .collect()
}

fn id_of(name: &str, host: &str, instance: &str) -> String {
    format!("{name}/{host}/{instance}")
}

/// `{p}/{instance}/{name}` or `{p}/{instance}/{host}/{name}` (Terraform's forms).
pub fn parse_import_id(id: &str) -> Result<(String, String, String, String), ProviderError> {
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [p, i, n] if !p.is_empty() && !i.is_empty() && !n.is_empty() => {
            Ok((p.to_string(), i.to_string(), String::new(), n.to_string()))
        }
        [p, i, h, n] if !p.is_empty() && !i.is_empty() && !n.is_empty() => {
            Ok((p.to_string(), i.to_string(), h.to_string(), n.to_string()))
        }
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not PROJECT/INSTANCE/NAME or PROJECT/INSTANCE/HOST/NAME"
        ))),
    }
}

/// (project, instance, host, name).
fn identity(v: &Value) -> Option<(String, String, String, String)> {
    Some((string(v, "project")?, string(v, "instance")?, string(v, "host").unwrap_or_default(), string(v, "name")?))
}

fn roles(planned: &Value) -> Vec<String> {
    planned
        .get("database_roles")
        .and_then(Value::as_list)
        .unwrap_or(&[])
        .iter()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}

/// The password to send, unmarked only here. `config` carries the write-only argument.
fn password(planned: &Value, config: &Value) -> Option<String> {
    let pick = |name: &str| {
        [config.get(name), planned.get(name)]
            .into_iter()
            .flatten()
            .find(|v| !v.is_null() && v.is_wholly_known())
            .cloned()
    };
    let raw = pick("password_wo").or_else(|| pick("password"))?;
    match raw.unmark_deep().0 {
        Value::String(s) => Some(s),
        _ => None,
    }
}

impl SqlUser {
    pub fn new(shared: Arc<Shared>) -> Self {
        SqlUser { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    fn to_state(&self, project: &str, instance: &str, u: &model::User, prior: Option<&Value>) -> Value {
        let keep = |name: &str| prior.and_then(|p| p.get(name)).cloned().unwrap_or(Value::Null);
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        m.insert("name".into(), Value::string(u.name.clone()));
        m.insert("instance".into(), Value::string(instance));
        m.insert("project".into(), Value::string(project));
        m.insert("host".into(), if u.host.is_empty() { Value::Null } else { Value::string(u.host.clone()) });
        let t = match u.r#type.name() {
            Some(n) if !n.is_empty() && !n.ends_with("UNSPECIFIED") => n.to_string(),
            _ => "BUILT_IN".to_string(),
        };
        m.insert("type".into(), Value::string(t));
        // The API never returns passwords: what the state had stays.
        m.insert("password".into(), keep("password"));
        m.insert("password_wo_version".into(), keep("password_wo_version"));
        // Not read back (Terraform's rule): what was configured stays.
        m.insert("database_roles".into(), keep("database_roles"));
        m.insert(
            "iam_email".into(),
            if u.iam_email.is_empty() { Value::Null } else { Value::string(u.iam_email.clone()) },
        );
        // An unconfigured policy stays out of state even when the API reports its defaults.
        let configured = prior.is_none_or(|p| fields::first_block(p, "password_policy").is_some());
        m.insert(
            "password_policy".into(),
            if configured { password_policy_state(u, prior) } else { Value::List(Vec::new()) },
        );
        m.insert("id".into(), Value::string(id_of(&u.name, &u.host, instance)));
        conform_to_schema(&self.schema, Value::object(m))
    }

    async fn list(
        &self,
        c: &Clients,
        project: &str,
        instance: &str,
        timeout: Duration,
    ) -> Result<Option<Vec<model::User>>, ProviderError> {
        let listed = sql_read(&c.sql_calls, LIST, timeout, || {
            c.sql_users.list().set_project(project).set_instance(instance).send()
        })
        .await;
        Ok(none_if_gone(listed)?.map(|r| r.items))
    }

    async fn find(
        &self,
        c: &Clients,
        project: &str,
        instance: &str,
        host: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<model::User>, ProviderError> {
        Ok(self
            .list(c, project, instance, timeout)
            .await?
            .and_then(|users| users.into_iter().find(|u| u.name == name && u.host == host)))
    }
}

#[async_trait]
impl ResourceType for SqlUser {
    name_schema_timeouts!(TYPE, 10);

    /// Estimate: an SQL Admin operation that only changes the instance's user table.
    fn expected_durations(&self) -> crate::providers::ExpectedDurations {
        crate::providers::ExpectedDurations::secs(10, 10, 10)
    }

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        self.shared.fill_project(&mut p.planned);
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
            |v| identity(v).map(|(p, i, h, n)| ((p, i), (h, n))),
            |(project, instance)| async move { self.list(c, &project, &instance, ctx.timeout).await },
            |(project, instance), users, (host, name), prior| {
                users
                    .iter()
                    .find(|u| &u.name == name && &u.host == host)
                    .map(|u| self.to_state(project, instance, u, Some(prior)))
            },
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let instance = fields::required_string(planned, "instance", TYPE)?;
        let name = fields::required_string(planned, "name", TYPE)?;
        let host =
            planned.get("host").filter(|v| !v.is_unknown()).and_then(Value::as_str).unwrap_or_default().to_string();
        let mut body = model::User::new()
            .set_name(name.clone())
            .set_instance(instance.clone())
            .set_project(project.clone())
            .set_host(host.clone());
        if let Some(t) = string(planned, "type").filter(|t| t != "BUILT_IN") {
            body = body.set_type(model::user::SqlUserType::from(t.as_str()));
        }
        if let Some(pw) = password(planned, config) {
            body = body.set_password(pw);
        }
        if let Some(policy) = password_policy_request(planned)? {
            body = body.set_password_policy(policy);
        }
        body = body.set_database_roles(roles(planned));
        let deadline = Instant::now() + ctx.timeout;
        let what = format!("creating user {name} in instance {instance}");
        let (c, project, instance, host, name) =
            (&c, project.as_str(), instance.as_str(), host.as_str(), name.as_str());
        sql_insert(
            c,
            ctx,
            project,
            INSERT,
            &what,
            deadline,
            || c.sql_users.insert().set_project(project).set_instance(instance).set_body(body.clone()).send(),
            |remaining| async move {
                matches!(self.find(c, project, instance, host, name, remaining).await, Ok(Some(_)))
            },
        )
        .await?;
        let remaining = time_left(deadline);
        let live = self.find(c, project, instance, host, name, remaining).await?.ok_or_else(|| {
            ProviderError::new(format!("user {name} was created in instance {instance} but is not listed")).method(LIST)
        })?;
        Ok(self.to_state(project, instance, &live, Some(planned)))
    }

    /// A new password (password changed, or password_wo_version bumped) through users.update.
    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let (project, instance, host, name) =
            identity(prior).ok_or_else(|| no_identity(TYPE, "project/instance/name"))?;
        let touched = |n: &str| changed.iter().any(|p| p.top() == Some(n));
        let new_password = touched("password") || touched("password_wo_version");
        if new_password || touched("password_policy") || touched("database_roles") {
            let c = self.clients(ctx).await?;
            let mut body = model::User::new().set_name(name.clone()).set_host(host.clone());
            if new_password {
                let Some(pw) = password(planned, config) else {
                    return Err(ProviderError::new(format!(
                        "{TYPE} {name}: password_wo_version changed but password_wo has no value; set password_wo to the new password"
                    )));
                };
                body = body.set_password(pw);
            }
            if let Some(policy) = password_policy_request(planned)? {
                body = body.set_password_policy(policy);
            }
            if touched("database_roles") {
                body = body.set_database_roles(roles(planned));
            }
            let deadline = Instant::now() + ctx.timeout;
            let mut ambiguous = false;
            let op = sql_call(&c.sql_calls, UPDATE, ctx.timeout, deadline, true, &mut ambiguous, || {
                let mut call = c
                    .sql_users
                    .update()
                    .set_project(project.clone())
                    .set_instance(instance.clone())
                    .set_name(name.clone())
                    .set_body(body.clone());
                if !host.is_empty() {
                    call = call.set_host(host.clone());
                }
                call.send()
            })
            .await
            .map_err(|e| e.into_error(UPDATE))?;
            wait_operation(
                &c,
                ctx,
                &project,
                op,
                UPDATE,
                &format!("updating user {name} in instance {instance}"),
                None,
                deadline,
            )
            .await?;
            if touched("password_policy") {
                // The policy's status and server-side values come back only from a read.
                let remaining = time_left(deadline);
                if let Some(live) = self.find(&c, &project, &instance, &host, &name, remaining).await? {
                    return Ok(self.to_state(&project, &instance, &live, Some(planned)));
                }
            }
        }
        let mut state = prior.clone();
        for n in ["password", "password_wo_version", "database_roles"] {
            set(&mut state, n, planned.get(n).cloned().unwrap_or(Value::Null));
        }
        Ok(state)
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, instance, host, name) =
            identity(prior).ok_or_else(|| no_identity(TYPE, "project/instance/name"))?;
        let c = self.clients(ctx).await?;
        let what = format!("deleting user {name} in instance {instance}");
        sql_delete(&c, ctx, &project, DELETE, &what, || {
            let mut call =
                c.sql_users.delete().set_project(project.clone()).set_instance(instance.clone()).set_name(name.clone());
            if !host.is_empty() {
                call = call.set_host(host.clone());
            }
            call.send()
        })
        .await
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, instance, host, name) = parse_import_id(id)?;
        let live =
            self.find(&c, &project, &instance, &host, &name, ctx.timeout).await?.ok_or_else(|| ProviderError {
                method: Some(LIST.into()),
                message: format!(
                    "no user {name} (host \"{host}\") in instance projects/{project}/instances/{instance}"
                ),
                retryable: false,
                not_found: true,
                already_exists: false,
            })?;
        Ok(self.to_state(&project, &instance, &live, None))
    }

    /// The import id (`PROJECT/INSTANCE/[HOST/]NAME`), which is what a rerun reads the
    /// journaled name back with.
    fn cloud_name(&self, planned: &Value) -> Option<String> {
        let (project, instance, name) =
            (self.shared.planned_project(planned)?, string(planned, "instance")?, string(planned, "name")?);
        Some(match string(planned, "host").filter(|h| !h.is_empty()) {
            Some(host) => format!("{project}/{instance}/{host}/{name}"),
            None => format!("{project}/{instance}/{name}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"google_sql_user\" \"u\" {{\n  name = \"netra_user\"\n  instance = \"netra-staging-db\"\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    #[test]
    fn password_rules() {
        assert_eq!(diags("  password_wo = \"x\"\n  password_wo_version = \"1\"\n"), Vec::<String>::new());
        let d = diags("  password = \"a\"\n  password_wo = \"b\"\n");
        assert!(d.len() == 1 && d[0].contains("Only one of \"password\", \"password_wo\""), "{d:?}");
        let d = diags("  password_wo_version = \"1\"\n");
        assert!(
            d.len() == 1 && d[0].contains("\"password_wo\" is required when \"password_wo_version\" is set"),
            "{d:?}"
        );
        let d = diags("  type = \"CLOUD_IAM_USER\"\n  password = \"a\"\n");
        assert!(
            d.len() == 1 && d[0].starts_with("main.tf:5:3: password cannot be set for a user of type CLOUD_IAM_USER"),
            "{d:?}"
        );
        let d = diags("  type = \"ADMIN\"\n");
        assert_eq!(d.len(), 1, "{d:?}");
        let d = diags("  deletion_policy = \"KEEP\"\n");
        assert_eq!(d.len(), 1, "{d:?}");
    }

    #[test]
    fn the_password_comes_from_config_unmarked_only_for_the_body() {
        let config = Value::map([("password_wo", Value::from("s3cret").sensitive())]);
        assert_eq!(password(&Value::map::<&str>([]), &config).as_deref(), Some("s3cret"));
        assert_eq!(
            password(&Value::map([("password", Value::from("old").sensitive())]), &Value::Null).as_deref(),
            Some("old")
        );
        assert_eq!(password(&Value::Null, &Value::map([("password_wo", Value::unknown())])), None);
    }

    /// The journal's name for a create is read back by import on the next run, so it must be
    /// an import id (it was `NAME/HOST/INSTANCE`, which import refused).
    #[test]
    fn the_journaled_name_is_an_import_id_for_the_same_user() {
        let t = SqlUser::new(Arc::new(Shared::new(Default::default())));
        for (host, expected) in [(None, ("p", "i", "", "u")), (Some("%"), ("p", "i", "%", "u"))] {
            let mut planned =
                Value::map([("name", Value::from("u")), ("instance", Value::from("i")), ("project", Value::from("p"))]);
            if let Some(h) = host {
                set(&mut planned, "host", Value::from(h));
            }
            let name = t.cloud_name(&planned).expect("a name");
            let parsed = parse_import_id(&name).unwrap();
            let expected =
                (expected.0.to_string(), expected.1.to_string(), expected.2.to_string(), expected.3.to_string());
            assert_eq!(parsed, expected, "{name}");
        }
    }

    #[test]
    fn state_never_holds_the_write_only_password_and_bumping_the_version_updates_in_place() {
        let t = SqlUser::new(Arc::new(Shared::new(Default::default())));
        let prior = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("netra_user")),
                ("instance", Value::from("i")),
                ("project", Value::from("p")),
                ("password_wo_version", Value::from("1")),
            ]),
        );
        let live = model::User::new().set_name("netra_user").set_password("leaked?");
        let s = t.schema().keep_client_only(&prior, t.to_state("p", "i", &live, Some(&prior)));
        assert_eq!(s.get("password_wo"), Some(&Value::Null));
        assert_eq!(s.get("password"), Some(&Value::Null));
        assert!(!format!("{s:?}").contains("leaked"));
        assert_eq!(s.get("type"), Some(&Value::from("BUILT_IN")));
        let mut config = prior.clone();
        set(&mut config, "password_wo", Value::from("new").sensitive());
        set(&mut config, "password_wo_version", Value::from("2"));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&s), &config, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
        assert_eq!(crate::schema::diff::changed_paths(&s, &prop.planned), vec![AttrPath::attr("password_wo_version")]);
    }

    #[test]
    fn import_ids() {
        assert_eq!(parse_import_id("p/i/u").unwrap(), ("p".into(), "i".into(), "".into(), "u".into()));
        assert_eq!(parse_import_id("p/i/%/u").unwrap(), ("p".into(), "i".into(), "%".into(), "u".into()));
        assert!(parse_import_id("i/u").is_err());
    }

    const FULL: &str = "  project = \"p\"\n  host = \"%\"\n  type = \"BUILT_IN\"\n  password_wo = \"s3cret\"\n  password_wo_version = \"1\"\n  deletion_policy = \"PREVENT\"\n  database_roles = [\"cloudsqlsuperuser\", \"reporting\"]\n  password_policy {\n    allowed_failed_attempts = 5\n    password_expiration_duration = \"2592000s\"\n    enable_failed_attempts_check = true\n    enable_password_verification = true\n  }\n";

    #[test]
    fn every_documented_argument_and_block_validates() {
        assert_eq!(diags(FULL), Vec::<String>::new());
        let with_password =
            FULL.replace("password_wo = \"s3cret\"\n  password_wo_version = \"1\"", "password = \"s3cret\"");
        assert_eq!(diags(&with_password), Vec::<String>::new());
    }

    /// The create body carries the roles and the policy; what the API answers (the policy with
    /// its status, no roles) plans nothing.
    #[test]
    fn roles_and_password_policy_round_trip() {
        let src = format!("resource \"google_sql_user\" \"u\" {{\n  name = \"netra_user\"\n  instance = \"netra-staging-db\"\n{FULL}}}\n");
        let parsed = test_hcl::resource(&src);
        let config =
            crate::schema::validate::conform(&parsed.body, parsed.value, &schema(), parsed.block_span).unwrap();
        let t = SqlUser::new(Arc::new(Shared::new(Default::default())));
        let mut p = crate::schema::propose::propose(t.schema(), None, &config, false);
        t.customize_plan(&mut p).unwrap();
        let policy = password_policy_request(&p.planned).unwrap().unwrap();
        assert_eq!(policy.allowed_failed_attempts, 5);
        assert!(policy.enable_failed_attempts_check && policy.enable_password_verification);
        assert_eq!(roles(&p.planned), vec!["cloudsqlsuperuser".to_string(), "reporting".to_string()]);
        let status = model::PasswordStatus::new().set_locked(false);
        let live = model::User::new()
            .set_name("netra_user")
            .set_host("%")
            .set_password_policy(policy.set_status(status))
            .set_iam_email("");
        let state =
            t.schema().keep_client_only(&p.planned, t.to_state("p", "netra-staging-db", &live, Some(&p.planned)));
        let mut p2 = crate::schema::propose::propose(t.schema(), Some(&state), &config, false);
        t.customize_plan(&mut p2).unwrap();
        let changed = crate::schema::diff::changed_paths(&state, &p2.planned);
        assert!(
            changed.is_empty(),
            "{changed:?} {:?} {:?}",
            state.get("password_policy"),
            p2.planned.get("password_policy")
        );
        let status = fields::first_block(&state, "password_policy").and_then(|b| b.get("status")).cloned();
        assert_eq!(status.and_then(|s| s.as_list().map(<[Value]>::len)), Some(1));
    }
}
