use std::time::Duration;

use super::*;
use crate::emulator::errors::Code;

const PARENT: &str = "v2/projects/p/locations/us-central1/services";
const NAME: &str = "projects/p/locations/us-central1/services/api";

fn call(
    store: &mut Store,
    now: DateTime<Utc>,
    method: Method,
    path: &str,
    query: &str,
    body: Value,
) -> Result<Value, ApiError> {
    operations::settle_due(store, now);
    let mut ctx = Ctx { store, operation_duration: Duration::from_millis(50), now };
    Run.handle(&mut ctx, &ApiRequest::decoded(method, path, query, body))
}

fn hello() -> Value {
    json!({"template": {"containers": [{"image": "us-docker.pkg.dev/cloudrun/container/hello"}]}})
}

fn later(t: DateTime<Utc>) -> DateTime<Utc> {
    t + chrono::Duration::milliseconds(60)
}

#[test]
fn claims_services_and_operations_of_v2_locations_only() {
    assert!(Run.claims("v2/projects/p/locations/l/services"));
    assert!(Run.claims("v2/projects/p/locations/l/services/s:getIamPolicy"));
    assert!(Run.claims("v2/projects/p/locations/l/services/s/revisions/r"));
    assert!(Run.claims("v2/projects/p/locations/l/operations/o:wait"));
    assert!(!Run.claims("v1/projects/p/locations/l/operations/o"), "VPC Access owns v1 operations");
    assert!(!Run.claims("v2/projects/p/sinks"));
    assert!(!Run.claims("v2/projects/p/locations/l/jobs"));
}

#[test]
fn writable_fields_are_exactly_the_schema_fields_a_client_may_set() {
    let doc = discovery::of(API);
    for field in WRITABLE {
        assert!(doc.knows_path(SERVICE_SCHEMA, field) && !doc.is_output_only(SERVICE_SCHEMA, field), "{field}");
    }
    for field in OUTPUT_ONLY {
        assert!(doc.is_output_only(SERVICE_SCHEMA, field), "{field}");
    }
}

