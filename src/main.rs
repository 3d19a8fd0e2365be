//! `cairn`: parses arguments, calls an operation, renders its result, maps it to an exit code.
//! No logic lives here that a test of `cairn::ops` would miss.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use cairn::apply::{Interrupt, Lines};
use cairn::cli::diagnostics::render_diagnostics;
use cairn::cli::render::{json as rjson, markdown as rmd, text as rtext, RenderOptions};
use cairn::lang::diag::{Diagnostics, SourceMap};
use cairn::lang::vars::{VarArg, VarInputs};
use cairn::ops::{self, Common, OpError};
use cairn::plan::{Plan, PlanMode};
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "Infrastructure as code for Google Cloud, in Terraform's language",
    propagate_version = true
)]
struct Cli {
    /// The stack directory (every command; a positional DIR means the same).
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    chdir: Option<PathBuf>,
    /// Plain output without colours.
    #[arg(long, global = true)]
    no_color: bool,
    /// More logging (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Run against an embedded Google Cloud emulator instead of Google Cloud. Its data lives
    /// in the stack's local state directory (`.cairn/` with a remote backend) as
    /// `emulator-cloud.json`, so plan, apply, drift and check behave like a real cloud across
    /// invocations.
    #[arg(long, global = true)]
    emulator: bool,
    /// With --emulator: seed the emulated cloud from this scenario file when it is new.
    #[arg(long = "emulator-scenario", global = true, value_name = "FILE")]
    emulator_scenario: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Args, Clone)]
struct VarOpts {
    /// Set a root variable: -var 'name=value' (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    var: Vec<String>,
    /// Read root variables from a .tfvars file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    var_file: Vec<PathBuf>,
}

#[derive(Args, Clone)]
struct PlanOpts {
    #[command(flatten)]
    vars: VarOpts,
    /// Limit the plan to these resources (and what they depend on).
    #[arg(long = "target", value_name = "ADDR")]
    target: Vec<String>,
    /// Force replacement of this resource instance.
    #[arg(long = "replace", value_name = "ADDR")]
    replace: Vec<String>,
    /// Read live objects before planning (default true).
    #[arg(long = "refresh", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    refresh: bool,
    /// Only reconcile state with live objects; change nothing in the cloud.
    #[arg(long = "refresh-only")]
    refresh_only: bool,
    /// Operations run at once (default 10).
    #[arg(long, default_value_t = 10)]
    parallelism: usize,
    /// How long to wait for the state lock (e.g. 30s, 5m; default 0s).
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0s")]
    lock_timeout: String,
}

