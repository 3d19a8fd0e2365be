//! Conformance of the emulator's Cloud SQL Admin API: the official SDK clients (which ask for
//! integer enums) round-trip instances, databases, users and operations; there is no poller, so
//! operations are polled with `SqlOperationsService::get` until DONE. Errors use the legacy
//! envelope, which has no `status`, so the HTTP code is what the SDK reports.

use std::time::{Duration, Instant};

use crate::support::emulator_http;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_sql_v1::client::{SqlDatabasesService, SqlInstancesService, SqlOperationsService, SqlUsersService};
use google_cloud_sql_v1::model::{
    database_instance::SqlInstanceState,
    operation::{SqlOperationStatus, SqlOperationType},
    Database, DatabaseFlags, DatabaseInstance, IpConfiguration, Operation, Settings, SqlDatabaseVersion,
    SqlIpAddressType, User,
};
use serde_json::{json, Value};

const PROJECT: &str = "acme";

struct Clients {
    instances: SqlInstancesService,
    operations: SqlOperationsService,
    databases: SqlDatabasesService,
    users: SqlUsersService,
}

async fn start_with(scenario: Option<&str>) -> (EmulatorHandle, Option<tempfile::TempDir>) {
    let mut cfg = EmulatorConfig::for_tests();
    let dir = scenario.map(|text| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, text).expect("write scenario");
        cfg.scenario = Some(path);
        dir
    });
    (Emulator::start(cfg).await.expect("emulator starts"), dir)
}

macro_rules! build {
    ($client:ty, $emu:expr) => {
        <$client>::builder()
            .with_endpoint($emu.endpoint())
            .with_credentials(anonymous::Builder::new().build())
            .with_retry_policy(NeverRetry)
            .build()
            .await
            .expect("client builds")
    };
}

async fn clients(emu: &EmulatorHandle) -> Clients {
    Clients {
        instances: build!(SqlInstancesService, emu),
        operations: build!(SqlOperationsService, emu),
        databases: build!(SqlDatabasesService, emu),
        users: build!(SqlUsersService, emu),
    }
}