#[test]
fn revision_names_carry_the_generation_in_five_digits_and_three_characters() {
    let name = revision_name("api", 7);
    let (prefix, suffix) = name.split_at("api-00007-".len());
    assert_eq!(prefix, "api-00007-");
    assert_eq!(suffix.len(), 3);
    assert!(suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{name}");
    assert!(revision_name("api", 123456).starts_with("api-123456-"), "wider generations are not cut");
}

#[test]
fn etags_are_weak_and_never_repeat() {
    let (a, b) = (new_etag(), new_etag());
    assert!(a.starts_with("W/\"") && a.ends_with('"'), "{a}");
    assert_ne!(a, b);
}

#[test]
fn service_ids_follow_the_documented_rule() {
    assert!(valid_service_id("netra-backend-staging"));
    assert!(valid_service_id(&format!("a{}", "b".repeat(48))));
    assert!(!valid_service_id(&format!("a{}", "b".repeat(49))));
    assert!(
        !valid_service_id("1api") && !valid_service_id("api-") && !valid_service_id("Api") && !valid_service_id("")
    );
}

#[test]
fn uris_are_stable_per_project_and_region() {
    let mut store = Store::new();
    let (uri, urls) = uris(&mut store, "acme", "us-central1", "api");
    assert!(uri.starts_with("https://api-") && uri.ends_with("-uc.a.run.app"), "{uri}");
    assert_eq!(uris(&mut store, "acme", "us-central1", "api").0, uri);
    assert_ne!(uris(&mut store, "other", "us-central1", "api").0, uri);
    let number = store.projects.number_for("acme");
    assert_eq!(urls[0], format!("https://api-{number}.us-central1.run.app"));
}

#[test]
fn create_goes_from_reconciling_to_serving_its_first_revision() {
    let mut store = Store::new();
    let t0 = Utc::now();
    let op = call(&mut store, t0, Method::POST, PARENT, "serviceId=api&validateOnly=false", hello()).unwrap();
    assert!(op.get("done").is_none());
    assert_eq!(op["metadata"]["@type"], SERVICE_TYPE);
    let got = call(&mut store, t0, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(got["reconciling"], true);
    assert_eq!(got["terminalCondition"]["state"], "CONDITION_RECONCILING");
    assert_eq!(got["generation"], "1");
    let revision = got["latestCreatedRevision"].as_str().unwrap().to_string();
    assert!(revision.starts_with(&format!("{NAME}/revisions/api-00001-")), "{revision}");
    assert!(got.get("latestReadyRevision").is_none());

    let t1 = later(t0);
    let got = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(got["reconciling"], false);
    assert_eq!(got["observedGeneration"], "1");
    assert_eq!(got["terminalCondition"]["type"], "Ready");
    assert_eq!(got["terminalCondition"]["state"], "CONDITION_SUCCEEDED");
    assert_eq!(got["latestReadyRevision"], revision.as_str());
    assert_eq!(got["trafficStatuses"], json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]));
    let done =
        call(&mut store, t1, Method::GET, &format!("v2/{}", op["name"].as_str().unwrap()), "", Value::Null).unwrap();
    assert_eq!(done["done"], true);
    assert_eq!(done["response"]["@type"], SERVICE_TYPE);
    assert_eq!(done["response"]["etag"], got["etag"]);
    let r = call(&mut store, t1, Method::GET, &format!("v2/{revision}"), "", Value::Null).unwrap();
    assert_eq!(r["conditions"][0]["state"], "CONDITION_SUCCEEDED");
    assert_eq!(r["service"], NAME);
    let again = call(&mut store, t1, Method::POST, PARENT, "serviceId=api", hello()).unwrap_err();
    assert_eq!(again.code, Code::AlreadyExists);
}