#[derive(Subcommand)]
enum Command {
    /// Check a stack's files: syntax, references, types, schemas and API rules.
    Validate { dir: Option<PathBuf> },
    /// Rewrite .tf/.hcl files in the canonical format.
    Fmt {
        /// Only report files that are not formatted (exit 3 if any).
        #[arg(long)]
        check: bool,
        paths: Vec<PathBuf>,
    },
    /// Show what apply would change.
    Plan {
        dir: Option<PathBuf>,
        #[command(flatten)]
        opts: PlanOpts,
        /// Save the plan to FILE for `cairn apply FILE`.
        #[arg(long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
        /// Exit 0 for no changes, 2 for changes, 1 for errors.
        #[arg(long = "detailed-exitcode")]
        detailed_exitcode: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Plan and carry out the changes (or apply a saved plan file).
    Apply {
        /// A stack directory or a saved plan file.
        target_path: Option<PathBuf>,
        #[command(flatten)]
        opts: PlanOpts,
        /// Do not ask for confirmation.
        #[arg(long = "auto-approve")]
        auto_approve: bool,
        /// With a saved plan: apply it only if its changes (instances, actions, attribute
        /// values) are those of this reviewed plan, e.g. the plan of the pull request; exit 1
        /// listing the differences otherwise.
        #[arg(long = "reviewed-plan", value_name = "REVIEWED_PLANFILE")]
        reviewed_plan: Option<PathBuf>,
    },
    /// Destroy everything the stack manages.
    Destroy {
        dir: Option<PathBuf>,
        #[command(flatten)]
        opts: PlanOpts,
        #[arg(long = "auto-approve")]
        auto_approve: bool,
    },
    /// Compare state with live objects: exit 0 in sync, 2 drift, 1 error.
    Drift {
        dir: Option<PathBuf>,
        #[command(flatten)]
        vars: VarOpts,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long = "lock-timeout", default_value = "0s")]
        lock_timeout: String,
    },
    /// Evaluate check blocks against live objects: exit 0 healthy, 2 failing, 1 error.
    Check {
        dir: Option<PathBuf>,
        #[command(flatten)]
        vars: VarOpts,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[arg(long = "lock-timeout", default_value = "0s")]
        lock_timeout: String,
    },
    /// Show a saved plan.
    Show {
        planfile: PathBuf,
        /// text (default), json (Terraform's plan JSON) or markdown (a pull-request comment).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Same as --format json.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// With --format markdown: the name in the comment's hidden marker line
        /// (`<!-- cairn-plan: NAME -->`); default: the stack directory the plan was made for.
        #[arg(long, value_name = "NAME")]
        marker: Option<String>,
    },
    /// Print root outputs from state.
    Output {
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Inspect and edit state.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove a lock left by a process that can no longer release it.
    ForceUnlock { lock_id: String },
    /// Record an existing object in state: cairn import ADDR ID.
    Import {
        addr: String,
        id: String,
        #[command(flatten)]
        vars: VarOpts,
    },
    /// Run the Google Cloud emulator as a local server (for CI and for trying stacks).
    Emulator {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8085")]
        listen: std::net::SocketAddr,
        /// Seed resources from this scenario file (JSON) when the data file is new.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Added to every request (e.g. 50ms).
        #[arg(long, default_value = "0ms")]
        latency: String,
        /// Fraction of requests answered 429/503 without being processed (0.0 to 1.0).
        #[arg(long = "fault-rate", default_value_t = 0.0)]
        fault_rate: f64,
        /// Keep the emulated cloud in this file across restarts.
        #[arg(long)]
        data: Option<PathBuf>,
        /// How long long-running operations take (e.g. 2s).
        #[arg(long = "operation-duration", default_value = "2s")]
        operation_duration: String,
    },
    /// Print the resource dependency graph as Graphviz DOT.
    Graph {
        dir: Option<PathBuf>,
        /// Include variables, locals and outputs.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum StateCommand {
    /// List resource instances in state.
    List { filter: Option<String> },
    /// Show one instance's stored attributes.
    Show { addr: String },
    /// Print the whole state as JSON.
    Pull,
    /// Forget instances (the objects are not destroyed).
    Rm { addrs: Vec<String> },
    /// Rename an instance, resource or module in state.
    Mv { from: String, to: String },
    /// List recent state versions.
    History,
    /// Make an earlier version current again.
    Restore { serial: u64 },
    /// Copy the state (with its history) from another backend into the stack's configured one.
    Migrate {
        /// The old location: a local state directory, or gs://BUCKET/PREFIX.
        #[arg(long)]
        from: String,
        /// How long to wait for either state's lock (e.g. 30s).
        #[arg(long = "lock-timeout", default_value = "0s")]
        lock_timeout: String,
    },
}

/// Terraform spells long options with one dash (`-var`, `-out`, `-auto-approve`); accept both.
fn normalise_args(args: impl Iterator<Item = String>) -> Vec<String> {
    const LONG: &[&str] = &[
        "var",
        "var-file",
        "out",
        "target",
        "replace",
        "refresh",
        "refresh-only",
        "parallelism",
        "lock-timeout",
        "auto-approve",
        "detailed-exitcode",
        "no-color",
        "json",
        "check",
        "format",
        "chdir",
        "from",
        "reviewed-plan",
        "marker",
    ];
    args.map(|a| {
        if let Some(rest) = a.strip_prefix('-') {
            if !rest.starts_with('-') {
                let name = rest.split('=').next().unwrap_or(rest);
                if LONG.contains(&name) {
                    return format!("-{a}");
                }
            }
        }
        a
    })
    .collect()
}

fn main() -> ExitCode {
    // Output piped into `head` and the like: end quietly when the reader goes away, as Unix
    // tools do, instead of failing (and panicking in print!) on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse_from(normalise_args(std::env::args()));
    let color = !cli.no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    init_logging(cli.verbose, color);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run(cli, color));
    ExitCode::from(code)
}

