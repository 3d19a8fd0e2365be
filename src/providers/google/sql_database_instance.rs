//! `google_sql_database_instance`: a Cloud SQL instance.
//!
//! Follows terraform-provider-google's handwritten resource: `database_version` and `settings`
//! update in place through `instances.patch`; `name`, `region` and `project` replace; the
//! Terraform-only `deletion_protection` (default true) makes Cairn refuse to delete.
//!
//! Cloud SQL is slow and single-threaded per instance, which shapes the code:
//! - every mutation returns a `sql#operation` that is polled through `operations.get` until
//!   DONE (the SDK has no poller for them); a DONE operation with `error` fails the apply with
//!   the API's message;
//! - a 409 while another operation runs on the instance is waited out (retried with backoff
//!   until the resource's timeout), as Terraform's `IsSqlOperationInProgressError` does;
//! - `settings.settingsVersion` is sent on patch, so a change made elsewhere in between gives
//!   412 instead of being silently overwritten; the instance is then re-read and the patch
//!   retried once on top of the new version;
//! - deleted instance names stay reserved for about a week, so the plan warns before a
//!   replacement that keeps the name.
//!
//! Plan-time checks catch what the API rejects only after minutes: tier/edition/engine
//! combinations, a bare network name in `private_network`, and Postgres flag names and values.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_gax::error::Error as GaxError;
use google_cloud_sql_v1::model;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::compute_common::{self as cc, Renames};
use super::errors::{api_error, error_text, http_status, is_not_found};
use super::fields::{self, conform_to_schema, first_block, set, string};
use super::resource_common::{name_schema_timeouts, no_identity, project_child_name, read_grouped, time_left};
use super::retry::{classify, deadline_error, Retrier, Retry, Stop};
use super::{Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, BlockType, Nesting, Rule, Schema, Validator};

const TYPE: &str = "google_sql_database_instance";
const LIST: &str = "sql.instances.list";
const INSERT: &str = "sql.instances.insert";
const GET: &str = "sql.instances.get";
const PATCH: &str = "sql.instances.patch";
const DELETE: &str = "sql.instances.delete";
pub(crate) const GET_OPERATION: &str = "sql.operations.get";

pub struct SqlDatabaseInstance {
    shared: Arc<Shared>,
    schema: Schema,
}

fn single(block: Schema) -> BlockType {
    BlockType { nesting: Nesting::Single, min_items: 0, max_items: 1, force_new: false, block }
}

fn set_of(block: Schema) -> BlockType {
    BlockType { nesting: Nesting::Set, min_items: 0, max_items: 0, force_new: false, block }
}

fn list_of(block: Schema) -> BlockType {
    BlockType { nesting: Nesting::List, min_items: 0, max_items: 0, force_new: false, block }
}

fn opt(ty: AttrType) -> Attribute {
    Attribute::optional(ty)
}

fn strings() -> AttrType {
    AttrType::List(Box::new(AttrType::String))
}

fn string_set() -> AttrType {
    AttrType::Set(Box::new(AttrType::String))
}

/// `[{key: value}]` for the API's read-only lists of objects (`dns_names`, `server_ca_cert`).
fn object_list() -> AttrType {
    AttrType::List(Box::new(AttrType::Map(Box::new(AttrType::String))))
}

fn name_value() -> Schema {
    Schema::new()
        .attr("name", Attribute::required(AttrType::String))
        .attr("value", Attribute::required(AttrType::String))
}

fn ip_configuration() -> Schema {
    let authorized = Schema::new()
        .attr("name", opt(AttrType::String))
        .attr("value", Attribute::required(AttrType::String).describe("A CIDR range or address allowed to connect."))
        .attr("expiration_time", opt(AttrType::String));
    let auto_connection = Schema::new()
        .attr(
            "consumer_network",
            Attribute::required(AttrType::String).describe("projects/{host project}/global/networks/{network}."),
        )
        .attr("consumer_service_project_id", opt(AttrType::String))
        .attr("ip_address", Attribute::computed(AttrType::String))
        .attr("status", Attribute::computed(AttrType::String))
        .attr("consumer_network_status", Attribute::computed(AttrType::String))
        .attr("instance_auto_dns_status", Attribute::computed(AttrType::String))
        .attr("write_endpoint_auto_dns_status", Attribute::computed(AttrType::String))
        .attr("service_connection_policy", Attribute::computed(AttrType::String))
        .attr("service_connection_policy_creation_result", Attribute::computed(AttrType::String));
    let psc = Schema::new()
        .attr("psc_enabled", opt(AttrType::Bool))
        .attr("psc_auto_dns_enabled", opt(AttrType::Bool))
        .attr("psc_write_endpoint_dns_enabled", opt(AttrType::Bool).describe("Enterprise Plus only."))
        .attr("psc_auto_connection_policy_enabled", opt(AttrType::Bool))
        .attr("allowed_consumer_projects", opt(string_set()))
        .attr("network_attachment_uri", opt(AttrType::String))
        .block("psc_auto_connections", list_of(auto_connection));
    Schema::new()
        .attr(
            "ipv4_enabled",
            Attribute::optional(AttrType::Bool)
                .default(true)
                .describe("Whether the instance has a public IPv4 address."),
        )
        .attr(
            "private_network",
            Attribute::optional(AttrType::String)
                .validate(Validator::Custom(Arc::new(check_private_network)))
                .describe("The VPC for private IP: projects/{project}/global/networks/{network}."),
        )
        .attr(
            "ssl_mode",
            Attribute::optional_computed(AttrType::String).validate(Validator::OneOf(vec![
                "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                "ENCRYPTED_ONLY",
                "TRUSTED_CLIENT_CERTIFICATE_REQUIRED",
            ])),
        )
        .attr(
            "server_ca_mode",
            Attribute::optional_computed(AttrType::String).validate(Validator::OneOf(vec![
                "GOOGLE_MANAGED_INTERNAL_CA",
                "GOOGLE_MANAGED_CAS_CA",
                "CUSTOMER_MANAGED_CAS_CA",
            ])),
        )
        .attr("server_ca_pool", opt(AttrType::String))
        .attr(
            "server_certificate_rotation_mode",
            Attribute::optional_computed(AttrType::String)
                .validate(Validator::OneOf(vec!["NO_AUTOMATIC_ROTATION", "AUTOMATIC_ROTATION_DURING_MAINTENANCE"])),
        )
        .attr("custom_subject_alternative_names", opt(string_set()))
        .attr(
            "allocated_ip_range",
            Attribute::optional(AttrType::String).describe("The name of the allocated range for private IP."),
        )
        .attr("enable_private_path_for_google_cloud_services", opt(AttrType::Bool))
        .block("authorized_networks", set_of(authorized))
        .block("psc_config", single(psc))
}

fn backup_configuration() -> Schema {
    let retention = Schema::new().attr("retained_backups", Attribute::required(AttrType::Number)).attr(
        "retention_unit",
        Attribute::optional(AttrType::String).default("COUNT").validate(Validator::OneOf(vec!["COUNT"])),
    );
    Schema::new()
        .attr("enabled", Attribute::optional(AttrType::Bool).default(false))
        .attr("start_time", Attribute::optional_computed(AttrType::String).describe("HH:MM, UTC."))
        .attr("point_in_time_recovery_enabled", Attribute::optional(AttrType::Bool))
        .attr("binary_log_enabled", Attribute::optional(AttrType::Bool).describe("MySQL only."))
        .attr("location", Attribute::optional(AttrType::String))
        .attr(
            "transaction_log_retention_days",
            Attribute::optional_computed(AttrType::Number).validate(Validator::Range { min: 1.0, max: 35.0 }),
        )
        .attr("backup_tier", Attribute::computed(AttrType::String))
        .block("backup_retention_settings", single(retention))
}

fn settings_schema() -> Schema {
    let maintenance = Schema::new()
        .attr(
            "day",
            Attribute::optional(AttrType::Number)
                .validate(Validator::Range { min: 1.0, max: 7.0 })
                .describe("1 = Monday … 7 = Sunday."),
        )
        .attr(
            "hour",
            Attribute::optional(AttrType::Number)
                .validate(Validator::Range { min: 0.0, max: 23.0 })
                .describe("UTC hour."),
        )
        .attr(
            "update_track",
            Attribute::optional(AttrType::String).validate(Validator::OneOf(vec!["canary", "stable", "week5"])),
        );
    let final_backup = Schema::new()
        .attr("enabled", opt(AttrType::Bool))
        .attr("retention_days", opt(AttrType::Number).describe("1 to 365 (BackupDR-managed: up to 99 years)."));
    let machine = Schema::new().attr(
        "threads_per_core",
        opt(AttrType::Number).validate(Validator::Range { min: 1.0, max: 2.0 }).describe("SQL Server only."),
    );
    let active_directory = Schema::new()
        .attr("domain", Attribute::required(AttrType::String))
        .attr(
            "mode",
            opt(AttrType::String)
                .validate(Validator::OneOf(vec!["MANAGED_ACTIVE_DIRECTORY", "CUSTOMER_MANAGED_ACTIVE_DIRECTORY"])),
        )
        .attr("dns_servers", opt(strings()))
        .attr("admin_credential_secret_name", opt(AttrType::String))
        .attr("organizational_unit", opt(AttrType::String));
    let entraid = Schema::new().attr("application_id", opt(AttrType::String)).attr("tenant_id", opt(AttrType::String));
    let data_cache = Schema::new().attr("data_cache_enabled", opt(AttrType::Bool).default(false));
    let deny = Schema::new()
        .attr("end_date", Attribute::required(AttrType::String).describe("yyyy-m-dd, or mm-dd for every year."))
        .attr("start_date", Attribute::required(AttrType::String).describe("yyyy-m-dd, or mm-dd for every year."))
        .attr("time", Attribute::required(AttrType::String).describe("HH:mm:SS, UTC."));
    let audit = Schema::new()
        .attr("bucket", opt(AttrType::String))
        .attr("upload_interval", opt(AttrType::String))
        .attr("retention_interval", opt(AttrType::String));
    let target_metric = Schema::new()
        .attr("metric", opt(AttrType::String))
        .attr("target_value", opt(AttrType::Number).equivalent(same_f32));
    let read_pool = Schema::new()
        .attr("enabled", opt(AttrType::Bool))
        .attr("max_node_count", opt(AttrType::Number))
        .attr("min_node_count", opt(AttrType::Number))
        .attr("disable_scale_in", opt(AttrType::Bool))
        .attr("scale_in_cooldown_seconds", opt(AttrType::Number))
        .attr("scale_out_cooldown_seconds", opt(AttrType::Number))
        .block("target_metrics", list_of(target_metric));
    let location = Schema::new()
        .attr("follow_gae_application", opt(AttrType::String))
        .attr("zone", opt(AttrType::String))
        .attr("secondary_zone", opt(AttrType::String));
    let insights = Schema::new()
        .attr("query_insights_enabled", opt(AttrType::Bool))
        .attr("enhanced_query_insights_enabled", opt(AttrType::Bool))
        .attr(
            "query_string_length",
            opt(AttrType::Number)
                .default(1024)
                .validate(Validator::Range { min: 256.0, max: 4500.0 })
                .describe("Bytes."),
        )
        .attr("record_application_tags", opt(AttrType::Bool))
        .attr("record_client_address", opt(AttrType::Bool))
        .attr(
            "query_plans_per_minute",
            Attribute::optional_computed(AttrType::Number).validate(Validator::Range { min: 0.0, max: 20.0 }),
        );
    let password_policy = Schema::new()
        .attr("min_length", opt(AttrType::Number).validate(Validator::Range { min: 0.0, max: 2_147_483_647.0 }))
        .attr("complexity", opt(AttrType::String).validate(Validator::OneOf(vec!["COMPLEXITY_DEFAULT"])))
        .attr("reuse_interval", opt(AttrType::Number).validate(Validator::Range { min: 0.0, max: 2_147_483_647.0 }))
        .attr("disallow_username_substring", opt(AttrType::Bool))
        .attr("password_change_interval", opt(AttrType::String).describe("A duration such as \"3600s\"."))
        .attr("enable_password_policy", Attribute::required(AttrType::Bool));
    let pool =
        Schema::new().attr("connection_pooling_enabled", opt(AttrType::Bool)).block("flags", set_of(name_value()));
    Schema::new()
        .attr(
            "tier",
            Attribute::required(AttrType::String).describe("Machine type, e.g. db-f1-micro or db-custom-2-7680."),
        )
        .attr(
            "edition",
            Attribute::optional_computed(AttrType::String)
                .validate(Validator::OneOf(vec!["ENTERPRISE", "ENTERPRISE_PLUS"])),
        )
        .attr(
            "availability_type",
            Attribute::optional(AttrType::String)
                .default("ZONAL")
                .validate(Validator::OneOf(vec!["ZONAL", "REGIONAL"])),
        )
        .attr(
            "effective_availability_type",
            Attribute::computed(AttrType::String).describe("The availability type the API reports."),
        )
        .attr(
            "disk_size",
            Attribute::optional_computed(AttrType::Number)
                .validate(Validator::Range { min: 10.0, max: 65536.0 })
                .describe("GB."),
        )
        .attr(
            "disk_type",
            Attribute::optional_computed(AttrType::String).force_new().validate(Validator::OneOf(vec![
                "PD_SSD",
                "PD_HDD",
                "HYPERDISK_BALANCED",
            ])),
        )
        .attr("disk_autoresize", Attribute::optional(AttrType::Bool).default(true))
        .attr("disk_autoresize_limit", opt(AttrType::Number).default(0).describe("GB; 0 means no limit."))
        .attr("data_disk_provisioned_iops", Attribute::optional_computed(AttrType::Number))
        .attr("data_disk_provisioned_throughput", Attribute::optional_computed(AttrType::Number))
        .attr(
            "activation_policy",
            Attribute::optional_computed(AttrType::String).validate(Validator::OneOf(vec![
                "ALWAYS",
                "NEVER",
                "ON_DEMAND",
            ])),
        )
        .attr("user_labels", Attribute::optional(AttrType::Map(Box::new(AttrType::String))))
        .attr("auto_upgrade_enabled", opt(AttrType::Bool).describe("MySQL 8.0.35 and later only."))
        .attr("collation", opt(AttrType::String).force_new())
        .attr(
            "connector_enforcement",
            Attribute::optional_computed(AttrType::String).validate(Validator::OneOf(vec!["REQUIRED", "NOT_REQUIRED"])),
        )
        .attr(
            "data_api_access",
            Attribute::optional_computed(AttrType::String)
                .validate(Validator::OneOf(vec!["ALLOW_DATA_API", "DISALLOW_DATA_API"])),
        )
        .attr(
            "deletion_protection_enabled",
            Attribute::optional(AttrType::Bool)
                .describe("The API-side deletion protection (separate from deletion_protection)."),
        )
        .attr("enable_google_ml_integration", opt(AttrType::Bool))
        .attr("enable_dataplex_integration", opt(AttrType::Bool))
        .attr(
            "replication_lag_max_seconds",
            opt(AttrType::Number).validate(Validator::Range { min: 300.0, max: 31_536_000.0 }),
        )
        .attr(
            "node_count",
            Attribute::optional_computed(AttrType::Number)
                .describe("Read pools only: the number of nodes (the API's instance-level nodeCount)."),
        )
        .attr(
            "pricing_plan",
            Attribute::optional(AttrType::String).default("PER_USE").validate(Validator::OneOf(vec!["PER_USE"])),
        )
        .attr("time_zone", opt(AttrType::String).describe("SQL Server only."))
        .attr("retain_backups_on_delete", opt(AttrType::Bool))
        .attr(
            "version",
            Attribute::computed(AttrType::Number)
                .describe("settingsVersion: the optimistic-concurrency token sent back on patch."),
        )
        .block("ip_configuration", single(ip_configuration()))
        .block("database_flags", set_of(name_value()))
        .block("backup_configuration", single(backup_configuration()))
        .block("maintenance_window", single(maintenance))
        .block("final_backup_config", single(final_backup))
        .block("advanced_machine_features", single(machine))
        .block("active_directory_config", single(active_directory))
        .block("entraid_config", single(entraid))
        .block("data_cache_config", single(data_cache))
        // A list on the wire (denyMaintenancePeriods), one period in Terraform.
        .block("deny_maintenance_period", BlockType { max_items: 1, ..list_of(deny) })
        .block("sql_server_audit_config", single(audit))
        .block("read_pool_auto_scale_config", single(read_pool))
        .block("location_preference", single(location))
        .block("insights_config", single(insights))
        .block("password_validation_policy", single(password_policy))
        .block("connection_pool_config", single(pool))
}

