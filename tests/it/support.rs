//! Shared test pieces: temporary stacks, a test-only provider with "live" objects the test can
//! change behind Cairn's back, and helpers to run ops and the built binary.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cairn::addr::AttrPath;
use cairn::apply::{Interrupt, Silent};
use cairn::lang::value::Value;
use cairn::ops::{self, ApplyArgs, Common, PlanArgs};
use cairn::plan::{Plan, PlanMode};
use cairn::providers::{
    AttrType, Attribute, CallContext, PlanProposal, Provider, ProviderError, ReadRequest, Registry, ResourceType,
    Schema,
};

/// A stack directory in a temp dir.
pub struct TestStack {
    pub dir: tempfile::TempDir,
}

impl TestStack {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = TestStack { dir };
        for (name, text) in files {
            s.write(name, text);
        }
        s
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn write(&self, name: &str, text: &str) {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }
    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir.path().join(name)).expect("remove");
    }
    /// The state store's bytes: everything under the state directory except the embedded
    /// emulator's data file, which is the emulated cloud (it holds secret payloads, as Secret
    /// Manager does).
    pub fn state_bytes_without_emulator(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(self.dir.path().join("state")) {
            for e in rd.flatten() {
                if e.file_name() != "emulator-cloud.json" {
                    collect_bytes(&e.path(), &mut out);
                }
            }
        }
        out
    }

    /// Every byte under the stack's state directory, for secret scans.
    pub fn state_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        collect_bytes(&self.dir.path().join("state"), &mut out);
        out
    }
}

pub fn collect_bytes(p: &Path, out: &mut Vec<u8>) {
    if p.is_dir() {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                collect_bytes(&e.path(), out);
            }
        }
    } else if let Ok(b) = std::fs::read(p) {
        out.extend(b);
    }
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The test-only provider: `fake_thing` objects live in a map the test can edit.
#[derive(Clone, Default)]
pub struct FakeCloud {
    pub objects: Arc<Mutex<BTreeMap<String, Value>>>,
    pub reads: Arc<AtomicUsize>,
    pub creates: Arc<AtomicUsize>,
    next_id: Arc<AtomicUsize>,
    /// When set, `fake_thing` plans `note` from a counter: each planning of an instance shows a
    /// different known value, as a buggy provider would.
    pub unstable_plans: Arc<AtomicUsize>,
    /// When set, reads return the live `secret` (an API that reads secrets back) instead of
    /// keeping what state knew.
    pub reads_secrets: Arc<std::sync::atomic::AtomicBool>,
    /// Reads of the `fake_thing` data source.
    pub data_reads: Arc<AtomicUsize>,
}

impl FakeCloud {
    pub fn registry(&self) -> Registry {
        let mut r = Registry::builtin();
        r.register(Arc::new(self.clone()));
        r
    }
    /// Changes an attribute of the live object named `name`.
    pub fn set(&self, name: &str, attr: &str, v: Value) {
        let mut objs = self.objects.lock().unwrap();
        let obj =
            objs.values_mut().find(|o| o.get("name").and_then(|n| n.as_str()) == Some(name)).expect("object exists");
        if let Some(m) = obj.map_mut() {
            m.insert(attr.to_string(), v);
        }
    }
    pub fn delete(&self, name: &str) {
        self.objects.lock().unwrap().retain(|_, o| o.get("name").and_then(|n| n.as_str()) != Some(name));
    }
    pub fn count(&self) -> usize {
        self.objects.lock().unwrap().len()
    }
}