/// `-v` shows Cairn's own progress events, `-vv` its debug events. Only Cairn's targets are
/// enabled: dependencies' internal logs (HTTP bodies included) never reach the terminal.
fn init_logging(verbose: u8, color: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        _ => LevelFilter::DEBUG,
    };
    let filter = Targets::new().with_target("cairn", level);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry().with(filter).with(fmt).try_init();
}

fn stack_dir(cli_dir: &Option<PathBuf>, positional: Option<PathBuf>) -> PathBuf {
    positional.or_else(|| cli_dir.clone()).unwrap_or_else(|| PathBuf::from("."))
}

fn var_inputs(v: &VarOpts) -> VarInputs {
    // -var and -var-file keep their command-line order relative to each other.
    let raw: Vec<String> = std::env::args().collect();
    let mut cli = Vec::new();
    let (mut vi, mut fi) = (0, 0);
    let mut i = 0;
    while i < raw.len() {
        let a = raw[i].trim_start_matches('-');
        if (a == "var" || a.starts_with("var=")) && vi < v.var.len() {
            cli.push(VarArg::Var(v.var[vi].clone()));
            vi += 1;
        } else if (a == "var-file" || a.starts_with("var-file=")) && fi < v.var_file.len() {
            cli.push(VarArg::File(v.var_file[fi].clone()));
            fi += 1;
        }
        i += 1;
    }
    cli.extend(v.var[vi..].iter().cloned().map(VarArg::Var));
    cli.extend(v.var_file[fi..].iter().cloned().map(VarArg::File));
    VarInputs { cli, env: ops::env_vars() }
}

fn duration(s: &str) -> Result<Duration, OpError> {
    humantime::parse_duration(s).map_err(|e| OpError::msg(format!("invalid duration {s:?}: {e} (use e.g. 30s, 5m)")))
}

fn common(dir: PathBuf, vars: &VarOpts, lock_timeout: &str, registry: &Registry) -> Result<Common, OpError> {
    let mut c = Common::new(dir);
    c.registry = registry.clone();
    c.vars = var_inputs(vars);
    c.lock_timeout = duration(lock_timeout)?;
    Ok(c)
}

fn plan_args(dir: PathBuf, o: &PlanOpts, mode: PlanMode, registry: &Registry) -> Result<ops::PlanArgs, OpError> {
    let mut a = ops::PlanArgs::new(common(dir, &o.vars, &o.lock_timeout, registry)?);
    a.mode = if o.refresh_only { PlanMode::RefreshOnly } else { mode };
    a.refresh = o.refresh;
    a.targets = o.target.clone();
    a.replace = o.replace.clone();
    a.parallelism = o.parallelism.max(1);
    Ok(a)
}

fn report(err: &OpError, color: bool) {
    match err {
        OpError::Diagnostics { sources, diags } => eprint!("{}", render_diagnostics(sources, diags, color)),
        other => eprintln!("Error: {other}"),
    }
}

fn warn(sources: &SourceMap, w: &Diagnostics, color: bool) {
    if !w.is_empty() {
        eprint!("{}", render_diagnostics(sources, w, color));
    }
}

fn render_plan(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => rtext::plan_text(plan, &RenderOptions { color }),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&rjson::plan_json(plan)).unwrap_or_default()),
        Format::Markdown => rmd::plan_markdown(plan),
    }
}

