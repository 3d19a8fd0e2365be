//! `cairn stacks` through the binary: a git repository of 20 stacks with remote-state and
//! declared dependencies and shared local modules; which stacks a change selects, the order
//! they run in, that independent ones run at the same time, and the errors.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{cairn_bin, stderr, stdout};

/// A built-in resource (no cloud) and an output, naming the stack.
fn stack_tf(name: &str, extra: &str) -> String {
    format!(
        "resource \"terraform_data\" \"marker\" {{\n  input = \"{name}\"\n}}\n\noutput \"name\" {{\n  value = \"{name}\"\n}}\n{extra}"
    )
}

/// Reads another stack's local state; the value is used, so the plan needs it.
fn remote(name: &str, path: &str) -> String {
    format!(
        "\ndata \"terraform_remote_state\" \"{name}\" {{\n  backend = \"local\"\n  config = {{\n    path = \"{path}\"\n  }}\n}}\n\nresource \"terraform_data\" \"from_{name}\" {{\n  input = data.terraform_remote_state.{name}.outputs.name\n}}\n"
    )
}

fn module(name: &str, source: &str) -> String {
    format!("\nmodule \"{name}\" {{\n  source = \"{source}\"\n  name   = \"{name}\"\n}}\n")
}

/// The 20 stacks: (path, main.tf, cairn.stack.json).
fn tree() -> Vec<(&'static str, String, Option<&'static str>)> {
    let app = |n: &str| stack_tf(n, &remote("db", "../../data/db/state"));
    vec![
        ("core/network", stack_tf("network", ""), None),
        ("core/dns", stack_tf("dns", &remote("network", "../network/state")), None),
        ("core/iam", stack_tf("iam", ""), None),
        ("data/db", stack_tf("db", &remote("network", "../../core/network/state")), None),
        ("data/cache", stack_tf("cache", &remote("network", "../../core/network/state")), None),
        ("apps/app-1", app("app-1"), None),
        ("apps/app-2", app("app-2"), None),
        ("apps/app-3", app("app-3"), Some("{\"depends_on\": [\"../../data/cache\"]}\n")),
        ("apps/app-4", app("app-4"), None),
        ("apps/app-5", app("app-5"), None),
        ("apps/web", stack_tf("web", ""), Some("{\"depends_on\": [\"../app-1\", \"../app-2\"]}\n")),
        ("ops/monitoring", stack_tf("monitoring", &remote("web", "../../apps/web/state")), None),
        ("ops/logging", stack_tf("logging", ""), None),
        ("ops/audit", stack_tf("audit", ""), Some("{\"depends_on\": [\"../../core/iam\", \"../logging\"]}\n")),
        ("jobs/batch-1", stack_tf("batch-1", &module("job", "../../modules/job")), None),
        ("jobs/batch-2", stack_tf("batch-2", &module("job", "../../modules/job")), None),
        ("jobs/reports", stack_tf("reports", &remote("batch", "../batch-1/state")), None),
        ("edge", stack_tf("edge", &module("cdn", "../modules/cdn")), None),
        ("billing", stack_tf("billing", ""), None),
        ("sandbox", stack_tf("sandbox", &module("label", "../modules/label")), None),
    ]
}

const JOB_MODULE: &str = "variable \"name\" {}\n\nresource \"terraform_data\" \"job\" {\n  input = var.name\n}\n\nmodule \"label\" {\n  source = \"../label\"\n  name   = var.name\n}\n";
const LABEL_MODULE: &str =
    "variable \"name\" {}\n\nresource \"terraform_data\" \"label\" {\n  input = \"label-${var.name}\"\n}\n";
