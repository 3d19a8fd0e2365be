//! `google_bigquery_dataset_iam_member`: one member of one role on a BigQuery dataset,
//! non-authoritative. A dataset has no getIamPolicy of its own here: as in the provider
//! (iam_bigquery_dataset.go), the member is an entry of the dataset's `access` list, written
//! by the dataset's read-modify-write ([`bigquery_dataset::read_modify_write`]: PUT with
//! If-Match, again from a fresh read on 412), so members added at the same time all survive.
//! Refresh reads each dataset once for every member on it.
//!
//! Every argument forces a new member (the provider's IAM member schema: all ForceNew).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_bigquery_v2::model;
use serde_json::{json, Value as Json};

use super::bigquery_dataset::{self as dataset, get_dataset, parse_import_id};
use super::compute_common as cc;
use super::fields::{self, first_block, set, string};
use super::resource_common::{mutation_timeouts, no_identity, read_grouped};
use super::{Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, BlockType, Schema, Validator};

pub const TYPE: &str = "google_bigquery_dataset_iam_member";
const GET: &str = "bigquery.datasets.get";

/// The access roles' IAM forms (the API answers these three in the basic form, whichever was
/// sent: discovery, Dataset.access.role).
const DATA_ROLES: [(&str, &str); 3] = [
    ("OWNER", "roles/bigquery.dataOwner"),
    ("WRITER", "roles/bigquery.dataEditor"),
    ("READER", "roles/bigquery.dataViewer"),
];

/// The project's basic roles, which dataset access does not take, and the dataset role to use.
const BASIC_ROLES: [(&str, &str); 3] = [
    ("roles/owner", "roles/bigquery.dataOwner"),
    ("roles/editor", "roles/bigquery.dataEditor"),
    ("roles/viewer", "roles/bigquery.dataViewer"),
];

/// The special groups an access entry names without a prefix.
const SPECIAL_GROUPS: [&str; 4] = ["projectOwners", "projectReaders", "projectWriters", "allAuthenticatedUsers"];

/// The IAM form of a role as the API may answer it (`OWNER` is `roles/bigquery.dataOwner`).
pub(super) fn iam_role(role: &str) -> &str {
    DATA_ROLES.iter().find(|(basic, _)| *basic == role).map_or(role, |(_, iam)| iam)
}

/// Which access-entry field carries a member, and its value there (the provider's
/// `iamMemberToAccess`); `principal://` and `principalSet://` identifiers may be written with
/// or without their `iamMember:` prefix.
pub fn access_member(member: &str) -> Result<(&'static str, String), String> {
    if SPECIAL_GROUPS.contains(&member) {
        return Ok(("specialGroup", member.to_string()));
    }
    if member == "allUsers" || member.starts_with("principal://") || member.starts_with("principalSet://") {
        return Ok(("iamMember", member.to_string()));
    }
    let kind = match member.split_once(':') {
        Some(("user" | "serviceAccount", id)) if id.contains('@') => Some(("userByEmail", id)),
        Some(("group", id)) if id.contains('@') => Some(("groupByEmail", id)),
        Some(("domain", id)) if id.contains('.') && !id.contains('@') => Some(("domain", id)),
        Some(("iamMember", id)) if !id.is_empty() && !id.starts_with("deleted:") => Some(("iamMember", id)),
        _ => None,
    };
    kind.map(|(k, id)| (k, id.to_string())).ok_or_else(|| {
        format!(
            "cannot be a dataset access entry: {member:?}; use user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:DOMAIN, iamMember:PRINCIPAL (e.g. iamMember:principal://…), allUsers, allAuthenticatedUsers, projectOwners, projectReaders or projectWriters"
        )
    })
}

fn check_member(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) => access_member(s).map(|_| ()),
        None => Ok(()),
    }
}

/// The provider refuses the legacy access roles (use their IAM form); the API refuses the
/// project's basic roles on a dataset. Other roles are `roles/NAME` or a custom role.
fn check_role(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    if let Some((_, iam)) = DATA_ROLES.iter().find(|(basic, _)| *basic == s) {
        return Err(format!(
            "is the legacy dataset role {s:?}, which google_bigquery_dataset_iam_member does not take; use its IAM form {iam:?}"
        ));
    }
    if let Some((_, data)) = BASIC_ROLES.iter().find(|(basic, _)| *basic == s) {
        return Err(format!("is the basic role {s:?}, which BigQuery datasets do not grant; use {data:?}"));
    }
    let parts: Vec<&str> = s.split('/').collect();
    let ok = match parts.as_slice() {
        ["roles", r] => !r.is_empty(),
        ["projects" | "organizations", p, "roles", r] => !p.is_empty() && !r.is_empty(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be roles/NAME or projects/PROJECT/roles/NAME (a custom role), got {s:?}; e.g. roles/bigquery.dataEditor"
        ))
    }
}