impl Command {
    /// The positional stack directory, for commands that take one.
    fn stack_arg(&self) -> Option<PathBuf> {
        match self {
            Command::Validate { dir }
            | Command::Plan { dir, .. }
            | Command::Destroy { dir, .. }
            | Command::Drift { dir, .. }
            | Command::Check { dir, .. }
            | Command::Graph { dir, .. } => dir.clone(),
            Command::Apply { target_path, .. } => target_path.clone().filter(|p| p.is_dir()),
            _ => None,
        }
    }
}

/// Starts the embedded emulator for `--emulator`, keeping its data beside the stack's state.
async fn embedded_emulator(
    stack: &std::path::Path,
    scenario: Option<PathBuf>,
) -> Result<cairn::emulator::EmulatorHandle, OpError> {
    let state_dir = match cairn::lang::load::load(stack) {
        Ok(config) => ops::local_data_dir(&config)?,
        Err(_) => stack.join("state"),
    };
    std::fs::create_dir_all(&state_dir)
        .map_err(|e| OpError::msg(format!("cannot create {}: {e}", state_dir.display())))?;
    let mut cfg = cairn::emulator::EmulatorConfig::for_tests();
    cfg.data_file = Some(state_dir.join("emulator-cloud.json"));
    cfg.scenario = scenario;
    cfg.operation_duration = Duration::from_secs(2);
    cairn::emulator::Emulator::start(cfg)
        .await
        .map_err(|e| OpError::msg(format!("cannot start the embedded emulator: {e}")))
}

async fn run(cli: Cli, color: bool) -> u8 {
    let emulator = if cli.emulator && !matches!(cli.command, Command::Emulator { .. }) {
        let stack = stack_dir(&cli.chdir, cli.command.stack_arg());
        match embedded_emulator(&stack, cli.emulator_scenario.clone()).await {
            Ok(h) => {
                eprintln!(
                    "Using the embedded Google Cloud emulator (its data is kept in the stack's state directory)."
                );
                Some(h)
            }
            Err(e) => {
                report(&e, color);
                return 1;
            }
        }
    } else {
        None
    };
    let google = match &emulator {
        Some(h) => GoogleOptions { emulator: Some(h.endpoint()) },
        None => GoogleOptions::from_env(),
    };
    let registry = Registry::standard(google);
    let result = dispatch(cli, color, registry).await;
    if let Some(h) = emulator {
        h.shutdown().await;
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            report(&e, color);
            1
        }
    }
}