fn replica_configuration() -> Schema {
    let fixed = |ty: AttrType| opt(ty).force_new();
    Schema::new()
        .attr("cascadable_replica", opt(AttrType::Bool).describe("SQL Server only."))
        .attr("ca_certificate", fixed(AttrType::String))
        .attr("client_certificate", fixed(AttrType::String))
        .attr("client_key", fixed(AttrType::String).sensitive())
        .attr("connect_retry_interval", fixed(AttrType::Number))
        .attr("dump_file_path", fixed(AttrType::String))
        .attr("failover_target", fixed(AttrType::Bool))
        .attr("master_heartbeat_period", fixed(AttrType::Number))
        .attr("password", fixed(AttrType::String).sensitive())
        .attr("ssl_cipher", fixed(AttrType::String))
        .attr("username", fixed(AttrType::String))
        .attr("verify_server_certificate", fixed(AttrType::Bool))
}

/// The blocks that ask for an imperative API call (clone, restore) rather than describe the
/// instance: in the schema so configurations validate, refused by [`check_unsupported`].
fn imperative_blocks() -> [(&'static str, Schema); 3] {
    let clone = Schema::new()
        .attr("source_instance_name", Attribute::required(AttrType::String))
        .attr("source_project", opt(AttrType::String))
        .attr("point_in_time", opt(AttrType::String))
        .attr("preferred_zone", opt(AttrType::String))
        .attr("database_names", opt(strings()))
        .attr("allocated_ip_range", opt(AttrType::String))
        .attr("source_instance_deletion_time", opt(AttrType::String));
    let restore = Schema::new()
        .attr("backup_run_id", Attribute::required(AttrType::Number))
        .attr("instance_id", opt(AttrType::String))
        .attr("project", opt(AttrType::String));
    let point_in_time = Schema::new()
        .attr("datasource", Attribute::required(AttrType::String))
        .attr("point_in_time", opt(AttrType::String))
        .attr("target_instance", opt(AttrType::String))
        .attr("region", opt(AttrType::String))
        .attr("private_network", opt(AttrType::String))
        .attr("preferred_zone", opt(AttrType::String))
        .attr("allocated_ip_range", opt(AttrType::String))
        .attr("source_instance_deletion_time", opt(AttrType::String))
        .attr("database_names", opt(strings()));
    [("clone", clone), ("restore_backup_context", restore), ("point_in_time_restore_context", point_in_time)]
}

pub fn schema() -> Schema {
    let replication_cluster = Schema::new()
        .attr("failover_dr_replica_name", opt(AttrType::String).describe("\"project:instance\" or \"instance\"."))
        .attr("psa_write_endpoint", Attribute::computed(AttrType::String))
        .attr("dr_replica", Attribute::computed(AttrType::Bool));
    let mut s = Schema::new()
        .attr(
            "name",
            Attribute::optional_computed(AttrType::String)
                .force_new()
                .validate(Validator::Pattern {
                    regex: "[a-z][-a-z0-9]{0,96}[a-z0-9]",
                    description: "lowercase letters, digits and hyphens, starting with a letter, at most 98 characters",
                })
                .describe("Omit for a generated name: a deleted instance's name cannot be reused for about a week."),
        )
        .attr(
            "database_version",
            Attribute::required(AttrType::String)
                .validate(Validator::Pattern {
                    regex: "(POSTGRES|MYSQL|SQLSERVER)_[0-9A-Z_]+",
                    description: "a version such as POSTGRES_14, MYSQL_8_0 or SQLSERVER_2019_STANDARD",
                })
                .describe("Major upgrades happen in place."),
        )
        .attr(
            "region",
            Attribute::optional_computed(AttrType::String).force_new().describe("Defaults to the provider's region."),
        )
        .attr("project", Attribute::optional_computed(AttrType::String).force_new())
        .attr(
            "deletion_protection",
            Attribute::optional(AttrType::Bool)
                .default(true)
                .describe("While true, Cairn refuses to destroy or replace the instance."),
        )
        .attr(
            "deletion_policy",
            super::resource_common::deletion_policy_attribute(
                "PREVENT: refuse to delete; ABANDON: forget the instance without deleting it.",
            ),
        )
        .attr(
            "switch_transaction_logs_to_cloud_storage_enabled",
            opt(AttrType::Bool).describe("Input only: not returned by the API."),
        )
        .attr(
            "include_replicas_for_major_version_upgrade",
            opt(AttrType::Bool).describe("Input only: applies to a major version upgrade."),
        )
        .attr(
            "maintenance_version",
            Attribute::optional_computed(AttrType::String).describe("Cannot be set on create; sent on update."),
        )
        .attr("master_instance_name", Attribute::optional_computed(AttrType::String).force_new())
        .attr("replica_names", Attribute::optional_computed(strings()))
        .attr("root_password", opt(AttrType::String).sensitive().describe("Sent on create only."))
        .attr(
            "root_password_wo",
            opt(AttrType::String).sensitive().write_only().describe("Never stored: sent on create only."),
        )
        .attr("root_password_wo_version", opt(AttrType::String))
        .attr(
            "encryption_key_name",
            Attribute::optional_computed(AttrType::String).force_new().describe("The CMEK key (same region)."),
        )
        .attr(
            "enforce_new_sql_network_architecture",
            opt(AttrType::Bool).describe("An irreversible opt-in, sent as sqlNetworkArchitecture."),
        )
        .attr(
            "final_backup_description",
            opt(AttrType::String).describe("Sent with the delete when settings.final_backup_config.enabled is true."),
        )
        .attr("backupdr_backup", opt(AttrType::String))
        .attr(
            "instance_type",
            Attribute::optional_computed(AttrType::String).validate(Validator::OneOf(vec![
                "CLOUD_SQL_INSTANCE",
                "ON_PREMISES_INSTANCE",
                "READ_REPLICA_INSTANCE",
                "READ_POOL_INSTANCE",
            ])),
        )
        .attr("id", Attribute::computed(AttrType::String))
        .attr(
            "connection_name",
            Attribute::computed(AttrType::String).describe("project:region:name, for the Cloud SQL connectors."),
        )
        .attr("private_ip_address", Attribute::computed(AttrType::String))
        .attr("public_ip_address", Attribute::computed(AttrType::String))
        .attr("first_ip_address", Attribute::computed(AttrType::String))
        .attr("ip_address", Attribute::computed(object_list()).describe("[{ip_address, type, time_to_retire}]"))
        .attr("self_link", Attribute::computed(AttrType::String))
        .attr("state", Attribute::computed(AttrType::String))
        .attr("dns_name", Attribute::computed(AttrType::String))
        .attr("dns_names", Attribute::computed(object_list()).describe("[{name, connection_type, dns_scope}]"))
        .attr("service_account_email_address", Attribute::computed(AttrType::String))
        .attr("available_maintenance_versions", Attribute::computed(strings()))
        .attr("psc_service_attachment_link", Attribute::computed(AttrType::String))
        .attr(
            "server_ca_cert",
            Attribute::computed(object_list())
                .describe("[{cert, common_name, create_time, expiration_time, sha1_fingerprint}]"),
        )
        .block(
            "settings",
            BlockType {
                nesting: Nesting::Single,
                min_items: 0,
                max_items: 1,
                force_new: false,
                block: settings_schema(),
            },
        )
        .block("replica_configuration", single(replica_configuration()))
        .block("replication_cluster", single(replication_cluster));
    for (name, block) in imperative_blocks() {
        s = s.block(name, single(block));
    }
    s.rule(Rule::AtMostOneOf(vec!["root_password", "root_password_wo"]))
        .rule(Rule::RequiredWith("root_password_wo_version", vec!["root_password_wo"]))
        .rule(Rule::Custom(Arc::new(check_unsupported)))
        .rule(Rule::Custom(Arc::new(check_tier)))
        .rule(Rule::Custom(Arc::new(check_flags)))
}

/// What Cairn cannot do yet, refused at plan time rather than silently ignored: restoring or
/// cloning is an API call of its own (instances.clone, restoreBackup, pointInTimeRestore)
/// that the create/patch path does not make.
fn check_unsupported(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    let present = |name: &str| {
        config.get(name).is_some_and(|v| match v.as_list() {
            Some(items) => !items.is_empty(),
            None => !v.is_null(),
        })
    };
    let refusals = [
        ("clone", "instances.clone"),
        ("restore_backup_context", "instances.restoreBackup"),
        ("point_in_time_restore_context", "instances.pointInTimeRestore"),
        ("backupdr_backup", "instances.restoreBackup from a Backup and DR backup"),
    ];
    for (name, call) in refusals {
        if present(name) {
            out.push((
                AttrPath::attr(name),
                format!("{name} is not supported by Cairn yet: it asks for an imperative {call} call, which Cairn's create and update do not make. Remove {name} and clone or restore with gcloud, then import the instance"),
            ));
        }
    }
    if !present("settings") && !present("clone") {
        out.push((AttrPath::attr("settings"), "settings is required (unless clone is set)".to_string()));
    }
    out
}

fn settings_path() -> AttrPath {
    AttrPath::attr("settings").join_index(0)
}

/// `projects/{p}/global/networks/{n}` (or its compute self link). A bare name is the most
/// common mistake: the API answers "Invalid request" minutes into the create.
fn check_private_network(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let path = s
        .strip_prefix("https://www.googleapis.com/compute/v1/")
        .or_else(|| s.strip_prefix("https://compute.googleapis.com/compute/v1/"))
        .unwrap_or(s);
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "global", "networks", n] if !p.is_empty() && !n.is_empty() => Ok(()),
        [name] if !name.is_empty() => Err(format!(
            "must be the network's path, not its bare name: write \"projects/<project>/global/networks/{name}\" (or google_compute_network.<name>.id)"
        )),
        _ => Err(format!("must be a network path such as \"projects/my-project/global/networks/my-vpc\", got {s:?}")),
    }
}

/// Postgres 16 and later default to Enterprise Plus when no edition is given.
fn default_edition(version: &str) -> &'static str {
    let major = version.strip_prefix("POSTGRES_").and_then(|m| m.split('_').next()).and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 16 => "ENTERPRISE_PLUS",
        _ => "ENTERPRISE",
    }
}

/// Why a tier cannot run `version` in `edition`, if it cannot.
pub fn tier_problem(version: &str, tier: &str, edition: Option<&str>) -> Option<String> {
    let shared_core = matches!(tier, "db-f1-micro" | "db-g1-small");
    let custom = tier.starts_with("db-custom-");
    let perf = tier.starts_with("db-perf-optimized-");
    let explicit = edition.is_some();
    let edition = edition.unwrap_or_else(|| default_edition(version));
    let implied = if explicit {
        String::new()
    } else {
        format!(" ({version} defaults to edition {edition} when settings.edition is not set)")
    };
    if edition == "ENTERPRISE_PLUS" {
        if shared_core {
            return Some(format!(
                "settings.tier \"{tier}\" is a shared-core tier, which edition ENTERPRISE_PLUS does not offer{implied}: set settings.edition = \"ENTERPRISE\", or use a db-perf-optimized-N-* tier"
            ));
        }
        if !perf {
            return Some(format!(
                "settings.tier \"{tier}\" is not available with edition ENTERPRISE_PLUS{implied}: use a db-perf-optimized-N-* tier (e.g. db-perf-optimized-N-2), or set settings.edition = \"ENTERPRISE\""
            ));
        }
        return None;
    }
    if perf {
        return Some(format!("settings.tier \"{tier}\" needs edition ENTERPRISE_PLUS: set settings.edition = \"ENTERPRISE_PLUS\", or use a db-custom-* tier"));
    }
    if version.starts_with("POSTGRES_") && !(shared_core || custom) {
        return Some(format!(
            "settings.tier \"{tier}\" cannot run {version}: Cloud SQL for PostgreSQL offers db-f1-micro, db-g1-small and db-custom-CPUS-MEMORY_MB tiers (e.g. db-custom-2-7680), not MySQL's legacy db-n1-* tiers"
        ));
    }
    if version.starts_with("SQLSERVER_") && !custom {
        return Some(format!("settings.tier \"{tier}\" cannot run {version}: SQL Server needs a db-custom-CPUS-MEMORY_MB tier (e.g. db-custom-2-7680)"));
    }
    None
}

fn check_tier(config: &Value) -> Vec<(AttrPath, String)> {
    let Some(version) = config.get("database_version").filter(|v| !v.is_unknown()).and_then(Value::as_str) else {
        return Vec::new();
    };
    let Some(settings) = first_block(config, "settings").filter(|s| !s.is_unknown()) else { return Vec::new() };
    let Some(tier) = settings.get("tier").filter(|v| !v.is_unknown()).and_then(Value::as_str) else {
        return Vec::new();
    };
    let edition = match settings.get("edition") {
        Some(v) if v.is_unknown() => return Vec::new(),
        Some(v) => v.as_str(),
        None => None,
    };
    match tier_problem(version, tier, edition) {
        Some(m) => vec![(settings_path().join_attr("tier"), format!("{m} (database_version = \"{version}\")"))],
        None => Vec::new(),
    }
}

/// The value a Postgres flag takes.
#[derive(Clone, Copy, Debug)]
pub enum FlagKind {
    Int { min: i64, max: i64, unit: &'static str },
    OnOff,
    OneOf(&'static [&'static str]),
    Text,
}

const I32: i64 = 2_147_483_647;

