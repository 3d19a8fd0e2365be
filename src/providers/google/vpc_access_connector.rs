//! `google_vpc_access_connector`: a Serverless VPC Access connector (the VMs that carry Cloud
//! Run / Functions traffic into a VPC).
//!
//! Replace rules follow terraform-provider-google after magic-modules #12830: `machine_type`,
//! `min_instances` and `max_instances` change in place through `connectors.patch`, except that
//! *shrinking* either instance count replaces the connector (Terraform's
//! `ForceNewIfChange(isInstanceShrinkage)`: the API cannot scale an autoscaling group down).
//!
//! Instance ranges: min 2–9, max 3–10. The roadmap (section 3.1) scales the staging connector
//! to 3/15; the API refuses a max above 10 ("max_instances must be between 3 and 10") and the
//! emulator does the same, so 15 is a plan-time error that points at a larger `machine_type`
//! for more capacity, instead of a failure twenty minutes into an apply.
//!
//! The Rust SDK has no UpdateConnector (v1's proto predates the REST `patch`), so the patch is
//! one hand-made request (see [`raw`]); its operation is then polled through the SDK.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_gax::error::Error as GaxError;
use google_cloud_lro::{Poller as _, PollingResult};
use google_cloud_vpcaccess_v1::model;
use tokio::time::Instant;

use super::errors::{api_error, is_already_exists};
use super::fields::{self, conform_to_schema, first_block, set, string};
use super::resource_common::{list_by_last_segment, name_schema_timeouts, no_identity, read_grouped, time_left};
use super::retry::{classify, deadline_error, poll_signal, Retry};
use super::{mmv1, Clients, Service, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{Attribute, Rule, Schema, Validator};

const TYPE: &str = "google_vpc_access_connector";
const LIST: &str = "vpcaccess.projects.locations.connectors.list";
const CREATE: &str = "vpcaccess.projects.locations.connectors.create";
const GET: &str = "vpcaccess.projects.locations.connectors.get";
const PATCH: &str = "vpcaccess.projects.locations.connectors.patch";
const DELETE: &str = "vpcaccess.projects.locations.connectors.delete";
const GET_OPERATION: &str = "vpcaccess.projects.locations.operations.get";

pub const MIN_INSTANCES: (f64, f64) = (2.0, 9.0);
pub const MAX_INSTANCES: (f64, f64) = (3.0, 10.0);

/// In-place attributes and their update-mask paths.
const UPDATABLE: [(&str, &str); 3] =
    [("machine_type", "machineType"), ("min_instances", "minInstances"), ("max_instances", "maxInstances")];

pub struct VpcAccessConnector {
    shared: Arc<Shared>,
    schema: Schema,
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn throughput(lo: f64, hi: f64) -> Validator {
    Validator::Custom(Arc::new(move |v: &Value| match number(v) {
        Some(n) if n >= lo && n <= hi && (n % 100.0) == 0.0 => Ok(()),
        Some(n) => Err(format!(
            "must be a multiple of 100 from {lo} through {hi} (Mbps), got {}",
            crate::lang::value::Value::from(n)
        )),
        None => Ok(()),
    }))
}

/// The generated schema, plus what the definition leaves to hand-written code and Cairn's
/// stricter checks:
/// - `isInstanceShrinkage` (the definition's custom diff): [`is_shrinkage`] in `customize_plan`.
/// - `network`'s custom expand/flatten (a self link is sent and stored as its last segment)
///   in [`connector_request`] and `to_state`; its `CompareResourceNames` is generated.
/// - The encoder (the name is not sent) and decoder (`self_link` from the name) by hand.
/// - The API's ranges, stricter than the definition's `IntBetween(200, 1000)`: throughput in
///   multiples of 100 (min 200–900, max 300–1000) and instances (min 2–9, max 3–10); the
///   connector name's pattern; a subnet needs its name; a range needs a network (generated);
///   network xor subnet; one of the maxima; each minimum below its maximum.
pub fn schema() -> Schema {
    let only = |v: Validator| move |a: Attribute| Attribute { validators: vec![v], ..a };
    mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern {
                regex: "[a-z][-a-z0-9]{0,23}[a-z0-9]",
                description: "2 to 25 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
            })
            .describe("The connector's name.")
        })
        .modify("region", |a| a.describe("Defaults to the provider's region."))
        .modify("project", |a| a.describe("Defaults to the provider's project."))
        .modify("network", |a| a.describe("The VPC network's name (or self link); give it or subnet, not both."))
        .modify("ip_cidr_range", |a| {
            a.validate(Validator::Custom(Arc::new(check_cidr)))
                .describe("An unused /28 range in the network, e.g. 10.8.0.0/28.")
        })
        .modify("machine_type", |a| a.describe("The connector VMs' machine type (in place)."))
        .modify("min_instances", |a| {
            a.validate(Validator::Range { min: MIN_INSTANCES.0, max: MIN_INSTANCES.1 })
                .describe("Minimum VMs; raising it updates in place, lowering it replaces the connector.")
        })
        .modify("max_instances", |a| {
            a.validate(Validator::Custom(Arc::new(check_max_instances)))
                .describe("Maximum VMs; raising it updates in place, lowering it replaces the connector.")
        })
        .modify("min_throughput", only(throughput(200.0, 900.0)))
        .modify("max_throughput", only(throughput(300.0, 1000.0)))
        .modify("min_throughput", |a| a.describe("Discouraged: use min_instances."))
        .modify("max_throughput", |a| a.describe("Discouraged: use max_instances."))
        .modify("state", |a| a.describe("READY, CREATING, UPDATING, DELETING or ERROR."))
        .modify("id", |a| a.describe("projects/{project}/locations/{region}/connectors/{name}"))
        .modify("subnet.name", |a| {
            Attribute { required: true, optional: false, ..a }.describe("The /28 subnet's short name (not its self link).")
        })
        .modify("subnet.project_id", |a| {
            a.describe("The subnet's project (a Shared VPC host); defaults to the connector's.")
        })
        .rule(Rule::ExactlyOneOf(vec!["network", "subnet"]))
        .rule(Rule::AtLeastOneOf(vec!["max_throughput", "max_instances"]))
        .rule(Rule::Custom(Arc::new(check_min_below_max)))
}