#[async_trait]
impl Provider for FakeCloud {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn resource_types(&self) -> Vec<Arc<dyn ResourceType>> {
        vec![Arc::new(FakeThing { cloud: self.clone(), schema: fake_schema() })]
    }
    /// A rule across objects whose message quotes a value, as a careless provider's might:
    /// two things may not share a `secret`.
    fn check_across(
        &self,
        objects: &[cairn::providers::PlannedObject<'_>],
    ) -> Vec<cairn::providers::CrossResourceViolation> {
        let mut seen: BTreeMap<String, &cairn::addr::InstanceAddr> = BTreeMap::new();
        let mut out = Vec::new();
        for o in objects {
            let Some(secret) = o.value.get("secret").map(|v| v.clone().unmark_deep().0) else { continue };
            let Some(secret) = secret.as_str().map(str::to_string) else { continue };
            if let Some(first) = seen.insert(secret.clone(), o.addr) {
                out.push(cairn::providers::CrossResourceViolation {
                    addr: o.addr.clone(),
                    path: cairn::addr::AttrPath::attr("secret"),
                    message: format!("{} and {first} share the secret \"{secret}\"", o.addr),
                    help: format!("give one of them a secret other than \"{secret}\""),
                });
            }
        }
        out
    }

    fn data_sources(&self) -> Vec<Arc<dyn cairn::providers::DataSource>> {
        vec![Arc::new(FakeThingData { cloud: self.clone(), schema: fake_data_schema() })]
    }
}

/// `data "fake_thing"`: a live object by `id` or by `name`, counting reads.
fn fake_data_schema() -> Schema {
    Schema::new()
        .attr("name", Attribute::optional(AttrType::String))
        .attr("id", Attribute::optional(AttrType::String))
        .attr("size", Attribute::computed(AttrType::Number))
        .attr("note", Attribute::computed(AttrType::String))
        .attr("secret", Attribute::computed(AttrType::String).sensitive())
        .attr("status", Attribute::computed(AttrType::String))
}

pub struct FakeThingData {
    cloud: FakeCloud,
    schema: Schema,
}

#[async_trait]
impl cairn::providers::DataSource for FakeThingData {
    fn name(&self) -> &'static str {
        "fake_thing"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    async fn read(&self, _ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        self.cloud.data_reads.fetch_add(1, Ordering::SeqCst);
        let by = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (id, name) = (by("id"), by("name"));
        let objs = self.cloud.objects.lock().unwrap();
        let found = objs.iter().find(|(oid, o)| match (&id, &name) {
            (Some(id), _) => *oid == id,
            (None, Some(n)) => o.get("name").and_then(|x| x.as_str()) == Some(n.as_str()),
            (None, None) => false,
        });
        let Some((oid, o)) = found else {
            return Err(ProviderError {
                not_found: true,
                ..ProviderError::new(format!("no fake_thing with id {id:?} or name {name:?}"))
            });
        };
        let get = |k: &str| o.get(k).cloned().unwrap_or(Value::Null);
        Ok(Value::map([
            ("name", get("name")),
            ("id", Value::string(oid.clone())),
            ("size", get("size")),
            ("note", get("note")),
            ("secret", get("secret").sensitive()),
            ("status", get("status")),
        ]))
    }
}

fn fake_schema() -> Schema {
    Schema::new()
        .attr("name", Attribute::required(AttrType::String).force_new())
        .attr("size", Attribute::optional(AttrType::Number).default(1))
        .attr("labels", Attribute::optional(AttrType::Map(Box::new(AttrType::String))))
        .attr("note", Attribute::optional(AttrType::String))
        .attr("secret", Attribute::optional(AttrType::String).sensitive())
        .attr("id", Attribute::computed(AttrType::String))
        .attr("status", Attribute::computed(AttrType::String))
}

pub struct FakeThing {
    cloud: FakeCloud,
    schema: Schema,
}

#[async_trait]
impl ResourceType for FakeThing {
    fn name(&self) -> &'static str {
        "fake_thing"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        if self.cloud.unstable_plans.load(Ordering::SeqCst) > 0 {
            let n = self.cloud.unstable_plans.fetch_add(1, Ordering::SeqCst);
            if let Some(m) = p.planned.map_mut() {
                m.insert("note".into(), Value::string(format!("planned {n}")));
            }
        }
        Ok(Vec::new())
    }
    async fn read_many(&self, _ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        self.cloud.reads.fetch_add(1, Ordering::SeqCst);
        let objs = self.cloud.objects.lock().unwrap();
        Ok(reqs
            .iter()
            .map(|r| {
                let id = r.prior.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string();
                objs.get(&id).cloned().map(|mut live| {
                    // The API never returns secrets (unless told to): keep what state knew.
                    if self.cloud.reads_secrets.load(Ordering::SeqCst) {
                        return live;
                    }
                    if let (Some(m), Some(s)) = (live.map_mut(), r.prior.get("secret")) {
                        m.insert("secret".into(), s.clone());
                    }
                    live
                })
            })
            .collect())
    }
    async fn create(&self, _ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        if planned.get("name").and_then(|n| n.as_str()).is_some_and(|n| n.starts_with("fail-")) {
            return Err(
                ProviderError::new("the fake API refuses names starting with fail-").method("fake.things.create")
            );
        }
        // An API that quotes the field it refuses, in the request's own spellings.
        if planned.get("name").and_then(|n| n.as_str()).is_some_and(|n| n.starts_with("echo-")) {
            let secret = planned.get("secret").map(|v| v.clone().unmark_deep().0);
            let secret = secret.as_ref().and_then(Value::as_str).unwrap_or_default().to_string();
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(secret.as_bytes());
            return Err(ProviderError::new(format!(
                "Invalid value at 'thing.secret' (\"{secret}\"): too guessable; payload.data={encoded}"
            ))
            .method("fake.things.create"));
        }
        self.cloud.creates.fetch_add(1, Ordering::SeqCst);
        let n = self.cloud.next_id.fetch_add(1, Ordering::SeqCst);
        let id = format!("thing-{n}");
        let mut v = planned.clone();
        if let Some(m) = v.map_mut() {
            m.insert("id".into(), id.clone().into());
            m.insert("status".into(), "READY".into());
        }
        let (stored, _) = v.clone().unmark_deep();
        self.cloud.objects.lock().unwrap().insert(id, stored);
        Ok(v)
    }
    async fn update(
        &self,
        _ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _c: &Value,
        _changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let id = prior.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let mut v = planned.clone();
        if let Some(m) = v.map_mut() {
            m.insert("id".into(), id.clone().into());
            m.insert("status".into(), "READY".into());
        }
        let (stored, _) = v.clone().unmark_deep();
        self.cloud.objects.lock().unwrap().insert(id, stored);
        Ok(v)
    }
    async fn delete(&self, _ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let id = prior.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        self.cloud.objects.lock().unwrap().remove(&id);
        Ok(())
    }
    async fn import(&self, _ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        self.cloud.objects.lock().unwrap().get(id).cloned().ok_or_else(|| ProviderError {
            not_found: true,
            ..ProviderError::new(format!("no fake_thing with id {id}"))
        })
    }
}