/// The Cloud SQL for PostgreSQL flags Cairn knows, with their value types (from Cloud SQL's
/// supported-flags list). Anything else on a POSTGRES_* instance is refused at plan time.
pub const POSTGRES_FLAGS: &[(&str, FlagKind)] = &[
    ("max_connections", FlagKind::Int { min: 14, max: 262_143, unit: "" }),
    ("statement_timeout", FlagKind::Int { min: 0, max: I32, unit: " ms" }),
    ("lock_timeout", FlagKind::Int { min: 0, max: I32, unit: " ms" }),
    ("idle_in_transaction_session_timeout", FlagKind::Int { min: 0, max: I32, unit: " ms" }),
    ("idle_session_timeout", FlagKind::Int { min: 0, max: I32, unit: " ms" }),
    ("log_min_duration_statement", FlagKind::Int { min: -1, max: I32, unit: " ms" }),
    ("log_autovacuum_min_duration", FlagKind::Int { min: -1, max: I32, unit: " ms" }),
    ("work_mem", FlagKind::Int { min: 64, max: I32, unit: " kB" }),
    ("maintenance_work_mem", FlagKind::Int { min: 1024, max: I32, unit: " kB" }),
    ("temp_file_limit", FlagKind::Int { min: 1_048_576, max: I32, unit: " kB" }),
    ("log_temp_files", FlagKind::Int { min: -1, max: I32, unit: " kB" }),
    ("max_locks_per_transaction", FlagKind::Int { min: 10, max: I32, unit: "" }),
    ("max_prepared_transactions", FlagKind::Int { min: 0, max: 262_143, unit: "" }),
    ("max_parallel_workers", FlagKind::Int { min: 0, max: 1024, unit: "" }),
    ("max_parallel_workers_per_gather", FlagKind::Int { min: 0, max: 1024, unit: "" }),
    ("max_worker_processes", FlagKind::Int { min: 8, max: 4096, unit: "" }),
    ("default_statistics_target", FlagKind::Int { min: 1, max: 10_000, unit: "" }),
    ("track_activity_query_size", FlagKind::Int { min: 100, max: 1_048_576, unit: " B" }),
    ("tcp_keepalives_idle", FlagKind::Int { min: 0, max: I32, unit: " s" }),
    ("tcp_keepalives_interval", FlagKind::Int { min: 0, max: I32, unit: " s" }),
    ("tcp_keepalives_count", FlagKind::Int { min: 0, max: I32, unit: "" }),
    ("autovacuum_naptime", FlagKind::Int { min: 1, max: 2_147_483, unit: " s" }),
    ("autovacuum_max_workers", FlagKind::Int { min: 1, max: 262_143, unit: "" }),
    ("autovacuum_vacuum_threshold", FlagKind::Int { min: 0, max: I32, unit: "" }),
    ("log_connections", FlagKind::OnOff),
    ("log_disconnections", FlagKind::OnOff),
    ("log_checkpoints", FlagKind::OnOff),
    ("log_lock_waits", FlagKind::OnOff),
    ("log_duration", FlagKind::OnOff),
    ("log_hostname", FlagKind::OnOff),
    ("autovacuum", FlagKind::OnOff),
    ("track_io_timing", FlagKind::OnOff),
    ("cloudsql.iam_authentication", FlagKind::OnOff),
    ("cloudsql.enable_pgaudit", FlagKind::OnOff),
    ("cloudsql.logical_decoding", FlagKind::OnOff),
    ("cloudsql.enable_pg_cron", FlagKind::OnOff),
    ("log_statement", FlagKind::OneOf(&["none", "ddl", "mod", "all"])),
    ("log_error_verbosity", FlagKind::OneOf(&["terse", "default", "verbose"])),
    (
        "log_min_messages",
        FlagKind::OneOf(&[
            "debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log", "fatal",
            "panic",
        ]),
    ),
    (
        "log_min_error_statement",
        FlagKind::OneOf(&[
            "debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log", "fatal",
            "panic",
        ]),
    ),
    ("pg_stat_statements.track", FlagKind::OneOf(&["none", "top", "all"])),
    ("pgaudit.log", FlagKind::Text),
    ("cron.database_name", FlagKind::Text),
    ("random_page_cost", FlagKind::Text),
    ("timezone", FlagKind::Text),
];