/// The API's limit (the roadmap's 15 is above it), with the way to more capacity.
fn check_max_instances(v: &Value) -> Result<(), String> {
    match number(v) {
        Some(n) if n.fract() == 0.0 && (MAX_INSTANCES.0..=MAX_INSTANCES.1).contains(&n) => Ok(()),
        Some(n) => Err(format!(
            "must be a whole number from {} through {} (the API's limit), got {}; for more capacity than 10 instances use a larger machine_type (e2-standard-4 carries about 16 times an e2-micro)",
            MAX_INSTANCES.0,
            MAX_INSTANCES.1,
            crate::lang::value::Value::from(n)
        )),
        None => Ok(()),
    }
}

fn check_cidr(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    match s.parse::<ipnet::Ipv4Net>() {
        Ok(net) if net.prefix_len() == 28 => {
            if net.trunc() != net {
                Err(format!("must start on a /28 boundary: {s} has host bits set; use {}", net.trunc()))
            } else {
                Ok(())
            }
        }
        Ok(net) => Err(format!(
            "must be a /28 range (16 addresses), got a /{}: write e.g. {}/28",
            net.prefix_len(),
            net.network()
        )),
        Err(_) => Err(format!("must be an IPv4 range in CIDR notation such as 10.8.0.0/28, got {s:?}")),
    }
}

fn check_min_below_max(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    for (lo, hi) in [("min_instances", "max_instances"), ("min_throughput", "max_throughput")] {
        if let (Some(a), Some(b)) = (config.get(lo).and_then(number), config.get(hi).and_then(number)) {
            if a >= b {
                out.push((
                    AttrPath::attr(lo),
                    format!(
                        "{lo} ({}) must be lower than {hi} ({}): the connector autoscales between them; lower {lo} or raise {hi}",
                        crate::lang::value::Value::from(a),
                        crate::lang::value::Value::from(b)
                    ),
                ));
            }
        }
    }
    out
}

/// The parts of `projects/{p}/locations/{r}/connectors/{n}`.
pub fn parse_connector_name(name: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = name.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "locations", r, "connectors", n] if !p.is_empty() && !r.is_empty() && !n.is_empty() => {
            Some((p.to_string(), r.to_string(), n.to_string()))
        }
        _ => None,
    }
}

/// `projects/{p}/locations/{r}/connectors/{n}`, `{p}/{r}/{n}`, `{r}/{n}` or `{n}` (the
/// provider's project and region fill the gaps).
pub fn parse_import_id(
    id: &str,
    project: Option<&str>,
    region: Option<&str>,
) -> Result<(String, String, String), ProviderError> {
    if let Some(x) = parse_connector_name(id) {
        return Ok(x);
    }
    let need = |what: Option<&str>, name: &str| {
        what.map(str::to_string).ok_or_else(|| {
            ProviderError::new(format!("import id \"{id}\" names no {name} and the provider has none; use projects/PROJECT/locations/REGION/connectors/NAME"))
        })
    };
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [p, r, n] if !p.is_empty() && !r.is_empty() && !n.is_empty() => Ok((p.to_string(), r.to_string(), n.to_string())),
        [r, n] if !r.is_empty() && !n.is_empty() => Ok((need(project, "project")?, r.to_string(), n.to_string())),
        [n] if !n.is_empty() => Ok((need(project, "project")?, need(region, "region")?, n.to_string())),
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not projects/PROJECT/locations/REGION/connectors/NAME, PROJECT/REGION/NAME, REGION/NAME or NAME"
        ))),
    }
}

/// The (project, region, name) of a state value.
fn identity(v: &Value) -> Option<(String, String, String)> {
    match (string(v, "project"), string(v, "region"), string(v, "name")) {
        (Some(p), Some(r), Some(n)) => Some((p, r, n)),
        _ => string(v, "id").and_then(|id| parse_connector_name(&id)),
    }
}

fn full_name(p: &str, r: &str, n: &str) -> String {
    format!("projects/{p}/locations/{r}/connectors/{n}")
}

fn int_or_null(n: i32) -> Value {
    if n == 0 {
        Value::Null
    } else {
        Value::from(n)
    }
}

fn text_or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::string(s)
    }
}

/// Whether lowering `attr` from prior to planned is a shrink (known numbers, planned smaller).
pub fn is_shrinkage(prior: &Value, planned: &Value, attr: &str) -> bool {
    match (prior.get(attr).and_then(number), planned.get(attr).filter(|v| !v.is_unknown()).and_then(number)) {
        (Some(before), Some(after)) => after < before,
        _ => false,
    }
}