pub fn schema() -> Schema {
    let forced = |a: Attribute| a.force_new();
    Schema::new()
        .attr(
            "dataset_id",
            forced(Attribute::required(AttrType::String)).describe("The dataset's id (not its full name).").validate(
                Validator::Pattern {
                    regex: r"^[0-9A-Za-z_]{1,1024}$",
                    description: "1 to 1024 letters, digits or underscores (e.g. \"infrastructure_monitoring\")",
                },
            ),
        )
        .attr(
            "project",
            forced(Attribute::optional_computed(AttrType::String))
                .describe("The dataset's project; the provider's when not set."),
        )
        .attr("role", forced(Attribute::required(AttrType::String)).validate(Validator::Custom(Arc::new(check_role))))
        .attr(
            "member",
            forced(Attribute::required(AttrType::String)).validate(Validator::Custom(Arc::new(check_member))),
        )
        .attr("etag", Attribute::computed(AttrType::String).describe("The dataset's etag after the last write."))
        .attr("id", Attribute::computed(AttrType::String))
        .block(
            "condition",
            BlockType::single(
                Schema::new()
                    .attr("expression", Attribute::required(AttrType::String))
                    .attr("title", Attribute::optional(AttrType::String))
                    .attr("description", Attribute::optional(AttrType::String)),
            )
            .max_items(1)
            .force_new(),
        )
}

/// One member as an access entry: its role (IAM form), member field and value, condition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub role: String,
    pub kind: &'static str,
    pub member: String,
    /// (expression, title, description), empty strings for what is not set.
    pub condition: Option<(String, String, String)>,
}

fn entry_of(v: &Value) -> Option<Entry> {
    let (kind, member) = access_member(&string(v, "member")?).ok()?;
    let condition = first_block(v, "condition").map(|c| {
        (
            string(c, "expression").unwrap_or_default(),
            string(c, "title").unwrap_or_default(),
            string(c, "description").unwrap_or_default(),
        )
    });
    Some(Entry { role: string(v, "role")?, kind, member, condition })
}

impl Entry {
    fn to_json(&self) -> Json {
        let mut o = json!({"role": self.role});
        o[self.kind] = json!(self.member);
        if let Some((expression, title, description)) = &self.condition {
            let mut c = json!({"expression": expression});
            if !title.is_empty() {
                c["title"] = json!(title);
            }
            if !description.is_empty() {
                c["description"] = json!(description);
            }
            o["condition"] = c;
        }
        o
    }

    /// Whether a live access entry is this one (roles compared in their IAM form).
    fn is(&self, live: &Json) -> bool {
        let s = |v: Option<&Json>, k: &str| v.and_then(|x| x.get(k)).and_then(Json::as_str).unwrap_or("").to_string();
        let role = live.get("role").and_then(Json::as_str).unwrap_or("");
        let condition = live
            .get("condition")
            .filter(|c| c.is_object())
            .map(|c| (s(Some(c), "expression"), s(Some(c), "title"), s(Some(c), "description")));
        iam_role(role) == iam_role(&self.role)
            && live.get(self.kind).and_then(Json::as_str) == Some(self.member.as_str())
            && condition == self.condition
    }
}

/// The dataset's access entries, as JSON.
fn access_of(d: &model::Dataset) -> Vec<Json> {
    cc::model_json(d).get("access").and_then(Json::as_array).cloned().unwrap_or_default()
}

/// Adds (or removes) `e` in the dataset's access list; None when there is nothing to do.
pub fn edited(d: &model::Dataset, e: &Entry, add: bool) -> Result<Option<model::Dataset>, ProviderError> {
    let mut access = access_of(d);
    let present = access.iter().any(|a| e.is(a));
    if present == add {
        return Ok(None);
    }
    if add {
        access.push(e.to_json());
    } else {
        access.retain(|a| !e.is(a));
    }
    let mut whole = cc::model_json(d);
    whole["access"] = Json::Array(access);
    cc::json_model(whole, TYPE).map(Some)
}

/// Terraform's IAM member id: `projects/{p}/datasets/{d}/{role}/{member}`, with
/// `/{condition title}` after it for a conditional member.
fn member_id(project: &str, dataset: &str, v: &Value) -> Option<String> {
    let base = format!("projects/{project}/datasets/{dataset}/{}/{}", string(v, "role")?, string(v, "member")?);
    Some(match first_block(v, "condition").and_then(|c| string(c, "title")) {
        Some(t) => format!("{base}/{t}"),
        None => base,
    })
}