pub fn postgres_flag(name: &str) -> Option<FlagKind> {
    POSTGRES_FLAGS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// What is wrong with one Postgres flag, if anything.
pub fn flag_problem(name: &str, value: &str) -> Option<String> {
    let Some(kind) = postgres_flag(name) else {
        let best =
            POSTGRES_FLAGS.iter().map(|(n, _)| (strsim::jaro_winkler(name, n), *n)).max_by(|a, b| a.0.total_cmp(&b.0));
        let hint = match best {
            Some((score, n)) if score > 0.85 => format!(" Did you mean \"{n}\"?"),
            _ => " Check the name against Cloud SQL's supported PostgreSQL flags.".to_string(),
        };
        return Some(format!("database flag \"{name}\" is not a Cloud SQL for PostgreSQL flag Cairn knows.{hint}"));
    };
    match kind {
        FlagKind::Int { min, max, unit } => match value.trim().parse::<i64>() {
            Ok(n) if n >= min && n <= max => None,
            Ok(n) => Some(format!("database flag \"{name}\" must be between {min} and {max}{unit}, got {n}")),
            Err(_) => {
                let unit_words = if unit.is_empty() { String::new() } else { format!(" in{unit}") };
                let hint = match (unit, suffixed_ms(value)) {
                    (" ms", Some(ms)) => format!(": write \"{ms}\""),
                    _ => String::new(),
                };
                Some(format!("database flag \"{name}\" takes a whole number{unit_words}, got \"{value}\"{hint}"))
            }
        },
        FlagKind::OnOff => match value {
            "on" | "off" => None,
            _ => Some(format!("database flag \"{name}\" takes \"on\" or \"off\", got \"{value}\"")),
        },
        FlagKind::OneOf(options) => {
            if options.contains(&value) {
                None
            } else {
                Some(format!(
                    "database flag \"{name}\" takes one of {}, got \"{value}\"",
                    options.iter().map(|o| format!("\"{o}\"")).collect::<Vec<_>>().join(", ")
                ))
            }
        }
        FlagKind::Text => None,
    }
}

/// "35s" / "500ms" / "2min" as milliseconds, for the hint on a millisecond flag.
fn suffixed_ms(value: &str) -> Option<i64> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = v.split_at(split);
    let n: i64 = n.parse().ok()?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1000,
        "min" | "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn check_flags(config: &Value) -> Vec<(AttrPath, String)> {
    let Some(settings) = first_block(config, "settings").filter(|s| !s.is_unknown()) else { return Vec::new() };
    let Some(flags) = settings.get("database_flags").filter(|v| !v.is_unknown()).and_then(Value::as_list) else {
        return Vec::new();
    };
    let version = config.get("database_version").filter(|v| !v.is_unknown()).and_then(Value::as_str);
    // Set elements have no stable position, so errors point at the flags and name the flag.
    let at = settings_path().join_attr("database_flags");
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in flags {
        let (Some(name), Some(value)) =
            (f.get("name").and_then(Value::as_str), f.get("value").filter(|v| !v.is_unknown()).and_then(Value::as_str))
        else {
            continue;
        };
        *seen.entry(name.to_string()).or_default() += 1;
        if version.is_some_and(|v| v.starts_with("POSTGRES_")) {
            if let Some(m) = flag_problem(name, value) {
                out.push((at.clone(), format!("{m} (in settings.database_flags)")));
            }
        }
    }
    for (name, n) in seen {
        if n > 1 {
            out.push((
                at.clone(),
                format!("database flag \"{name}\" is set {n} times in settings.database_flags; keep one"),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Calls and operations, shared with google_sql_database and google_sql_user.

/// Why a Cloud SQL call loop stopped.
pub(crate) enum SqlFail {
    Api(GaxError),
    Deadline(ProviderError),
}

impl SqlFail {
    pub fn into_error(self, method: &str) -> ProviderError {
        match self {
            SqlFail::Api(e) => api_error(method, &e),
            SqlFail::Deadline(e) => e,
        }
    }
}

/// A 409 that only says "not now": Cloud SQL runs one operation per instance at a time and
/// answers 409 (operationInProgress, and at times invalidState) to the rest; Terraform retries
/// any 409 except the already-exists ones.
pub(crate) fn is_busy(e: &GaxError) -> bool {
    http_status(e) == Some(409) && {
        let t = error_text(e);
        !(t.contains("AlreadyExists") || t.contains("alreadyExists") || t.contains("already exists"))
    }
}

/// Runs a Cloud SQL call with Terraform's rules plus "wait out a busy instance". Ambiguous
/// failures (5xx, dropped answers) are retried only when `idempotent`; otherwise they set
/// `ambiguous` and stop, so the caller can check what happened.
pub(crate) async fn sql_call<T, F, Fut>(
    calls: &Retrier,
    method: &str,
    timeout: Duration,
    deadline: Instant,
    idempotent: bool,
    ambiguous: &mut bool,
    mut call: F,
) -> Result<T, SqlFail>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, GaxError>>,
{
    let mut last: Option<GaxError> = None;
    for attempt in 0u32.. {
        match calls.attempt(deadline, call()).await {
            Ok(v) => return Ok(v),
            Err(Stop::Failed(e)) => {
                let kind = if is_busy(&e) { Retry::NotProcessed } else { classify(&e) };
                match kind {
                    Retry::Permanent => return Err(SqlFail::Api(e)),
                    Retry::Ambiguous => {
                        *ambiguous = true;
                        if !idempotent {
                            return Err(SqlFail::Api(e));
                        }
                    }
                    Retry::NotProcessed => {}
                }
                last = Some(e);
            }
            Err(Stop::Deadline(_)) => break,
        }
        if !calls.pause(attempt, deadline).await {
            break;
        }
    }
    Err(SqlFail::Deadline(deadline_error(method, timeout, last.as_ref())))
}

/// An idempotent Cloud SQL read within `timeout`.
pub(crate) async fn sql_read<T, F, Fut>(
    calls: &Retrier,
    method: &str,
    timeout: Duration,
    call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, GaxError>>,
{
    let mut ambiguous = false;
    let deadline = Instant::now() + timeout;
    sql_call(calls, method, timeout, deadline, true, &mut ambiguous, call).await.map_err(|e| e.into_error(method))
}

/// A Cloud SQL insert of an object inside an instance, and its operation (`what` names it in
/// progress and errors). An insert is not resent after an ambiguous failure (a lost answer):
/// `created` then looks for the object in the time left, and finding it counts as success.
#[allow(clippy::too_many_arguments)] // the wait's arguments plus the call and the check
pub(crate) async fn sql_insert<F, Fut, C, CFut>(
    c: &Clients,
    ctx: &CallContext,
    project: &str,
    method: &str,
    what: &str,
    deadline: Instant,
    call: F,
    created: C,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<model::Operation, GaxError>>,
    C: FnOnce(Duration) -> CFut,
    CFut: std::future::Future<Output = bool>,
{
    let mut ambiguous = false;
    match sql_call(&c.sql_calls, method, ctx.timeout, deadline, false, &mut ambiguous, call).await {
        Ok(op) => wait_operation(c, ctx, project, op, method, what, None, deadline).await,
        Err(SqlFail::Api(e)) if ambiguous => {
            if created(time_left(deadline)).await {
                Ok(())
            } else {
                Err(api_error(method, &e))
            }
        }
        Err(e) => Err(e.into_error(method)),
    }
}

/// A Cloud SQL delete and its operation (`what` names it in progress and errors); an object
/// already gone is deleted.
pub(crate) async fn sql_delete<F, Fut>(
    c: &Clients,
    ctx: &CallContext,
    project: &str,
    method: &str,
    what: &str,
    call: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<model::Operation, GaxError>>,
{
    let deadline = Instant::now() + ctx.timeout;
    let mut ambiguous = false;
    match sql_call(&c.sql_calls, method, ctx.timeout, deadline, true, &mut ambiguous, call).await {
        Ok(op) => wait_operation(c, ctx, project, op, method, what, None, deadline).await,
        Err(SqlFail::Api(e)) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into_error(method)),
    }
}

/// Sleeps before poll `attempt`: close to Terraform's 2 s minimum against the real API,
/// milliseconds against the emulator. False when the wait would pass the deadline.
pub(crate) async fn pause_poll(calls: &Retrier, attempt: u32, deadline: Instant) -> bool {
    let d = calls.backoff.ceiling(attempt.saturating_add(2));
    if Instant::now() + d >= deadline {
        return false;
    }
    tokio::time::sleep(d).await;
    true
}

/// Polls a `sql#operation` until DONE. `what` says what is happening ("creating instance x");
/// `instance` (when given) is read while waiting so progress can show its state. A failed
/// operation's errors become the message, under `method`.
#[allow(clippy::too_many_arguments)] // one call site per mutation; a struct would only rename them
pub(crate) async fn wait_operation(
    c: &Clients,
    ctx: &CallContext,
    project: &str,
    mut op: model::Operation,
    method: &str,
    what: &str,
    instance: Option<&str>,
    deadline: Instant,
) -> Result<(), ProviderError> {
    use model::operation::SqlOperationStatus;
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        if op.status == SqlOperationStatus::Done {
            let errors = op.error.as_ref().map(|e| e.errors.as_slice()).unwrap_or(&[]);
            if errors.is_empty() {
                return Ok(());
            }
            let detail: Vec<String> = errors
                .iter()
                .map(|e| if e.code.is_empty() { e.message.clone() } else { format!("{} ({})", e.message, e.code) })
                .collect();
            return Err(ProviderError::new(format!("{what} failed: {} (operation {})", detail.join("; "), op.name))
                .method(method));
        }
        let state = match instance {
            Some(name) => c
                .sql_instances
                .get()
                .set_project(project)
                .set_instance(name)
                .send()
                .await
                .ok()
                .and_then(|i| i.state.name().map(str::to_string))
                .map(|s| format!("state {s}")),
            None => None,
        };
        let status = state.unwrap_or_else(|| format!("operation {}", op.status.name().unwrap_or("PENDING")));
        (ctx.progress)(&format!("{what}: {status}, {}s elapsed", started.elapsed().as_secs()));
        if !pause_poll(&c.sql_calls, attempt, deadline).await {
            return Err(deadline_error(method, ctx.timeout, None));
        }
        attempt += 1;
        let name = op.name.clone();
        let mut ambiguous = false;
        let remaining = deadline.saturating_duration_since(Instant::now());
        match sql_call(&c.sql_calls, GET_OPERATION, remaining, deadline, true, &mut ambiguous, || {
            c.sql_operations.get().set_project(project).set_operation(name.clone()).send()
        })
        .await
        {
            Ok(next) => op = next,
            // Terraform treats a 404 on operations.get as "not visible yet".
            Err(SqlFail::Api(e)) if is_not_found(&e) => {}
            Err(e) => return Err(e.into_error(GET_OPERATION)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State and requests

fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::string(s)
    }
}

fn enum_text(name: Option<&str>) -> Value {
    match name {
        Some(n) if !n.is_empty() && !n.ends_with("_UNSPECIFIED") => Value::string(n),
        _ => Value::Null,
    }
}

/// An optional (not computed) boolean: the API's false or absence reads as null when the
/// configuration left it unset, so an unset argument shows no diff.
fn opt_bool(api: Option<bool>, prior: Option<&Value>) -> Value {
    let prior_set = prior.is_some_and(|p| !p.is_null());
    match api {
        Some(true) => Value::Bool(true),
        Some(false) | None if prior_set => Value::Bool(false),
        _ => Value::Null,
    }
}

fn opt_str(api: &str, prior: Option<&Value>) -> Value {
    if api.is_empty() && prior.is_some_and(|p| p.as_str() == Some("")) {
        return Value::string("");
    }
    text(api)
}

/// Whether an optional block appears in state: as the prior state had it, or (on import) when
/// the API shows one.
fn include_block(prior: Option<&Value>, name: &str, api_has: bool) -> bool {
    match prior {
        Some(p) => first_block(p, name).is_some(),
        None => api_has,
    }
}

fn ip_type_name(t: &model::SqlIpAddressType) -> String {
    t.name().unwrap_or("").to_string()
}

impl SqlDatabaseInstance {
    pub fn new(shared: Arc<Shared>) -> Self {
        SqlDatabaseInstance { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    pub fn to_state(&self, project: &str, i: &model::DatabaseInstance, prior: Option<&Value>) -> Value {
        let j = cc::model_json(i);
        let hand = self.hand_state(project, i, prior);
        let mut generic = cc::from_wire(&self.schema, &j, RENAMES);
        let settings = j.get("settings").filter(|s| s.is_object());
        let mut s = settings.map(|s| cc::from_wire(&settings_schema(), s, RENAMES)).unwrap_or(Value::Null);
        if let Some(api) = i.settings.as_ref() {
            set(&mut s, "effective_availability_type", enum_text(api.availability_type.name()));
        }
        set(
            &mut s,
            "node_count",
            j.get("nodeCount").map(|n| cc::json_to_value(n, &AttrType::Number)).unwrap_or(Value::Null),
        );
        set(&mut generic, "settings", Value::List(vec![s]));
        set(&mut generic, "replica_configuration", replica_state(&j, prior));
        set(
            &mut generic,
            "encryption_key_name",
            text(j.pointer("/diskEncryptionConfiguration/kmsKeyName").and_then(Json::as_str).unwrap_or("")),
        );
        let dns: Vec<&Json> =
            j.get("dnsNames").and_then(Json::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        set(
            &mut generic,
            "dns_names",
            objects(&dns, &[("name", "name"), ("connection_type", "connectionType"), ("dns_scope", "dnsScope")]),
        );
        let certs: Vec<&Json> = j.get("serverCaCert").into_iter().collect();
        set(
            &mut generic,
            "server_ca_cert",
            objects(
                &certs,
                &[
                    ("cert", "cert"),
                    ("common_name", "commonName"),
                    ("create_time", "createTime"),
                    ("expiration_time", "expirationTime"),
                    ("sha1_fingerprint", "sha1Fingerprint"),
                ],
            ),
        );
        set(&mut generic, "maintenance_version", text(&i.maintenance_version));
        let generic = name_enums(&self.schema, generic);
        let mut v = fill_value(hand, &generic);
        for name in KEPT {
            set(&mut v, name, prior.and_then(|p| p.get(name)).cloned().unwrap_or(Value::Null));
        }
        let v = conform_to_schema(&self.schema, v);
        conform_to_schema(&self.schema, settle(&self.schema, v, prior))
    }

    /// The fields mapped by hand (enum spellings, null-versus-empty rules, the IP address
    /// shortcuts); [`Self::to_state`] adds the rest through the generic mapping.
    fn hand_state(&self, project: &str, i: &model::DatabaseInstance, prior: Option<&Value>) -> Value {
        let ps = prior.and_then(|p| first_block(p, "settings"));
        let pget = |block: Option<&Value>, name: &str| block.and_then(|b| b.get(name)).cloned();
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        let project = if i.project.is_empty() { project.to_string() } else { i.project.clone() };
        m.insert("name".into(), Value::string(i.name.clone()));
        m.insert("id".into(), Value::string(i.name.clone()));
        m.insert("project".into(), Value::string(project.clone()));
        m.insert("region".into(), text(&i.region));
        m.insert("database_version".into(), enum_text(i.database_version.name()));
        m.insert("state".into(), enum_text(i.state.name()));
        let connection = if i.connection_name.is_empty() {
            format!("{project}:{}:{}", i.region, i.name)
        } else {
            i.connection_name.clone()
        };
        m.insert("connection_name".into(), Value::string(connection));
        m.insert(
            "self_link".into(),
            Value::string(if i.self_link.is_empty() {
                format!("https://sqladmin.googleapis.com/v1/projects/{project}/instances/{}", i.name)
            } else {
                i.self_link.clone()
            }),
        );
        let addrs: Vec<Value> = i
            .ip_addresses
            .iter()
            .map(|a| {
                Value::map([
                    ("ip_address", Value::string(a.ip_address.clone())),
                    ("type", Value::string(ip_type_name(&a.r#type))),
                    (
                        "time_to_retire",
                        a.time_to_retire.map(|t| Value::string(String::from(t))).unwrap_or(Value::string("")),
                    ),
                ])
            })
            .collect();
        let of_type = |t: &str| {
            i.ip_addresses
                .iter()
                .find(|a| ip_type_name(&a.r#type) == t)
                .map(|a| Value::string(a.ip_address.clone()))
                .unwrap_or(Value::string(""))
        };
        m.insert("public_ip_address".into(), of_type("PRIMARY"));
        m.insert("private_ip_address".into(), of_type("PRIVATE"));
        m.insert(
            "first_ip_address".into(),
            i.ip_addresses.first().map(|a| Value::string(a.ip_address.clone())).unwrap_or(Value::string("")),
        );
        m.insert("ip_address".into(), Value::List(addrs));
        m.insert(
            "deletion_protection".into(),
            Value::Bool(prior.and_then(|p| p.get("deletion_protection")).and_then(Value::as_bool).unwrap_or(true)),
        );

        let settings = i.settings.clone().unwrap_or_default();
        let mut s: BTreeMap<String, Value> = BTreeMap::new();
        s.insert("tier".into(), Value::string(settings.tier.clone()));
        s.insert("edition".into(), enum_text(settings.edition.name()));
        s.insert(
            "availability_type".into(),
            match enum_text(settings.availability_type.name()) {
                Value::Null => Value::string("ZONAL"),
                v => v,
            },
        );
        s.insert("disk_size".into(), settings.data_disk_size_gb.map(Value::from).unwrap_or(Value::Null));
        s.insert("disk_type".into(), enum_text(settings.data_disk_type.name()));
        s.insert("disk_autoresize".into(), Value::Bool(settings.storage_auto_resize.unwrap_or(true)));
        s.insert("activation_policy".into(), enum_text(settings.activation_policy.name()));
        s.insert("user_labels".into(), fields::api_map(&settings.user_labels, pget(ps, "user_labels").as_ref()));
        s.insert(
            "deletion_protection_enabled".into(),
            opt_bool(settings.deletion_protection_enabled, pget(ps, "deletion_protection_enabled").as_ref()),
        );
        s.insert("version".into(), settings.settings_version.map(Value::from).unwrap_or(Value::Null));

        let pip = ps.and_then(|p| first_block(p, "ip_configuration"));
        let ip = settings.ip_configuration.clone();
        if include_block(ps, "ip_configuration", ip.is_some()) {
            let ip = ip.unwrap_or_default();
            let nets: Vec<Value> = ip
                .authorized_networks
                .iter()
                .map(|a| {
                    Value::map([
                        ("name", text(&a.name)),
                        ("value", Value::string(a.value.clone())),
                        (
                            "expiration_time",
                            a.expiration_time.map(|t| Value::string(String::from(t))).unwrap_or(Value::Null),
                        ),
                    ])
                })
                .collect();
            s.insert(
                "ip_configuration".into(),
                Value::List(vec![Value::map([
                    ("ipv4_enabled", Value::Bool(ip.ipv4_enabled.unwrap_or(false))),
                    ("private_network", opt_str(&ip.private_network, pget(pip, "private_network").as_ref())),
                    ("ssl_mode", enum_text(ip.ssl_mode.name())),
                    ("allocated_ip_range", opt_str(&ip.allocated_ip_range, pget(pip, "allocated_ip_range").as_ref())),
                    ("authorized_networks", Value::set(nets)),
                ])]),
            );
        }
        let flags: Vec<Value> = settings
            .database_flags
            .iter()
            .map(|f| Value::map([("name", Value::string(f.name.clone())), ("value", Value::string(f.value.clone()))]))
            .collect();
        s.insert("database_flags".into(), Value::set(flags));
        let pb = ps.and_then(|p| first_block(p, "backup_configuration"));
        if let Some(b) =
            settings.backup_configuration.as_ref().filter(|_| include_block(ps, "backup_configuration", true))
        {
            let has_any = b.enabled == Some(true) || pb.is_some();
            if has_any || prior.is_some() {
                s.insert(
                    "backup_configuration".into(),
                    Value::List(vec![Value::map([
                        ("enabled", Value::Bool(b.enabled.unwrap_or(false))),
                        ("start_time", text(&b.start_time)),
                        (
                            "point_in_time_recovery_enabled",
                            opt_bool(
                                b.point_in_time_recovery_enabled,
                                pget(pb, "point_in_time_recovery_enabled").as_ref(),
                            ),
                        ),
                        ("binary_log_enabled", opt_bool(b.binary_log_enabled, pget(pb, "binary_log_enabled").as_ref())),
                        ("location", opt_str(&b.location, pget(pb, "location").as_ref())),
                        (
                            "transaction_log_retention_days",
                            b.transaction_log_retention_days.map(Value::from).unwrap_or(Value::Null),
                        ),
                    ])]),
                );
            }
        }
        let pm = ps.and_then(|p| first_block(p, "maintenance_window"));
        if let Some(w) = settings.maintenance_window.as_ref().filter(|_| include_block(ps, "maintenance_window", true))
        {
            let num = |n: Option<i32>, prior: Option<Value>| match n {
                Some(n) if n != 0 || prior.as_ref().is_some_and(|p| !p.is_null()) => Value::from(n),
                _ => Value::Null,
            };
            s.insert(
                "maintenance_window".into(),
                Value::List(vec![Value::map([
                    ("day", num(w.day, pget(pm, "day"))),
                    ("hour", num(w.hour, pget(pm, "hour"))),
                    ("update_track", enum_text(w.update_track.name())),
                ])]),
            );
        }
        // The blocks decided here stay decided: absent ones must not be filled in by the
        // generic mapping.
        for block in ["ip_configuration", "backup_configuration", "maintenance_window"] {
            s.entry(block.into()).or_insert_with(|| Value::List(Vec::new()));
        }
        m.insert("settings".into(), Value::List(vec![Value::object(s)]));
        Value::object(m)
    }

    async fn get(
        &self,
        c: &Clients,
        project: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<model::DatabaseInstance, ProviderError> {
        sql_read(&c.sql_calls, GET, timeout, || c.sql_instances.get().set_project(project).set_instance(name).send())
            .await
    }

    async fn list(
        &self,
        c: &Clients,
        project: &str,
        timeout: Duration,
    ) -> Result<Option<HashMap<String, model::DatabaseInstance>>, ProviderError> {
        let mut out = HashMap::new();
        let mut token = String::new();
        let deadline = Instant::now() + timeout;
        loop {
            let mut ambiguous = false;
            let page = sql_call(&c.sql_calls, LIST, timeout, deadline, true, &mut ambiguous, || {
                c.sql_instances.list().set_project(project).set_max_results(500u32).set_page_token(token.clone()).send()
            })
            .await;
            let page = match page {
                Ok(p) => p,
                Err(SqlFail::Api(e)) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(e.into_error(LIST)),
            };
            for i in page.items {
                out.insert(i.name.clone(), i);
            }
            if page.next_page_token.is_empty() {
                return Ok(Some(out));
            }
            token = page.next_page_token;
        }
    }
}

/// The hand-mapped part of the settings request; [`settings_request`] adds the rest.
fn hand_settings(planned: &Value, settings_version: Option<i64>) -> model::Settings {
    let Some(s) = first_block(planned, "settings") else { return model::Settings::new() };
    let known = |v: &Value, name: &str| v.get(name).filter(|x| !x.is_unknown() && !x.is_null()).cloned();
    let mut out = model::Settings::new().set_tier(string(s, "tier").unwrap_or_default());
    if let Some(v) = settings_version {
        out = out.set_settings_version(v);
    }
    if let Some(e) = known(s, "edition").and_then(|v| v.as_str().map(str::to_string)) {
        out = out.set_edition(model::settings::Edition::from(e.as_str()));
    }
    if let Some(a) = string(s, "availability_type") {
        out = out.set_availability_type(model::SqlAvailabilityType::from(a.as_str()));
    }
    if let Some(n) = known(s, "disk_size").and_then(|v| v.as_i64()) {
        out = out.set_data_disk_size_gb(n);
    }
    if let Some(t) = known(s, "disk_type").and_then(|v| v.as_str().map(str::to_string)) {
        out = out.set_data_disk_type(model::SqlDataDiskType::from(t.as_str()));
    }
    out = out.set_storage_auto_resize(fields::boolean(s, "disk_autoresize", true));
    if let Some(a) = known(s, "activation_policy").and_then(|v| v.as_str().map(str::to_string)) {
        out = out.set_activation_policy(model::settings::SqlActivationPolicy::from(a.as_str()));
    }
    out = out.set_user_labels(fields::string_map(s, "user_labels"));
    if let Some(b) = known(s, "deletion_protection_enabled").and_then(|v| v.as_bool()) {
        out = out.set_deletion_protection_enabled(b);
    }
    if let Some(ip) = first_block(s, "ip_configuration") {
        let nets = fields::blocks(ip, "authorized_networks").iter().map(|n| {
            let mut acl = model::AclEntry::new()
                .set_value(string(n, "value").unwrap_or_default())
                .set_name(string(n, "name").unwrap_or_default());
            if let Some(t) =
                string(n, "expiration_time").and_then(|t| google_cloud_wkt::Timestamp::try_from(t.as_str()).ok())
            {
                acl = acl.set_expiration_time(t);
            }
            acl
        });
        let mut conf = model::IpConfiguration::new()
            .set_ipv4_enabled(fields::boolean(ip, "ipv4_enabled", true))
            .set_private_network(string(ip, "private_network").unwrap_or_default())
            .set_allocated_ip_range(string(ip, "allocated_ip_range").unwrap_or_default())
            .set_authorized_networks(nets);
        if let Some(m) = known(ip, "ssl_mode").and_then(|v| v.as_str().map(str::to_string)) {
            conf = conf.set_ssl_mode(model::ip_configuration::SslMode::from(m.as_str()));
        }
        out = out.set_ip_configuration(conf);
    }
    let flags = fields::blocks(s, "database_flags").iter().filter_map(|f| {
        Some(
            model::DatabaseFlags::new()
                .set_name(string(f, "name")?)
                .set_value(f.get("value").and_then(Value::as_str).unwrap_or_default()),
        )
    });
    out = out.set_database_flags(flags);
    if let Some(b) = first_block(s, "backup_configuration") {
        let mut conf = model::BackupConfiguration::new().set_enabled(fields::boolean(b, "enabled", false));
        if let Some(t) = known(b, "start_time").and_then(|v| v.as_str().map(str::to_string)) {
            conf = conf.set_start_time(t);
        }
        if let Some(x) = known(b, "point_in_time_recovery_enabled").and_then(|v| v.as_bool()) {
            conf = conf.set_point_in_time_recovery_enabled(x);
        }
        if let Some(x) = known(b, "binary_log_enabled").and_then(|v| v.as_bool()) {
            conf = conf.set_binary_log_enabled(x);
        }
        if let Some(l) = string(b, "location") {
            conf = conf.set_location(l);
        }
        if let Some(n) =
            known(b, "transaction_log_retention_days").and_then(|v| v.as_i64()).and_then(|n| i32::try_from(n).ok())
        {
            conf = conf.set_transaction_log_retention_days(n);
        }
        out = out.set_backup_configuration(conf);
    }
    if let Some(w) = first_block(s, "maintenance_window") {
        let mut conf = model::MaintenanceWindow::new();
        if let Some(n) = known(w, "day").and_then(|v| v.as_i64()).and_then(|n| i32::try_from(n).ok()) {
            conf = conf.set_day(n);
        }
        if let Some(n) = known(w, "hour").and_then(|v| v.as_i64()).and_then(|n| i32::try_from(n).ok()) {
            conf = conf.set_hour(n);
        }
        if let Some(t) = string(w, "update_track") {
            conf = conf.set_update_track(model::SqlUpdateTrack::from(t.as_str()));
        }
        out = out.set_maintenance_window(conf);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The generic mapping: every attribute and block the hand-written code above does not map goes
// through the schema-driven REST JSON mapping (`compute_common::to_wire` / `from_wire`), with
// these exceptions to the camelCase rule. An empty key: not sent as-is (mapped below, or
// Terraform-only).

const RENAMES: Renames = &[
    ("settings[]", ""),
    ("disk_size", "dataDiskSizeGb"),
    ("disk_type", "dataDiskType"),
    ("disk_autoresize", "storageAutoResize"),
    ("disk_autoresize_limit", "storageAutoResizeLimit"),
    ("database_flags[]", "databaseFlags"),
    ("deny_maintenance_period[]", "denyMaintenancePeriods"),
    ("consumer_service_project_id", "consumerProject"),
    ("node_count", ""),
    ("effective_availability_type", ""),
    ("replica_configuration[]", ""),
    ("encryption_key_name", ""),
    ("root_password", ""),
    ("root_password_wo_version", ""),
    ("maintenance_version", ""),
    ("deletion_protection", ""),
    ("deletion_policy", ""),
    ("final_backup_description", ""),
    ("enforce_new_sql_network_architecture", ""),
    ("backupdr_backup", ""),
    ("clone[]", ""),
    ("restore_backup_context[]", ""),
    ("point_in_time_restore_context[]", ""),
];

/// The SDK models serialize enums as numbers: the generic mapping's enum attributes, with their
/// names.
type EnumName = fn(i32) -> Option<String>;
const ENUMS: [(&str, EnumName); 9] = [
    ("instance_type", |n| model::SqlInstanceType::from(n).name().map(str::to_string)),
    ("pricing_plan", |n| model::SqlPricingPlan::from(n).name().map(str::to_string)),
    ("connector_enforcement", |n| model::settings::ConnectorEnforcement::from(n).name().map(str::to_string)),
    ("data_api_access", |n| model::settings::DataApiAccess::from(n).name().map(str::to_string)),
    ("server_ca_mode", |n| model::ip_configuration::CaMode::from(n).name().map(str::to_string)),
    ("server_certificate_rotation_mode", |n| {
        model::ip_configuration::ServerCertificateRotationMode::from(n).name().map(str::to_string)
    }),
    ("retention_unit", |n| model::backup_retention_settings::RetentionUnit::from(n).name().map(str::to_string)),
    ("complexity", |n| model::password_validation_policy::Complexity::from(n).name().map(str::to_string)),
    ("mode", |n| model::sql_active_directory_config::ActiveDirectoryMode::from(n).name().map(str::to_string)),
];

/// Replaces the enum numbers [`ENUMS`] names, at any depth, by their names.
fn name_enums(schema: &Schema, v: Value) -> Value {
    let Value::Map(mut m) = v else { return v };
    let map = Arc::make_mut(&mut m);
    for (name, to_name) in ENUMS {
        if !schema.attributes.contains_key(name) {
            continue;
        }
        // from_wire reads a number into a string attribute as its digits.
        let number = match map.get(name) {
            Some(Value::Number(n)) => n.to_i64(),
            Some(Value::String(s)) => s.parse::<i64>().ok(),
            _ => None,
        };
        if let Some(n) = number {
            let named = i32::try_from(n).ok().and_then(to_name);
            map.insert(name.to_string(), enum_text(named.as_deref()));
        }
    }
    for (name, bt) in &schema.blocks {
        let items = match map.get(*name) {
            Some(Value::List(xs)) => Value::List(xs.iter().map(|x| name_enums(&bt.block, x.clone())).collect()),
            Some(Value::Set(xs)) => Value::set(xs.iter().map(|x| name_enums(&bt.block, x.clone())).collect()),
            _ => continue,
        };
        map.insert(name.to_string(), items);
    }
    Value::Map(m)
}

/// A single-precision API number (`targetValue`) equals the configured one it was sent as.
fn same_f32(a: &Value, b: &Value) -> bool {
    match (a.peel(), b.peel()) {
        (Value::Number(x), Value::Number(y)) => (x.to_f64() as f32) == (y.to_f64() as f32),
        _ => a == b,
    }
}

/// Arguments the API never returns (input-only, Terraform-only, or secrets): the state keeps
/// what the configuration said.
const KEPT: [&str; 10] = [
    "root_password",
    "root_password_wo_version",
    "switch_transaction_logs_to_cloud_storage_enabled",
    "include_replicas_for_major_version_upgrade",
    "enforce_new_sql_network_architecture",
    "final_backup_description",
    "backupdr_backup",
    "clone",
    "restore_backup_context",
    "point_in_time_restore_context",
];

/// Arguments that live only in Cairn: changing them calls no API.
const TERRAFORM_ONLY: [&str; 6] = [
    "deletion_protection",
    "deletion_policy",
    "final_backup_description",
    "root_password",
    "root_password_wo_version",
    "timeouts",
];

/// Adds to `into` every key of `from` that it lacks, through nested objects: what the hand
/// mapping built wins.
fn fill_json(into: &mut Json, from: Json) {
    let (Json::Object(into), Json::Object(from)) = (into, from) else { return };
    for (k, v) in from {
        match into.get_mut(&k) {
            Some(existing @ Json::Object(_)) => fill_json(existing, v),
            Some(_) => {}
            None => {
                into.insert(k, v);
            }
        }
    }
}

/// The state counterpart of [`fill_json`]: keys `into` lacks come from `from`; single and list
/// blocks are filled element by element.
fn fill_value(into: Value, from: &Value) -> Value {
    let (Value::Map(mut m), Some(from)) = (into.clone(), from.as_map()) else { return into };
    let map = Arc::make_mut(&mut m);
    for (k, v) in from {
        match map.get(k) {
            None => {
                map.insert(k.clone(), v.clone());
            }
            Some(Value::List(items)) if items.iter().all(|i| i.as_map().is_some()) => {
                let filled = items
                    .iter()
                    .enumerate()
                    .map(|(n, item)| match v.as_list().and_then(|f| f.get(n)) {
                        Some(f) => fill_value(item.clone(), f),
                        None => item.clone(),
                    })
                    .collect();
                map.insert(k.clone(), Value::List(filled));
            }
            Some(_) => {}
        }
    }
    Value::Map(m)
}

fn is_zero(v: &Value) -> bool {
    match v.peel() {
        Value::Bool(b) => !b,
        Value::Number(n) => n.is_zero(),
        Value::String(s) => s.is_empty(),
        Value::List(xs) | Value::Set(xs) => xs.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// Reconciles what the API returned with what the configuration (or the prior state) says,
/// where the API cannot tell "unset" from its zero value: an optional argument without a
/// default reads as null when it was null and the API returns false/0/""/empty, and as the
/// configured zero when the API omits it; an optional block appears only when the prior had
/// it (on import, `prior` is None and what the API shows stays).
pub(crate) fn settle(schema: &Schema, v: Value, prior: Option<&Value>) -> Value {
    let Value::Map(mut m) = v else { return v };
    let map = Arc::make_mut(&mut m);
    for (name, a) in &schema.attributes {
        if !a.optional || a.default.is_some() || a.write_only {
            continue;
        }
        let cur = map.get(*name).cloned().unwrap_or(Value::Null);
        let p = prior.and_then(|p| p.get(name));
        let settled = match p {
            // An optional+computed argument: only "configured empty, omitted by the API".
            Some(p) if a.computed => {
                if cur.is_null() && !p.is_unknown() && !p.is_null() && is_zero(p) {
                    p.clone()
                } else {
                    cur
                }
            }
            None if a.computed => cur,
            _ if a.computed => cur,
            Some(p) if p.is_unknown() => cur,
            Some(p) if !p.is_null() && cur.is_null() && is_zero(p) => p.clone(),
            Some(p) if !p.is_null() => cur,
            _ if is_zero(&cur) => Value::Null,
            _ => cur,
        };
        map.insert(name.to_string(), settled);
    }
    for (name, bt) in &schema.blocks {
        let Some(items) = map.get(*name).and_then(Value::as_list).map(<[Value]>::to_vec) else { continue };
        let prior_block = prior.map(|p| p.get(name));
        let prior_items = match prior_block {
            Some(Some(b)) if b.is_unknown() => None,
            Some(Some(b)) => Some(b.as_list().map(<[Value]>::to_vec).unwrap_or_default()),
            Some(None) => Some(Vec::new()),
            None => None,
        };
        if prior_items.as_ref().is_some_and(Vec::is_empty) {
            map.insert(name.to_string(), Value::List(Vec::new()));
            continue;
        }
        let pair = |n: usize| -> Option<Value> {
            let p = prior_items.as_ref()?;
            match bt.nesting {
                Nesting::Set if p.len() != 1 || items.len() != 1 => None,
                _ => p.get(n).cloned(),
            }
        };
        let settled: Vec<Value> =
            items.iter().enumerate().map(|(n, item)| settle(&bt.block, item.clone(), pair(n).as_ref())).collect();
        map.insert(
            name.to_string(),
            if bt.nesting == Nesting::Set { Value::set(settled) } else { Value::List(settled) },
        );
    }
    Value::Map(m)
}

fn replica_request(planned: &Value) -> Option<Json> {
    let rc = first_block(planned, "replica_configuration")?;
    let mut mysql = cc::to_wire(&replica_configuration(), rc, RENAMES);
    let mut out = serde_json::Map::new();
    if let Some(o) = mysql.as_object_mut() {
        for key in ["cascadableReplica", "failoverTarget"] {
            if let Some(v) = o.remove(key) {
                out.insert(key.into(), v);
            }
        }
        if !o.is_empty() {
            out.insert("mysqlReplicaConfiguration".into(), mysql);
        }
    }
    Some(Json::Object(out))
}

fn replica_state(j: &Json, prior: Option<&Value>) -> Value {
    let Some(rc) = j.get("replicaConfiguration") else { return Value::List(Vec::new()) };
    let mysql = rc.get("mysqlReplicaConfiguration").cloned().unwrap_or(Json::Object(Default::default()));
    let mut v = cc::from_wire(&replica_configuration(), &mysql, RENAMES);
    for (name, key) in [("cascadable_replica", "cascadableReplica"), ("failover_target", "failoverTarget")] {
        set(&mut v, name, rc.get(key).and_then(Json::as_bool).map(Value::Bool).unwrap_or(Value::Null));
    }
    // The API does not return the replication secrets.
    let prior_rc = prior.and_then(|p| first_block(p, "replica_configuration"));
    for secret in ["password", "client_key"] {
        if v.get(secret).is_none_or(Value::is_null) {
            set(&mut v, secret, prior_rc.and_then(|p| p.get(secret)).cloned().unwrap_or(Value::Null));
        }
    }
    Value::List(vec![v])
}

/// `[{key: value}]` from an array of API objects, with the keys given as (attribute, JSON key).
fn objects(items: &[&Json], keys: &[(&str, &str)]) -> Value {
    Value::List(
        items
            .iter()
            .map(|o| Value::map(keys.iter().map(|(name, key)| (*name, Value::string(cc::jstr(o, key))))))
            .collect(),
    )
}

/// The settings as a request: everything the plan says, `version` as settingsVersion.
pub fn settings_request(planned: &Value, settings_version: Option<i64>) -> Result<model::Settings, ProviderError> {
    let mut j = cc::model_json(&hand_settings(planned, settings_version));
    if let Some(s) = first_block(planned, "settings") {
        fill_json(&mut j, cc::to_wire(&settings_schema(), s, RENAMES));
    }
    cc::json_model(j, TYPE)
}

/// The instance as a request body. `root_password` goes only into the create's body: Cloud SQL
/// sets the root password at creation.
pub fn instance_request(
    planned: &Value,
    config: Option<&Value>,
    name: &str,
    region: Option<&str>,
    settings_version: Option<i64>,
) -> Result<model::DatabaseInstance, ProviderError> {
    let mut i = model::DatabaseInstance::new().set_name(name);
    if let Some(v) = string(planned, "database_version") {
        i = i.set_database_version(model::SqlDatabaseVersion::from(v.as_str()));
    }
    if let Some(r) = region {
        i = i.set_region(r);
    }
    let mut j = cc::model_json(&i);
    if first_block(planned, "settings").is_some() {
        if let Some(o) = j.as_object_mut() {
            o.insert("settings".into(), cc::model_json(&settings_request(planned, settings_version)?));
        }
    }
    fill_json(&mut j, cc::to_wire(&schema(), planned, RENAMES));
    let extra = j.as_object_mut().expect("an instance is a JSON object");
    if let Some(n) = first_block(planned, "settings")
        .and_then(|s| s.get("node_count"))
        .filter(|v| !v.is_unknown())
        .and_then(Value::as_i64)
    {
        extra.insert("nodeCount".into(), n.into());
    }
    if let Some(rc) = replica_request(planned) {
        extra.insert("replicaConfiguration".into(), rc);
    }
    if let Some(k) = planned.get("encryption_key_name").filter(|v| !v.is_unknown()).and_then(Value::as_str) {
        extra.insert("diskEncryptionConfiguration".into(), serde_json::json!({"kmsKeyName": k}));
    }
    if fields::boolean(planned, "enforce_new_sql_network_architecture", false) {
        extra.insert("sqlNetworkArchitecture".into(), "NEW_NETWORK_ARCHITECTURE".into());
    }
    if let Some(config) = config {
        let pick = |name: &str| {
            [config.get(name), planned.get(name)]
                .into_iter()
                .flatten()
                .find(|v| !v.is_null() && v.is_wholly_known())
                .cloned()
        };
        if let Some(Value::String(pw)) =
            pick("root_password_wo").or_else(|| pick("root_password")).map(|v| v.unmark_deep().0)
        {
            extra.insert("rootPassword".into(), pw.into());
        }
    }
    cc::json_model(j, TYPE)
}

/// `projects/{p}/instances/{name}`, `{p}/{name}` or `{name}`.
pub fn parse_import_id(id: &str, default_project: Option<&str>) -> Result<(String, String), ProviderError> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "instances", n] | [p, n] if !p.is_empty() && !n.is_empty() => {
            Ok((p.to_string(), n.to_string()))
        }
        [n] if !n.is_empty() => match default_project {
            Some(p) => Ok((p.to_string(), n.to_string())),
            None => Err(ProviderError::new(format!(
                "import id \"{id}\" names no project and the provider has none; use projects/PROJECT/instances/{id}"
            ))),
        },
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not projects/PROJECT/instances/NAME, PROJECT/NAME or NAME"
        ))),
    }
}

fn identity(v: &Value) -> Option<(String, String)> {
    Some((string(v, "project")?, string(v, "name")?))
}

/// The instance a refusal or failure talks about.
fn describe(project: &str, name: &str) -> String {
    format!("Cloud SQL instance projects/{project}/instances/{name}")
}

pub fn deletion_refused(project: &str, name: &str) -> ProviderError {
    ProviderError::new(format!(
        "cannot destroy {}: deletion_protection is true. Set deletion_protection = false on the resource and apply that change first, then destroy (or replace) it",
        describe(project, name)
    ))
}

#[async_trait]
impl ResourceType for SqlDatabaseInstance {
    name_schema_timeouts!(TYPE, 90);

    /// Creating an instance is the longest step of most stacks: users report 10 minutes for a
    /// small PostgreSQL instance (terraform-google-sql-db#213: "Creation complete after
    /// 10m14s"), "15-20 minutes is normal" (terraform-provider-google#14770) and about 25 for
    /// db-f1-micro (terraform-google-sql-db#425), hence the provider's 90-minute timeouts.
    /// Estimates for the rest: a settings patch that restarts the instance takes minutes; a
    /// delete, a couple.
    fn expected_durations(&self) -> crate::providers::ExpectedDurations {
        crate::providers::ExpectedDurations::secs(10 * 60, 3 * 60, 2 * 60)
    }

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        let mut warnings = Vec::new();
        // Cloud SQL takes the root password at creation; afterwards it is the root user's
        // password (users.update), which this type does not call.
        if p.prior.is_some() && p.requires_replace.is_empty() {
            // The engine's changed paths: a stored secret compares by fingerprint.
            for name in ["root_password", "root_password_wo_version"] {
                if p.changed.iter().any(|c| c.top() == Some(name)) {
                    return Err(ProviderError::new(format!(
                        "changing {name} of an existing instance is not supported: Cloud SQL sets the root password only at creation. Manage the root user with a google_sql_user resource (name = \"root\") instead"
                    )));
                }
            }
        }
        // Terraform: removing a private network cannot be done in place.
        if let Some(prior) = p.prior.clone() {
            let net = |v: &Value| {
                first_block(v, "settings")
                    .and_then(|s| first_block(s, "ip_configuration"))
                    .and_then(|ip| string(ip, "private_network"))
            };
            let planned_net = first_block(&p.planned, "settings")
                .and_then(|s| first_block(s, "ip_configuration"))
                .and_then(|ip| ip.get("private_network").cloned());
            if net(&prior).is_some() && planned_net.as_ref().is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
                let path = settings_path().join_attr("ip_configuration").join_index(0).join_attr("private_network");
                // The core plans the replacement (computed attributes unknown again).
                if !p.requires_replace.contains(&path) {
                    p.requires_replace.push(path);
                }
            }
        }
        self.shared.fill_project_and_region(&mut p.planned);
        if let (Some(project), Some(region), Some(name)) =
            (string(&p.planned, "project"), string(&p.planned, "region"), string(&p.planned, "name"))
        {
            if p.planned.get("id").is_some_and(Value::is_unknown) {
                set(&mut p.planned, "id", Value::string(name.clone()));
                set(&mut p.planned, "connection_name", Value::string(format!("{project}:{region}:{name}")));
                set(
                    &mut p.planned,
                    "self_link",
                    Value::string(format!("https://sqladmin.googleapis.com/v1/projects/{project}/instances/{name}")),
                );
            }
        }
        let replacing = p.prior.is_some() && !p.requires_replace.is_empty();
        if let (true, Some(prior)) = (replacing, p.prior.as_ref()) {
            let name = string(prior, "name").unwrap_or_default();
            let reasons: Vec<String> = p.requires_replace.iter().map(|x| x.to_string()).collect();
            if fields::boolean(prior, "deletion_protection", true) {
                warnings.push(format!(
                    "replacing instance {name} (because of {}) needs deleting it, but deletion_protection is true: the apply will refuse. Set deletion_protection = false and apply that first",
                    reasons.join(", ")
                ));
            }
            if string(&p.planned, "name").as_deref() == Some(name.as_str()) {
                warnings.push(format!(
                    "replacing instance {name} keeps its name, but Cloud SQL reserves a deleted instance's name for about a week: the create will fail with \"instance already exists\". Give the new instance another name (or omit name for a generated one)"
                ));
            }
        }
        if !replacing {
            if let Some(prior) = p.prior.as_ref() {
                // Any settings change bumps settingsVersion.
                let settings_changed =
                    crate::schema::diff::changed_paths(prior, &p.planned).iter().any(|c| c.top() == Some("settings"));
                if settings_changed {
                    if let Some(Value::List(items)) = p.planned.as_map().and_then(|m| m.get("settings")).cloned() {
                        let items = items
                            .into_iter()
                            .map(|mut s| {
                                set(&mut s, "version", Value::unknown());
                                s
                            })
                            .collect();
                        set(&mut p.planned, "settings", Value::List(items));
                    }
                }
            }
        }
        Ok(warnings)
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
            |project| async move { self.list(c, &project, ctx.timeout).await },
            |project, live, name, prior| live.get(name).map(|inst| self.to_state(project, inst, Some(prior))),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let region = string(planned, "region").or_else(|| c.config.region.clone());
        // Terraform's generated names, so an omitted name never collides with a reserved one.
        let name = string(planned, "name")
            .unwrap_or_else(|| format!("tf-{}", &uuid::Uuid::new_v4().simple().to_string()[..20]));
        let body = instance_request(planned, Some(config), &name, region.as_deref(), None)?;
        let deadline = Instant::now() + ctx.timeout;
        let mut ambiguous = false;
        let what = format!("creating instance {name}");
        let op = sql_call(&c.sql_calls, INSERT, ctx.timeout, deadline, false, &mut ambiguous, || {
            c.sql_instances.insert().set_project(project.clone()).set_body(body.clone()).send()
        })
        .await;
        match op {
            Ok(op) => wait_operation(&c, ctx, &project, op, INSERT, &what, Some(&name), deadline).await?,
            Err(SqlFail::Api(e)) if ambiguous => {
                // The insert may have gone through: if the instance is there, wait for it.
                let remaining = time_left(deadline);
                match self.get(&c, &project, &name, remaining).await {
                    Ok(_) => {}
                    Err(_) => return Err(api_error(INSERT, &e)),
                }
            }
            Err(SqlFail::Api(e)) if http_status(&e) == Some(409) => {
                let mut err = api_error(INSERT, &e);
                err.message.push_str(&format!(
                    "; if {} is yours, import it with `cairn import <address> projects/{project}/instances/{name}`; if it was deleted in the last week its name is still reserved: choose another name",
                    describe(&project, &name)
                ));
                return Err(err);
            }
            Err(e) => return Err(e.into_error(INSERT)),
        }
        // Wait for RUNNABLE (an adopted instance may still be creating).
        let mut attempt = 0u32;
        let started = Instant::now();
        let live = loop {
            let remaining = time_left(deadline);
            let live = self.get(&c, &project, &name, remaining).await?;
            if live.state != model::database_instance::SqlInstanceState::PendingCreate {
                break live;
            }
            (ctx.progress)(&format!("{what}: state PENDING_CREATE, {}s elapsed", started.elapsed().as_secs()));
            if !pause_poll(&c.sql_calls, attempt, deadline).await {
                return Err(deadline_error(INSERT, ctx.timeout, None));
            }
            attempt += 1;
        };
        let mut state = self.to_state(&project, &live, Some(planned));
        set(&mut state, "deletion_protection", Value::Bool(fields::boolean(planned, "deletion_protection", true)));
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
        let (project, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/name"))?;
        let deadline = Instant::now() + ctx.timeout;
        let api_side = changed.iter().any(|p| p.top().is_some_and(|t| !TERRAFORM_ONLY.contains(&t)));
        if api_side {
            let version = first_block(prior, "settings").and_then(|s| s.get("version")).and_then(Value::as_i64);
            let what = format!("updating instance {name}");
            let mut version = version;
            for round in 0..2 {
                let mut body = instance_request(planned, None, &name, None, version)?;
                if changed.iter().any(|p| p.top() == Some("maintenance_version")) {
                    if let Some(v) = string(planned, "maintenance_version") {
                        body = body.set_maintenance_version(v);
                    }
                }
                let mut ambiguous = false;
                let op = sql_call(&c.sql_calls, PATCH, ctx.timeout, deadline, true, &mut ambiguous, || {
                    c.sql_instances
                        .patch()
                        .set_project(project.clone())
                        .set_instance(name.clone())
                        .set_body(body.clone())
                        .send()
                })
                .await;
                match op {
                    Ok(op) => {
                        wait_operation(&c, ctx, &project, op, PATCH, &what, Some(&name), deadline).await?;
                        break;
                    }
                    // Someone changed the settings since the refresh: build the patch again on
                    // top of the current version, once.
                    Err(SqlFail::Api(e)) if http_status(&e) == Some(412) && round == 0 => {
                        (ctx.progress)(&format!(
                            "{what}: the settings changed since the refresh (412); re-reading and retrying once"
                        ));
                        let remaining = time_left(deadline);
                        let live = self.get(&c, &project, &name, remaining).await?;
                        version = live.settings.as_ref().and_then(|s| s.settings_version);
                    }
                    Err(SqlFail::Api(e)) if http_status(&e) == Some(412) => {
                        let mut err = api_error(PATCH, &e);
                        err.message.push_str(&format!("; {} keeps changing outside Cairn (settingsVersion moved twice); run `cairn plan` again to see what changed", describe(&project, &name)));
                        return Err(err);
                    }
                    Err(e) => return Err(e.into_error(PATCH)),
                }
            }
        }
        let remaining = time_left(deadline);
        let live = self.get(&c, &project, &name, remaining).await?;
        let mut state = self.to_state(&project, &live, Some(planned));
        set(&mut state, "deletion_protection", Value::Bool(fields::boolean(planned, "deletion_protection", true)));
        Ok(state)
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/name"))?;
        if fields::boolean(prior, "deletion_protection", true) {
            return Err(deletion_refused(&project, &name));
        }
        let c = self.clients(ctx).await?;
        let final_backup = string(prior, "final_backup_description");
        sql_delete(&c, ctx, &project, DELETE, &format!("deleting instance {name}"), || {
            let mut call = c.sql_instances.delete().set_project(project.clone()).set_instance(name.clone());
            if let Some(d) = &final_backup {
                call = call.set_final_backup_description(d.clone());
            }
            call.send()
        })
        .await
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, name) = parse_import_id(id, c.config.project.as_deref())?;
        let live = self.get(&c, &project, &name, ctx.timeout).await?;
        Ok(self.to_state(&project, &live, None))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        project_child_name(&self.shared, planned, "instances", "name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;
    use std::sync::Mutex;

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    fn stack(version: &str, settings: &str) -> String {
        format!("resource \"google_sql_database_instance\" \"db\" {{\n  name = \"netra-staging-db\"\n  database_version = \"{version}\"\n  settings {{\n{settings}  }}\n}}\n")
    }

    const ROADMAP: &str = "    tier = \"db-f1-micro\"\n    ip_configuration {\n      ipv4_enabled = false\n      private_network = \"projects/netra-staging/global/networks/staging-vpc\"\n    }\n    database_flags {\n      name = \"max_connections\"\n      value = \"100\"\n    }\n    database_flags {\n      name = \"statement_timeout\"\n      value = \"35000\"\n    }\n    database_flags {\n      name = \"lock_timeout\"\n      value = \"15000\"\n    }\n";

    #[test]
    fn the_roadmap_instance_is_valid() {
        assert_eq!(diags(&stack("POSTGRES_14", ROADMAP)), Vec::<String>::new());
    }

    #[test]
    fn tier_edition_engine_combinations() {
        let d = diags(&stack("POSTGRES_14", "    tier = \"db-f1-micro\"\n    edition = \"ENTERPRISE_PLUS\"\n"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("main.tf:5:5: settings.tier \"db-f1-micro\" is a shared-core tier, which edition ENTERPRISE_PLUS does not offer"), "{d:?}");
        let d = diags(&stack("POSTGRES_16", "    tier = \"db-g1-small\"\n"));
        assert!(d.len() == 1 && d[0].contains("POSTGRES_16 defaults to edition ENTERPRISE_PLUS"), "{d:?}");
        assert_eq!(
            diags(&stack("POSTGRES_16", "    tier = \"db-g1-small\"\n    edition = \"ENTERPRISE\"\n")),
            Vec::<String>::new()
        );
        let d = diags(&stack("POSTGRES_14", "    tier = \"db-n1-standard-1\"\n"));
        assert!(d.len() == 1 && d[0].contains("Cloud SQL for PostgreSQL offers db-f1-micro"), "{d:?}");
        let d = diags(&stack("SQLSERVER_2019_STANDARD", "    tier = \"db-f1-micro\"\n"));
        assert!(d.len() == 1 && d[0].contains("SQL Server needs a db-custom"), "{d:?}");
        assert_eq!(diags(&stack("MYSQL_8_0", "    tier = \"db-n1-standard-1\"\n")), Vec::<String>::new());
        assert_eq!(
            diags(&stack("POSTGRES_15", "    tier = \"db-perf-optimized-N-2\"\n    edition = \"ENTERPRISE_PLUS\"\n")),
            Vec::<String>::new()
        );
        let d = diags(&stack("POSTGRES_15", "    tier = \"db-perf-optimized-N-2\"\n"));
        assert!(d.len() == 1 && d[0].contains("needs edition ENTERPRISE_PLUS"), "{d:?}");
        assert!(tier_problem("POSTGRES_15", "db-custom-2-7680", Some("ENTERPRISE_PLUS"))
            .is_some_and(|m| m.contains("not available with edition ENTERPRISE_PLUS")));
    }

    #[test]
    fn private_network_must_be_a_path() {
        let d = diags(&stack(
            "POSTGRES_14",
            "    tier = \"db-f1-micro\"\n    ip_configuration {\n      private_network = \"staging-vpc\"\n    }\n",
        ));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("main.tf:7:7:") && d[0].contains("projects/<project>/global/networks/staging-vpc"),
            "{d:?}"
        );
        assert!(check_private_network(&Value::from(
            "https://www.googleapis.com/compute/v1/projects/p/global/networks/n"
        ))
        .is_ok());
        assert!(check_private_network(&Value::from("projects/p/regions/r/subnetworks/s")).is_err());
    }

    #[test]
    fn postgres_flags_are_checked() {
        let flag = |n: &str, v: &str| {
            stack("POSTGRES_14", &format!("    tier = \"db-f1-micro\"\n    database_flags {{\n      name = \"{n}\"\n      value = \"{v}\"\n    }}\n"))
        };
        let d = diags(&flag("max_conections", "100"));
        assert!(
            d.len() == 1 && d[0].contains("Did you mean \"max_connections\"?") && d[0].starts_with("main.tf:6:5:"),
            "{d:?}"
        );
        assert!(diags(&flag("max_connections", "10"))[0].contains("between 14 and 262143"));
        assert!(diags(&flag("max_connections", "lots"))[0].contains("whole number"));
        assert!(diags(&flag("statement_timeout", "-1"))[0].contains("between 0 and"));
        assert!(
            diags(&flag("lock_timeout", "15s"))[0].contains("whole number in ms, got \"15s\": write \"15000\""),
            "{:?}",
            diags(&flag("lock_timeout", "15s"))
        );
        assert_eq!(diags(&flag("log_min_duration_statement", "-1")), Vec::<String>::new());
        assert!(diags(&flag("work_mem", "10"))[0].contains("between 64"));
        assert!(diags(&flag("maintenance_work_mem", "512"))[0].contains("between 1024"));
        assert!(diags(&flag("idle_in_transaction_session_timeout", "x"))[0].contains("whole number"));
        assert!(diags(&flag("log_connections", "true"))[0].contains("\"on\" or \"off\""));
        assert_eq!(diags(&flag("log_disconnections", "on")), Vec::<String>::new());
        assert!(diags(&flag("log_checkpoints", "1"))[0].contains("\"on\" or \"off\""));
        assert!(diags(&flag("cloudsql.iam_authentication", "yes"))[0].contains("\"on\" or \"off\""));
        assert!(diags(&flag("definitely_not_a_flag", "1"))[0].contains("Check the name"));
        // MySQL flags are not Cairn's to judge.
        assert_eq!(
            diags(
                &flag("max_connections", "10")
                    .replace("POSTGRES_14", "MYSQL_8_0")
                    .replace("db-f1-micro", "db-n1-standard-1")
            ),
            Vec::<String>::new()
        );
        let dup = stack("POSTGRES_14", "    tier = \"db-f1-micro\"\n    database_flags {\n      name = \"lock_timeout\"\n      value = \"1\"\n    }\n    database_flags {\n      name = \"lock_timeout\"\n      value = \"2\"\n    }\n");
        assert!(diags(&dup).iter().any(|m| m.contains("set 2 times")), "{:?}", diags(&dup));
    }

    #[test]
    fn maintenance_window_ranges() {
        let d = diags(&stack(
            "POSTGRES_14",
            "    tier = \"db-f1-micro\"\n    maintenance_window {\n      day = 8\n      hour = 24\n    }\n",
        ));
        assert_eq!(d.len(), 2, "{d:?}");
    }

    #[test]
    fn import_ids() {
        assert_eq!(parse_import_id("projects/p/instances/db", None).unwrap(), ("p".into(), "db".into()));
        assert_eq!(parse_import_id("p/db", None).unwrap(), ("p".into(), "db".into()));
        assert_eq!(parse_import_id("db", Some("p")).unwrap(), ("p".into(), "db".into()));
        assert!(parse_import_id("db", None).is_err());
        assert!(parse_import_id("a/b/c", None).is_err());
    }

    fn config(flags: &[(&str, &str)], region: &str, protect: bool) -> Value {
        let flags =
            flags.iter().map(|(n, v)| Value::map([("name", Value::from(*n)), ("value", Value::from(*v))])).collect();
        conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("netra-staging-db")),
                ("project", Value::from("netra-staging")),
                ("region", Value::from(region)),
                ("database_version", Value::from("POSTGRES_14")),
                ("deletion_protection", Value::Bool(protect)),
                (
                    "settings",
                    Value::List(vec![Value::map([
                        ("tier", Value::from("db-f1-micro")),
                        (
                            "ip_configuration",
                            Value::List(vec![Value::map([
                                ("ipv4_enabled", Value::Bool(false)),
                                ("private_network", Value::from("projects/netra-staging/global/networks/staging-vpc")),
                            ])]),
                        ),
                        ("database_flags", Value::set(flags)),
                    ])]),
                ),
            ]),
        )
    }

    fn api_instance(flags: &[(&str, &str)], version: i64) -> model::DatabaseInstance {
        model::DatabaseInstance::new()
            .set_name("netra-staging-db")
            .set_project("netra-staging")
            .set_region("us-central1")
            .set_database_version(model::SqlDatabaseVersion::Postgres14)
            .set_state(model::database_instance::SqlInstanceState::Runnable)
            .set_connection_name("netra-staging:us-central1:netra-staging-db")
            .set_ip_addresses([model::IpMapping::new()
                .set_ip_address("10.1.2.3")
                .set_type(model::SqlIpAddressType::Private)])
            .set_settings(
                model::Settings::new()
                    .set_tier("db-f1-micro")
                    .set_settings_version(version)
                    .set_availability_type(model::SqlAvailabilityType::Zonal)
                    .set_edition(model::settings::Edition::Enterprise)
                    .set_data_disk_size_gb(10)
                    .set_data_disk_type(model::SqlDataDiskType::PdSsd)
                    .set_storage_auto_resize(true)
                    .set_activation_policy(model::settings::SqlActivationPolicy::Always)
                    .set_ip_configuration(
                        model::IpConfiguration::new()
                            .set_ipv4_enabled(false)
                            .set_private_network("projects/netra-staging/global/networks/staging-vpc"),
                    )
                    .set_backup_configuration(
                        model::BackupConfiguration::new().set_enabled(false).set_start_time("03:00"),
                    )
                    .set_database_flags(
                        flags.iter().map(|(n, v)| model::DatabaseFlags::new().set_name(*n).set_value(*v)),
                    ),
            )
    }

    fn t() -> SqlDatabaseInstance {
        SqlDatabaseInstance::new(Arc::new(Shared::new(Default::default())))
    }

    const FLAGS: [(&str, &str); 3] =
        [("max_connections", "100"), ("statement_timeout", "35000"), ("lock_timeout", "15000")];

    #[test]
    fn refresh_after_create_plans_nothing_and_a_flag_change_is_in_place() {
        let t = t();
        let planned = config(&FLAGS, "us-central1", true);
        let state = t
            .schema()
            .keep_client_only(&planned, t.to_state("netra-staging", &api_instance(&FLAGS, 1), Some(&planned)));
        assert_eq!(state.get("private_ip_address"), Some(&Value::from("10.1.2.3")));
        assert_eq!(state.get("public_ip_address"), Some(&Value::from("")));
        assert_eq!(state.get("connection_name"), Some(&Value::from("netra-staging:us-central1:netra-staging-db")));
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &planned, false);
        let w = t.customize_plan(&mut p).unwrap();
        let changed = crate::schema::diff::changed_paths(&state, &p.planned);
        assert!(changed.is_empty() && w.is_empty() && p.requires_replace.is_empty(), "{changed:?} {w:?}");

        let mut flags = FLAGS;
        flags[0] = ("max_connections", "200");
        let mut p =
            crate::schema::propose::propose(t.schema(), Some(&state), &config(&flags, "us-central1", true), false);
        t.customize_plan(&mut p).unwrap();
        assert!(p.requires_replace.is_empty(), "{:?}", p.requires_replace);
        let s = first_block(&p.planned, "settings").unwrap();
        assert!(s.get("version").is_some_and(Value::is_unknown), "the settings version moves");
        let body = settings_request(&p.planned, Some(1)).unwrap();
        assert_eq!(body.settings_version, Some(1));
        assert!(body.database_flags.iter().any(|f| f.name == "max_connections" && f.value == "200"));
        assert_eq!(body.database_flags.len(), 3, "flags are sent as a whole");
    }

    #[test]
    fn changing_region_replaces_with_warnings() {
        let t = t();
        let state = t.to_state("netra-staging", &api_instance(&FLAGS, 1), Some(&config(&FLAGS, "us-central1", true)));
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &config(&FLAGS, "us-east1", true), false);
        let w = t.customize_plan(&mut p).unwrap();
        assert_eq!(p.requires_replace, vec![AttrPath::attr("region")]);
        assert!(
            w.iter().any(|m| m.contains("deletion_protection is true") && m.contains("because of region")),
            "{w:?}"
        );
        assert!(w.iter().any(|m| m.contains("reserves a deleted instance's name for about a week")), "{w:?}");
    }

    #[test]
    fn removing_the_private_network_replaces() {
        let t = t();
        let state = t.to_state("netra-staging", &api_instance(&FLAGS, 1), Some(&config(&FLAGS, "us-central1", false)));
        let mut cfg = config(&FLAGS, "us-central1", false);
        if let Some(Value::List(s)) = cfg.as_map().and_then(|m| m.get("settings")).cloned() {
            let mut s0 = s[0].clone();
            set(
                &mut s0,
                "ip_configuration",
                Value::List(vec![Value::map([("ipv4_enabled", Value::Bool(true)), ("private_network", Value::Null)])]),
            );
            set(&mut cfg, "settings", Value::List(vec![s0]));
        }
        let cfg = conform_to_schema(&schema(), cfg);
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &cfg, false);
        let w = t.customize_plan(&mut p).unwrap();
        assert_eq!(p.requires_replace.len(), 1, "{:?}", p.requires_replace);
        assert!(w.iter().all(|m| !m.contains("deletion_protection is true")), "{w:?}");
    }

    #[tokio::test]
    async fn delete_is_refused_while_protected() {
        let t = t();
        let prior = Value::map([
            ("project", Value::from("p")),
            ("name", Value::from("db")),
            ("deletion_protection", Value::Bool(true)),
        ]);
        let e = t.delete(&CallContext::new(Value::Null), &prior).await.unwrap_err();
        assert!(
            e.message.contains("deletion_protection is true") && e.message.contains("Set deletion_protection = false"),
            "{}",
            e.message
        );
    }

    fn legacy(code: u16, reason: &str, message: &str) -> (u16, serde_json::Value) {
        (
            code,
            serde_json::json!({"error": {"code": code, "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}}),
        )
    }

    /// A scripted Cloud SQL: the first patch meets a busy instance (409), the second a stale
    /// settingsVersion (412); the provider waits, re-reads, retries with the new version, and
    /// polls the operation to DONE.
    #[tokio::test]
    async fn patch_waits_out_409_and_retries_a_412_once_with_the_new_version() {
        let log: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let patches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (l2, p2) = (log.clone(), patches.clone());
        let instance = |version: &str, conn: &str| {
            serde_json::json!({"kind": "sql#instance", "name": "netra-staging-db", "project": "netra-staging", "region": "us-central1",
                "databaseVersion": "POSTGRES_14", "state": "RUNNABLE", "connectionName": conn,
                "settings": {"tier": "db-f1-micro", "settingsVersion": version, "availabilityType": "ZONAL",
                    "ipConfiguration": {"privateNetwork": "projects/netra-staging/global/networks/staging-vpc"},
                    "databaseFlags": [{"name": "max_connections", "value": "200"}]}})
        };
        let endpoint = super::super::test_server::start(Arc::new(move |method: &str, path: &str, _q: &str, body: &[u8]| {
            l2.lock().unwrap().push(format!("{method} {path}"));
            match (method, path) {
                ("PATCH", "/v1/projects/netra-staging/instances/netra-staging-db") => {
                    let n = p2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let sent: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    let version = sent.pointer("/settings/settingsVersion").and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|n| n.to_string()))).unwrap_or_default();
                    match n {
                        0 => legacy(409, "operationInProgress", "Operation failed because another operation was already in progress."),
                        _ if version != "7" => legacy(412, "staleData", "Condition does not match."),
                        _ => (200, serde_json::json!({"kind": "sql#operation", "name": "op-1", "status": "RUNNING", "operationType": "UPDATE"})),
                    }
                }
                ("GET", "/v1/projects/netra-staging/operations/op-1") => (200, serde_json::json!({"kind": "sql#operation", "name": "op-1", "status": "DONE", "operationType": "UPDATE"})),
                ("GET", "/v1/projects/netra-staging/instances/netra-staging-db") => (200, instance("7", "netra-staging:us-central1:netra-staging-db")),
                _ => legacy(404, "notFound", "nope"),
            }
        }))
        .await;
        let (shared, mut ctx) = super::super::test_server::shared(&endpoint).await;
        let events: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let e2 = events.clone();
        ctx.progress = Arc::new(move |m: &str| e2.lock().unwrap().push(m.to_string()));
        let t = SqlDatabaseInstance::new(shared);
        let prior = t.to_state("netra-staging", &api_instance(&FLAGS, 5), Some(&config(&FLAGS, "us-central1", true)));
        let mut flags = FLAGS;
        flags[0] = ("max_connections", "200");
        let mut p =
            crate::schema::propose::propose(t.schema(), Some(&prior), &config(&flags, "us-central1", true), false);
        t.customize_plan(&mut p).unwrap();
        let changed = crate::schema::diff::changed_paths(&prior, &p.planned);
        let state = t.update(&ctx, &prior, &p.planned, &p.config, &changed).await.unwrap();
        assert_eq!(patches.load(std::sync::atomic::Ordering::SeqCst), 3, "busy, stale, then accepted");
        assert_eq!(first_block(&state, "settings").and_then(|s| s.get("version")), Some(&Value::from(7.0)));
        assert!(events.lock().unwrap().iter().any(|m| m.contains("412")), "{:?}", events.lock().unwrap());

        assert!(log.lock().unwrap().iter().any(|l| l.starts_with("GET /v1/projects/netra-staging/operations/op-1")));
    }

    /// A DONE operation with errors fails the create with the API's message and the method.
    #[tokio::test]
    async fn a_failed_operation_surfaces_the_api_message() {
        let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p2 = polls.clone();
        let endpoint = super::super::test_server::start(Arc::new(move |method: &str, path: &str, _q: &str, _b: &[u8]| match (method, path) {
            ("POST", "/v1/projects/netra-staging/instances") => (200, serde_json::json!({"kind": "sql#operation", "name": "op-9", "status": "PENDING", "operationType": "CREATE"})),
            ("GET", "/v1/projects/netra-staging/operations/op-9") => {
                if p2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                    (200, serde_json::json!({"kind": "sql#operation", "name": "op-9", "status": "RUNNING"}))
                } else {
                    (200, serde_json::json!({"kind": "sql#operation", "name": "op-9", "status": "DONE",
                        "error": {"kind": "sql#operationErrors", "errors": [{"kind": "sql#operationError", "code": "INTERNAL_ERROR", "message": "Failed to create subnetwork. Please create Service Networking connection with service 'servicenetworking.googleapis.com'."}]}}))
                }
            }
            ("GET", "/v1/projects/netra-staging/instances/netra-staging-db") => (200, serde_json::json!({"name": "netra-staging-db", "state": "PENDING_CREATE"})),
            _ => legacy(404, "notFound", "nope"),
        }))
        .await;
        let (shared, mut ctx) = super::super::test_server::shared(&endpoint).await;
        let events: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let e2 = events.clone();
        ctx.progress = Arc::new(move |m: &str| e2.lock().unwrap().push(m.to_string()));
        let t = SqlDatabaseInstance::new(shared);
        let planned = config(&FLAGS, "us-central1", true);
        let e = t.create(&ctx, &planned, &planned).await.unwrap_err();
        assert_eq!(e.method.as_deref(), Some(INSERT));
        assert!(
            e.message.contains("creating instance netra-staging-db failed: Failed to create subnetwork")
                && e.message.contains("INTERNAL_ERROR"),
            "{}",
            e.message
        );
        let ev = events.lock().unwrap().clone();
        assert!(
            ev.iter().any(|m| m.starts_with("creating instance netra-staging-db: state PENDING_CREATE, ")),
            "{ev:?}"
        );
    }

    #[test]
    fn busy_409s_are_retried_but_already_exists_is_not() {
        let mk = |reason: &str, msg: &str| {
            let bytes = axum::body::Bytes::from(
                serde_json::json!({"error": {"code": 409, "message": msg, "errors": [{"reason": reason}]}}).to_string(),
            );
            match google_cloud_gax::error::rpc::Status::try_from(&bytes) {
                Ok(s) => GaxError::service_with_http_metadata(s, Some(409), None),
                Err(_) => GaxError::http(409, axum::http::HeaderMap::new(), bytes),
            }
        };
        assert!(is_busy(&mk("operationInProgress", "busy")));
        assert!(is_busy(&mk(
            "invalidState",
            "The instance or operation is not in an appropriate state to handle the request."
        )));
        assert!(!is_busy(&mk("instanceAlreadyExists", "The Cloud SQL instance already exists.")));
    }

    /// Every documented argument and block except the imperative ones (clone, restores) and
    /// what only an update can send (maintenance_version) or only one of (root_password_wo).
    const FULL: &str = r#"resource "google_sql_database_instance" "full" {
  name                = "full-db"
  region              = "us-central1"
  project             = "p"
  database_version    = "MYSQL_8_0"
  deletion_protection = false
  deletion_policy     = "ABANDON"
  switch_transaction_logs_to_cloud_storage_enabled = true
  include_replicas_for_major_version_upgrade       = true
  master_instance_name = "primary-db"
  replica_names        = []
  root_password        = "s3cret-root"
  encryption_key_name  = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
  enforce_new_sql_network_architecture = true
  final_backup_description = "the last one"
  instance_type        = "READ_REPLICA_INSTANCE"
  settings {
    tier                  = "db-custom-2-7680"
    edition               = "ENTERPRISE"
    availability_type     = "REGIONAL"
    disk_size             = 20
    disk_type             = "PD_SSD"
    disk_autoresize       = true
    disk_autoresize_limit = 100
    data_disk_provisioned_iops       = 3000
    data_disk_provisioned_throughput = 140
    activation_policy     = "ALWAYS"
    user_labels           = { env = "test" }
    auto_upgrade_enabled  = true
    collation             = "utf8mb4_general_ci"
    connector_enforcement = "REQUIRED"
    data_api_access       = "ALLOW_DATA_API"
    deletion_protection_enabled  = true
    enable_google_ml_integration = true
    enable_dataplex_integration  = true
    replication_lag_max_seconds  = 600
    node_count            = 2
    pricing_plan          = "PER_USE"
    time_zone             = "UTC"
    retain_backups_on_delete = true
    ip_configuration {
      ipv4_enabled    = true
      private_network = "projects/p/global/networks/vpc"
      ssl_mode        = "ENCRYPTED_ONLY"
      server_ca_mode  = "CUSTOMER_MANAGED_CAS_CA"
      server_ca_pool  = "projects/p/locations/us-central1/caPools/pool"
      server_certificate_rotation_mode = "AUTOMATIC_ROTATION_DURING_MAINTENANCE"
      custom_subject_alternative_names = ["db.example.com"]
      allocated_ip_range = "google-managed-services-vpc"
      enable_private_path_for_google_cloud_services = true
      authorized_networks {
        name  = "office"
        value = "203.0.113.0/24"
      }
      psc_config {
        psc_enabled               = true
        psc_auto_dns_enabled      = true
        psc_write_endpoint_dns_enabled = true
        psc_auto_connection_policy_enabled = true
        allowed_consumer_projects = ["consumer-1"]
        network_attachment_uri    = "projects/p/regions/us-central1/networkAttachments/na"
        psc_auto_connections {
          consumer_network            = "projects/consumer-1/global/networks/net"
          consumer_service_project_id = "consumer-1"
        }
      }
    }
    database_flags {
      name  = "max_connections"
      value = "200"
    }
    backup_configuration {
      enabled            = true
      start_time         = "03:00"
      binary_log_enabled = true
      location           = "us"
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = 14
        retention_unit   = "COUNT"
      }
    }
    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }
    final_backup_config {
      enabled        = true
      retention_days = 30
    }
    advanced_machine_features {
      threads_per_core = 2
    }
    active_directory_config {
      domain      = "ad.example.com"
      mode        = "CUSTOMER_MANAGED_ACTIVE_DIRECTORY"
      dns_servers = ["10.0.0.2"]
      admin_credential_secret_name = "projects/p/secrets/ad-admin"
      organizational_unit = "OU=sql,DC=ad,DC=example,DC=com"
    }
    entraid_config {
      application_id = "app"
      tenant_id      = "tenant"
    }
    data_cache_config {
      data_cache_enabled = true
    }
    deny_maintenance_period {
      start_date = "2026-11-20"
      end_date   = "2027-1-05"
      time       = "00:00:00"
    }
    sql_server_audit_config {
      bucket             = "gs://audit"
      upload_interval    = "300s"
      retention_interval = "86400s"
    }
    read_pool_auto_scale_config {
      enabled        = true
      min_node_count = 1
      max_node_count = 4
      disable_scale_in = false
      scale_in_cooldown_seconds  = 600
      scale_out_cooldown_seconds = 300
      target_metrics {
        metric       = "AVERAGE_CPU_UTILIZATION"
        target_value = 0.6
      }
    }
    location_preference {
      zone           = "us-central1-a"
      secondary_zone = "us-central1-b"
    }
    insights_config {
      query_insights_enabled  = true
      enhanced_query_insights_enabled = true
      query_string_length     = 2048
      record_application_tags = true
      record_client_address   = true
      query_plans_per_minute  = 10
    }
    password_validation_policy {
      min_length                  = 12
      complexity                  = "COMPLEXITY_DEFAULT"
      reuse_interval              = 3
      disallow_username_substring = true
      password_change_interval    = "3600s"
      enable_password_policy      = true
    }
    connection_pool_config {
      connection_pooling_enabled = true
      flags {
        name  = "max_client_connections"
        value = "500"
      }
    }
  }
  replica_configuration {
    cascadable_replica      = false
    ca_certificate          = "ca"
    client_certificate      = "cert"
    client_key              = "key"
    connect_retry_interval  = 30
    dump_file_path          = "gs://dumps/db.sql"
    failover_target         = false
    master_heartbeat_period = 1000
    password                = "repl-secret"
    ssl_cipher              = "ALL"
    username                = "repl"
    verify_server_certificate = true
  }
  replication_cluster {
    failover_dr_replica_name = "p:dr-db"
  }
}
"#;

    #[test]
    fn every_documented_argument_and_block_validates() {
        assert_eq!(diags(FULL), Vec::<String>::new());
        let wo = FULL.replace(
            "root_password        = \"s3cret-root\"",
            "root_password_wo = \"s3cret\"\n  root_password_wo_version = \"1\"\n  maintenance_version = \"MYSQL_8_0_31.R20230516.01_00\"",
        );
        assert_eq!(diags(&wo), Vec::<String>::new());
        let both =
            FULL.replace("root_password        = \"s3cret-root\"", "root_password = \"a\"\n  root_password_wo = \"b\"");
        assert_eq!(diags(&both).len(), 1, "{:?}", diags(&both));
    }

    #[test]
    fn clone_and_restores_validate_but_are_refused() {
        let extra = [
            ("clone", "  clone {\n    source_instance_name = \"src\"\n    source_project = \"p\"\n    point_in_time = \"2026-01-01T00:00:00Z\"\n    preferred_zone = \"us-central1-a\"\n    database_names = [\"a\"]\n    allocated_ip_range = \"r\"\n    source_instance_deletion_time = \"2026-01-01T00:00:00Z\"\n  }\n"),
            ("restore_backup_context", "  restore_backup_context {\n    backup_run_id = 12345\n    instance_id = \"src\"\n    project = \"p\"\n  }\n"),
            ("point_in_time_restore_context", "  point_in_time_restore_context {\n    datasource = \"projects/p/locations/l/backupVaults/v/dataSources/d\"\n    point_in_time = \"2026-01-01T00:00:00Z\"\n    target_instance = \"t\"\n    region = \"us-central1\"\n    private_network = \"projects/p/global/networks/vpc\"\n    preferred_zone = \"us-central1-a\"\n    allocated_ip_range = \"r\"\n    source_instance_deletion_time = \"2026-01-01T00:00:00Z\"\n    database_names = [\"a\"]\n  }\n"),
            ("backupdr_backup", "  backupdr_backup = \"projects/p/locations/l/backupVaults/v/dataSources/d/backups/b\"\n"),
        ];
        for (name, block) in extra {
            let src = FULL.replacen("  settings {", &format!("{block}  settings {{"), 1);
            let d = diags(&src);
            assert_eq!(d.len(), 1, "{name}: {d:?}");
            assert!(d[0].contains(&format!("{name} is not supported by Cairn yet")), "{d:?}");
        }
    }

    fn planned_from(src: &str) -> (SqlDatabaseInstance, Value, Value) {
        let parsed = test_hcl::resource(src);
        let config =
            crate::schema::validate::conform(&parsed.body, parsed.value, &schema(), parsed.block_span).unwrap();
        let t = t();
        let mut p = crate::schema::propose::propose(t.schema(), None, &config, false);
        t.customize_plan(&mut p).unwrap();
        (t, config, p.planned)
    }

    /// The request carries every argument under the API's name, and what the API echoes back
    /// plans nothing.
    #[test]
    fn every_argument_round_trips_through_the_api_model() {
        let (t, config, planned) = planned_from(FULL);
        let body = instance_request(&planned, Some(&config), "full-db", Some("us-central1"), None).unwrap();
        let j = cc::model_json(&body);
        for pointer in [
            "/settings/storageAutoResizeLimit",
            "/settings/dataDiskProvisionedIops",
            "/settings/connectorEnforcement",
            "/settings/dataApiAccess",
            "/settings/replicationLagMaxSeconds",
            "/settings/ipConfiguration/pscConfig/pscAutoConnections/0/consumerProject",
            "/settings/ipConfiguration/serverCaMode",
            "/settings/ipConfiguration/customSubjectAlternativeNames/0",
            "/settings/backupConfiguration/backupRetentionSettings/retainedBackups",
            "/settings/finalBackupConfig/retentionDays",
            "/settings/advancedMachineFeatures/threadsPerCore",
            "/settings/activeDirectoryConfig/dnsServers/0",
            "/settings/entraidConfig/tenantId",
            "/settings/dataCacheConfig/dataCacheEnabled",
            "/settings/denyMaintenancePeriods/0/startDate",
            "/settings/sqlServerAuditConfig/uploadInterval",
            "/settings/readPoolAutoScaleConfig/targetMetrics/0/targetValue",
            "/settings/locationPreference/secondaryZone",
            "/settings/insightsConfig/queryStringLength",
            "/settings/passwordValidationPolicy/passwordChangeInterval",
            "/settings/connectionPoolConfig/flags/0/name",
            "/nodeCount",
            "/replicaConfiguration/mysqlReplicaConfiguration/username",
            "/replicaConfiguration/mysqlReplicaConfiguration/password",
            "/diskEncryptionConfiguration/kmsKeyName",
            "/sqlNetworkArchitecture",
            "/switchTransactionLogsToCloudStorageEnabled",
            "/replicationCluster/failoverDrReplicaName",
            "/rootPassword",
            "/masterInstanceName",
        ] {
            assert!(j.pointer(pointer).is_some(), "{pointer} missing from {j:#}");
        }
        let mut live = body.clone().set_project("p").set_state(model::database_instance::SqlInstanceState::Runnable);
        live.root_password = String::new();
        if let Some(rc) = live.replica_configuration.as_mut().and_then(|r| r.mysql_replica_configuration.as_mut()) {
            rc.password = String::new();
            rc.client_key = String::new();
        }
        if let Some(s) = live.settings.as_mut() {
            s.settings_version = Some(1);
        }
        let state = t.schema().keep_client_only(&planned, t.to_state("p", &live, Some(&planned)));
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &config, false);
        t.customize_plan(&mut p).unwrap();
        let changed = crate::schema::diff::changed_paths(&state, &p.planned);
        assert!(changed.is_empty() && p.requires_replace.is_empty(), "{changed:?}");
        assert_eq!(
            string(&state, "encryption_key_name").as_deref(),
            Some("projects/p/locations/us-central1/keyRings/r/cryptoKeys/k")
        );
        let s = first_block(&state, "settings").unwrap();
        assert_eq!(s.get("node_count"), Some(&Value::from(2.0)));
        assert_eq!(s.get("effective_availability_type"), Some(&Value::from("REGIONAL")));
    }

    /// Blocks and arguments the configuration leaves out stay out of the state even when the
    /// API fills them in, so a minimal instance plans nothing after a refresh.
    #[test]
    fn server_filled_blocks_do_not_show_as_changes() {
        let (t, config, planned) = planned_from(&stack("POSTGRES_14", ROADMAP));
        let mut live = api_instance(&FLAGS, 1);
        if let Some(s) = live.settings.as_mut() {
            s.insights_config = Some(model::InsightsConfig::new().set_query_string_length(1024));
            s.data_cache_config = Some(model::DataCacheConfig::new().set_data_cache_enabled(false));
            s.location_preference = Some(model::LocationPreference::new().set_zone("us-central1-c"));
            s.enable_google_ml_integration = Some(false);
            s.connector_enforcement = model::settings::ConnectorEnforcement::NotRequired;
        }
        let state = t.schema().keep_client_only(&planned, t.to_state("netra-staging", &live, Some(&planned)));
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &config, false);
        t.customize_plan(&mut p).unwrap();
        let changed = crate::schema::diff::changed_paths(&state, &p.planned);
        assert!(changed.is_empty(), "{changed:?}");
        let imported = t.to_state("netra-staging", &live, None);
        let s = first_block(&imported, "settings").unwrap();
        assert_eq!(
            first_block(s, "location_preference").and_then(|l| string(l, "zone")).as_deref(),
            Some("us-central1-c")
        );
    }

    #[test]
    fn changing_the_root_password_later_is_refused_at_plan() {
        let (t, config, planned) = planned_from(FULL);
        let body = instance_request(&planned, Some(&config), "full-db", Some("us-central1"), None).unwrap();
        let state = t.to_state("p", &body.set_project("p"), Some(&planned));
        let changed = FULL.replace("s3cret-root", "another");
        let (_, config2, _) = planned_from(&changed);
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &config2, false);
        let e = t.customize_plan(&mut p).unwrap_err();
        assert!(e.message.contains("changing root_password of an existing instance is not supported"), "{}", e.message);
    }
}