/// The request body for a create.
fn connector_request(planned: &Value) -> model::Connector {
    let mut c = model::Connector::new();
    if let Some(n) = string(planned, "network") {
        c = c.set_network(fields::last_segment(&n));
    }
    if let Some(r) = string(planned, "ip_cidr_range") {
        c = c.set_ip_cidr_range(r);
    }
    if let Some(m) = string(planned, "machine_type") {
        c = c.set_machine_type(m);
    }
    let int = |name: &str| {
        planned.get(name).filter(|v| !v.is_unknown()).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok())
    };
    if let Some(n) = int("min_instances") {
        c = c.set_min_instances(n);
    }
    if let Some(n) = int("max_instances") {
        c = c.set_max_instances(n);
    }
    if let Some(n) = int("min_throughput") {
        c = c.set_min_throughput(n);
    }
    if let Some(n) = int("max_throughput") {
        c = c.set_max_throughput(n);
    }
    if let Some(s) = first_block(planned, "subnet") {
        let mut sub = model::connector::Subnet::new().set_name(string(s, "name").unwrap_or_default());
        if let Some(p) =
            s.get("project_id").filter(|v| !v.is_unknown()).and_then(Value::as_str).filter(|p| !p.is_empty())
        {
            sub = sub.set_project_id(p);
        }
        c = c.set_subnet(sub);
    }
    c
}

/// The JSON body and mask of a patch for the changed in-place attributes.
pub fn patch_request(planned: &Value, changed: &[AttrPath]) -> (serde_json::Value, Vec<&'static str>) {
    let touched = |name: &str| changed.iter().any(|p| p.top() == Some(name));
    let mut body = serde_json::Map::new();
    let mut mask = Vec::new();
    for (attr, field) in UPDATABLE {
        if !touched(attr) {
            continue;
        }
        let value = match planned.get(attr).map(Value::peel) {
            Some(Value::String(s)) => serde_json::Value::from(s.clone()),
            Some(Value::Number(n)) => n.to_json(),
            _ => continue,
        };
        body.insert(field.to_string(), value);
        mask.push(field);
    }
    (serde_json::Value::Object(body), mask)
}

impl VpcAccessConnector {
    pub fn new(shared: Arc<Shared>) -> Self {
        VpcAccessConnector { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    fn to_state(&self, c: &model::Connector, prior: Option<&Value>) -> Value {
        let (project, region, name) = parse_connector_name(&c.name).unwrap_or_default();
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        m.insert("id".into(), Value::string(full_name(&project, &region, &name)));
        m.insert("self_link".into(), Value::string(full_name(&project, &region, &name)));
        m.insert("name".into(), Value::string(name));
        m.insert("project".into(), Value::string(project));
        m.insert("region".into(), Value::string(region));
        m.insert("network".into(), text_or_null(fields::last_segment(&c.network)));
        m.insert("ip_cidr_range".into(), text_or_null(&c.ip_cidr_range));
        m.insert(
            "machine_type".into(),
            Value::string(if c.machine_type.is_empty() { "e2-micro" } else { c.machine_type.as_str() }),
        );
        m.insert("min_instances".into(), int_or_null(c.min_instances));
        m.insert("max_instances".into(), int_or_null(c.max_instances));
        m.insert("min_throughput".into(), int_or_null(c.min_throughput));
        m.insert("max_throughput".into(), int_or_null(c.max_throughput));
        m.insert("state".into(), c.state.name().map(Value::string).unwrap_or(Value::Null));
        m.insert(
            "connected_projects".into(),
            Value::List(c.connected_projects.iter().map(|p| Value::string(p.clone())).collect()),
        );
        let subnet = c.subnet.as_ref().filter(|s| !s.name.is_empty()).map(|s| {
            Value::map([("name", Value::string(s.name.clone())), ("project_id", text_or_null(&s.project_id))])
        });
        // The API may leave projectId out for a subnet in the connector's own project.
        let subnet = subnet.map(|mut s| {
            if s.get("project_id").is_some_and(Value::is_null) {
                let fallback = prior
                    .and_then(|p| first_block(p, "subnet"))
                    .and_then(|b| string(b, "project_id"))
                    .or_else(|| string(&Value::object(m.clone()), "project"));
                set(&mut s, "project_id", fallback.map(Value::string).unwrap_or(Value::Null));
            }
            s
        });
        m.insert("subnet".into(), Value::List(subnet.into_iter().collect()));
        conform_to_schema(&self.schema, Value::object(m))
    }

    async fn get(&self, c: &Clients, name: &str, timeout: Duration) -> Result<model::Connector, ProviderError> {
        c.vpc_access_calls
            .idempotent(GET, timeout, || c.vpc_access.get_connector().set_name(name.to_string()).send())
            .await
    }

    async fn list(
        &self,
        c: &Clients,
        project: &str,
        region: &str,
        timeout: Duration,
    ) -> Result<Option<BTreeMap<String, model::Connector>>, ProviderError> {
        let parent = format!("projects/{project}/locations/{region}");
        let parent = parent.as_str();
        list_by_last_segment!(
            c.vpc_access_calls,
            LIST,
            timeout,
            c.vpc_access.list_connectors().set_parent(parent),
            100,
            connectors
        )
        .await
    }

    /// Polls a google.longrunning operation by name until done, reporting progress; the
    /// operation's own error (the API's message) fails the call under `method`.
    async fn wait_operation(
        &self,
        c: &Clients,
        ctx: &CallContext,
        method: &str,
        what: &str,
        op: &str,
        deadline: Instant,
    ) -> Result<(), ProviderError> {
        let started = Instant::now();
        for attempt in 0u32.. {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(deadline_error(method, ctx.timeout, None));
            }
            let current = c
                .vpc_access_calls
                .idempotent(GET_OPERATION, remaining, || c.vpc_access.get_operation().set_name(op.to_string()).send())
                .await?;
            if current.done {
                if let Some(status) = current.error() {
                    return Err(ProviderError::new(format!(
                        "{what} failed: {} (operation {op}, code {})",
                        status.message, status.code
                    ))
                    .method(method));
                }
                return Ok(());
            }
            (ctx.progress)(&format!("{what}: operation running, {}s elapsed", started.elapsed().as_secs()));
            if !pause_poll(c, attempt, deadline).await {
                return Err(deadline_error(method, ctx.timeout, None));
            }
        }
        Ok(())
    }
}

/// Sleeps before poll `attempt`; false when that would pass the deadline. Starts near Terraform's
/// 2 s minimum against the real API (the emulator's backoff is milliseconds).
async fn pause_poll(c: &Clients, attempt: u32, deadline: Instant) -> bool {
    let d = c.vpc_access_calls.backoff.ceiling(attempt.saturating_add(2));
    if Instant::now() + d >= deadline {
        return false;
    }
    tokio::time::sleep(d).await;
    true
}

#[async_trait]
impl ResourceType for VpcAccessConnector {
    name_schema_timeouts!(TYPE, 20);