pub fn common(dir: &Path, registry: Registry) -> Common {
    let mut c = Common::new(dir);
    c.registry = registry;
    c
}

pub fn with_vars(mut c: Common, vars: &[&str]) -> Common {
    c.vars.cli = vars.iter().map(|v| cairn::lang::vars::VarArg::Var(v.to_string())).collect();
    c
}

pub async fn plan(c: &Common) -> Plan {
    match ops::plan(PlanArgs::new(c.clone())).await {
        Ok(r) => r.plan,
        Err(e) => panic!("plan failed: {}", describe(&e)),
    }
}

pub async fn plan_mode(c: &Common, mode: PlanMode) -> Plan {
    let mut a = PlanArgs::new(c.clone());
    a.mode = mode;
    match ops::plan(a).await {
        Ok(r) => r.plan,
        Err(e) => panic!("plan failed: {}", describe(&e)),
    }
}

pub fn apply_args(c: &Common) -> ApplyArgs {
    ApplyArgs {
        plan: PlanArgs::new(c.clone()),
        planfile: None,
        reviewed_planfile: None,
        interrupt: Interrupt::new(),
        progress: Arc::new(Silent),
        heartbeat: std::time::Duration::from_secs(60),
    }
}

pub async fn apply(c: &Common) -> ops::ApplyResult {
    match ops::apply(apply_args(c), &mut |_| true).await {
        Ok(r) => {
            if let Some(o) = &r.outcome {
                assert!(o.failed.is_empty(), "apply failures: {:?}", o.failed);
            }
            r
        }
        Err(e) => panic!("apply failed: {}", describe(&e)),
    }
}

pub async fn destroy(c: &Common) -> ops::ApplyResult {
    let mut a = apply_args(c);
    a.plan.mode = PlanMode::Destroy;
    match ops::apply(a, &mut |_| true).await {
        Ok(r) => r,
        Err(e) => panic!("destroy failed: {}", describe(&e)),
    }
}

pub fn describe(e: &ops::OpError) -> String {
    match e {
        ops::OpError::Diagnostics { sources, diags } => sources.render_all_plain(diags),
        other => other.to_string(),
    }
}

/// `(address, action)` for every change that does something.
pub fn actions(p: &Plan) -> Vec<(String, &'static str)> {
    p.changes
        .iter()
        .filter(|c| c.action != cairn::plan::Action::NoOp)
        .map(|c| (c.addr.to_string(), c.action.terraform_actions().join(",").leak() as &'static str))
        .collect()
}

pub fn cairn_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cairn"))
}

pub fn run_cairn(args: &[&str], cwd: &Path) -> Output {
    std::process::Command::new(cairn_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("TF_VAR_environment")
        .output()
        .expect("run cairn")
}

/// `run_cairn` for arguments that need not be UTF-8.
pub fn run_cairn_os(args: &[&std::ffi::OsStr], cwd: &Path) -> Output {
    std::process::Command::new(cairn_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("TF_VAR_environment")
        .output()
        .expect("run cairn")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The repository's example stack, copied into a temp dir (so tests never share state).
pub fn example_stack() -> TestStack {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example");
    let s = TestStack::new(&[]);
    copy_dir(&src, s.path());
    s
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("read example").flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == "state" {
            continue;
        }
        if p.is_dir() {
            std::fs::create_dir_all(to.join(&name)).unwrap();
            copy_dir(&p, &to.join(&name));
        } else {
            std::fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

/// A hand-written HTTP/1.1 exchange with the emulator, for what the SDK clients never send
/// (malformed bodies, raw wire formats): the status, the response head and the JSON body
/// (null when it is not JSON).
pub async fn emulator_http(
    emu: &cairn::emulator::EmulatorHandle,
    method: &str,
    target: &str,
    body: Option<serde_json::Value>,
) -> (u16, String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(emu.addr()).await.expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        emu.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header/body separator");
    let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    (status, head.to_string(), serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}