async fn dispatch(cli: Cli, color: bool, registry: Registry) -> Result<u8, OpError> {
    let chdir = cli.chdir.clone();
    let mut out = std::io::stdout();
    match cli.command {
        Command::Validate { dir } => {
            let mut c = Common::new(stack_dir(&chdir, dir));
            c.registry = registry.clone();
            let warnings = ops::validate(&c).await?;
            if !warnings.is_empty() {
                eprintln!("{warnings}");
            }
            println!("Success! The configuration is valid.");
            Ok(0)
        }
        Command::Fmt { check, paths } => {
            let paths = if paths.is_empty() { vec![stack_dir(&chdir, None)] } else { paths };
            let r = ops::fmt(&paths, check)?;
            for f in &r.changed {
                println!("{}", f.display());
            }
            Ok(if check && !r.changed.is_empty() { 3 } else { 0 })
        }
        Command::Plan { dir, opts, out: save, detailed_exitcode, format } => {
            let mut a = plan_args(stack_dir(&chdir, dir), &opts, PlanMode::Normal, &registry)?;
            a.out = save.clone();
            let r = ops::plan(a).await?;
            warn(&r.sources, &r.warnings, color);
            let _ = write!(out, "{}", render_plan(&r.plan, format, color));
            if let Some(f) = save {
                eprintln!("Saved the plan to {}. Apply it with: cairn apply {}", f.display(), f.display());
            }
            Ok(if detailed_exitcode && r.plan.has_changes() { 2 } else { 0 })
        }
        Command::Apply { target_path, opts, auto_approve, reviewed_plan } => {
            run_apply(&chdir, target_path, reviewed_plan, opts, auto_approve, PlanMode::Normal, color, &registry).await
        }
        Command::Destroy { dir, opts, auto_approve } => {
            run_apply(&chdir, dir, None, opts, auto_approve, PlanMode::Destroy, color, &registry).await
        }
        Command::Drift { dir, vars, format, lock_timeout } => {
            let mut a = ops::PlanArgs::new(common(stack_dir(&chdir, dir), &vars, &lock_timeout, &registry)?);
            a.mode = PlanMode::RefreshOnly;
            let r = ops::plan(a).await?;
            let text = match format {
                Format::Text => rtext::drift_text(&r.plan, &RenderOptions { color }),
                Format::Json => {
                    format!("{}\n", serde_json::to_string_pretty(&rjson::drift_json(&r.plan)).unwrap_or_default())
                }
                Format::Markdown => rmd::drift_markdown(&r.plan),
            };
            let _ = write!(out, "{text}");
            Ok(if r.plan.drift.is_empty() { 0 } else { 2 })
        }
        Command::Check { dir, vars, format, lock_timeout } => {
            let dir = stack_dir(&chdir, dir);
            let stack_name = dir.display().to_string();
            let mut a = ops::PlanArgs::new(common(dir, &vars, &lock_timeout, &registry)?);
            a.live_values = true;
            let r = ops::plan(a).await?;
            let text = match format {
                Format::Text => cairn::cli::render::health_text(&stack_name, &r.plan.checks, &RenderOptions { color }),
                Format::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&cairn::cli::render::health_json(&stack_name, &r.plan.checks))
                        .unwrap_or_default()
                ),
                Format::Markdown => cairn::cli::render::health_markdown(&stack_name, &r.plan.checks),
            };
            let _ = write!(out, "{text}");
            let failing = r.plan.checks.iter().any(|c| c.status != cairn::state::CheckStatus::Pass);
            Ok(if failing { 2 } else { 0 })
        }
        Command::Show { planfile, format, json, marker } => {
            let format = if json { Format::Json } else { format.unwrap_or(Format::Text) };
            if marker.is_some() && format != Format::Markdown {
                return Err(OpError::msg("--marker names the pull-request comment: use it with --format markdown"));
            }
            let saved = ops::show_saved(&planfile)?;
            let text = match format {
                Format::Markdown => {
                    let name = marker.or(saved.stack).unwrap_or_else(|| cairn::plan::file::stack_label(&planfile));
                    cairn::cli::render::plan_comment_markdown(&saved.plan, &name)
                }
                other => render_plan(&saved.plan, other, color),
            };
            let _ = write!(out, "{text}");
            Ok(0)
        }
        Command::Output { name, json } => {
            let dir = stack_dir(&chdir, None);
            let outputs = ops::output(&dir, name.as_deref()).await?;
            if json {
                if let (Some(_), [one]) = (&name, outputs.as_slice()) {
                    println!("{}", serde_json::to_string_pretty(&one.value).unwrap_or_default());
                } else {
                    let m: serde_json::Map<String, serde_json::Value> = outputs
                        .iter()
                        .map(|o| (o.name.clone(), serde_json::json!({ "sensitive": o.sensitive, "value": o.value })))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
                }
            } else if let (Some(_), [one]) = (&name, outputs.as_slice()) {
                println!("{}", if one.sensitive { "(sensitive value)".to_string() } else { display_json(&one.value) });
            } else {
                for o in outputs {
                    println!(
                        "{} = {}",
                        o.name,
                        if o.sensitive { "(sensitive value)".to_string() } else { display_json(&o.value) }
                    );
                }
            }
            Ok(0)
        }
        Command::State(sc) => {
            let dir = stack_dir(&chdir, None);
            match sc {
                StateCommand::List { filter } => {
                    for a in ops::state_list(&dir, filter.as_deref()).await? {
                        println!("{a}");
                    }
                }
                StateCommand::Show { addr } => {
                    let (a, r) = ops::state_show(&dir, &addr).await?;
                    println!("# {a}:");
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                }
                StateCommand::Pull => {
                    let s = ops::state_pull(&dir).await?;
                    println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                }
                StateCommand::Rm { addrs } => {
                    for a in ops::state_rm(&dir, &addrs, Duration::ZERO).await? {
                        println!("Removed {a}");
                    }
                }
                StateCommand::Mv { from, to } => {
                    for (a, b) in ops::state_mv(&dir, &from, &to, Duration::ZERO).await? {
                        println!("Moved {a} to {b}");
                    }
                }
                StateCommand::History => {
                    for h in ops::state_history(&dir).await? {
                        println!("{:>6}  {}  {:<24} {} resources", h.serial, h.time, h.operation, h.resources);
                    }
                }
                StateCommand::Migrate { from, lock_timeout } => {
                    let m = ops::state_migrate(&dir, &from, duration(&lock_timeout)?).await?;
                    if m.already {
                        println!("{} already holds serial {} of this state; nothing to do.", m.to, m.serial);
                    } else {
                        println!(
                            "Migrated serial {} ({} resources) and {} earlier versions from {} to {}.",
                            m.serial, m.resources, m.versions, m.from, m.to
                        );
                        println!("The old copy at {} is left as it was; remove it once you no longer need it.", m.from);
                    }
                }
                StateCommand::Restore { serial } => {
                    let s = ops::state_restore(&dir, serial, Duration::ZERO).await?;
                    println!("Restored version {serial} as serial {} ({} resources).", s.serial, s.resources.len());
                }
            }
            Ok(0)
        }
        Command::ForceUnlock { lock_id } => {
            let info = ops::force_unlock(&stack_dir(&chdir, None), &lock_id).await?;
            println!("Cairn state has been successfully unlocked (was: {info}).");
            Ok(0)
        }
        Command::Import { addr, id, vars } => {
            let c = common(stack_dir(&chdir, None), &vars, "0s", &registry)?;
            let a = ops::import(&c, &addr, &id).await?;
            println!("Import successful: {a} is now managed by Cairn.");
            Ok(0)
        }
        Command::Emulator { listen, scenario, latency, fault_rate, data, operation_duration } => {
            if !(0.0..=1.0).contains(&fault_rate) {
                return Err(OpError::msg("--fault-rate takes a fraction from 0.0 to 1.0"));
            }
            let cfg = cairn::emulator::EmulatorConfig {
                listen,
                data_file: data,
                scenario,
                latency: duration(&latency)?,
                fault_rate,
                operation_duration: duration(&operation_duration)?,
            };
            eprintln!("Point Cairn at it with CAIRN_GCP_EMULATOR=http://{listen} (Ctrl-C stops it).");
            cairn::emulator::serve(cfg).await.map_err(|e| OpError::msg(e.to_string()))?;
            Ok(0)
        }
        Command::Graph { dir, all } => {
            print!("{}", ops::graph(&stack_dir(&chdir, dir), all)?);
            Ok(0)
        }
    }
}