    /// Estimate: a connector is a group of at least two VMs (e2-micro by default) that Google
    /// starts in the network (Google's Serverless VPC Access overview), a regional operation of
    /// minutes; resizing or removing them takes about as long.
    fn expected_durations(&self) -> crate::providers::ExpectedDurations {
        crate::providers::ExpectedDurations::secs(2 * 60, 60, 2 * 60)
    }

    /// Project, region and id from the provider; shrinking an instance count replaces.
    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        let mut warnings = Vec::new();
        if let Some(prior) = p.prior.clone() {
            let mut shrunk = Vec::new();
            for attr in ["min_instances", "max_instances"] {
                if is_shrinkage(&prior, &p.planned, attr) {
                    shrunk.push(attr);
                }
            }
            if !shrunk.is_empty() {
                // The core plans the replacement (computed attributes unknown again).
                for attr in &shrunk {
                    let path = AttrPath::attr(attr);
                    if !p.requires_replace.contains(&path) {
                        p.requires_replace.push(path);
                    }
                }
                warnings.push(format!(
                    "lowering {} replaces the connector (a connector cannot scale down in place); traffic through it stops while it is recreated",
                    shrunk.join(" and ")
                ));
            }
        }
        self.shared.fill_project_and_region(&mut p.planned);
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let (Some(pr), Some(r), Some(n)) =
                (string(&p.planned, "project"), string(&p.planned, "region"), string(&p.planned, "name"))
            {
                set(&mut p.planned, "id", Value::string(full_name(&pr, &r, &n)));
                set(&mut p.planned, "self_link", Value::string(full_name(&pr, &r, &n)));
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
            |v| identity(v).map(|(p, r, n)| ((p, r), n)),
            |(project, region)| async move { self.list(c, &project, &region, ctx.timeout).await },
            |_, live, name, prior| live.get(name).map(|conn| self.to_state(conn, Some(prior))),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let region = string(planned, "region").or_else(|| c.config.region.clone()).ok_or_else(|| {
            ProviderError::new(format!(
                "{TYPE}: no region: set `region` on the resource or in the provider \"google\" block"
            ))
        })?;
        let name = fields::required_string(planned, "name", TYPE)?;
        let full = full_name(&project, &region, &name);
        let body = connector_request(planned);
        let deadline = Instant::now() + ctx.timeout;
        let started = Instant::now();
        let mut maybe_created = false;
        let mut last: Option<GaxError> = None;
        let mut attempt = 0u32;
        let created = 'retry: loop {
            let mut poller = c
                .vpc_access
                .create_connector()
                .set_parent(format!("projects/{project}/locations/{region}"))
                .set_connector_id(name.clone())
                .set_connector(body.clone())
                .poller();
            let mut running = false;
            let mut polls = 0u32;
            loop {
                // Each poll holds a place under the API's limit only while it is answered.
                let result = match c.vpc_access_calls.limited(deadline, poller.poll(), poll_signal).await {
                    Some(r) => r,
                    None => return Err(deadline_error(CREATE, ctx.timeout, last.as_ref())),
                };
                match result {
                    Some(PollingResult::Completed(Ok(conn))) => break 'retry Some(conn),
                    // The operation ran and failed: the API's message, e.g. "A Connector must
                    // specify either max_throughput or max_instances."
                    Some(PollingResult::Completed(Err(e))) if running => {
                        let mut err = api_error(CREATE, &e);
                        err.message = format!("creating connector {full} failed: {}", err.message);
                        err.retryable = false;
                        return Err(err);
                    }
                    Some(PollingResult::Completed(Err(e))) => {
                        if maybe_created && is_already_exists(&e) {
                            break 'retry None;
                        }
                        match classify(&e) {
                            Retry::Permanent if is_already_exists(&e) => {
                                let mut err = api_error(CREATE, &e);
                                err.message.push_str(&format!("; the connector exists but is not in Cairn's state: import it with `cairn import <address> {full}`"));
                                return Err(err);
                            }
                            Retry::Permanent => return Err(api_error(CREATE, &e)),
                            Retry::Ambiguous => maybe_created = true,
                            Retry::NotProcessed => {}
                        }
                        last = Some(e);
                        break;
                    }
                    Some(PollingResult::InProgress(_)) => {
                        running = true;
                        (ctx.progress)(&format!(
                            "creating connector {full}: state CREATING, {}s elapsed",
                            started.elapsed().as_secs()
                        ));
                    }
                    // Reading the operation failed; the poller's error policy said try again.
                    Some(PollingResult::PollingError(e)) => last = Some(e),
                    None => break 'retry None,
                }
                if !pause_poll(&c, polls, deadline).await {
                    return Err(deadline_error(CREATE, ctx.timeout, last.as_ref()));
                }
                polls += 1;
            }
            if !c.vpc_access_calls.pause(attempt, deadline).await {
                return Err(deadline_error(CREATE, ctx.timeout, last.as_ref()));
            }
            attempt += 1;
        };
        let conn = match created {
            Some(conn) => conn,
            None => {
                // Adopted after an ambiguous failure: wait for it to settle.
                loop {
                    let remaining = time_left(deadline);
                    let conn = self.get(&c, &full, remaining).await?;
                    if conn.state != model::connector::State::Creating {
                        break conn;
                    }
                    if !pause_poll(&c, 0, deadline).await {
                        return Err(deadline_error(CREATE, ctx.timeout, None));
                    }
                }
            }
        };
        let conn = if conn.name.is_empty() { self.get(&c, &full, ctx.timeout).await? } else { conn };
        if conn.state == model::connector::State::Error {
            return Err(ProviderError::new(format!("connector {full} was created but is in state ERROR; check its subnet/range, then replace it (`cairn apply -replace=<address>`)")).method(CREATE));
        }
        Ok(self.to_state(&conn, Some(planned)))
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
        let (project, region, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/region/name"))?;
        let full = full_name(&project, &region, &name);
        let (body, mask) = patch_request(planned, changed);
        let deadline = Instant::now() + ctx.timeout;
        if !mask.is_empty() {
            // The API refuses to patch a connector that is still being created or updated
            // ("cannot be updated until it is READY"): wait for it to settle first.
            let started = Instant::now();
            let mut polls = 0u32;
            loop {
                let remaining = time_left(deadline);
                let conn = self.get(&c, &full, remaining).await?;
                if !matches!(conn.state, model::connector::State::Creating | model::connector::State::Updating) {
                    break;
                }
                (ctx.progress)(&format!(
                    "waiting for connector {full} to be READY before updating it (state {}, {}s elapsed)",
                    conn.state.name().unwrap_or("?"),
                    started.elapsed().as_secs()
                ));
                if !pause_poll(&c, polls, deadline).await {
                    return Err(deadline_error(PATCH, ctx.timeout, None));
                }
                polls += 1;
            }
            let endpoint = c.config.endpoint(Service::VpcAccess).to_string();
            let path = format!("/v1/{full}?updateMask={}", mask.join(","));
            let payload = body.to_string();
            let creds = c.credentials.clone();
            let op = c
                .vpc_access_calls
                .idempotent(PATCH, ctx.timeout, || {
                    raw::send(&endpoint, "PATCH", &path, payload.clone(), creds.clone(), c.config.request_timeout)
                })
                .await?;
            let op_name = op.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
            let done = op.get("done").and_then(|d| d.as_bool()).unwrap_or(false);
            if let Some(err) = op.get("error").filter(|_| done) {
                let msg = err.get("message").and_then(|m| m.as_str()).unwrap_or("the operation failed");
                return Err(ProviderError::new(format!("updating connector {full} failed: {msg}")).method(PATCH));
            }
            if !done && !op_name.is_empty() {
                self.wait_operation(
                    &c,
                    ctx,
                    PATCH,
                    &format!("updating connector {full} ({})", mask.join(", ")),
                    &op_name,
                    deadline,
                )
                .await?;
            }
        }
        let remaining = time_left(deadline);
        let conn = self.get(&c, &full, remaining).await?;
        Ok(self.to_state(&conn, Some(planned)))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, region, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/region/name"))?;
        let full = full_name(&project, &region, &name);
        let c = self.clients(ctx).await?;
        let deadline = Instant::now() + ctx.timeout;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut last: Option<GaxError> = None;
        loop {
            let mut poller = c.vpc_access.delete_connector().set_name(full.clone()).poller();
            let mut polls = 0u32;
            let mut running = false;
            loop {
                // Each poll holds a place under the API's limit only while it is answered.
                let result = match c.vpc_access_calls.limited(deadline, poller.poll(), poll_signal).await {
                    Some(r) => r,
                    None => return Err(deadline_error(DELETE, ctx.timeout, last.as_ref())),
                };
                match result {
                    Some(PollingResult::Completed(Ok(()))) | None => return Ok(()),
                    Some(PollingResult::Completed(Err(e))) if super::errors::is_not_found(&e) => return Ok(()),
                    Some(PollingResult::Completed(Err(e))) if running => {
                        let mut err = api_error(DELETE, &e);
                        err.message = format!("deleting connector {full} failed: {}", err.message);
                        return Err(err);
                    }
                    Some(PollingResult::Completed(Err(e))) => {
                        if classify(&e) == Retry::Permanent {
                            return Err(api_error(DELETE, &e));
                        }
                        last = Some(e);
                        break;
                    }
                    Some(PollingResult::InProgress(_)) => {
                        running = true;
                        (ctx.progress)(&format!(
                            "deleting connector {full}: state DELETING, {}s elapsed",
                            started.elapsed().as_secs()
                        ));
                    }
                    Some(PollingResult::PollingError(e)) => last = Some(e),
                }
                if !pause_poll(&c, polls, deadline).await {
                    return Err(deadline_error(DELETE, ctx.timeout, last.as_ref()));
                }
                polls += 1;
            }
            if !c.vpc_access_calls.pause(attempt, deadline).await {
                return Err(deadline_error(DELETE, ctx.timeout, last.as_ref()));
            }
            attempt += 1;
        }
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (p, r, n) = parse_import_id(id, c.config.project.as_deref(), c.config.region.as_deref())?;
        let conn = self.get(&c, &full_name(&p, &r, &n), ctx.timeout).await?;
        Ok(self.to_state(&conn, None))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        let name = string(planned, "name")?;
        let project = self.shared.planned_project(planned)?;
        let region = self.shared.planned_region(planned)?;
        Some(full_name(&project, &region, &name))
    }
}

/// One JSON request without an SDK method (reqwest, the HTTP client the SDK itself is built on,
/// so https and http endpoints alike). Errors come back as SDK errors so the retry rules and
/// messages are the same as for SDK calls.
pub(crate) mod raw {
    use std::time::Duration;