fn dataset_of(v: &Value) -> Option<(String, String)> {
    Some((string(v, "project")?, string(v, "dataset_id")?))
}

pub struct BigqueryDatasetIamMember {
    shared: Arc<Shared>,
    schema: Schema,
}

impl BigqueryDatasetIamMember {
    pub fn new(shared: Arc<Shared>) -> Self {
        BigqueryDatasetIamMember { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    /// The state of the member `like` configures (its spelling of role and member), found on
    /// `d`.
    fn to_state(&self, project: &str, dataset_id: &str, d: &model::Dataset, like: &Value) -> Value {
        let mut m: BTreeMap<String, Value> = like.as_map().cloned().unwrap_or_default();
        m.insert("project".into(), Value::string(project));
        m.insert("dataset_id".into(), Value::string(dataset_id));
        m.insert("etag".into(), Value::string(d.etag.clone()));
        let mut v = Value::object(m);
        if let Some(id) = member_id(project, dataset_id, &v) {
            set(&mut v, "id", Value::string(id));
        }
        fields::conform_to_schema(&self.schema, v)
    }

    async fn write(
        &self,
        ctx: &CallContext,
        v: &Value,
        add: bool,
    ) -> Result<(String, String, model::Dataset), ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(v, "project").as_deref())?;
        let dataset = fields::required_string(v, "dataset_id", TYPE)?;
        let e = entry_of(v).ok_or_else(|| no_identity(TYPE, "role/member"))?;
        let d = dataset::read_modify_write(&c, &project, &dataset, ctx.timeout, |live| edited(live, &e, add)).await?;
        Ok((project, dataset, d))
    }
}