const CDN_MODULE: &str = "variable \"name\" {}\n\nresource \"terraform_data\" \"cdn\" {\n  input = var.name\n}\n";

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// A repository with these files, committed and tagged `base`.
    fn with(files: &[(&str, &str)]) -> Repo {
        let repo = Repo { dir: tempfile::tempdir().unwrap() };
        for (name, text) in files {
            repo.write(name, text);
        }
        repo.write(".gitignore", "state/\n.cairn/\n");
        repo.git(&["init", "-q", "-b", "main"]);
        repo.commit("base");
        repo.git(&["tag", "base"]);
        repo
    }

    fn new() -> Repo {
        let repo = Repo { dir: tempfile::tempdir().unwrap() };
        for (path, main, declared) in tree() {
            repo.write(&format!("{path}/main.tf"), &main);
            if let Some(d) = declared {
                repo.write(&format!("{path}/cairn.stack.json"), d);
            }
        }
        repo.write("modules/job/main.tf", JOB_MODULE);
        repo.write("modules/label/main.tf", LABEL_MODULE);
        repo.write("modules/cdn/main.tf", CDN_MODULE);
        repo.write("README.md", "Infrastructure.\n");
        // As a real repository would: state and installed modules are not committed.
        repo.write(".gitignore", "state/\n.cairn/\n");
        repo.git(&["init", "-q", "-b", "main"]);
        repo.commit("base");
        repo.git(&["tag", "base"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// Runs cairn in the repository, each stack's command through `program` when given.
    fn cairn(&self, args: &[&str], program: Option<&Path>) -> Output {
        let mut cmd = Command::new(cairn_bin());
        cmd.args(args).current_dir(self.path()).env("NO_COLOR", "1").env_remove("TF_VAR_environment");
        match program {
            Some(p) => cmd.env("CAIRN_STACKS_PROGRAM", p),
            None => cmd.env_remove("CAIRN_STACKS_PROGRAM"),
        };
        cmd.output().expect("run cairn")
    }

    fn expect(&self, code: i32, args: &[&str], program: Option<&Path>) -> Output {
        let out = self.cairn(args, program);
        assert_eq!(out.status.code(), Some(code), "{args:?}\nstdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
        out
    }
}

/// A wrapper run in place of cairn for each stack: logs when the stack's command starts and
/// ends (nanoseconds), and holds it 300 ms so that runs which may overlap do.
fn timing_wrapper(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("runs.log");
    let script = dir.join("wrap.sh");
    let text = format!(
        "#!/bin/sh\n# $1: the command, $2: the stack's directory\necho \"start $2 $(date +%s%N)\" >> '{log}'\nsleep 0.3\n'{bin}' \"$@\"\nrc=$?\necho \"end $2 $(date +%s%N)\" >> '{log}'\nexit $rc\n",
        log = log.display(),
        bin = cairn_bin().display()
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

/// Each stack's (start, end) in nanoseconds, from the wrapper's log; the log is emptied.
fn intervals(log: &Path) -> BTreeMap<String, (u128, u128)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    std::fs::remove_file(log).ok();
    let mut out: BTreeMap<String, (u128, u128)> = BTreeMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let [what, stack, at] = parts[..] else { panic!("log line {line:?}") };
        let at: u128 = at.parse().unwrap();
        let entry = out.entry(stack.to_string()).or_default();
        if what == "start" {
            entry.0 = at;
        } else {
            entry.1 = at;
        }
    }
    out
}

/// The most runs that overlapped at one instant.
fn peak(runs: &BTreeMap<String, (u128, u128)>) -> usize {
    runs.values().map(|&(s, _)| runs.values().filter(|&&(s2, e2)| s2 <= s && s < e2).count()).max().unwrap_or(0)
}

/// Every dependency edge among the runs (dependent, dependency), as `stacks list --json` says.
fn edges(repo: &Repo, args: &[&str]) -> Vec<(String, String)> {
    let out = repo.expect(0, args, None);
    let doc: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let mut edges = Vec::new();
    for s in doc.as_array().unwrap() {
        for d in s["depends_on"].as_array().unwrap() {
            edges.push((s["path"].as_str().unwrap().to_string(), d.as_str().unwrap().to_string()));
        }
    }
    edges
}

fn lines(out: &Output) -> Vec<String> {
    stdout(out).lines().map(str::to_string).collect()
}

#[test]
fn stacks_list_apply_and_plan_changed_since_a_ref() {
    let repo = Repo::new();
    let all = repo.expect(0, &["stacks", "list"], None);
    insta::assert_snapshot!("stacks_list_all", stdout(&all));
    assert_eq!(lines(&all).len(), 20, "modules/ are not stacks");

    // Everything applies, dependencies first, up to 4 at once.
    let (wrapper, log) = timing_wrapper(repo.path());
    let out = repo.expect(0, &["stacks", "apply", "-auto-approve", "-parallelism", "4"], Some(&wrapper));
    let text = stdout(&out);
    assert!(text.contains("cairn stacks apply: 20 stacks"), "{text}");
    assert_eq!(text.matches("apply applied ──").count(), 20, "{text}");
    let runs = intervals(&log);
    assert_eq!(runs.len(), 20);
    for (dependent, dependency) in edges(&repo, &["stacks", "list", "--json"]) {
        assert!(runs[&dependency].1 <= runs[&dependent].0, "{dependent} started before {dependency} finished");
    }
    assert_eq!(peak(&runs), 4, "{runs:?}");

    // Nothing changed yet.
    let out = repo.expect(0, &["stacks", "list", "--changed-since", "base"], None);
    assert_eq!(stdout(&out), "");
    let out = repo.expect(0, &["stacks", "plan", "--changed-since", "base"], None);
    assert!(stdout(&out).contains("no stack changed"), "{}", stdout(&out));

    // A committed change to a stack and to a module two stacks call through another module;
    // and a file not committed yet.
    repo.write("data/db/main.tf", &stack_tf("db-v2", &remote("network", "../../core/network/state")));
    repo.write("modules/label/main.tf", &LABEL_MODULE.replace("label-", "tag-"));
    repo.commit("change the database and the label module");
    repo.write("billing/NOTES.md", "Owned by finance.\n");

    let changed = repo.expect(0, &["stacks", "list", "--changed-since", "base"], None);
    insta::assert_snapshot!("stacks_list_changed_since", stdout(&changed));
    let selected: BTreeSet<String> = lines(&changed).into_iter().collect();
    let expected: BTreeSet<String> = [
        // Changed, and the stacks reading db's state, and theirs.
        "data/db",
        "apps/app-1",
        "apps/app-2",
        "apps/app-3",
        "apps/app-4",
        "apps/app-5",
        "apps/web",
        "ops/monitoring",
        // Calling modules/label, directly or through modules/job, and what reads batch-1.
        "sandbox",
        "jobs/batch-1",
        "jobs/batch-2",
        "jobs/reports",
        // An uncommitted file.
        "billing",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(selected, expected);

    let out = repo.expect(
        2,
        &["stacks", "plan", "--changed-since", "base", "-parallelism=3", "-detailed-exitcode"],
        Some(&wrapper),
    );
    let text = stdout(&out);
    let runs = intervals(&log);
    assert_eq!(runs.keys().cloned().collect::<BTreeSet<_>>(), expected, "exactly the selected stacks are planned");
    for (dependent, dependency) in edges(&repo, &["stacks", "list", "--changed-since", "base", "--json"]) {
        if expected.contains(&dependency) {
            assert!(runs[&dependency].1 <= runs[&dependent].0, "{dependent} started before {dependency} finished");
        }
    }
    assert_eq!(peak(&runs), 3, "{runs:?}");
    assert!(text.contains("── data/db · plan changes ──"), "{text}");
    assert!(text.contains("── sandbox · plan changes ──"), "{text}");
    assert!(text.contains("── billing · plan no changes ──"), "{text}");
    assert!(text.contains("cairn stacks plan: 13 stacks"), "{text}");
    assert!(text.contains("At most 3 ran at once (--parallelism 3)."), "{text}");
    // Without -detailed-exitcode, changes are a success.
    repo.expect(0, &["stacks", "plan", "--changed-since", "base"], None);
}

#[test]
fn stacks_a_failure_skips_its_dependents_and_the_others_go_on() {
    let repo = Repo::new();
    // db cannot be planned: every stack reading its state is skipped.
    repo.write("data/db/main.tf", "resource \"terraform_data\" \"x\" {\n  input = var.missing\n}\n");
    let out = repo.expect(1, &["stacks", "plan"], None);
    let text = stdout(&out);
    let row = |stack: &str| text.lines().find(|l| l.starts_with(&format!("{stack} "))).unwrap_or("").to_string();
    assert!(row("data/db").contains("failed (exit 1)"), "{text}");
    assert!(row("apps/app-1").contains("skipped: data/db did not succeed"), "{text}");
    assert!(row("ops/monitoring").contains("skipped: apps/web did not succeed"), "{text}");
    // Independent stacks still run (never applied: they plan to create).
    assert!(row("core/network").contains("changes") && !row("core/network").contains("failed"), "{text}");
    assert!(row("ops/audit").contains("changes"), "{text}");
    assert!(text.contains("var.missing") || text.contains("\"missing\""), "the stack's own error is shown: {text}");
}

#[test]
fn stacks_errors_cycle_bad_ref_and_apply_without_approval() {
    let repo = Repo::new();
    let out = repo.expect(1, &["stacks", "list", "--changed-since", "no-such-ref"], None);
    assert!(stderr(&out).contains("--changed-since no-such-ref: no such commit"), "{}", stderr(&out));

    let out = repo.expect(1, &["stacks", "apply"], None);
    assert!(stderr(&out).contains("-auto-approve"), "{}", stderr(&out));

    repo.write("core/network/cairn.stack.json", "{\n  \"depends_on\": [\"../../ops/monitoring\"]\n}\n");
    let out = repo.expect(1, &["stacks", "list"], None);
    let err = stderr(&out);
    assert!(
        err.contains("The stacks depend on each other in a cycle: apps/app-1 → data/db → core/network → ops/monitoring → apps/web → apps/app-1"),
        "{err}"
    );
    assert!(
        err.contains("core/network declares depends_on ops/monitoring (core/network/cairn.stack.json:2:18)"),
        "{err}"
    );

    repo.write("core/network/cairn.stack.json", "{\"depends_on\": [\"../netwrok\"]}");
    let out = repo.expect(1, &["stacks", "plan"], None);
    let err = stderr(&out);
    assert!(err.contains("depends_on names \"../netwrok\", which is not a stack"), "{err}");
    assert!(err.contains("core/network/cairn.stack.json:1:17"), "{err}");

    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("main.tf"), stack_tf("x", "")).unwrap();
    let out = Command::new(cairn_bin())
        .args(["stacks", "list", "--changed-since", "HEAD~1"])
        .current_dir(plain.path())
        .env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not inside a git repository"), "{}", stderr(&out));
}

/// The workflows' first job lists the stacks (`cairn stacks list --json`) into the output the
/// per-stack job's matrix is built from; its script, run here as GitHub would (bash, the
/// step's env, GITHUB_OUTPUT), selects the changed stacks, all of them when Cairn's own
/// source changed, and none (an empty matrix, no job) when nothing changed.
#[test]
fn stacks_workflows_build_their_matrix_from_stacks_list() {
    let repo = Repo::with(&[
        ("stacks/network/main.tf", &stack_tf("network", "")),
        ("stacks/app/main.tf", &stack_tf("app", &remote("network", "../network/state"))),
        ("stacks/other/main.tf", &stack_tf("other", &module("m", "../../modules/m"))),
        ("modules/m/main.tf", CDN_MODULE),
        ("src/main.rs", "fn main() {}\n"),
    ]);
    let base = String::from_utf8(
        Command::new("git").args(["rev-parse", "HEAD"]).current_dir(repo.path()).output().unwrap().stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    repo.write("stacks/network/main.tf", &stack_tf("network-2", ""));
    repo.commit("change the network");
    let workflows = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    let path_env = format!("{}:{}", cairn_bin().parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    // The step's output for a base commit.
    let run_step = |step: &serde_yaml_ng::Value, base: &str| -> String {
        let script = step["run"].as_str().expect("a run step");
        let output = repo.path().join("github-output");
        std::fs::write(&output, "").unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg("-e")
            .arg("-c")
            .arg(script)
            .current_dir(repo.path())
            .env("PATH", &path_env)
            .env("GITHUB_OUTPUT", &output);
        if let Some(env) = step["env"].as_mapping() {
            for (k, _) in env {
                // Every expression these steps take is the base commit.
                cmd.env(k.as_str().unwrap(), base);
            }
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{script}\n{}", String::from_utf8_lossy(&out.stderr));
        let written = std::fs::read_to_string(&output).unwrap();
        written.lines().find_map(|l| l.strip_prefix("stacks=")).expect("the stacks output").to_string()
    };
    for (file, matrix_job, changed_only) in
        [("cairn-plan.yml", "plan", true), ("cairn-apply.yml", "apply", true), ("cairn-drift.yml", "drift", false)]
    {
        let text = std::fs::read_to_string(workflows.join(file)).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let list_job = &doc["jobs"]["stacks"];
        assert_eq!(list_job["outputs"]["stacks"].as_str(), Some("${{ steps.select.outputs.stacks }}"), "{file}");
        let job = &doc["jobs"][matrix_job];
        assert_eq!(job["needs"].as_str(), Some("stacks"), "{file}");
        assert_eq!(job["if"].as_str(), Some("needs.stacks.outputs.stacks != '[]'"), "{file}");
        assert_eq!(
            job["strategy"]["matrix"]["stack"].as_str(),
            Some("${{ fromJSON(needs.stacks.outputs.stacks) }}"),
            "{file}"
        );
        assert_eq!(job["env"]["STACK"].as_str(), Some("${{ matrix.stack }}"), "{file}");
        let step = list_job["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["id"].as_str() == Some("select"))
            .unwrap_or_else(|| panic!("{file}: the select step"));
        assert!(step["run"].as_str().unwrap().contains("cairn stacks list stacks"), "{file}");
        if changed_only {
            assert_eq!(run_step(step, &base), r#"["stacks/network","stacks/app"]"#, "{file}");
            assert_eq!(run_step(step, "HEAD"), "[]", "{file}: nothing changed");
        } else {
            assert_eq!(run_step(step, &base), r#"["stacks/network","stacks/app","stacks/other"]"#, "{file}");
        }
    }
    // A change to Cairn itself plans and applies every stack.
    repo.write("src/main.rs", "fn main() { println!(); }\n");
    repo.commit("change cairn");
    for file in ["cairn-plan.yml", "cairn-apply.yml"] {
        let text = std::fs::read_to_string(workflows.join(file)).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let step = doc["jobs"]["stacks"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["id"].as_str() == Some("select"))
            .unwrap();
        assert_eq!(run_step(step, "HEAD~1"), r#"["stacks/network","stacks/app","stacks/other"]"#, "{file}");
    }
}