fn display_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_apply(
    chdir: &Option<PathBuf>,
    target_path: Option<PathBuf>,
    reviewed_plan: Option<PathBuf>,
    opts: PlanOpts,
    auto_approve: bool,
    mode: PlanMode,
    color: bool,
    registry: &Registry,
) -> Result<u8, OpError> {
    let (dir, planfile) = match target_path {
        // With --reviewed-plan the path must be a plan: a missing file is reported as such.
        Some(p) if p.is_file() || (reviewed_plan.is_some() && !p.is_dir()) => (stack_dir(chdir, None), Some(p)),
        other => (stack_dir(chdir, other), None),
    };
    let interrupt = Interrupt::new();
    let signal = interrupt.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            match signal.raise() {
                1 => eprintln!("\nInterrupt received: no new steps will start; waiting for the ones in flight. Press Ctrl-C again to stop now."),
                _ => eprintln!("\nSecond interrupt: stopping now. Steps in flight are recorded in the journal and will be reconciled by the next apply."),
            }
        }
    });
    let args = ops::ApplyArgs {
        plan: plan_args(dir, &opts, mode, registry)?,
        planfile,
        reviewed_planfile: reviewed_plan,
        interrupt,
        progress: Arc::new(Lines::new(color)),
        heartbeat: Duration::from_secs(10),
    };
    let mut confirm = move |plan: &Plan| -> bool {
        print!("{}", rtext::plan_text(plan, &RenderOptions { color }));
        if auto_approve {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            eprintln!("Error: no confirmation: standard input is not a terminal. Re-run with --auto-approve to apply without asking.");
            return false;
        }
        print!(
            "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
        );
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        answer.trim() == "yes"
    };
    let r = ops::apply(args, &mut confirm).await?;
    warn(&r.sources, &r.warnings, color);
    let Some(outcome) = r.outcome else {
        if !r.approved {
            println!("Apply cancelled.");
            return Ok(1);
        }
        println!("{}", rtext::plan_text(&r.plan, &RenderOptions { color }).trim_end());
        return Ok(0);
    };
    let (mut added, mut changed, mut destroyed) = (0, 0, 0);
    for (_, a) in &outcome.succeeded {
        match a {
            cairn::plan::Action::Create => added += 1,
            cairn::plan::Action::Update => changed += 1,
            cairn::plan::Action::Delete => destroyed += 1,
            _ => {}
        }
    }
    if !outcome.failed.is_empty() || outcome.interrupted {
        eprintln!();
        // Each message already starts with the resource address.
        for (_, m) in &outcome.failed {
            eprintln!("Error: {m}");
        }
        if !outcome.skipped.is_empty() {
            const SHOWN: usize = 10;
            let mut names: Vec<String> = outcome.skipped.iter().take(SHOWN).map(|a| a.to_string()).collect();
            if outcome.skipped.len() > SHOWN {
                names.push(format!("and {} more", outcome.skipped.len() - SHOWN));
            }
            eprintln!("Not started because a dependency failed or the apply was interrupted: {}", names.join(", "));
        }
        for a in &outcome.abandoned {
            eprintln!("Still in flight when stopped (recorded in the journal): {a}");
        }
        eprintln!(
            "Apply {}: {added} added, {changed} changed, {destroyed} destroyed; {} failed, {} skipped.",
            if outcome.interrupted { "interrupted" } else { "failed" },
            outcome.failed.len(),
            outcome.skipped.len()
        );
        return Ok(1);
    }
    let verb = if mode == PlanMode::Destroy { "Destroy" } else { "Apply" };
    println!("\n{verb} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.");
    if !outcome.outputs.is_empty() {
        println!("\nOutputs:\n");
        for (k, (v, sensitive)) in &outcome.outputs {
            println!(
                "{k} = {}",
                if *sensitive || v.contains_sensitive() { "(sensitive value)".to_string() } else { v.to_string() }
            );
        }
    }
    let failing: Vec<_> = outcome.checks.iter().filter(|c| c.status == cairn::state::CheckStatus::Fail).collect();
    for c in failing {
        let lines: Vec<&str> = c.messages.iter().flat_map(|m| m.lines()).collect();
        eprintln!("Warning: check {} failed: {}", c.address, lines.join("; "));
    }
    if outcome.checks.iter().any(|c| c.status == cairn::state::CheckStatus::Fail) {
        eprintln!("Some checks can take a while to pass (a certificate provisions in minutes); `cairn check` reports health at any time.");
    }
    Ok(0)
}