#[async_trait]
impl ResourceType for BigqueryDatasetIamMember {
    fn name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn default_timeouts(&self) -> crate::lang::config::Timeouts {
        mutation_timeouts(20)
    }

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        self.shared.fill_project(&mut p.planned);
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let Some(id) = dataset_of(&p.planned).and_then(|(pr, d)| member_id(&pr, &d, &p.planned)) {
                set(&mut p.planned, "id", Value::string(id));
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
            |v| Some((dataset_of(v)?, entry_of(v)?)),
            |(project, dataset): (String, String)| async move {
                match get_dataset(c, &project, &dataset, ctx.timeout).await {
                    Ok(d) => Ok(Some(d)),
                    // The dataset is gone, and every member with it.
                    Err(e) if e.not_found => Ok(None),
                    Err(e) => Err(e),
                }
            },
            |(project, dataset), d, e, prior| {
                access_of(d).iter().any(|a| e.is(a)).then(|| self.to_state(project, dataset, d, prior))
            },
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let (project, dataset, d) = self.write(ctx, planned, true).await?;
        Ok(self.to_state(&project, &dataset, &d, planned))
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        _changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        // Every argument forces a new member; only the computed etag can differ. Read it.
        let (project, dataset) = dataset_of(prior).ok_or_else(|| no_identity(TYPE, "project/dataset_id"))?;
        let c = self.clients(ctx).await?;
        let d = get_dataset(&c, &project, &dataset, ctx.timeout).await?;
        Ok(self.to_state(&project, &dataset, &d, planned))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        match self.write(ctx, prior, false).await {
            Ok(_) => Ok(()),
            // The dataset went first, and the member with it.
            Err(e) if e.not_found => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `DATASET ROLE MEMBER`, space-separated, the dataset in any of the dataset's import
    /// forms (the provider's page: "projects/{{project}}/datasets/{{dataset_id}} roles/… user:…").
    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let parts: Vec<&str> = id.split_whitespace().collect();
        let [ds, role, member] = parts.as_slice() else {
            return Err(ProviderError::new(format!(
                "import id \"{id}\" is not \"DATASET ROLE MEMBER\", e.g. \"projects/p/datasets/logs roles/bigquery.dataEditor serviceAccount:w@p.iam.gserviceaccount.com\" (conditional members cannot be imported)"
            )));
        };
        check_role(&Value::from(*role)).map_err(|m| ProviderError::new(format!("import id \"{id}\": the role {m}")))?;
        check_member(&Value::from(*member))
            .map_err(|m| ProviderError::new(format!("import id \"{id}\": the member {m}")))?;
        let c = self.clients(ctx).await?;
        let (project, dataset) = parse_import_id(ds, c.config.project.as_deref())?;
        let like = Value::map([("role", Value::from(*role)), ("member", Value::from(*member))]);
        let e = entry_of(&like).ok_or_else(|| no_identity(TYPE, "role/member"))?;
        let d = get_dataset(&c, &project, &dataset, ctx.timeout).await?;
        if !access_of(&d).iter().any(|a| e.is(a)) {
            return Err(ProviderError::new(format!(
                "projects/{project}/datasets/{dataset} grants {role} to no member {member}; nothing to import"
            ))
            .method(GET));
        }
        Ok(self.to_state(&project, &dataset, &d, &like))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        let (project, dataset) = dataset_of(planned)?;
        member_id(&project, &dataset, planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"{TYPE}\" \"m\" {{\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    #[test]
    fn roles_and_members_are_checked() {
        let ok = "  dataset_id = \"logs\"\n  role = \"roles/bigquery.dataEditor\"\n  member = \"serviceAccount:w@p.iam.gserviceaccount.com\"\n";
        assert_eq!(diags(ok), Vec::<String>::new());
        for member in [
            "projectOwners",
            "allAuthenticatedUsers",
            "group:g@example.com",
            "domain:example.com",
            "iamMember:principal://x/y",
            "principalSet://x/y",
        ] {
            assert_eq!(
                diags(&ok.replace("serviceAccount:w@p.iam.gserviceaccount.com", member)),
                Vec::<String>::new(),
                "{member}"
            );
        }
        let d = diags(&ok.replace("roles/bigquery.dataEditor", "WRITER"));
        assert!(d.len() == 1 && d[0].contains("main.tf:3:") && d[0].contains("roles/bigquery.dataEditor"), "{d:?}");
        let d = diags(&ok.replace("roles/bigquery.dataEditor", "roles/viewer"));
        assert!(d.len() == 1 && d[0].contains("roles/bigquery.dataViewer"), "{d:?}");
        let d = diags(&ok.replace("serviceAccount:w@p.iam.gserviceaccount.com", "projectEditors"));
        assert!(d.len() == 1 && d[0].contains("main.tf:4:") && d[0].contains("projectWriters"), "{d:?}");
        let d = diags(&ok.replace("serviceAccount:", "sa:"));
        assert!(d.len() == 1 && d[0].contains("serviceAccount:EMAIL"), "{d:?}");
    }

    /// tests/it/corpus/google_bigquery_dataset_iam_member/ sets every argument and validates.
    #[test]
    fn the_corpus_covers_every_argument() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn members_map_to_access_entries() {
        assert_eq!(access_member("user:a@b.c").unwrap(), ("userByEmail", "a@b.c".to_string()));
        assert_eq!(access_member("serviceAccount:a@b.c").unwrap(), ("userByEmail", "a@b.c".to_string()));
        assert_eq!(access_member("group:a@b.c").unwrap(), ("groupByEmail", "a@b.c".to_string()));
        assert_eq!(access_member("domain:b.c").unwrap(), ("domain", "b.c".to_string()));
        assert_eq!(access_member("projectReaders").unwrap(), ("specialGroup", "projectReaders".to_string()));
        assert_eq!(access_member("iamMember:principal://x").unwrap(), ("iamMember", "principal://x".to_string()));
        assert_eq!(access_member("principal://x").unwrap(), ("iamMember", "principal://x".to_string()));
        assert!(access_member("iamMember:deleted:user:a@b.c").is_err());
    }

    /// The API answers roles/bigquery.dataEditor as WRITER; the entry is still ours.
    #[test]
    fn entries_match_in_either_role_form_and_only_their_own() {
        let mine = Entry {
            role: "roles/bigquery.dataEditor".into(),
            kind: "userByEmail",
            member: "w@p.com".into(),
            condition: None,
        };
        let d: model::Dataset = serde_json::from_value(json!({"etag": "1", "access": [
            {"role": "WRITER", "userByEmail": "w@p.com"},
            {"role": "READER", "userByEmail": "w@p.com"},
            {"role": "WRITER", "groupByEmail": "w@p.com"},
        ]}))
        .unwrap();
        assert!(edited(&d, &mine, true).unwrap().is_none(), "already there");
        let left = edited(&d, &mine, false).unwrap().unwrap();
        assert_eq!(access_of(&left).len(), 2);
        assert!(!access_of(&left).iter().any(|a| mine.is(a)));
        let conditional = Entry { condition: Some(("true".into(), "t".into(), String::new())), ..mine.clone() };
        let added = edited(&d, &conditional, true).unwrap().unwrap();
        assert_eq!(access_of(&added).len(), 4);
        assert_eq!(access_of(&added)[3]["condition"], json!({"expression": "true", "title": "t"}));
    }
}