/// Polls until DONE, recording every status seen on the way.
async fn wait(c: &Clients, op: &Operation) -> (Operation, Vec<SqlOperationStatus>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = vec![op.status.clone()];
    loop {
        let got = c
            .operations
            .get()
            .set_project(PROJECT)
            .set_operation(op.name.clone())
            .send()
            .await
            .expect("operations.get");
        if seen.last() != Some(&got.status) {
            seen.push(got.status.clone());
        }
        if got.status == SqlOperationStatus::Done {
            return (got, seen);
        }
        assert!(Instant::now() < deadline, "operation {} never finished", op.name);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// (HTTP status, body text) of a failed SDK call.
fn failure<T: std::fmt::Debug>(result: Result<T, google_cloud_gax::error::Error>) -> (Option<u16>, String) {
    let err = result.expect_err("the call should fail");
    (err.http_status_code(), format!("{err:?}"))
}

fn private_postgres(name: &str) -> DatabaseInstance {
    DatabaseInstance::new().set_name(name).set_database_version(SqlDatabaseVersion::Postgres15).set_settings(
        Settings::new()
            .set_tier("db-custom-1-3840")
            .set_ip_configuration(
                IpConfiguration::new()
                    .set_ipv4_enabled(false)
                    .set_private_network(format!("projects/{PROJECT}/global/networks/vpc")),
            )
            .set_database_flags([DatabaseFlags::new().set_name("log_connections").set_value("on")])
            .set_user_labels([("env", "dev")]),
    )
}

async fn http(emu: &EmulatorHandle, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
    let (status, _, value) = emulator_http(emu, method, target, body).await;
    (status, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_round_trip_with_operation_progress_and_optimistic_concurrency() {
    let (emu, _dir) = start_with(None).await;
    let c = clients(&emu).await;

    let op = c.instances.insert().set_project(PROJECT).set_body(private_postgres("main")).send().await.expect("insert");
    assert_eq!(op.kind, "sql#operation");
    assert_eq!(op.operation_type, SqlOperationType::Create);
    assert_eq!(op.status, SqlOperationStatus::Pending);
    assert_eq!(op.target_id, "main");
    assert_eq!(op.target_link, format!("https://sqladmin.googleapis.com/v1/projects/{PROJECT}/instances/main"));
    assert!(uuid::Uuid::parse_str(&op.name).is_ok(), "a bare id: {}", op.name);

    let pending = c.instances.get().set_project(PROJECT).set_instance("main").send().await.expect("get");
    assert_eq!(pending.state, SqlInstanceState::PendingCreate);
    let (busy_status, busy_body) =
        failure(c.instances.restart().set_project(PROJECT).set_instance("main").send().await);
    assert_eq!(busy_status, Some(409));
    assert!(busy_body.contains("operationInProgress"), "{busy_body}");

    let (done, seen) = wait(&c, &op).await;
    assert!(done.error.is_none());
    assert!(done.insert_time.is_some() && done.start_time.is_some() && done.end_time.is_some());
    assert_eq!(seen.last(), Some(&SqlOperationStatus::Done));
    assert!(seen.windows(2).all(|w| w[0] != SqlOperationStatus::Done), "DONE is final: {seen:?}");

    let main = c.instances.get().set_project(PROJECT).set_instance("main").send().await.expect("get");
    assert_eq!(main.state, SqlInstanceState::Runnable);
    assert_eq!(main.connection_name, format!("{PROJECT}:us-central1:main"));
    assert_eq!(main.database_version, SqlDatabaseVersion::Postgres15);
    let settings = main.settings.clone().expect("settings");
    assert_eq!(settings.settings_version, Some(1));
    assert_eq!(settings.tier, "db-custom-1-3840");
    assert_eq!(settings.database_flags[0].name, "log_connections");
    assert_eq!(settings.user_labels.get("env").map(String::as_str), Some("dev"));
    let ip = settings.ip_configuration.clone().expect("ipConfiguration");
    assert_eq!(ip.ipv4_enabled, Some(false));
    assert_eq!(ip.private_network, format!("projects/{PROJECT}/global/networks/vpc"));
    assert_eq!(main.ip_addresses.len(), 1);
    assert_eq!(main.ip_addresses[0].r#type, SqlIpAddressType::Private);
    assert!(main.ip_addresses[0].ip_address.starts_with("10."));

    // A stale settingsVersion is 412 staleData; the current one (or none) goes through and bumps it.
    let stale = DatabaseInstance::new().set_settings(Settings::new().set_settings_version(7).set_tier("db-g1-small"));
    let (code, body) =
        failure(c.instances.patch().set_project(PROJECT).set_instance("main").set_body(stale).send().await);
    assert_eq!(code, Some(412));
    assert!(body.contains("staleData"), "{body}");
    let patch = DatabaseInstance::new()
        .set_settings(Settings::new().set_settings_version(1).set_user_labels([("env", "prod")]));
    let op = c.instances.patch().set_project(PROJECT).set_instance("main").set_body(patch).send().await.expect("patch");
    assert_eq!(op.operation_type, SqlOperationType::Update);
    wait(&c, &op).await;
    let patched = c.instances.get().set_project(PROJECT).set_instance("main").send().await.expect("get");
    let s = patched.settings.expect("settings");
    assert_eq!(s.settings_version, Some(2));
    assert_eq!(s.user_labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(s.tier, "db-custom-1-3840", "a patch keeps what it does not name");

    let full = DatabaseInstance::new().set_settings(
        Settings::new().set_tier("db-g1-small").set_ip_configuration(IpConfiguration::new().set_ipv4_enabled(true)),
    );
    let op =
        c.instances.update().set_project(PROJECT).set_instance("main").set_body(full).send().await.expect("update");
    wait(&c, &op).await;
    let updated = c.instances.get().set_project(PROJECT).set_instance("main").send().await.expect("get");
    let s = updated.settings.expect("settings");
    assert_eq!((s.settings_version, s.tier.as_str()), (Some(3), "db-g1-small"));
    assert!(s.database_flags.is_empty(), "an update replaces the settings");
    assert_eq!(updated.ip_addresses[0].r#type, SqlIpAddressType::Primary);

    let op = c.instances.restart().set_project(PROJECT).set_instance("main").send().await.expect("restart");
    assert_eq!(op.operation_type, SqlOperationType::Restart);
    wait(&c, &op).await;

    c.instances.insert().set_project(PROJECT).set_body(private_postgres("second")).send().await.expect("insert 2");
    let page = c.instances.list().set_project(PROJECT).set_max_results(1u32).send().await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert!(!page.next_page_token.is_empty());
    let rest = c
        .instances
        .list()
        .set_project(PROJECT)
        .set_max_results(1u32)
        .set_page_token(page.next_page_token.clone())
        .send()
        .await
        .expect("list page 2");
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_page_token.is_empty());

    let ops = c.operations.list().set_project(PROJECT).set_instance("main").send().await.expect("operations.list");
    let types: Vec<_> = ops.items.iter().map(|o| o.operation_type.clone()).collect();
    assert_eq!(
        types,
        [SqlOperationType::Restart, SqlOperationType::Update, SqlOperationType::Update, SqlOperationType::Create],
        "newest first, only this instance's"
    );

    let op = c.instances.delete().set_project(PROJECT).set_instance("main").send().await.expect("delete");
    assert_eq!(op.operation_type, SqlOperationType::Delete);
    wait(&c, &op).await;
    let (code, body) = failure(c.instances.get().set_project(PROJECT).set_instance("main").send().await);
    assert_eq!(code, Some(404));
    assert!(body.contains("The Cloud SQL instance does not exist."), "{body}");
    let (code, body) =
        failure(c.instances.insert().set_project(PROJECT).set_body(private_postgres("main")).send().await);
    assert_eq!(code, Some(409));
    assert!(body.contains("you can't reuse the name of the deleted instance"), "{body}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_and_users_round_trip_and_passwords_never_come_back() {
    let (emu, _dir) = start_with(None).await;
    let c = clients(&emu).await;
    let op = c.instances.insert().set_project(PROJECT).set_body(private_postgres("db")).send().await.expect("insert");
    wait(&c, &op).await;

    let op = c
        .databases
        .insert()
        .set_project(PROJECT)
        .set_instance("db")
        .set_body(Database::new().set_name("app"))
        .send()
        .await
        .expect("databases.insert");
    assert_eq!(op.operation_type, SqlOperationType::CreateDatabase);
    wait(&c, &op).await;
    let app = c.databases.get().set_project(PROJECT).set_instance("db").set_database("app").send().await.expect("get");
    assert_eq!((app.charset.as_str(), app.collation.as_str()), ("UTF8", "en_US.UTF8"));
    assert_eq!(app.kind, "sql#database");
    let op = c
        .databases
        .patch()
        .set_project(PROJECT)
        .set_instance("db")
        .set_database("app")
        .set_body(Database::new().set_collation("C"))
        .send()
        .await
        .expect("databases.patch");
    wait(&c, &op).await;
    let list = c.databases.list().set_project(PROJECT).set_instance("db").send().await.expect("databases.list");
    let names: Vec<_> = list.items.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["app", "postgres"]);
    assert_eq!(list.items[0].collation, "C");
    let op =
        c.databases.delete().set_project(PROJECT).set_instance("db").set_database("app").send().await.expect("delete");
    wait(&c, &op).await;
    let (code, _) = failure(c.databases.get().set_project(PROJECT).set_instance("db").set_database("app").send().await);
    assert_eq!(code, Some(404));

    let op = c
        .users
        .insert()
        .set_project(PROJECT)
        .set_instance("db")
        .set_body(User::new().set_name("app").set_password("s3cret-pw"))
        .send()
        .await
        .expect("users.insert");
    assert_eq!(op.operation_type, SqlOperationType::CreateUser);
    wait(&c, &op).await;
    let users = c.users.list().set_project(PROJECT).set_instance("db").send().await.expect("users.list");
    let names: Vec<_> = users.items.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["app", "postgres"]);
    assert!(users.items.iter().all(|u| u.password.is_empty()));
    let user = c.users.get().set_project(PROJECT).set_instance("db").set_name("app").send().await.expect("users.get");
    assert!(user.password.is_empty());
    let op = c
        .users
        .update()
        .set_project(PROJECT)
        .set_instance("db")
        .set_name("app")
        .set_body(User::new().set_name("app").set_password("n3w-pw"))
        .send()
        .await
        .expect("users.update");
    assert_eq!(op.operation_type, SqlOperationType::UpdateUser);
    wait(&c, &op).await;
    let (_, raw) = http(&emu, "GET", &format!("/v1/projects/{PROJECT}/instances/db/users"), None).await;
    assert!(!raw.to_string().contains("pw"), "{raw}");
    let op =
        c.users.delete().set_project(PROJECT).set_instance("db").set_name("app").send().await.expect("users.delete");
    wait(&c, &op).await;
    let (code, _) = failure(c.users.get().set_project(PROJECT).set_instance("db").set_name("app").send().await);
    assert_eq!(code, Some(404));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_seed_states_failures_and_protection() {
    let scenario = r#"{"sqladmin": {"instances": [
        {"project": "acme", "name": "flaky", "databaseVersion": "MYSQL_8_0",
         "failNextOperation": {"code": "ERROR_RDBMS", "message": "disk full"}},
        {"project": "acme", "name": "frozen", "state": "SUSPENDED"},
        {"project": "acme", "name": "patching", "state": "MAINTENANCE", "pinned": true},
        {"project": "acme", "name": "keep", "deletionProtectionEnabled": true,
         "databaseFlags": [{"name": "max_connections", "value": "50"}]}
    ]}}"#;
    let (emu, _dir) = start_with(Some(scenario)).await;
    let c = clients(&emu).await;

    let op = c.instances.restart().set_project(PROJECT).set_instance("flaky").send().await.expect("restart");
    let (done, _) = wait(&c, &op).await;
    let errors = done.error.expect("a failed operation carries errors").errors;
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].code.as_str(), errors[0].message.as_str()), ("ERROR_RDBMS", "disk full"));
    assert_eq!(errors[0].kind, "sql#operationError");
    let op = c.instances.restart().set_project(PROJECT).set_instance("flaky").send().await.expect("restart again");
    assert!(wait(&c, &op).await.0.error.is_none(), "only the next operation fails");

    let (code, body) = failure(c.instances.restart().set_project(PROJECT).set_instance("frozen").send().await);
    assert_eq!(code, Some(409));
    assert!(body.contains("invalidState"), "{body}");
    let frozen = c.instances.get().set_project(PROJECT).set_instance("frozen").send().await.expect("get");
    assert_eq!(frozen.state, SqlInstanceState::Suspended);

    let (code, body) = failure(
        c.instances
            .patch()
            .set_project(PROJECT)
            .set_instance("patching")
            .set_body(DatabaseInstance::new())
            .send()
            .await,
    );
    assert_eq!(code, Some(409));
    assert!(body.contains("operationInProgress"), "{body}");

    let (code, body) = failure(c.instances.delete().set_project(PROJECT).set_instance("keep").send().await);
    assert_eq!(code, Some(400));
    assert!(body.contains("deletion protection"), "{body}");
    let keep = c.instances.get().set_project(PROJECT).set_instance("keep").send().await.expect("get");
    assert_eq!(keep.settings.expect("settings").database_flags[0].value, "50");

    let (code, _) = failure(c.operations.get().set_project(PROJECT).set_operation("nope").send().await);
    assert_eq!(code, Some(404));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_format_is_the_legacy_one() {
    let (emu, _dir) = start_with(None).await;
    let (status, body) = http(&emu, "GET", "/v1/projects/acme/instances/missing", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": {"code": 404, "message": "The Cloud SQL instance does not exist.",
            "errors": [{"domain": "global", "message": "The Cloud SQL instance does not exist.", "reason": "instanceDoesNotExist"}]}})
    );
    let insert = json!({"name": "beta", "databaseVersion": "POSTGRES_16",
        "settings": {"tier": "db-f1-micro", "ipConfiguration": {"ipv4Enabled": true}}});
    let (status, op) = http(&emu, "POST", "/sql/v1beta4/projects/acme/instances", Some(insert)).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "PENDING");
    assert_eq!(op["operationType"], "CREATE");
    assert!(op.get("endTime").is_none() && op.get("error").is_none());
    assert_eq!(op["targetLink"], "https://sqladmin.googleapis.com/sql/v1beta4/projects/acme/instances/beta");
    tokio::time::sleep(Duration::from_millis(80)).await;
    let (_, inst) = http(&emu, "GET", "/sql/v1beta4/projects/acme/instances/beta", None).await;
    assert_eq!(inst["state"], "RUNNABLE");
    assert_eq!(inst["settings"]["settingsVersion"], "1", "int64 as a string");
    assert_eq!(inst["settings"]["dataDiskSizeGb"], "10");
    assert_eq!(inst["ipAddresses"][0]["type"], "PRIMARY");
    let (status, stale) =
        http(&emu, "PATCH", "/v1/projects/acme/instances/beta", Some(json!({"settings": {"settingsVersion": "5"}})))
            .await;
    assert_eq!(status, 412);
    assert_eq!(
        stale,
        json!({"error": {"code": 412, "message": "Condition does not match.",
            "errors": [{"domain": "global", "message": "Condition does not match.", "reason": "staleData"}]}})
    );
    let (_, list) = http(&emu, "GET", "/v1/projects/acme/instances", None).await;
    assert_eq!(list["kind"], "sql#instancesList");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_documented_fields_round_trip_and_unknown_ones_are_refused() {
    let (emu, _dir) = start_with(None).await;
    let settings = json!({
        "tier": "db-perf-optimized-N-2",
        "edition": "ENTERPRISE_PLUS",
        "dataCacheConfig": {"dataCacheEnabled": true},
        "connectionPoolConfig": {"connectionPoolingEnabled": true, "flags": [{"name": "max_pool_size", "value": "10"}]},
        "ipConfiguration": {"ipv4Enabled": false, "pscConfig": {"pscEnabled": true, "allowedConsumerProjects": ["acme"]}},
    });
    let body = json!({"name": "psc", "databaseVersion": "POSTGRES_15", "region": "us-central1", "settings": settings});
    let (status, op) = http(&emu, "POST", &format!("/v1/projects/{PROJECT}/instances"), Some(body)).await;
    assert_eq!(status, 200, "{op}");
    let (_, got) = http(&emu, "GET", &format!("/v1/projects/{PROJECT}/instances/psc"), None).await;
    let s = &got["settings"];
    assert_eq!(s["dataCacheConfig"], json!({"dataCacheEnabled": true}));
    assert_eq!(s["connectionPoolConfig"]["flags"][0]["name"], "max_pool_size");
    assert_eq!(s["ipConfiguration"]["pscConfig"]["allowedConsumerProjects"], json!(["acme"]));
    assert!(got["pscServiceAttachmentLink"].as_str().is_some_and(|l| l.contains("serviceAttachments")), "{got}");
    assert!(got["dnsName"].as_str().is_some_and(|d| d.ends_with(".sql.goog.")), "{got}");
    assert_eq!(got["databaseInstalledVersion"], "POSTGRES_15_7");

    let typo = json!({"name": "typo", "databaseVersion": "POSTGRES_15",
        "settings": {"tier": "db-f1-micro", "ipConfiguration": {"ipv4Enabled": true, "pscConfig": {"enabled": true}}}});
    let (status, err) = http(&emu, "POST", &format!("/v1/projects/{PROJECT}/instances"), Some(typo)).await;
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "Invalid JSON payload received. Unknown name \"enabled\" at 'body.settings.ip_configuration.psc_config': Cannot find field."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_keep_their_documented_fields() {
    let (emu, _dir) = start_with(None).await;
    let c = clients(&emu).await;
    let op = c.instances.insert().set_project(PROJECT).set_body(private_postgres("db")).send().await.expect("insert");
    wait(&c, &op).await;
    let users = format!("/v1/projects/{PROJECT}/instances/db/users");
    let user = json!({"name": "app", "password": "pw", "databaseRoles": ["pg_read_all_data"],
        "passwordPolicy": {"allowedFailedAttempts": 3}});
    let (status, op) = http(&emu, "POST", &users, Some(user)).await;
    assert_eq!(status, 200, "{op}");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, got) = http(&emu, "GET", &format!("{users}/app"), None).await;
    assert_eq!(got["databaseRoles"], json!(["pg_read_all_data"]), "{got}");
    assert_eq!(got["passwordPolicy"]["allowedFailedAttempts"], 3);
    assert!(got.get("password").is_none(), "a password is never returned");
    let (status, err) = http(&emu, "POST", &users, Some(json!({"name": "x", "roles": ["r"]}))).await;
    assert_eq!(status, 400);
    assert!(err["error"]["message"].as_str().unwrap().contains("Unknown name \"roles\" at 'body'"), "{err}");
}
