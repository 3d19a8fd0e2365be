//! Scenario files: the world the emulator starts with (only when its data file is absent or
//! empty), e.g. the broken environment a demo or a test begins from.
//!
//! A scenario is one JSON object:
//!
//! ```json
//! {
//!   "description": "staging as the roadmap found it",
//!   "projects": [
//!     {"id": "acme-staging", "number": "123456789012"},
//!     {"id": "acme-prod"}
//!   ],
//!   "secretmanager": {
//!     "secrets": [
//!       {"project": "acme-staging", "id": "db-password",
//!        "labels": {"team": "core"},
//!        "versions": [{"data": "hunter2"}, {"data": "hunter3", "state": "DISABLED"}]},
//!       {"project": "acme-staging", "id": "api-key"},
//!       {"project": "acme-staging", "id": "regional", "location": "europe-west1",
//!        "versions": [{"dataBase64": "AAEC", "state": "DESTROYED"}]}
//!     ]
//!   },
//!   "compute": {
//!     "healthChecks": [{"project": "acme-staging", "name": "web-hc", "httpHealthCheck": {"port": 8080}}],
//!     "backendServices": [{"project": "acme-staging", "name": "web", "healthChecks": ["web-hc"]}],
//!     "urlMaps": [{"project": "acme-staging", "name": "web", "defaultService": "global/backendServices/web"}],
//!     "sslCertificates": [
//!       {"project": "acme-staging", "name": "web-cert", "managed": {"domains": ["a.example.com", "b.example.com"],
//!        "domainStatus": {"b.example.com": "FAILED_NOT_VISIBLE"}}},
//!       {"project": "acme-staging", "name": "slow-cert", "managed": {"domains": ["c.example.com"]}, "activateAfter": "60s"},
//!       {"project": "acme-staging", "name": "stuck-cert", "managed": {"domains": ["d.example.com"]}, "stuck": true}
//!     ],
//!     "targetHttpsProxies": [{"project": "acme-staging", "name": "web", "urlMap": "web", "sslCertificates": ["web-cert"]}],
//!     "failOperations": [{"project": "acme-staging", "operationType": "delete", "target": "backendServices/web",
//!       "code": "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", "httpStatus": 400, "times": 1,
//!       "message": "The backend_service resource 'projects/acme-staging/global/backendServices/web' is already being used by 'projects/acme-staging/global/urlMaps/other'"}]
//!   },
//!   "logging": {
//!     "sinks": [
//!       {"project": "acme-staging", "name": "audit-to-bq", "destination": "bigquery.googleapis.com/projects/acme-staging/datasets/audit",
//!        "filter": "logName:cloudaudit.googleapis.com", "bigqueryOptions": {"usePartitionedTables": true}},
//!       {"project": "acme-staging", "name": "old-gcs", "destination": "storage.googleapis.com/acme-old-logs",
//!        "uniqueWriterIdentity": false, "noTimestamps": true, "disabled": true}
//!     ]
//!   },
//!   "run": {
//!     "services": [
//!       {"project": "acme-staging", "location": "us-central1", "id": "api",
//!        "service": {"template": {"containers": [{"image": "us-docker.pkg.dev/cloudrun/container/hello"}],
//!                                 "vpcAccess": {"connector": "projects/acme-staging/locations/us-central1/connectors/old", "egress": "ALL_TRAFFIC"}}}}
//!     ],
//!     "revisionsNeverReady": [{"project": "acme-staging", "location": "us-central1", "service": "worker"}]
//!   },
//!   "bigquery": {
//!     "datasets": [{"project": "acme-staging", "id": "audit", "dataset": {"location": "EU"}}]
//!   },
//!   "vpcaccess": {}, "sqladmin": {}
//! }
//! ```
//!
//! - `projects`: ids with an optional 12-digit `number` (string or integer). Projects not
//!   listed still work; their number is derived from the id.
//! - One optional section per API, named after the API (`secretmanager`, `vpcaccess`,
//!   `sqladmin`, `compute`, `logging`, `run`, `monitoring`, `bigquery`, `cloudresourcemanager`); its content is defined and validated by that API's
//!   module. Secret Manager: `secrets[]` with `project`, `id`, optional `location` (a regional
//!   secret), `replication` (default `{"automatic":{}}` for global secrets), `labels`,
//!   `annotations`, `versionDestroyTtl`, and `versions[]` in order (numbered 1, 2, …), each with
//!   `data` (text) or `dataBase64`, and `state` ENABLED (default), DISABLED or DESTROYED. A
//!   secret without `versions` has none; a DISABLED last version makes `latest` unreadable.
//! - VPC Access: `connectors[]` with `project`, `location`, `id`, `network` + `ipCidrRange` (a
//!   /28) or `subnet` (`{"name", "projectId"?}`), optional `machineType`, `minInstances`,
//!   `maxInstances`, `minThroughput`, `maxThroughput` (no maximum: 3 instances), and `state`
//!   READY (default), CREATING, UPDATING, DELETING or ERROR. CREATING/UPDATING/DELETING finish
//!   (READY, or gone) after the operation duration unless `"pinned": true`; ERROR stays.
//! - Cloud SQL: `instances[]` with `project`, `name`, optional `databaseVersion` (default
//!   POSTGRES_15), `region`, `tier` (default db-f1-micro), `settings` (any further
//!   DatabaseInstance.settings fields), `databaseFlags`, `userLabels`, `privateNetwork`,
//!   `ipv4Enabled`, `deletionProtectionEnabled`, `state` RUNNABLE (default), PENDING_CREATE,
//!   MAINTENANCE (both finish after the operation duration unless `"pinned": true`; meanwhile
//!   mutations get 409 operationInProgress), SUSPENDED or FAILED (mutations other than delete
//!   get 409 invalidState), `failNextOperation` (`"message"` or `{"code": "ERROR_RDBMS",
//!   "message": …}`: the next operation on the instance ends DONE with that error and changes
//!   nothing), `databases[]` (`name`, `charset`, `collation`) and `users[]` (`name`, `host`,
//!   `password` — only its SHA-256 is kept —, `type`).
//! - Compute: `networks`, `subnetworks` (regional: each with its `region`), `healthChecks`,
//!   `sslCertificates`, `backendServices`, `urlMaps`, `targetHttpsProxies`, `forwardingRules`
//!   (seeded in that order, so references resolve), each entry the resource as one would
//!   insert it plus `project`; references may be
//!   full or partial URLs or bare names, and are checked like on insert. `id` and
//!   `creationTimestamp` may be pinned. Managed certificates are PROVISIONING and become ACTIVE
//!   `activateAfter` (seconds or `"90s"`, default the operation duration) after start if they
//!   are served (on a target HTTPS proxy a forwarding rule targets; otherwise their domains
//!   read FAILED_NOT_VISIBLE until they are); `managed.status` and/or
//!   `managed.domainStatus` (e.g. FAILED_NOT_VISIBLE for one domain) pin a state that stays
//!   (unless `activateAfter` is also given), and `"stuck": true` keeps one PROVISIONING.
//!   `failOperations[]`: `{project, operationType (insert, patch, update, delete, setUrlMap,
//!   setSslCertificates), target ("<collection>/<name>"), code (the errors[].code string),
//!   message, httpStatus (default 400), times (default: every time)}` makes matching
//!   operations end DONE with that error and change nothing.
//! - Logging: `sinks[]` with `project`, `name`, `destination`, optional `filter`,
//!   `description`, `disabled`, `exclusions`, `bigqueryOptions`, `uniqueWriterIdentity`
//!   (default true; false gives the legacy shared writer), `writerIdentity` (pins it, e.g. a
//!   service account that no longer exists) and `noTimestamps` (an older sink without
//!   createTime/updateTime).
//! - Cloud Run: `services[]` with `project`, `location`, `id` and `service` (the Service as one
//!   would create it: `template`, `labels`, `ingress`, `traffic`…, validated and defaulted as on
//!   create), each seeded with its first revision ready and serving; `revisionsNeverReady[]`
//!   with `project`, `location`, `service` and an optional `message` (default: the real API's
//!   "The user-provided container failed to start and listen on the port…"): every revision
//!   that service gets (a seeded one included) never becomes ready, so its create or update
//!   operation fails with "Revision '…' is not ready and cannot serve traffic. <message>".
//! - Monitoring: `notificationChannels[]`, `alertPolicies[]`, `uptimeCheckConfigs[]` (seeded in
//!   that order, so policies can name seeded channels), each `{project, id?, resource}` with
//!   the resource as one would create it (`channel`, `policy`, `config` are accepted as the
//!   key's other names), validated and defaulted as on create; `id` pins the server-assigned
//!   id (numeric for channels and policies), and channels take a `verificationStatus`
//!   (e.g. VERIFIED, or UNVERIFIED for a stale address).
//! - BigQuery: `datasets[]` with `project`, `id` and an optional `dataset` (an insert body
//!   without `datasetReference`: `location`, `labels`, `access`…, validated and defaulted as
//!   an insert is).
//! - Resource Manager: `projects[]` with `id` and optional `displayName`, `parent`
//!   (`organizations/N` or `folders/N`) and `labels`: what `projects.get` adds to a project
//!   (every well-formed project id exists without being listed).
//! - A section for an API this emulator does not serve yet is an error unless it is empty.
//! - Unknown keys anywhere are errors, so a typo cannot silently seed nothing.