    use google_cloud_auth::credentials::{CacheableResource, Credentials};
    use google_cloud_gax::error::rpc::Status;
    use google_cloud_gax::error::Error as GaxError;

    /// Sends one JSON request with the same credentials and TLS stack the SDK uses: the Rust
    /// VPC Access SDK has no UpdateConnector, so the PATCH is made here.
    pub async fn send(
        endpoint: &str,
        method: &str,
        path_and_query: &str,
        body: String,
        creds: Credentials,
        timeout: Duration,
    ) -> Result<serde_json::Value, GaxError> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| GaxError::io(e.to_string()))?;
        let url = format!("{}{}", endpoint.trim_end_matches('/'), path_and_query);
        let client = reqwest::Client::builder().timeout(timeout).build().map_err(|e| GaxError::io(e.to_string()))?;
        let mut request = client
            .request(method, url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        match creds.headers(axum::http::Extensions::new()).await {
            Ok(CacheableResource::New { data, .. }) => request = request.headers(data),
            Ok(CacheableResource::NotModified) => {}
            Err(e) => return Err(GaxError::authentication(e)),
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                GaxError::timeout(format!("no answer within {}s", timeout.as_secs()))
            } else if e.is_connect() {
                GaxError::connect(e.to_string())
            } else {
                GaxError::io(e.to_string())
            }
        })?;
        let code = response.status().as_u16();
        // Kept for the error: a 429's Retry-After paces the adaptive limiter.
        let headers = response.headers().clone();
        let payload = response.bytes().await.map_err(|e| GaxError::io(e.to_string()))?;
        if (200..300).contains(&code) {
            return serde_json::from_slice(&payload).map_err(GaxError::deser);
        }
        let bytes = payload;
        Err(match Status::try_from(&bytes) {
            Ok(s) => GaxError::service_with_http_metadata(s, Some(code), Some(headers)),
            Err(_) => GaxError::http(code, headers, bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"google_vpc_access_connector\" \"c\" {{\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    const OK: &str = "  name = \"staging-connector\"\n  region = \"us-central1\"\n  network = \"staging-vpc\"\n  ip_cidr_range = \"10.1.0.0/28\"\n  min_instances = 2\n  max_instances = 10\n";

    #[test]
    fn the_roadmap_connector_is_valid() {
        assert_eq!(diags(OK), Vec::<String>::new());
        let sub = "  name = \"c1\"\n  subnet {\n    name = \"staging-subnet\"\n    project_id = \"netra-staging\"\n  }\n  min_instances = 2\n  max_instances = 10\n";
        assert_eq!(diags(sub), Vec::<String>::new());
    }

    /// The corpus stack's arguments (tests/it/corpus/google_vpc_access_connector), and the
    /// provider's conflicts between a throughput and the instance count it stands for.
    #[test]
    fn every_documented_argument_validates() {
        let net = "  name = \"c1\"\n  project = \"p\"\n  region = \"us-central1\"\n  network = \"projects/p/global/networks/staging-vpc\"\n  ip_cidr_range = \"10.8.0.0/28\"\n  machine_type = \"e2-standard-4\"\n  min_throughput = 200\n  max_throughput = 1000\n  deletion_policy = \"PREVENT\"\n";
        assert_eq!(diags(net), Vec::<String>::new());
        let both = "  name = \"c1\"\n  network = \"n\"\n  ip_cidr_range = \"10.8.0.0/28\"\n  min_instances = 2\n  min_throughput = 200\n  max_instances = 10\n";
        assert!(one(both).contains("\"min_throughput\""), "{:?}", diags(both));
    }

    /// The definition's custom expand and flatten: a network's self link is sent, and read
    /// back, as its name; the generated CompareResourceNames keeps the plan quiet.
    #[test]
    fn a_network_self_link_is_its_name() {
        let mut cfg = config(2.0, 10.0, "e2-micro");
        set(&mut cfg, "network", Value::from("projects/netra-staging/global/networks/staging-vpc"));
        assert_eq!(connector_request(&cfg).network, "staging-vpc");
        let prior = live(2, 10);
        let (p, _) = plan(&prior, &cfg);
        assert!(crate::schema::diff::changed_paths(&prior, &p.planned).is_empty());
    }

    fn one(body: &str) -> String {
        let d = diags(body);
        assert_eq!(d.len(), 1, "{d:?}");
        d[0].clone()
    }

    #[test]
    fn name_pattern_and_length() {
        assert!(one(&OK.replace("staging-connector", "Staging")).starts_with("main.tf:2:"));
        assert!(one(&OK.replace("staging-connector", &"a".repeat(26))).contains("name"));
        assert!(one(&OK.replace("staging-connector", "ends-with-")).contains("not ending with a hyphen"));
        assert_eq!(diags(&OK.replace("staging-connector", &"a".repeat(25))), Vec::<String>::new());
    }

    #[test]
    fn network_or_subnet_exactly_one() {
        let both = format!("{OK}  subnet {{\n    name = \"s\"\n  }}\n");
        let d = diags(&both);
        assert!(d.iter().any(|m| m.contains("Only one of \"network\", \"subnet\"")), "{d:?}");
        let neither = "  name = \"c1\"\n  max_instances = 3\n";
        assert!(one(neither).contains("Exactly one of \"network\", \"subnet\" must be set"));
    }

    #[test]
    fn cidr_must_be_a_28_and_needs_network() {
        assert!(one(&OK.replace("10.1.0.0/28", "10.1.0.0/24")).contains("must be a /28 range"));
        assert!(one(&OK.replace("10.1.0.0/28", "10.1.0.3/28")).contains("host bits"));
        assert!(one(&OK.replace("10.1.0.0/28", "nonsense")).contains("CIDR"));
        let sub = "  name = \"c1\"\n  ip_cidr_range = \"10.1.0.0/28\"\n  subnet {\n    name = \"s\"\n  }\n  max_instances = 3\n";
        assert!(
            diags(sub).iter().any(|m| m.contains("\"network\" is required when \"ip_cidr_range\" is set")),
            "{:?}",
            diags(sub)
        );
    }

    #[test]
    fn instance_and_throughput_ranges() {
        assert!(one(&OK.replace("min_instances = 2", "min_instances = 1")).contains("min_instances"));
        // The roadmap's 3/15: the API's maximum is 10.
        let d = one(&OK.replace("max_instances = 10", "max_instances = 15"));
        assert!(
            d.contains("max_instances")
                && d.contains("from 3 through 10 (the API's limit), got 15")
                && d.contains("machine_type"),
            "{d}"
        );
        assert!(diags(&OK.replace("min_instances = 2", "min_instances = 10"))
            .iter()
            .any(|m| m.contains("\"min_instances\" must be between 2 and 9")));
        let tp = "  name = \"c1\"\n  network = \"n\"\n  min_throughput = 250\n  max_throughput = 1000\n";
        assert!(one(tp).contains("multiple of 100 from 200 through 900"));
        let tp = "  name = \"c1\"\n  network = \"n\"\n  min_throughput = 200\n  max_throughput = 1100\n";
        assert!(one(tp).contains("from 300 through 1000"));
    }

    #[test]
    fn min_below_max_and_a_max_is_needed() {
        let d = one(&OK
            .replace("min_instances = 2", "min_instances = 5")
            .replace("max_instances = 10", "max_instances = 5"));
        assert!(d.contains("min_instances (5) must be lower than max_instances (5)"), "{d}");
        let tp = "  name = \"c1\"\n  network = \"n\"\n  min_throughput = 500\n  max_throughput = 400\n";
        assert!(one(tp).contains("min_throughput (500) must be lower than max_throughput (400)"));
        let none = "  name = \"c1\"\n  network = \"n\"\n  min_instances = 2\n";
        assert!(one(none).contains("At least one of \"max_throughput\", \"max_instances\" must be set"));
    }

    fn config(min: f64, max: f64, machine: &str) -> Value {
        conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("staging-connector")),
                ("project", Value::from("netra-staging")),
                ("region", Value::from("us-central1")),
                ("network", Value::from("staging-vpc")),
                ("ip_cidr_range", Value::from("10.1.0.0/28")),
                ("machine_type", Value::from(machine)),
                ("min_instances", Value::from(min)),
                ("max_instances", Value::from(max)),
            ]),
        )
    }

    fn live(min: i32, max: i32) -> Value {
        let t = VpcAccessConnector::new(Arc::new(Shared::new(Default::default())));
        let conn = model::Connector::new()
            .set_name("projects/netra-staging/locations/us-central1/connectors/staging-connector")
            .set_network("staging-vpc")
            .set_ip_cidr_range("10.1.0.0/28")
            .set_machine_type("e2-micro")
            .set_min_instances(min)
            .set_max_instances(max)
            .set_min_throughput(min * 100)
            .set_max_throughput(max * 100)
            .set_state(model::connector::State::Ready);
        // As the core stores it: the client-only deletion_policy at its default.
        t.schema().keep_client_only(&Value::Null, t.to_state(&conn, None))
    }

    fn plan(prior: &Value, config: &Value) -> (PlanProposal, Vec<String>) {
        let t = VpcAccessConnector::new(Arc::new(Shared::new(Default::default())));
        let mut p = crate::schema::propose::propose(t.schema(), Some(prior), config, false);
        let w = t.customize_plan(&mut p).unwrap();
        (p, w)
    }

    #[test]
    fn growing_updates_in_place_and_shrinking_replaces() {
        let prior = live(2, 10);
        let (same, w) = plan(&prior, &config(2.0, 10.0, "e2-micro"));
        assert!(same.requires_replace.is_empty() && w.is_empty());
        assert!(
            crate::schema::diff::changed_paths(&prior, &same.planned).is_empty(),
            "a refresh right after apply plans nothing"
        );

        let (grow, w) = plan(&prior, &config(3.0, 10.0, "e2-micro"));
        assert!(grow.requires_replace.is_empty() && w.is_empty(), "{:?}", grow.requires_replace);
        let changed = crate::schema::diff::changed_paths(&prior, &grow.planned);
        let (body, mask) = patch_request(&grow.planned, &changed);
        assert_eq!(mask, vec!["minInstances"]);
        assert_eq!(body, serde_json::json!({"minInstances": 3}));

        let (machine, _) = plan(&prior, &config(2.0, 10.0, "e2-standard-4"));
        assert!(machine.requires_replace.is_empty());
        let (_, mask) = patch_request(&machine.planned, &crate::schema::diff::changed_paths(&prior, &machine.planned));
        assert_eq!(mask, vec!["machineType"]);

        let (shrink, w) = plan(&prior, &config(2.0, 8.0, "e2-micro"));
        assert_eq!(shrink.requires_replace, vec![AttrPath::attr("max_instances")]);
        assert!(w.len() == 1 && w[0].contains("lowering max_instances replaces"), "{w:?}");
        // The replacement itself (computed attributes unknown again) is planned by the core:
        // plan::instance's tests.

        let (both, _) = plan(&live(3, 10), &config(2.0, 9.0, "e2-micro"));
        assert_eq!(both.requires_replace, vec![AttrPath::attr("min_instances"), AttrPath::attr("max_instances")]);
    }

    #[test]
    fn shrinkage_needs_known_numbers() {
        let prior = Value::map([("max_instances", Value::from(10.0))]);
        assert!(is_shrinkage(&prior, &Value::map([("max_instances", Value::from(3.0))]), "max_instances"));
        assert!(!is_shrinkage(&prior, &Value::map([("max_instances", Value::unknown())]), "max_instances"));
        assert!(!is_shrinkage(&prior, &Value::map([("max_instances", Value::from(12.0))]), "max_instances"));
        assert!(!is_shrinkage(
            &Value::map([("max_instances", Value::Null)]),
            &Value::map([("max_instances", Value::from(3.0))]),
            "max_instances"
        ));
    }

    #[test]
    fn create_body_and_state_round_trip() {
        let c = connector_request(&config(2.0, 10.0, "e2-micro"));
        assert_eq!(
            (c.network.as_str(), c.ip_cidr_range.as_str(), c.min_instances, c.max_instances),
            ("staging-vpc", "10.1.0.0/28", 2, 10)
        );
        assert!(c.subnet.is_none());
        let s = live(2, 10);
        assert_eq!(
            s.get("id"),
            Some(&Value::from("projects/netra-staging/locations/us-central1/connectors/staging-connector"))
        );
        assert_eq!(s.get("state"), Some(&Value::from("READY")));
        assert_eq!(s.get("subnet"), Some(&Value::List(vec![])));
    }

    #[test]
    fn import_ids() {
        let full = ("p".to_string(), "r".to_string(), "n".to_string());
        assert_eq!(parse_import_id("projects/p/locations/r/connectors/n", None, None).unwrap(), full);
        assert_eq!(parse_import_id("p/r/n", None, None).unwrap(), full);
        assert_eq!(parse_import_id("r/n", Some("p"), None).unwrap(), full);
        assert_eq!(parse_import_id("n", Some("p"), Some("r")).unwrap(), full);
        assert!(parse_import_id("n", Some("p"), None).unwrap_err().message.contains("names no region"));
        assert!(parse_import_id("a/b/c/d", None, None).is_err());
    }

    /// The patch goes out with the mask of the changed fields; its operation is polled to done;
    /// a failed operation's message reaches the error.
    #[tokio::test]
    async fn update_patches_with_a_mask_and_waits_for_the_operation() {
        use std::sync::Mutex;
        let seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s2, f2) = (seen.clone(), fail.clone());
        let name = "projects/p/locations/us-central1/connectors/c";
        let endpoint = super::super::test_server::start(Arc::new(move |method: &str, path: &str, query: &str, body: &[u8]| {
            s2.lock().unwrap().push(format!("{method} {path}?{query} {}", String::from_utf8_lossy(body)));
            match (method, path) {
                ("PATCH", _) => (200, serde_json::json!({"name": "projects/p/locations/us-central1/operations/op1"})),
                ("GET", "/v1/projects/p/locations/us-central1/operations/op1") if f2.load(std::sync::atomic::Ordering::SeqCst) => {
                    (200, serde_json::json!({"name": "projects/p/locations/us-central1/operations/op1", "done": true, "error": {"code": 3, "message": "min_instances (3) must be lower than max_instances (3)."}}))
                }
                ("GET", "/v1/projects/p/locations/us-central1/operations/op1") => (200, serde_json::json!({"name": "op1", "done": true, "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}})),
                ("GET", _) => (200, serde_json::json!({"name": name, "network": "n", "ipCidrRange": "10.1.0.0/28", "machineType": "e2-micro", "minInstances": 3, "maxInstances": 10, "state": "READY"})),
                _ => (404, serde_json::json!({"error": {"code": 404, "message": "The connector is not found.", "status": "NOT_FOUND"}})),
            }
        }))
        .await;
        let (shared, ctx) = super::super::test_server::shared(&endpoint).await;
        let t = VpcAccessConnector::new(shared);
        let prior = live(2, 10);
        let mut prior = prior;
        set(&mut prior, "project", Value::from("p"));
        set(&mut prior, "name", Value::from("c"));
        let mut planned = prior.clone();
        set(&mut planned, "min_instances", Value::from(3.0));
        let state = t.update(&ctx, &prior, &planned, &planned, &[AttrPath::attr("min_instances")]).await.unwrap();
        assert_eq!(state.get("min_instances"), Some(&Value::from(3.0)));
        let log = seen.lock().unwrap().clone();
        // A GET first: the connector must be READY before it can be patched.
        assert!(log[0].starts_with("GET /v1/projects/p/locations/us-central1/connectors/c"), "{log:?}");
        assert!(
            log[1].starts_with(
                "PATCH /v1/projects/p/locations/us-central1/connectors/c?updateMask=minInstances {\"minInstances\":3}"
            ),
            "{log:?}"
        );

        fail.store(true, std::sync::atomic::Ordering::SeqCst);
        let e = t.update(&ctx, &prior, &planned, &planned, &[AttrPath::attr("min_instances")]).await.unwrap_err();
        assert_eq!(e.method.as_deref(), Some(PATCH));
        assert!(e.message.contains("must be lower than max_instances"), "{}", e.message);
    }
}