#[test]
fn requests_are_checked_against_the_schema_and_enum_numbers_decoded() {
    let mut store = Store::new();
    let now = Utc::now();
    let mut body = hello();
    body["template"]["containers"][0]["imagePullPolicy"] = json!("Always");
    let err = call(&mut store, now, Method::POST, PARENT, "serviceId=api", body).unwrap_err();
    assert_eq!(
        err.message,
        "Invalid JSON payload received. Unknown name \"imagePullPolicy\" at 'service.template.containers[0]': Cannot find field."
    );
    let mut body = hello();
    body["ingress"] = json!(3);
    body["uri"] = json!("https://ignored.example.com");
    body["generation"] = json!("42");
    call(&mut store, now, Method::POST, PARENT, "serviceId=api", body).unwrap();
    let got = call(&mut store, now, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(got["ingress"], "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER");
    assert_ne!(got["uri"], "https://ignored.example.com", "output-only fields are ignored");
    assert_eq!(got["generation"], "1");
    let ints =
        call(&mut store, now, Method::GET, &format!("v2/{NAME}"), "$alt=json;enum-encoding=int", Value::Null).unwrap();
    assert_eq!(ints["ingress"], 3);
    assert_eq!(ints["launchStage"], 4, "GA is 4 in google.api.LaunchStage");
}

#[test]
fn a_masked_update_changes_only_the_masked_fields_and_a_template_change_makes_a_revision() {
    let mut store = Store::new();
    let t0 = Utc::now();
    let mut body = hello();
    body["labels"] = json!({"team": "core"});
    call(&mut store, t0, Method::POST, PARENT, "serviceId=api", body).unwrap();
    let t1 = later(t0);
    let before = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();

    // Labels only: a new generation, no new revision.
    call(
        &mut store,
        t1,
        Method::PATCH,
        &format!("v2/{NAME}"),
        "updateMask=labels",
        json!({"labels": {"team": "edge"}, "description": "ignored"}),
    )
    .unwrap();
    let got = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(got["labels"], json!({"team": "edge"}));
    assert!(got.get("description").is_none(), "unmasked fields stay");
    assert_eq!(got["generation"], "2");
    assert_eq!(got["latestCreatedRevision"], before["latestCreatedRevision"]);
    assert_ne!(got["etag"], before["etag"]);

    // A masked template path: a new revision named after generation 3.
    let t2 = later(t1);
    call(
        &mut store,
        t2,
        Method::PATCH,
        &format!("v2/{NAME}"),
        "updateMask=template.timeout",
        json!({"template": {"timeout": "600s"}}),
    )
    .unwrap();
    let got = call(&mut store, t2, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(got["template"]["timeout"], "600s");
    assert_eq!(got["template"]["containers"], before["template"]["containers"]);
    assert!(got["latestCreatedRevision"].as_str().unwrap().contains("/revisions/api-00003-"));
    let revisions = call(&mut store, later(t2), Method::GET, &format!("v2/{NAME}/revisions"), "", Value::Null).unwrap();
    assert_eq!(revisions["revisions"].as_array().unwrap().len(), 2);
    assert!(revisions["revisions"][0]["name"].as_str().unwrap().contains("api-00003-"), "newest first");

    for (mask, why) in [("uri", "output only"), ("name", "immutable"), ("template.bogus", "not a field")] {
        let err =
            call(&mut store, later(t2), Method::PATCH, &format!("v2/{NAME}"), &format!("updateMask={mask}"), json!({}))
                .unwrap_err();
        assert!(err.message.contains(why), "{mask}: {}", err.message);
    }
}

#[test]
fn a_stale_etag_is_refused_on_update_and_delete() {
    let mut store = Store::new();
    let t0 = Utc::now();
    call(&mut store, t0, Method::POST, PARENT, "serviceId=api", hello()).unwrap();
    let read = call(&mut store, t0, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    let t1 = later(t0);
    // The rollout finishing is a write: the etag read before it is stale.
    let mut body = hello();
    body["etag"] = read["etag"].clone();
    let err = call(&mut store, t1, Method::PATCH, &format!("v2/{NAME}"), "", body).unwrap_err();
    assert_eq!((err.code, err.http_status), (Code::Aborted, 409));
    let err = call(
        &mut store,
        t1,
        Method::DELETE,
        &format!("v2/{NAME}"),
        &format!("etag={}", read["etag"].as_str().unwrap()),
        Value::Null,
    )
    .unwrap_err();
    assert_eq!(err.code, Code::Aborted);
    let fresh = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    let query = format!("etag={}", fresh["etag"].as_str().unwrap());
    call(&mut store, t1, Method::DELETE, &format!("v2/{NAME}"), &query, Value::Null).unwrap();
    let gone = call(&mut store, later(t1), Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap_err();
    assert_eq!(gone.code, Code::NotFound);
    assert_eq!(store.children(API, &format!("{NAME}/revisions/")).count(), 0, "revisions go with the service");
}

#[test]
fn revisions_that_never_become_ready_fail_the_operation_and_keep_the_last_ready_one() {
    let mut store = Store::new();
    let t0 = Utc::now();
    call(&mut store, t0, Method::POST, PARENT, "serviceId=api", hello()).unwrap();
    let t1 = later(t0);
    let ready = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    fail_revisions(&mut store, NAME, None).unwrap();
    let op = call(
        &mut store,
        t1,
        Method::PATCH,
        &format!("v2/{NAME}"),
        "updateMask=template.timeout",
        json!({"template": {"timeout": "60s"}}),
    )
    .unwrap();
    let t2 = later(t1);
    let done =
        call(&mut store, t2, Method::GET, &format!("v2/{}", op["name"].as_str().unwrap()), "", Value::Null).unwrap();
    assert_eq!(done["error"]["code"], 9);
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Revision 'api-00002-"), "{message}");
    assert!(message.contains("failed to start and listen on the port defined provided by the PORT=8080"), "{message}");
    let got = call(&mut store, t2, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(got["terminalCondition"]["state"], "CONDITION_FAILED");
    assert_eq!(got["terminalCondition"]["message"], message);
    assert_eq!(got["latestReadyRevision"], ready["latestReadyRevision"]);
    assert_ne!(got["latestCreatedRevision"], ready["latestCreatedRevision"]);
    let failed = call(
        &mut store,
        t2,
        Method::GET,
        &format!("v2/{}", got["latestCreatedRevision"].as_str().unwrap()),
        "",
        Value::Null,
    )
    .unwrap();
    assert_eq!(failed["conditions"][0]["state"], "CONDITION_FAILED");
    assert_eq!(failed["conditions"][0]["revisionReason"], "HEALTH_CHECK_CONTAINER_ERROR");
}

#[test]
fn validate_only_changes_nothing() {
    let mut store = Store::new();
    let now = Utc::now();
    let op = call(&mut store, now, Method::POST, PARENT, "serviceId=api&validateOnly=true", hello()).unwrap();
    assert_eq!(op["done"], true);
    assert_eq!(op["response"]["template"]["timeout"], "300s", "defaults are filled in");
    assert!(!store.contains(API, NAME));
    assert!(store.operations.is_empty());
    let err = call(
        &mut store,
        now,
        Method::POST,
        PARENT,
        "serviceId=api&validateOnly=true",
        json!({"template": {"containers": [{}]}}),
    )
    .unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
}

#[test]
fn allow_missing_creates_on_update() {
    let mut store = Store::new();
    let now = Utc::now();
    let err = call(&mut store, now, Method::PATCH, &format!("v2/{NAME}"), "", hello()).unwrap_err();
    assert_eq!(err.code, Code::NotFound);
    assert_eq!(err.message, "Resource 'api' of kind 'SERVICE' in region 'us-central1' in project 'p' does not exist.");
    call(&mut store, now, Method::PATCH, &format!("v2/{NAME}"), "allowMissing=true", hello()).unwrap();
    assert!(store.contains(API, NAME));
}

#[test]
fn the_serving_revision_cannot_be_deleted_but_an_old_one_can() {
    let mut store = Store::new();
    let t0 = Utc::now();
    call(&mut store, t0, Method::POST, PARENT, "serviceId=api", hello()).unwrap();
    let t1 = later(t0);
    let first = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap()
        ["latestReadyRevision"]
        .as_str()
        .unwrap()
        .to_string();
    let err = call(&mut store, t1, Method::DELETE, &format!("v2/{first}"), "", Value::Null).unwrap_err();
    assert_eq!(err.code, Code::FailedPrecondition);
    call(
        &mut store,
        t1,
        Method::PATCH,
        &format!("v2/{NAME}"),
        "updateMask=template.timeout",
        json!({"template": {"timeout": "30s"}}),
    )
    .unwrap();
    let t2 = later(t1);
    let op = call(&mut store, t2, Method::DELETE, &format!("v2/{first}"), "", Value::Null).unwrap();
    assert_eq!(op["metadata"]["@type"], REVISION_TYPE);
    let gone = call(&mut store, later(t2), Method::GET, &format!("v2/{first}"), "", Value::Null).unwrap_err();
    assert_eq!(gone.code, Code::NotFound);
}

#[test]
fn iam_policies_live_on_the_service_and_refuse_stale_etags() {
    let mut store = Store::new();
    let now = Utc::now();
    call(&mut store, now, Method::POST, PARENT, "serviceId=api", hello()).unwrap();
    let path = format!("v2/{NAME}");
    let read = call(&mut store, now, Method::GET, &format!("{path}:getIamPolicy"), "", Value::Null).unwrap();
    let set = |store: &mut Store, member: &str, etag: &Value| {
        call(
            store,
            now,
            Method::POST,
            &format!("{path}:setIamPolicy"),
            "",
            json!({"policy": {"etag": etag, "bindings": [{"role": "roles/run.invoker", "members": [member]}]}}),
        )
    };
    let service_etag = store.get(API, NAME).unwrap().value["etag"].clone();
    set(&mut store, "allUsers", &read["etag"]).unwrap();
    let err = set(&mut store, "user:b@example.com", &read["etag"]).unwrap_err();
    assert_eq!((err.code, err.http_status), (Code::Aborted, 409));
    assert_eq!(store.get(API, NAME).unwrap().value["etag"], service_etag, "a policy is not the service");
    let tested = call(
        &mut store,
        now,
        Method::POST,
        &format!("{path}:testIamPermissions"),
        "",
        json!({"permissions": ["run.routes.invoke", "compute.instances.get"]}),
    )
    .unwrap();
    assert_eq!(tested, json!({"permissions": ["run.routes.invoke"]}));
    let err = call(
        &mut store,
        now,
        Method::GET,
        "v2/projects/p/locations/us-central1/services/nope:getIamPolicy",
        "",
        Value::Null,
    )
    .unwrap_err();
    assert_eq!(err.code, Code::NotFound);
}

#[test]
fn listing_pages_and_spans_locations_with_a_dash() {
    let mut store = Store::new();
    let now = Utc::now();
    for id in ["a", "b", "c"] {
        call(&mut store, now, Method::POST, PARENT, &format!("serviceId={id}"), hello()).unwrap();
    }
    call(&mut store, now, Method::POST, "v2/projects/p/locations/europe-west1/services", "serviceId=d", hello())
        .unwrap();
    let page = call(&mut store, now, Method::GET, PARENT, "pageSize=2", Value::Null).unwrap();
    assert_eq!(page["services"].as_array().unwrap().len(), 2);
    let token = page["nextPageToken"].as_str().unwrap();
    let rest =
        call(&mut store, now, Method::GET, PARENT, &format!("pageSize=2&pageToken={token}"), Value::Null).unwrap();
    assert_eq!(rest["services"].as_array().unwrap().len(), 1);
    assert!(rest.get("nextPageToken").is_none());
    let all = call(&mut store, now, Method::GET, "v2/projects/p/locations/-/services", "", Value::Null).unwrap();
    assert_eq!(all["services"].as_array().unwrap().len(), 4);
    let ops =
        call(&mut store, now, Method::GET, "v2/projects/p/locations/us-central1/operations", "", Value::Null).unwrap();
    assert_eq!(ops["operations"].as_array().unwrap().len(), 3);
}

#[test]
fn seeded_services_serve_at_once_or_fail_when_told() {
    let mut store = Store::new();
    let now = Utc::now();
    let mut ctx = Ctx { store: &mut store, operation_duration: Duration::from_millis(50), now };
    Run.seed(
        &mut ctx,
        &json!({
            "services": [
                {"project": "p", "location": "us-central1", "id": "api", "service": {"template": {
                    "containers": [{"image": "i"}],
                    "vpcAccess": {"connector": "projects/p/locations/us-central1/connectors/wrong", "egress": "ALL_TRAFFIC"}}}},
                {"project": "p", "location": "us-central1", "id": "broken", "service": {"template": {"containers": [{"image": "i"}]}}}
            ],
            "revisionsNeverReady": [{"project": "p", "location": "us-central1", "service": "broken", "message": "boom"}]
        }),
    )
    .unwrap();
    let api = &store.get(API, NAME).unwrap().value;
    assert_eq!(api["terminalCondition"]["state"], "CONDITION_SUCCEEDED");
    assert_eq!(api["template"]["vpcAccess"]["egress"], "ALL_TRAFFIC");
    assert!(api["latestReadyRevision"].is_string());
    let broken = &store.get(API, "projects/p/locations/us-central1/services/broken").unwrap().value;
    assert_eq!(broken["terminalCondition"]["state"], "CONDITION_FAILED");
    assert!(broken["terminalCondition"]["message"].as_str().unwrap().ends_with("cannot serve traffic. boom"));
    assert!(broken.get("latestReadyRevision").is_none());
    let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now };
    let err = Run
        .seed(&mut ctx, &json!({"services": [{"project": "p", "location": "l", "id": "x", "service": {"template": {"containers": [{}]}}}]}))
        .unwrap_err();
    assert!(err.contains("run.services[0] (x)") && err.contains("image"), "{err}");
    let err = Run.seed(&mut ctx, &json!({"servises": []})).unwrap_err();
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn wait_holds_until_the_operation_is_due_or_its_timeout() {
    let mut store = Store::new();
    let now = Utc::now();
    let op = call(&mut store, now, Method::POST, PARENT, "serviceId=api", hello()).unwrap();
    let name = op["name"].as_str().unwrap().to_string();
    let due = store.operations[&name].done_at;
    let wait = |body: Value| ApiRequest::decoded(Method::POST, &format!("v2/{name}:wait"), "", body);
    assert_eq!(Run.hold_until(&store, &wait(Value::Null)), Some(due));
    let short = Run.hold_until(&store, &wait(json!({"timeout": "0.001s"}))).unwrap();
    assert!(short <= due);
    operations::settle_due(&mut store, later(now));
    assert_eq!(Run.hold_until(&store, &wait(Value::Null)), None, "a finished operation answers at once");
    let get = ApiRequest::decoded(Method::GET, &format!("v2/{name}"), "", Value::Null);
    assert_eq!(Run.hold_until(&store, &get), None);
}

#[test]
fn field_violations_are_worded_as_the_real_api_words_them() {
    let mut store = Store::new();
    let now = Utc::now();
    let err = call(&mut store, now, Method::POST, PARENT, "serviceId=Bad_Id", hello()).unwrap_err();
    assert_eq!(
        err.message,
        "Violation in CreateServiceRequest.service_id: only lowercase, digits, and hyphens; must begin with letter, and cannot end with hyphen; must be less than 50 characters."
    );
    let err = call(&mut store, now, Method::POST, PARENT, "serviceId=api", json!({"template": {"containers": [{}]}}))
        .unwrap_err();
    assert!(
        err.message.starts_with("Violation in CreateServiceRequest.service.template.containers[0].image:"),
        "{}",
        err.message
    );
    call(&mut store, now, Method::POST, PARENT, "serviceId=api", hello()).unwrap();
    let err = call(
        &mut store,
        now,
        Method::PATCH,
        &format!("v2/{NAME}"),
        "",
        json!({"template": {"timeout": "0s", "containers": [{"image": "i"}]}}),
    )
    .unwrap_err();
    assert!(err.message.starts_with("Violation in UpdateServiceRequest.service.template.timeout:"), "{}", err.message);
}

#[test]
fn force_new_revision_makes_a_revision_from_an_unchanged_template() {
    let mut store = Store::new();
    let t0 = Utc::now();
    call(&mut store, t0, Method::POST, PARENT, "serviceId=api", hello()).unwrap();
    let t1 = later(t0);
    let before = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    call(&mut store, t1, Method::PATCH, &format!("v2/{NAME}"), "", hello()).unwrap();
    let same = call(&mut store, t1, Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(same["generation"], "1", "an unchanged service is not a new generation");
    assert_eq!(same["etag"], before["etag"]);
    call(&mut store, t1, Method::PATCH, &format!("v2/{NAME}"), "forceNewRevision=true", hello()).unwrap();
    let forced = call(&mut store, later(t1), Method::GET, &format!("v2/{NAME}"), "", Value::Null).unwrap();
    assert_eq!(forced["generation"], "2");
    assert!(forced["latestReadyRevision"].as_str().unwrap().contains("/revisions/api-00002-"));
}