use std::path::Path;

use serde_json::Value;

use super::api::{Api, Ctx};

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub projects: Vec<ScenarioProject>,
    #[serde(default)]
    pub secretmanager: Option<Value>,
    #[serde(default)]
    pub vpcaccess: Option<Value>,
    #[serde(default)]
    pub sqladmin: Option<Value>,
    #[serde(default)]
    pub compute: Option<Value>,
    #[serde(default)]
    pub logging: Option<Value>,
    #[serde(default)]
    pub run: Option<Value>,
    #[serde(default)]
    pub monitoring: Option<Value>,
    pub bigquery: Option<Value>,
    #[serde(default)]
    pub cloudresourcemanager: Option<Value>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioProject {
    pub id: String,
    #[serde(default)]
    pub number: Option<Value>,
}

impl Scenario {
    pub fn parse(text: &str) -> Result<Scenario, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
        Scenario::parse(&text)
    }

    fn sections(&self) -> [(&'static str, Option<&Value>); 9] {
        [
            ("secretmanager", self.secretmanager.as_ref()),
            ("vpcaccess", self.vpcaccess.as_ref()),
            ("sqladmin", self.sqladmin.as_ref()),
            ("compute", self.compute.as_ref()),
            ("logging", self.logging.as_ref()),
            ("run", self.run.as_ref()),
            ("monitoring", self.monitoring.as_ref()),
            ("bigquery", self.bigquery.as_ref()),
            ("cloudresourcemanager", self.cloudresourcemanager.as_ref()),
        ]
    }

    /// Seeds projects, then each API's section through that API.
    pub fn apply(&self, ctx: &mut Ctx<'_>, apis: &[Box<dyn Api>]) -> Result<(), String> {
        for (i, project) in self.projects.iter().enumerate() {
            if project.id.is_empty() {
                return Err(format!("projects[{i}]: id is empty"));
            }
            match &project.number {
                None => {
                    ctx.store.projects.number_for(&project.id);
                }
                Some(n) => {
                    let number = match n {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        other => return Err(format!("projects[{i}] ({}): number {other} is not a number", project.id)),
                    };
                    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!("projects[{i}] ({}): number \"{number}\" must be digits only", project.id));
                    }
                    ctx.store.projects.insert(&project.id, &number);
                }
            }
        }
        ctx.store.mark_dirty();
        for (name, section) in self.sections() {
            let Some(section) = section else { continue };
            match apis.iter().find(|api| api.name() == name) {
                Some(api) => api.seed(ctx, section)?,
                None if is_empty_section(section) => {}
                None => {
                    let served: Vec<&str> = apis.iter().map(|a| a.name()).collect();
                    return Err(format!(
                        "section \"{name}\" is not supported by this emulator yet (it serves: {}); remove it or leave it empty",
                        served.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
}

fn is_empty_section(section: &Value) -> bool {
    match section {
        Value::Null => true,
        Value::Object(m) => m.values().all(|v| v.as_array().is_some_and(|a| a.is_empty())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::secretmanager::SecretManager;
    use crate::emulator::store::Store;

    fn apis() -> Vec<Box<dyn Api>> {
        vec![
            Box::new(SecretManager),
            Box::new(crate::emulator::vpcaccess::VpcAccess),
            Box::new(crate::emulator::sqladmin::SqlAdmin),
        ]
    }

    #[test]
    fn the_documented_example_seeds_every_served_api() {
        let doc = include_str!("scenario.rs");
        let start = doc.find("```json").expect("an example") + "```json".len();
        let end = start + doc[start..].find("```").expect("its end");
        let example: String =
            doc[start..end].lines().map(|l| l.trim_start().trim_start_matches("//!")).collect::<Vec<_>>().join("\n");
        let scenario = Scenario::parse(&example).unwrap();
        let mut store = Store::new();
        let mut ctx = Ctx { store: &mut store, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
        scenario.apply(&mut ctx, &crate::emulator::server::apis()).unwrap();
        assert!(store.contains("compute", "projects/acme-staging/global/targetHttpsProxies/web"));
        let cert = &store.get("compute", "projects/acme-staging/global/sslCertificates/web-cert").unwrap().value;
        assert_eq!(cert["managed"]["domainStatus"]["b.example.com"], "FAILED_NOT_VISIBLE");
        let number = store.projects.number_for("acme-staging");
        assert!(store.contains("logging", &format!("projects/{number}/sinks/audit-to-bq")));
        let api = &store.get("run", "projects/acme-staging/locations/us-central1/services/api").unwrap().value;
        assert_eq!(api["template"]["vpcAccess"]["egress"], "ALL_TRAFFIC");
    }

    fn seed(text: &str) -> Result<Store, String> {
        let scenario = Scenario::parse(text)?;
        let mut store = Store::new();
        let mut ctx = Ctx { store: &mut store, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
        scenario.apply(&mut ctx, &apis())?;
        Ok(store)
    }

    #[test]
    fn seeds_projects_and_secrets_including_broken_ones() {
        let store = seed(
            r#"{"projects":[{"id":"acme","number":123456789012}],
                "secretmanager":{"secrets":[
                  {"project":"acme","id":"db","versions":[{"data":"a"},{"data":"b","state":"DISABLED"}]},
                  {"project":"acme","id":"empty"},
                  {"project":"acme","id":"gone","versions":[{"data":"x","state":"DESTROYED"}]}]},
                "vpcaccess":{"connectors":[]}}"#,
        )
        .unwrap();
        let v2 = store.get("secretmanager", "projects/123456789012/secrets/db/versions/2").unwrap();
        assert_eq!(v2.value["state"], "DISABLED");
        assert!(store.contains("secretmanager", "projects/123456789012/secrets/empty"));
        assert_eq!(store.children("secretmanager", "projects/123456789012/secrets/empty/versions/").count(), 0);
        let gone = store.get("secretmanager", "projects/123456789012/secrets/gone/versions/1").unwrap();
        assert_eq!(gone.value["state"], "DESTROYED");
        assert!(gone.internal.is_null(), "a destroyed version keeps no payload");
        assert!(gone.value.get("destroyTime").is_some());
    }

    #[test]
    fn errors_name_the_offending_entry() {
        let err = seed(r#"{"secretmanager":{"secrets":[{"project":"p","id":"bad id!"}]}}"#).unwrap_err();
        assert!(err.contains("secrets[0]") && err.contains("bad id!"), "{err}");
        let err = seed(r#"{"secretmanager":{"secrets":[{"project":"p","id":"s","versions":[{"state":"GONE"}]}]}}"#)
            .unwrap_err();
        assert!(err.contains("GONE"), "{err}");
        let err = seed(r#"{"projects":[{"id":"p","number":"12ab"}]}"#).unwrap_err();
        assert!(err.contains("digits"), "{err}");
    }

    #[test]
    fn typos_and_unserved_sections_are_refused() {
        assert!(seed(r#"{"secretmanger":{}}"#).unwrap_err().contains("unknown field"));
        assert!(seed(r#"{"secretmanager":{"secrets":[{"project":"p","id":"s","lables":{}}]}}"#).is_err());
        let err = seed(r#"{"compute":{"healthChecks":[{"name":"hc"}]}}"#).unwrap_err();
        assert!(err.contains("\"compute\" is not supported"), "{err}");
    }

    #[test]
    fn seeds_connectors_and_sql_instances_in_broken_states() {
        let store = seed(
            r#"{"vpcaccess":{"connectors":[
                  {"project":"acme","location":"us-central1","id":"broken","network":"default","ipCidrRange":"10.8.0.0/28","state":"ERROR"}]},
                "sqladmin":{"instances":[
                  {"project":"acme","name":"main","state":"SUSPENDED","databases":[{"name":"app"}],
                   "failNextOperation":"boom"}]}}"#,
        )
        .unwrap();
        let c = store.get("vpcaccess", "projects/acme/locations/us-central1/connectors/broken").unwrap();
        assert_eq!(c.value["state"], "ERROR");
        let i = store.get("sqladmin", "projects/acme/instances/main").unwrap();
        assert_eq!(i.value["state"], "SUSPENDED");
        assert_eq!(i.internal["failNext"]["message"], "boom");
        assert!(store.contains("sqladmin", "projects/acme/instances/main/databases/app"));
        let err = seed(r#"{"sqladmin":{"instances":[{"project":"p","name":"x","state":"ON_FIRE"}]}}"#).unwrap_err();
        assert!(err.contains("sqladmin.instances[0] (x)") && err.contains("ON_FIRE"), "{err}");
    }
}
