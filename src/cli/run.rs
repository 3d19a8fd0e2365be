//! What each command does with its parsed arguments: which operation it calls, what it
//! renders, and which exit code it ends with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::args::{
    Cli, Command, Format, PlanOpts, ProvidersCommand, StacksCommand, StateCommand, VarOpts, WorkspaceCommand,
};
use super::console::Console;
use super::diagnostics::{render_diagnostics, render_warnings_compact};
use super::render::{
    json as rjson, json_ui, markdown as rmd, text as rtext, HealthOptions, ModuleSources, RenderOptions,
};
use super::signals::Stop;
use crate::apply::{ApplyOutcome, Interrupt, Lines};
use crate::emulator::realistic::RealisticConfig;
use crate::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use crate::lang::diag::{Diagnostics, SourceMap};
use crate::lang::vars::VarInputs;
use crate::ops::{self, Common, OpError};
use crate::plan::{Action, Drift, Plan, PlanMode};
use crate::providers::google::GoogleOptions;
use crate::providers::Registry;
use crate::state::{CheckResult, CheckStatus};
use clap::CommandFactory;

/// Colours only for a terminal, and never when asked not to (`-no-color`, or the `NO_COLOR`
/// convention).
pub fn use_color(no_color_flag: bool, stdout_is_terminal: bool, no_color_env: bool) -> bool {
    !no_color_flag && stdout_is_terminal && !no_color_env
}

/// `-v` shows Cairn's own progress events, `-vv` its debug events. Only Cairn's targets are
/// enabled: dependencies' internal logs (HTTP bodies included) never reach the terminal.
pub fn init_logging(verbose: u8, color: bool) {
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

/// Runs one parsed command line to its exit code: starts the embedded emulator when asked,
/// builds the provider registry, dispatches, and reports a failure. A signal that `stop`
/// reports as cancelling drops the command (its state lock with it) and exits 1.
pub async fn run(cli: Cli, console: &mut Console, mut stop: Stop) -> u8 {
    // `cairn stacks` passes --emulator on: each stack's own command starts its emulator.
    let emulator = if cli.emulator && !matches!(cli.command, Command::Emulator { .. } | Command::Stacks(_)) {
        let stack = stack_dir(&cli.chdir, cli.command.stack_arg());
        let realistic = cli.emulator_realistic.then(|| RealisticConfig {
            time_scale: cli.emulator_time_scale,
            quota_scale: cli.emulator_quota_scale,
            quota_overrides: cli.emulator_quota.clone(),
            ..RealisticConfig::default()
        });
        match embedded_emulator(&stack, cli.emulator_scenario.clone(), realistic).await {
            Ok(h) => {
                console.errln(
                    "Using the embedded Google Cloud emulator (its data is kept in the stack's state directory).",
                );
                Some(h)
            }
            Err(e) => {
                report(&e, console);
                return 1;
            }
        }
    } else {
        None
    };
    let google = GoogleOptions {
        concurrency: cli.command.concurrency(),
        ..match &emulator {
            Some(h) => GoogleOptions { emulator: Some(h.endpoint()), ..Default::default() },
            None => GoogleOptions::from_env(),
        }
    };
    let interrupt = stop.interrupt.clone();
    // The standalone emulator stops itself on a signal, gracefully (it persists its data).
    let standalone_emulator = matches!(cli.command, Command::Emulator { .. });
    let ended = if standalone_emulator {
        Ended::Done(dispatch(cli, console, Registry::standard(google), &interrupt).await)
    } else {
        tokio::select! {
            biased;
            at_prompt = stop.cancelled() => Ended::Cancelled { at_prompt },
            result = dispatch(cli, console, Registry::standard(google), &interrupt) => Ended::Done(result),
        }
    };
    // A signal that raced the command's own end still gets its word: the command saw the
    // interrupt and started nothing. (The standalone emulator's signal is its normal end.)
    let ended = match ended {
        Ended::Done(_) if !standalone_emulator && stop.cancelled_meanwhile().is_some() => {
            console.errln("\nInterrupt received: operation stopped before it changed anything.");
            ended
        }
        other => other,
    };
    let code = match ended {
        Ended::Done(Ok(code)) => code,
        Ended::Done(Err(e)) => {
            report(&e, console);
            1
        }
        Ended::Cancelled { at_prompt: true } => {
            console.outln("\nApply cancelled.");
            1
        }
        Ended::Cancelled { at_prompt: false } => {
            console.errln("\nInterrupt received: operation stopped before it changed anything.");
            1
        }
    };
    if let Some(h) = emulator {
        h.shutdown().await;
    }
    code
}

/// How a command ended: by itself, or cancelled by a signal.
enum Ended {
    Done(Result<u8, OpError>),
    Cancelled { at_prompt: bool },
}

/// Starts the embedded emulator for `--emulator`, keeping its data beside the stack's state.
async fn embedded_emulator(
    stack: &Path,
    scenario: Option<PathBuf>,
    realistic: Option<RealisticConfig>,
) -> Result<EmulatorHandle, OpError> {
    let state_dir = match crate::lang::load::load(stack) {
        Ok(config) => ops::local_data_dir(&config)?,
        Err(_) => stack.join("state"),
    };
    // The emulator's data file holds secret payloads: its directory is the owner's alone from
    // the start, whatever the umask (a state command would tighten it only later, a gcs-backed
    // stack's `.cairn/` never).
    crate::state::private_fs::create_private_dir(&state_dir)
        .map_err(|e| OpError::msg(format!("cannot create {}: {e}", state_dir.display())))?;
    let cfg = EmulatorConfig { realistic, ..EmulatorConfig::embedded(state_dir.join("emulator-cloud.json"), scenario) };
    Emulator::start(cfg).await.map_err(|e| OpError::msg(format!("cannot start the embedded emulator: {e}")))
}

/// The stack directory: a command's positional DIR, else `-chdir`, else the working directory.
pub fn stack_dir(chdir: &Option<PathBuf>, positional: Option<PathBuf>) -> PathBuf {
    positional.or_else(|| chdir.clone()).unwrap_or_else(|| PathBuf::from("."))
}

pub fn parse_duration(s: &str) -> Result<Duration, OpError> {
    humantime::parse_duration(s).map_err(|e| OpError::msg(format!("invalid duration {s:?}: {e} (use e.g. 30s, 5m)")))
}

/// `plan`: 0, or with `-detailed-exitcode` 2 when there is something to apply.
pub fn plan_exit_code(detailed_exitcode: bool, has_changes: bool) -> u8 {
    if detailed_exitcode && has_changes {
        2
    } else {
        0
    }
}

/// `drift`: 0 in sync, 2 when a live object differs from state.
pub fn drift_exit_code(drift: &[Drift]) -> u8 {
    if drift.is_empty() {
        0
    } else {
        2
    }
}

/// `check`: 0 when every check passes, 2 when one fails or cannot be decided.
pub fn check_exit_code(checks: &[CheckResult]) -> u8 {
    if checks.iter().any(|c| c.status != CheckStatus::Pass) {
        2
    } else {
        0
    }
}

/// `fmt`: 0, or with `-check` 3 when a file is not formatted.
pub fn fmt_exit_code(check: bool, unformatted: usize) -> u8 {
    if check && unformatted > 0 {
        3
    } else {
        0
    }
}

fn var_inputs(vars: &VarOpts) -> Result<VarInputs, OpError> {
    Ok(VarInputs { cli: vars.args.clone(), env: ops::env_vars()? })
}

fn common(dir: PathBuf, vars: &VarOpts, lock_timeout: &str, registry: &Registry) -> Result<Common, OpError> {
    let mut c = Common::new(dir);
    c.registry = registry.clone();
    c.vars = var_inputs(vars)?;
    c.lock_timeout = parse_duration(lock_timeout)?;
    Ok(c)
}

fn plan_args(dir: PathBuf, o: &PlanOpts, mode: PlanMode, registry: &Registry) -> Result<ops::PlanArgs, OpError> {
    let mut a = ops::PlanArgs::new(common(dir, &o.vars, &o.lock_timeout, registry)?);
    a.mode = if o.refresh_only { PlanMode::RefreshOnly } else { mode };
    a.refresh = o.refresh;
    a.targets = o.target.clone();
    a.replace = o.replace.clone();
    a.parallelism = o.in_flight();
    a.common.lock = o.ci.lock;
    Ok(a)
}

/// `-lock=false`: said once, on stderr, before the command runs unlocked.
fn warn_unlocked(lock: bool, console: &mut Console) {
    if !lock {
        console.errln(
            "Warning: -lock=false: the state is not locked. This is dangerous if others might run commands against the same state at the same time.",
        );
    }
}

fn report(err: &OpError, console: &mut Console) {
    match err {
        OpError::Diagnostics { sources, diags } => {
            let text = render_diagnostics(sources, diags, console.color);
            console.err(&text);
        }
        other => console.errln(&format!("Error: {other}")),
    }
}

/// Warnings in full, or with `-compact-warnings` one summary line each.
fn warn_as(sources: &SourceMap, w: &Diagnostics, console: &mut Console, compact: bool) {
    if w.is_empty() {
        return;
    }
    let text =
        if compact { render_warnings_compact(sources, w) } else { render_diagnostics(sources, w, console.color) };
    console.err(&text);
}

/// The warnings the rendered plan does not already show (it lists the plan's own), so each is
/// printed once.
fn not_in_plan_text(w: &Diagnostics, plan: &Plan) -> Diagnostics {
    let mut rest = Diagnostics::new();
    for d in w.0.iter().filter(|d| !plan.warnings.contains(&d.summary)) {
        rest.push(d.clone());
    }
    rest
}

fn pretty_json(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn render_plan(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => rtext::plan_text(plan, &RenderOptions { color }),
        Format::Json => format!("{}\n", pretty_json(&rjson::plan_json(plan))),
        Format::Markdown => rmd::plan_markdown(plan),
    }
}

fn render_drift(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => rtext::drift_text(plan, &RenderOptions { color }),
        Format::Json => format!("{}\n", pretty_json(&rjson::drift_json(plan))),
        Format::Markdown => rmd::drift_markdown(plan),
    }
}

fn render_health(
    stack_name: &str,
    checks: &[CheckResult],
    sources: &ModuleSources,
    format: Format,
    opts: &HealthOptions,
) -> String {
    match format {
        Format::Text => super::render::health_text(stack_name, checks, sources, opts),
        Format::Json => format!("{}\n", pretty_json(&super::render::health_json(stack_name, checks, sources))),
        Format::Markdown => super::render::health_markdown(stack_name, checks, sources),
    }
}

/// Calls the operation a command names and renders its result; `Err` is reported by `run`.
pub async fn dispatch(
    cli: Cli,
    console: &mut Console,
    registry: Registry,
    interrupt: &Interrupt,
) -> Result<u8, OpError> {
    let chdir = cli.chdir;
    let color = console.color;
    let global_args = stacks_global_args(cli.emulator, cli.emulator_scenario.as_deref(), cli.verbose);
    match cli.command {
        // `-input`: init never asks, so there is nothing to turn off.
        Command::Init { dir, upgrade, input: _ } => {
            let dir = stack_dir(&chdir, dir);
            let report = ops::init(&dir, upgrade)?;
            if report.lines.is_empty() {
                console.outln("The stack calls no modules from git or registries; nothing to install.");
            } else {
                console.outln("Installed modules:");
                for line in &report.lines {
                    console.outln(line);
                }
                if report.lock_written {
                    console.outln(&format!("Wrote {}.", crate::lang::module_lock::LOCK_FILE));
                }
            }
            Ok(0)
        }
        Command::Validate { dir, json: true } => {
            let mut c = Common::new(stack_dir(&chdir, dir));
            c.registry = registry;
            // Terraform's -json: the document on stdout whatever the outcome, exit 1 if invalid.
            let (doc, code) = match ops::validate_located(&c).await {
                Ok((warnings, sources)) => (json_ui::validate_document(&sources, &warnings), 0),
                Err(OpError::Diagnostics { sources, diags }) => (json_ui::validate_document(&sources, &diags), 1),
                Err(e) => return Err(e),
            };
            console.outln(&doc);
            Ok(code)
        }
        Command::Validate { dir, json: false } => {
            let mut c = Common::new(stack_dir(&chdir, dir));
            c.registry = registry;
            let (warnings, sources) = ops::validate_located(&c).await?;
            warn_as(&sources, &warnings, console, false);
            console.outln("Success! The configuration is valid.");
            Ok(0)
        }
        Command::Fmt { check, recursive, paths } => {
            let paths = if paths.is_empty() { vec![stack_dir(&chdir, None)] } else { paths };
            let r = ops::fmt(&paths, check, recursive)?;
            for f in &r.changed {
                console.outln(&f.display().to_string());
            }
            Ok(fmt_exit_code(check, r.changed.len()))
        }
        Command::Plan { dir, opts, out: save, detailed_exitcode, destroy, format, generate_config_out } => {
            let dir = stack_dir(&chdir, dir);
            let mode = if destroy { PlanMode::Destroy } else { PlanMode::Normal };
            warn_unlocked(opts.ci.lock, console);
            if opts.json {
                return Ok(plan_json_ui(
                    dir,
                    &opts,
                    mode,
                    save,
                    detailed_exitcode,
                    format,
                    generate_config_out,
                    &registry,
                    console,
                )
                .await);
            }
            let mut a = plan_args(dir, &opts, mode, &registry)?;
            a.out = save.clone();
            a.generate_config_out = generate_config_out;
            let r = ops::plan(a).await?;
            if let Some(g) = &r.generated {
                console.errln(&generated_note(g));
            }
            // The JSON plan has no warnings; text and Markdown list the plan's own.
            let shown =
                if format == Format::Json { r.warnings.clone() } else { not_in_plan_text(&r.warnings, &r.plan) };
            warn_as(&r.sources, &shown, console, opts.ci.compact_warnings);
            console.out(&render_plan(&r.plan, format, color));
            if let Some(f) = save {
                console.errln(&format!(
                    "Saved the plan to {}. Apply it with: cairn apply {}",
                    f.display(),
                    f.display()
                ));
            }
            Ok(plan_exit_code(detailed_exitcode, r.plan.has_changes()))
        }
        Command::Apply { target_path, opts, auto_approve, reviewed_plan } => {
            warn_unlocked(opts.ci.lock, console);
            let (dir, planfile) = apply_paths(&chdir, target_path, reviewed_plan.is_some());
            let request = ApplyRequest { dir, planfile, reviewed_plan, opts, auto_approve, mode: PlanMode::Normal };
            run_apply(request, console, &registry, interrupt).await
        }
        Command::Destroy { dir, opts, auto_approve } => {
            warn_unlocked(opts.ci.lock, console);
            let request = ApplyRequest {
                dir: stack_dir(&chdir, dir),
                planfile: None,
                reviewed_plan: None,
                opts,
                auto_approve,
                mode: PlanMode::Destroy,
            };
            run_apply(request, console, &registry, interrupt).await
        }
        Command::Drift { dir, vars, format, lock_timeout } => {
            let mut a = ops::PlanArgs::new(common(stack_dir(&chdir, dir), &vars, &lock_timeout, &registry)?);
            a.mode = PlanMode::RefreshOnly;
            let r = ops::plan(a).await?;
            console.out(&render_drift(&r.plan, format, color));
            Ok(drift_exit_code(&r.plan.drift))
        }
        Command::Check { dir, vars, format, lock_timeout, detailed_report, ascii } => {
            let dir = stack_dir(&chdir, dir);
            let stack_name = dir.display().to_string();
            let mut a = ops::PlanArgs::new(common(dir, &vars, &lock_timeout, &registry)?);
            a.live_values = true;
            let r = ops::plan(a).await?;
            let sources = ModuleSources::new(r.module_dirs.iter().map(|(p, d)| (p, d)));
            let emoji = !ascii && super::render::output_takes_emoji(|k| std::env::var(k).ok());
            let opts = HealthOptions { color, emoji, detailed: detailed_report };
            console.out(&render_health(&stack_name, &r.plan.checks, &sources, format, &opts));
            Ok(check_exit_code(&r.plan.checks))
        }
        Command::Show { planfile, format, json, marker } => {
            let format = if json { Format::Json } else { format.unwrap_or(Format::Text) };
            if marker.is_some() && format != Format::Markdown {
                return Err(OpError::msg("--marker names the pull-request comment: use it with --format markdown"));
            }
            let Some(planfile) = planfile else {
                let state = ops::show_state(&stack_dir(&chdir, None)).await?;
                let text = match format {
                    Format::Text => super::render::state::state_text(state.as_ref()),
                    Format::Json => {
                        format!("{}\n", serde_json::to_string(&rjson::state_json(state.as_ref())).unwrap_or_default())
                    }
                    Format::Markdown => return Err(OpError::msg(
                        "--format markdown renders a saved plan: give its file (cairn show PLANFILE --format markdown)",
                    )),
                };
                console.out(&text);
                return Ok(0);
            };
            let saved = ops::show_saved(&planfile)?;
            let text = match format {
                Format::Markdown => {
                    let name = marker.or(saved.stack).unwrap_or_else(|| crate::plan::file::stack_label(&planfile));
                    super::render::plan_comment_markdown(&saved.plan, &name)
                }
                other => render_plan(&saved.plan, other, color),
            };
            console.out(&text);
            Ok(0)
        }
        Command::Output { name, json, raw } => {
            let outputs = ops::output(&stack_dir(&chdir, None), name.as_deref()).await?;
            if raw {
                // `requires = "name"`: exactly the named output.
                let [one] = outputs.as_slice() else {
                    return Err(OpError::msg("Raw output format is only supported for single outputs"));
                };
                console.out(&raw_output(one)?);
                return Ok(0);
            }
            console.out(&outputs_text(name.is_some(), &outputs, json));
            Ok(0)
        }
        Command::Refresh { dir, opts } => {
            if !opts.replace.is_empty() || opts.refresh_only || !opts.refresh {
                return Err(OpError::msg(
                    "refresh only reads live objects into state: -replace, -refresh-only and -refresh=false belong to plan and apply",
                ));
            }
            warn_unlocked(opts.ci.lock, console);
            let request = ApplyRequest {
                dir: stack_dir(&chdir, dir),
                planfile: None,
                reviewed_plan: None,
                opts,
                auto_approve: true,
                mode: PlanMode::RefreshOnly,
            };
            run_apply(request, console, &registry, interrupt).await
        }
        Command::Taint { addr, allow_missing, lock } => {
            taint_command(&stack_dir(&chdir, None), &addr, true, allow_missing, &lock, console).await
        }
        Command::Untaint { addr, allow_missing, lock } => {
            taint_command(&stack_dir(&chdir, None), &addr, false, allow_missing, &lock, console).await
        }
        Command::Console { dir, vars } => {
            let mut c = common(stack_dir(&chdir, dir), &vars, "0s", &registry)?;
            c.lock = false;
            let mut scope = ops::console_scope(c).await?;
            Ok(super::repl::run_console(&mut scope, console).await)
        }
        Command::Version { json } => {
            console.out(&version_text(json));
            Ok(0)
        }
        Command::Providers { command: Some(ProvidersCommand::Schema { dir, json }), .. } => {
            if !json {
                // Terraform's own refusal: the schema has no human format.
                return Err(OpError::msg(
                    "The `cairn providers schema` command requires the `-json` flag: the schemas have no human format.",
                ));
            }
            let providers = ops::provider_schemas(&stack_dir(&chdir, dir)).await?;
            console.out(&format!("{}\n", crate::cli::render::schema_json::provider_schemas_json(&providers)));
            Ok(0)
        }
        Command::Providers { dir, command: None } => {
            let (tree, in_state) = ops::providers(&stack_dir(&chdir, dir)).await?;
            console.out(&providers_text(&tree, &in_state));
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cairn", &mut script);
            console.out(&String::from_utf8_lossy(&script));
            Ok(0)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| OpError::msg(format!("cannot render the manual page: {e}")))?;
            console.out(&String::from_utf8_lossy(&page));
            Ok(0)
        }
        Command::State(sc) => {
            run_state(sc, &stack_dir(&chdir, None), console).await?;
            Ok(0)
        }
        Command::ForceUnlock { lock_id } => {
            let info = ops::force_unlock(&stack_dir(&chdir, None), &lock_id).await?;
            console.outln(&format!("Cairn state has been successfully unlocked (was: {info})."));
            Ok(0)
        }
        // `-input`: import never asks, so there is nothing to turn off.
        Command::Import { addr, id, vars, input: _, lock } => {
            warn_unlocked(lock.lock, console);
            let mut c = common(stack_dir(&chdir, None), &vars, &lock.lock_timeout, &registry)?;
            c.lock = lock.lock;
            let a = ops::import(&c, &addr, &id).await?;
            console.outln(&format!("Import successful: {a} is now managed by Cairn."));
            Ok(0)
        }
        Command::Emulator {
            listen,
            scenario,
            latency,
            fault_rate,
            data,
            operation_duration,
            realistic,
            time_scale,
            quota_scale,
            quota,
            seed,
        } => {
            if !(0.0..=1.0).contains(&fault_rate) {
                return Err(OpError::msg("--fault-rate takes a fraction from 0.0 to 1.0"));
            }
            // Every setting of the standalone server is one of its options, with the default
            // its help shows.
            let cfg = EmulatorConfig {
                listen,
                data_file: data,
                scenario,
                latency: parse_duration(&latency)?,
                fault_rate,
                operation_duration: parse_duration(&operation_duration)?,
                realistic: realistic.then_some(RealisticConfig {
                    time_scale,
                    quota_scale,
                    quota_overrides: quota,
                    seed,
                }),
            };
            console.errln(&format!("Point Cairn at it with CAIRN_GCP_EMULATOR=http://{listen} (Ctrl-C stops it)."));
            crate::emulator::serve(cfg, interrupt.signalled()).await.map_err(|e| OpError::msg(e.to_string()))?;
            Ok(0)
        }
        Command::Graph { dir, all } => {
            console.out(&ops::graph(&stack_dir(&chdir, dir), all)?);
            Ok(0)
        }
        Command::Workspace(wc) => {
            run_workspace(wc, &chdir, console).await?;
            Ok(0)
        }
        Command::Stacks(sc) => run_stacks(sc, &chdir, global_args, console, interrupt).await,
    }
}

/// The global flags every stack's command gets from `cairn stacks`.
fn stacks_global_args(emulator: bool, scenario: Option<&Path>, verbose: u8) -> Vec<std::ffi::OsString> {
    let mut args = Vec::new();
    if emulator {
        args.push("--emulator".into());
    }
    if let Some(s) = scenario {
        args.push("--emulator-scenario".into());
        args.push(s.as_os_str().to_owned());
    }
    if verbose > 0 {
        args.push(format!("-{}", "v".repeat(usize::from(verbose))).into());
    }
    args
}

/// `cairn stacks …`: discovery and selection here, each stack's command as a child process
/// (see `stacks::runner`).
async fn run_stacks(
    command: StacksCommand,
    chdir: &Option<PathBuf>,
    global_args: Vec<std::ffi::OsString>,
    console: &mut Console,
    interrupt: &crate::apply::Interrupt,
) -> Result<u8, OpError> {
    use crate::stacks::runner::{self, Operation, RunOptions};
    let (dir, select) = match &command {
        StacksCommand::List { dir, select, .. }
        | StacksCommand::Plan { dir, select, .. }
        | StacksCommand::Apply { dir, select, .. }
        | StacksCommand::Drift { dir, select, .. }
        | StacksCommand::Check { dir, select, .. } => (stack_dir(chdir, dir.clone()), select.clone()),
    };
    let set = crate::stacks::discover(&dir)?;
    if !set.warnings.is_empty() {
        warn_as(&set.sources, &set.warnings, console, false);
    }
    let order = crate::stacks::select(&set, select.changed_since.as_deref())?;
    let (operation, run, args, detailed) = match command {
        StacksCommand::List { json, .. } => {
            if json {
                let doc: Vec<serde_json::Value> = order
                    .iter()
                    .map(|&i| {
                        let deps: Vec<String> = set.deps[i].keys().map(|&d| set.display(d)).collect();
                        serde_json::json!({ "path": set.display(i), "depends_on": deps })
                    })
                    .collect();
                console.outln(&serde_json::Value::Array(doc).to_string());
            } else {
                for &i in &order {
                    console.outln(&set.display(i));
                }
            }
            return Ok(0);
        }
        StacksCommand::Plan { run, detailed_exitcode, .. } => {
            (Operation::Plan, run, vec!["-detailed-exitcode", "-input=false"], detailed_exitcode)
        }
        StacksCommand::Apply { run, auto_approve, .. } => {
            if !auto_approve {
                return Err(OpError::msg(
                    "cairn stacks apply applies each stack without asking: review the changes with cairn stacks plan, then pass -auto-approve",
                ));
            }
            (Operation::Apply, run, vec!["-auto-approve", "-input=false"], false)
        }
        StacksCommand::Drift { run, format, .. } => (Operation::Drift, run, vec![format_arg(format)], false),
        StacksCommand::Check { run, format, .. } => (Operation::Check, run, vec![format_arg(format)], false),
    };
    if run.parallelism == 0 {
        return Err(OpError::msg("--parallelism is the number of stacks run at once: at least 1"));
    }
    parse_duration(&run.lock_timeout)?;
    if order.is_empty() {
        let why = if select.changed_since.is_some() { "no stack changed" } else { "no stacks found" };
        console.outln(&format!("cairn stacks {}: {why} under {}; nothing to run.", operation.name(), dir.display()));
        return Ok(0);
    }
    let program = match std::env::var_os(crate::stacks::runner::PROGRAM_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => std::env::current_exe()
            .map_err(|e| OpError::msg(format!("cannot find the cairn program to run each stack with: {e}")))?,
    };
    let mut args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    args.push(format!("-lock-timeout={}", run.lock_timeout).into());
    let opts = RunOptions { operation, parallelism: run.parallelism, program, global_args, args };
    let report = runner::run(&set, &order, &opts, interrupt, |done| {
        console.out(&runner::block(&set, operation, done));
        console.flush();
    })
    .await;
    console.out(&runner::summary(&set, operation, &report, run.parallelism));
    Ok(report.exit_code(operation, detailed))
}

fn format_arg(format: Format) -> &'static str {
    match format {
        Format::Text => "--format=text",
        Format::Json => "--format=json",
        Format::Markdown => "--format=markdown",
    }
}

/// `cairn workspace …`, with Terraform's output.
async fn run_workspace(
    command: WorkspaceCommand,
    chdir: &Option<PathBuf>,
    console: &mut Console,
) -> Result<(), OpError> {
    const OVERRIDDEN_NOTE: &str =
        "The active workspace is being overridden using the TF_WORKSPACE environment variable.";
    match command {
        WorkspaceCommand::List { dir } => {
            let list = ops::workspace_list(&stack_dir(chdir, dir)).await?;
            for name in &list.names {
                let mark = if *name == list.selected.name { "* " } else { "  " };
                console.outln(&format!("{mark}{name}"));
            }
            console.outln("");
            if list.selected.overridden {
                console.outln(OVERRIDDEN_NOTE);
            }
        }
        WorkspaceCommand::Show => {
            console.outln(&ops::workspace_show(&stack_dir(chdir, None))?.name);
        }
        WorkspaceCommand::New { name, dir, lock_timeout } => {
            ops::workspace_new(&stack_dir(chdir, dir), &name, parse_duration(&lock_timeout)?).await?;
            console.outln(&format!("Created and switched to workspace \"{name}\"!\n\nYou're now on a new, empty workspace. Workspaces isolate their state,\nso if you run \"cairn plan\" Cairn will not see any existing state\nfor this configuration."));
        }
        WorkspaceCommand::Select { name, dir, or_create } => {
            match ops::workspace_select(&stack_dir(chdir, dir), &name, or_create, Duration::ZERO).await? {
                ops::Selection::Already => {}
                ops::Selection::Switched => console.outln(&format!("Switched to workspace \"{name}\".")),
                ops::Selection::Created => console.outln(&format!("Created and switched to workspace \"{name}\"!\n\nYou're now on a new, empty workspace. Workspaces isolate their state,\nso if you run \"cairn plan\" Cairn will not see any existing state\nfor this configuration.")),
            }
        }
        WorkspaceCommand::Delete { name, dir, force, lock, lock_timeout } => {
            let tracked =
                ops::workspace_delete(&stack_dir(chdir, dir), &name, force, lock, parse_duration(&lock_timeout)?)
                    .await?;
            console.outln(&format!("Deleted workspace \"{name}\"!"));
            if !tracked.is_empty() {
                console.outln(&format!("WARNING: \"{name}\" was non-empty.\nThe resources managed by the deleted workspace may still exist,\nbut are no longer manageable by Cairn since the state has\nbeen deleted."));
            }
        }
    }
    Ok(())
}

async fn run_state(command: StateCommand, dir: &Path, console: &mut Console) -> Result<(), OpError> {
    match command {
        StateCommand::List { filter } => {
            for a in ops::state_list(dir, filter.as_deref()).await? {
                console.outln(&a.to_string());
            }
        }
        StateCommand::Show { addr } => {
            let (a, r) = ops::state_show(dir, &addr).await?;
            console.outln(&format!("# {a}:"));
            console.outln(&serde_json::to_string_pretty(&r).unwrap_or_default());
        }
        StateCommand::Pull => {
            let s = ops::state_pull(dir).await?;
            console.outln(&serde_json::to_string_pretty(&s).unwrap_or_default());
        }
        StateCommand::Rm { addrs } => {
            for a in ops::state_rm(dir, &addrs, Duration::ZERO).await? {
                console.outln(&format!("Removed {a}"));
            }
        }
        StateCommand::Mv { from, to } => {
            for (a, b) in ops::state_mv(dir, &from, &to, Duration::ZERO).await? {
                console.outln(&format!("Moved {a} to {b}"));
            }
        }
        StateCommand::History => {
            for h in ops::state_history(dir).await? {
                console.outln(&format!("{:>6}  {}  {:<24} {} resources", h.serial, h.time, h.operation, h.resources));
            }
        }
        StateCommand::Migrate { from, lock_timeout } => {
            let m = ops::state_migrate(dir, &from, parse_duration(&lock_timeout)?).await?;
            if m.already {
                console.outln(&format!("{} already holds serial {} of this state; nothing to do.", m.to, m.serial));
            } else {
                console.outln(&format!(
                    "Migrated serial {} ({} resources) and {} earlier versions from {} to {}.",
                    m.serial, m.resources, m.versions, m.from, m.to
                ));
                console.outln(&format!(
                    "The old copy at {} is left as it was; remove it once you no longer need it.",
                    m.from
                ));
            }
        }
        StateCommand::Rekey { dir: stack, force, lock_timeout } => {
            let r = ops::state_rekey(stack.as_deref().unwrap_or(dir), force, parse_duration(&lock_timeout)?).await?;
            if let Some(why) = &r.old_key_lost {
                console.outln(&format!("The old key could not be used: {why}"));
            }
            console.outln(&format!(
                "Made a new fingerprint key for the state at {} in {} ({}). Keep that file (mode 0600) wherever this state is planned or applied.",
                r.location,
                r.key_file.path.display(),
                r.key_file.origin
            ));
            console.outln(&format!(
                "Dropped {} stored fingerprint(s) of sensitive values: each sensitive value now plans as changed once, and the next apply sends it again (an argument that forces replacement, such as a secret version's secret_data, replaces its object). Plan files saved before this are refused.",
                r.dropped
            ));
        }
        StateCommand::Restore { serial } => {
            let s = ops::state_restore(dir, serial, Duration::ZERO).await?;
            console.outln(&format!(
                "Restored version {serial} as serial {} ({} resources).",
                s.serial,
                s.resources.len()
            ));
        }
    }
    Ok(())
}

/// `cairn output`: one named output as its bare value, otherwise every output as `name = value`
/// (or a JSON object); sensitive values are withheld in text.
pub fn outputs_text(named: bool, outputs: &[ops::OutputValue], json: bool) -> String {
    let shown = |o: &ops::OutputValue| {
        if o.sensitive {
            "(sensitive value)".to_string()
        } else {
            display_json(&o.value)
        }
    };
    match (named, outputs, json) {
        (true, [one], true) => format!("{}\n", serde_json::to_string_pretty(&one.value).unwrap_or_default()),
        (_, _, true) => {
            let m: serde_json::Map<String, serde_json::Value> = outputs
                .iter()
                .map(|o| {
                    let doc =
                        serde_json::json!({ "sensitive": o.sensitive, "type": cty_type(&o.value), "value": o.value });
                    (o.name.clone(), doc)
                })
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&m).unwrap_or_default())
        }
        (true, [one], false) => format!("{}\n", shown(one)),
        (_, _, false) => outputs.iter().map(|o| format!("{} = {}\n", o.name, shown(o))).collect(),
    }
}

/// The type Terraform's `output -json` reports (cty's JSON type notation), read from the value
/// as state keeps it: a list reads as a tuple, a map as an object, a null as dynamic.
pub fn cty_type(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Null => J::from("dynamic"),
        J::Bool(_) => J::from("bool"),
        J::Number(_) => J::from("number"),
        J::String(_) => J::from("string"),
        J::Array(xs) => serde_json::json!(["tuple", xs.iter().map(cty_type).collect::<Vec<_>>()]),
        J::Object(m) => {
            let fields: serde_json::Map<String, J> = m.iter().map(|(k, x)| (k.clone(), cty_type(x))).collect();
            serde_json::json!(["object", fields])
        }
    }
}

fn display_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `output -raw NAME`: the value as plain text with no quotes or newline (Terraform's rule:
/// strings, numbers and bools only).
pub fn raw_output(o: &ops::OutputValue) -> Result<String, OpError> {
    let unsupported = |what: &str| {
        OpError::msg(format!(
            "Unsupported value for raw output: the -raw option only supports strings, numbers, and boolean values, but output value \"{}\" is {what}. Use the -json option for machine-readable representations of output values that have complex types.",
            o.name
        ))
    };
    if o.sensitive {
        return Err(OpError::msg(format!(
            "output \"{}\" is sensitive: Cairn never stores sensitive values in state, so it has no value to print (read it from where the stack sends it, e.g. Secret Manager)",
            o.name
        )));
    }
    match &o.value {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Null => Err(OpError::msg(format!(
            "Unsupported value for raw output: the value for output value \"{}\" is null, so -raw mode cannot print it.",
            o.name
        ))),
        serde_json::Value::Array(_) => Err(unsupported("a tuple")),
        serde_json::Value::Object(_) => Err(unsupported("an object")),
    }
}

async fn taint_command(
    dir: &Path,
    addr: &str,
    tainted: bool,
    allow_missing: bool,
    lock: &super::args::LockOpts,
    console: &mut Console,
) -> Result<u8, OpError> {
    warn_unlocked(lock.lock, console);
    let timeout = parse_duration(&lock.lock_timeout)?;
    match ops::set_tainted(dir, addr, tainted, allow_missing, lock.lock, timeout).await? {
        ops::TaintOutcome::Marked(a) if tainted => {
            console.outln(&format!("Resource instance {a} has been marked as tainted."))
        }
        ops::TaintOutcome::Marked(a) => {
            console.outln(&format!("Resource instance {a} has been successfully untainted."))
        }
        ops::TaintOutcome::Missing(a) => console.errln(&format!(
            "Warning: No such resource instance: {a} was not found in state; nothing to {} (-allow-missing).",
            if tainted { "taint" } else { "untaint" }
        )),
    }
    Ok(0)
}

/// Terraform's platform name (`linux_amd64`): Go's GOOS_GOARCH.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// `cairn version`: Cairn's version, then what it implements, as `terraform version` lists
/// Terraform's and the selected providers'.
pub fn version_text(json: bool) -> String {
    use crate::version::{CAIRN_VERSION, GOOGLE_PROVIDER_SOURCE, GOOGLE_PROVIDER_VERSION, TERRAFORM_LANGUAGE_VERSION};
    if json {
        let doc = serde_json::json!({
            "cairn_version": CAIRN_VERSION,
            "terraform_version": TERRAFORM_LANGUAGE_VERSION,
            "platform": platform(),
            "provider_selections": { GOOGLE_PROVIDER_SOURCE: GOOGLE_PROVIDER_VERSION },
            "terraform_outdated": false,
        });
        return format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    format!(
        "Cairn v{CAIRN_VERSION}\non {}\nTerraform language v{TERRAFORM_LANGUAGE_VERSION}\n+ provider {GOOGLE_PROVIDER_SOURCE} v{GOOGLE_PROVIDER_VERSION}\n",
        platform()
    )
}

/// `cairn providers`: the configuration's requirements as a tree (as `terraform providers`
/// draws it), then the providers the state's resources use.
pub fn providers_text(tree: &ops::ProviderTree, in_state: &[String]) -> String {
    fn children(t: &ops::ProviderTree, prefix: &str, out: &mut String) {
        let lines: Vec<(String, Option<&ops::ProviderTree>)> = t
            .providers
            .iter()
            .map(|(source, version)| {
                let constraint = version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
                (format!("provider[{source}]{constraint}"), None)
            })
            .chain(t.children.iter().map(|c| (c.name.clone(), Some(c))))
            .collect();
        let n = lines.len();
        for (i, (line, child)) in lines.into_iter().enumerate() {
            let last = i + 1 == n;
            out.push_str(&format!("{prefix}{}{line}\n", if last { "└── " } else { "├── " }));
            if let Some(c) = child {
                children(c, &format!("{prefix}{}", if last { "    " } else { "│   " }), out);
            }
        }
    }
    let mut out = String::from("\nProviders required by configuration:\n.\n");
    children(tree, "", &mut out);
    if !in_state.is_empty() {
        out.push_str("\nProviders required by state:\n\n");
        for source in in_state {
            out.push_str(&format!("    provider[{source}]\n\n"));
        }
    }
    out
}

/// `apply PATH`: a saved plan when PATH is a file, or when `-reviewed-plan` says PATH must be
/// a plan and it is not a directory (so a missing plan is reported as such); otherwise PATH is
/// the stack directory. Returns the stack directory and the saved plan.
pub fn apply_paths(
    chdir: &Option<PathBuf>,
    target_path: Option<PathBuf>,
    reviewed: bool,
) -> (PathBuf, Option<PathBuf>) {
    match target_path {
        Some(p) if p.is_file() || (reviewed && !p.is_dir()) => (stack_dir(chdir, None), Some(p)),
        other => (stack_dir(chdir, other), None),
    }
}

struct ApplyRequest {
    dir: PathBuf,
    planfile: Option<PathBuf>,
    reviewed_plan: Option<PathBuf>,
    opts: PlanOpts,
    auto_approve: bool,
    mode: PlanMode,
}

/// How a plan that needs approval gets it.
#[derive(Debug, PartialEq, Eq)]
pub enum Approval {
    /// `-auto-approve`.
    Given,
    /// Ask the person at the terminal.
    Ask,
    /// Nobody can answer: refuse rather than wait on a pipe or apply unasked.
    Impossible,
}

pub fn approval(auto_approve: bool, interactive: bool) -> Approval {
    match (auto_approve, interactive) {
        (true, _) => Approval::Given,
        (false, true) => Approval::Ask,
        (false, false) => Approval::Impossible,
    }
}

/// Shows the plan and obtains approval for it. While it waits for an answer, a signal cancels
/// the command (see [`super::signals`]).
async fn confirm(plan: &Plan, auto_approve: bool, console: &mut Console, interrupt: &Interrupt) -> bool {
    console.out(&rtext::plan_text(plan, &RenderOptions { color: console.color }));
    match approval(auto_approve, console.interactive) {
        Approval::Given => true,
        Approval::Impossible => {
            console.errln("Error: no confirmation: standard input is not a terminal (or -input=false was given). Re-run with --auto-approve, or apply a saved plan file, to apply without asking.");
            false
        }
        Approval::Ask => {
            console.out(
                "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
            );
            console.flush();
            interrupt.prompting(true);
            let answer = console.read_line().await;
            interrupt.prompting(false);
            answer.trim() == "yes"
        }
    }
}

/// What to say on the first and on a later Ctrl-C during an apply.
pub fn interrupt_message(raised: u8) -> &'static str {
    match raised {
        1 => "\nInterrupt received: no new steps will start; waiting for the ones in flight. Press Ctrl-C again to stop now.",
        _ => "\nSecond interrupt: stopping now. Steps in flight are recorded in the journal and will be reconciled by the next apply.",
    }
}

async fn run_apply(
    request: ApplyRequest,
    console: &mut Console,
    registry: &Registry,
    interrupt: &Interrupt,
) -> Result<u8, OpError> {
    if request.opts.json {
        return Ok(run_apply_json_ui(request, console, registry, interrupt).await);
    }
    let color = console.color;
    let from_file = request.planfile.is_some();
    let args = ops::ApplyArgs {
        plan: plan_args(request.dir, &request.opts, request.mode, registry)?,
        planfile: request.planfile,
        reviewed_planfile: request.reviewed_plan,
        interrupt: interrupt.clone(),
        progress: Arc::new(Lines::new(color)),
        heartbeat: Duration::from_secs(10),
    };
    let auto_approve = request.auto_approve;
    let compact = request.opts.ci.compact_warnings;
    // -input=false: nobody may be asked, whatever standard input is.
    if !request.opts.ci.input {
        console.interactive = false;
    }
    let r = ops::apply_asking(args, async |plan: &Plan| confirm(plan, auto_approve, console, interrupt).await).await?;
    // The plan text (shown unless a saved plan is applied with changes) lists the plan's own
    // warnings.
    let plan_text_shown = !from_file || r.outcome.is_none();
    let shown = if plan_text_shown { not_in_plan_text(&r.warnings, &r.plan) } else { r.warnings.clone() };
    warn_as(&r.sources, &shown, console, compact);
    let Some(outcome) = r.outcome else {
        if !r.approved {
            console.outln("Apply cancelled.");
            return Ok(1);
        }
        console.outln(rtext::plan_text(&r.plan, &RenderOptions { color }).trim_end());
        return Ok(0);
    };
    Ok(report_outcome(&outcome, request.mode, console))
}

/// What `-generate-config-out` wrote, for the person at the terminal.
fn generated_note(g: &ops::GeneratedConfig) -> String {
    format!(
        "Wrote the configuration of {} imported resource(s) to {}: review it, and keep it with the stack.",
        g.resources.len(),
        g.file.display()
    )
}

/// An error as `diagnostic` messages: located ones with their ranges, any other as a summary.
fn json_ui_errors(e: &OpError) -> Vec<String> {
    match e {
        OpError::Diagnostics { sources, diags } => json_ui::diagnostic_messages(sources, diags),
        other => {
            let d = crate::lang::diag::Diagnostic::error(other.to_string());
            vec![json_ui::diagnostic_message(&SourceMap::new(), &d, None)]
        }
    }
}

/// `plan -json`: the version message, then the plan's messages and its warnings, or the
/// errors that stopped it, all as Terraform's machine-readable UI; the exit code is the text
/// UI's.
#[allow(clippy::too_many_arguments)]
async fn plan_json_ui(
    dir: PathBuf,
    opts: &PlanOpts,
    mode: PlanMode,
    save: Option<PathBuf>,
    detailed_exitcode: bool,
    format: Format,
    generate_config_out: Option<PathBuf>,
    registry: &Registry,
    console: &mut Console,
) -> u8 {
    console.out(&json_ui::version());
    let planned = async {
        if format != Format::Text {
            return Err(OpError::msg(
                "-json streams Terraform's machine-readable UI; it does not combine with -format",
            ));
        }
        let mut a = plan_args(dir, opts, mode, registry)?;
        a.out = save;
        a.generate_config_out = generate_config_out;
        ops::plan(a).await
    };
    match planned.await {
        Ok(r) => {
            let generated = |addr: &crate::addr::InstanceAddr| {
                r.generated
                    .as_ref()
                    .and_then(|g| g.resources.iter().find(|(a, _)| a == addr))
                    .map(|(_, hcl)| hcl.clone())
            };
            for line in json_ui::plan_messages(&r.plan, opts.refresh, &generated) {
                console.out(&line);
            }
            for line in json_ui::diagnostic_messages(&r.sources, &r.warnings) {
                console.out(&line);
            }
            plan_exit_code(detailed_exitcode, r.plan.has_changes())
        }
        Err(e) => {
            for line in json_ui_errors(&e) {
                console.out(&line);
            }
            1
        }
    }
}

/// `apply -json` / `destroy -json`: the version message, the plan's messages, an `apply_*`
/// message per step as it happens (the same events the text UI shows, through
/// [`json_ui::JsonProgress`]), then the failures as diagnostics or the summary and outputs.
/// Nobody can answer a prompt in between, so approval must come from -auto-approve or a saved
/// plan, as Terraform requires.
async fn run_apply_json_ui(
    request: ApplyRequest,
    console: &mut Console,
    registry: &Registry,
    interrupt: &Interrupt,
) -> u8 {
    console.out(&json_ui::version());
    if !request.auto_approve && request.planfile.is_none() {
        let d = crate::lang::diag::Diagnostic::error("Plan file or auto-approve required").detail(
            "Cairn cannot ask for interactive approval when -json is set. You can either apply a saved plan file, or enable the -auto-approve option.",
        );
        console.out(&json_ui::diagnostic_message(&SourceMap::new(), &d, None));
        return 1;
    }
    let (lines, mut streamed) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mode = request.mode;
    // A saved plan is applied as it was made: nothing is read back again.
    let refreshed = request.opts.refresh && request.planfile.is_none();
    let args = match plan_args(request.dir, &request.opts, request.mode, registry) {
        Ok(plan) => ops::ApplyArgs {
            plan,
            planfile: request.planfile,
            reviewed_planfile: request.reviewed_plan,
            interrupt: interrupt.clone(),
            progress: Arc::new(json_ui::JsonProgress::new(lines.clone())),
            heartbeat: Duration::from_secs(10),
        },
        Err(e) => {
            for line in json_ui_errors(&e) {
                console.out(&line);
            }
            return 1;
        }
    };
    let plan_lines = lines.clone();
    let applying = ops::apply_asking(args, async move |plan: &Plan| {
        for line in json_ui::plan_messages(plan, refreshed, &|_| None) {
            let _ = plan_lines.send(line);
        }
        true
    });
    tokio::pin!(applying);
    // The messages are written as the steps report them, while the apply runs.
    let result = loop {
        tokio::select! {
            r = &mut applying => break r,
            Some(line) = streamed.recv() => console.out(&line),
        }
    };
    drop(lines);
    while let Ok(line) = streamed.try_recv() {
        console.out(&line);
    }
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            for line in json_ui_errors(&e) {
                console.out(&line);
            }
            return 1;
        }
    };
    for line in json_ui::diagnostic_messages(&r.sources, &r.warnings) {
        console.out(&line);
    }
    match &r.outcome {
        Some(outcome) => {
            for line in json_ui::apply_end_messages(outcome, mode) {
                console.out(&line);
            }
            u8::from(!outcome.failed.is_empty() || outcome.interrupted)
        }
        None => {
            // Nothing to do: the (empty) plan and a summary of nothing applied.
            for line in json_ui::plan_messages(&r.plan, refreshed, &|_| None) {
                console.out(&line);
            }
            console.out(&json_ui::change_summary_applied(0, 0, 0, mode));
            0
        }
    }
}

/// Reports what an apply did and returns its exit code: 1 when a step failed or the apply was
/// interrupted, 0 otherwise (failing checks only warn: they may pass a little later).
pub fn report_outcome(outcome: &ApplyOutcome, mode: PlanMode, console: &mut Console) -> u8 {
    let (mut added, mut changed, mut destroyed, mut forgotten) = (0, 0, 0, 0);
    for (_, a) in &outcome.succeeded {
        match a {
            Action::Create => added += 1,
            Action::Update => changed += 1,
            Action::Delete => destroyed += 1,
            Action::Forget => forgotten += 1,
            _ => {}
        }
    }
    if !outcome.failed.is_empty() || outcome.interrupted {
        console.errln("");
        // Each message already starts with the resource address.
        for (_, m) in &outcome.failed {
            console.errln(&format!("Error: {m}"));
        }
        if !outcome.skipped.is_empty() {
            const SHOWN: usize = 10;
            let mut names: Vec<String> = outcome.skipped.iter().take(SHOWN).map(|a| a.to_string()).collect();
            if outcome.skipped.len() > SHOWN {
                names.push(format!("and {} more", outcome.skipped.len() - SHOWN));
            }
            console.errln(&format!(
                "Not started because a dependency failed or the apply was interrupted: {}",
                names.join(", ")
            ));
        }
        for a in &outcome.abandoned {
            console.errln(&format!("Still in flight when stopped (recorded in the journal): {a}"));
        }
        console.errln(&format!(
            "Apply {}: {added} added, {changed} changed, {destroyed} destroyed; {} failed, {} skipped.",
            if outcome.interrupted { "interrupted" } else { "failed" },
            outcome.failed.len(),
            outcome.skipped.len()
        ));
        return 1;
    }
    let verb = if mode == PlanMode::Destroy { "Destroy" } else { "Apply" };
    let forgotten = if forgotten > 0 { format!(", {forgotten} forgotten") } else { String::new() };
    console.outln(&format!(
        "\n{verb} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed{forgotten}."
    ));
    if let Some(cp) = &outcome.critical_path {
        console.outln(&rtext::critical_path_line(cp, &verb.to_lowercase()));
    }
    if !outcome.outputs.is_empty() {
        console.outln("\nOutputs:\n");
        for (k, (v, sensitive)) in &outcome.outputs {
            let shown =
                if *sensitive || v.contains_sensitive() { "(sensitive value)".to_string() } else { v.to_string() };
            console.outln(&format!("{k} = {shown}"));
        }
    }
    let failing: Vec<_> = outcome.checks.iter().filter(|c| c.status == CheckStatus::Fail).collect();
    for c in &failing {
        let lines: Vec<&str> = c.messages.iter().flat_map(|m| m.lines()).collect();
        console.errln(&format!("Warning: check {} failed: {}", c.address, lines.join("; ")));
    }
    if !failing.is_empty() {
        console.errln("Some checks can take a while to pass (a certificate provisions in minutes); `cairn check` reports health at any time.");
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{InstanceKey, ModulePath, ResourceAddr};
    use crate::cli::console::Captured;
    use crate::lang::value::Value;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["cairn"];
        all.extend_from_slice(args);
        match crate::cli::parse(all.iter().map(std::ffi::OsString::from)) {
            Ok(c) => c,
            Err(e) => panic!("{args:?}: {}", e.error),
        }
    }

    /// Runs a command line against the built-in providers, answering a prompt with `input`.
    async fn cairn(args: &[&str], input: &str, interactive: bool) -> (Result<u8, OpError>, Captured) {
        let (mut console, captured) = Console::captured(input, interactive);
        let result = dispatch(cli(args), &mut console, Registry::builtin(), &Interrupt::new()).await;
        (result, captured)
    }

    fn stack(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), text).unwrap();
        let path = dir.path().to_str().unwrap().to_string();
        (dir, path)
    }

    fn check(status: CheckStatus) -> CheckResult {
        CheckResult { address: "check.c".into(), status, messages: vec!["bad\nworse".into()] }
    }

    fn addr(name: &str) -> crate::addr::InstanceAddr {
        ResourceAddr::managed(ModulePath::root(), "terraform_data", name).instance(InstanceKey::None)
    }

    fn outcome() -> ApplyOutcome {
        ApplyOutcome {
            succeeded: vec![],
            failed: vec![],
            skipped: vec![],
            abandoned: vec![],
            interrupted: false,
            outputs: Default::default(),
            checks: vec![],
            state: crate::state::State::new(),
            critical_path: None,
        }
    }

    #[test]
    fn providers_draw_a_tree_with_constraints_then_the_state_s() {
        let tree = ops::ProviderTree {
            name: ".".into(),
            providers: vec![("registry.terraform.io/hashicorp/google".into(), Some("~> 6.0".into()))],
            children: vec![
                ops::ProviderTree {
                    name: "module.a".into(),
                    providers: vec![],
                    children: vec![ops::ProviderTree {
                        name: "module.a.module.b".into(),
                        providers: vec![("terraform.io/builtin/terraform".into(), None)],
                        children: vec![],
                    }],
                },
                ops::ProviderTree { name: "module.c".into(), providers: vec![], children: vec![] },
            ],
        };
        assert_eq!(
            providers_text(&tree, &["registry.terraform.io/hashicorp/google".into()]),
            "\nProviders required by configuration:\n.\n├── provider[registry.terraform.io/hashicorp/google] ~> 6.0\n├── module.a\n│   └── module.a.module.b\n│       └── provider[terraform.io/builtin/terraform]\n└── module.c\n\nProviders required by state:\n\n    provider[registry.terraform.io/hashicorp/google]\n\n"
        );
    }

    #[test]
    fn output_types_are_cty_s_json_notation() {
        let v = serde_json::json!({"l": ["a", 1, true], "n": null});
        assert_eq!(
            cty_type(&v),
            serde_json::json!(["object", {"l": ["tuple", ["string", "number", "bool"]], "n": "dynamic"}])
        );
    }

    #[test]
    fn exit_codes_of_plan_fmt_and_check() {
        assert_eq!(plan_exit_code(false, false), 0);
        assert_eq!(plan_exit_code(false, true), 0);
        assert_eq!(plan_exit_code(true, false), 0);
        assert_eq!(plan_exit_code(true, true), 2);
        assert_eq!(fmt_exit_code(false, 3), 0);
        assert_eq!(fmt_exit_code(true, 0), 0);
        assert_eq!(fmt_exit_code(true, 1), 3);
        assert_eq!(check_exit_code(&[]), 0);
        assert_eq!(check_exit_code(&[check(CheckStatus::Pass)]), 0);
        assert_eq!(check_exit_code(&[check(CheckStatus::Pass), check(CheckStatus::Fail)]), 2);
        assert_eq!(check_exit_code(&[check(CheckStatus::Unknown)]), 2);
    }

    #[test]
    fn drift_exits_2_when_a_live_object_differs() {
        assert_eq!(drift_exit_code(&[]), 0);
        let gone = Drift {
            addr: addr("a"),
            type_name: "terraform_data".into(),
            provider: "terraform".into(),
            action: Action::Delete,
            before: Value::Null,
            after: None,
            changed_paths: vec![],
        };
        assert_eq!(drift_exit_code(&[gone]), 2);
    }

    #[test]
    fn durations_are_humantime_and_a_bad_one_says_how_to_write_it() {
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        for bad in ["", "5", "soon", "-1s"] {
            let e = parse_duration(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid duration {bad:?}: ")), "{e}");
            assert!(e.ends_with("(use e.g. 30s, 5m)"), "{e}");
        }
    }

    #[test]
    fn colour_only_on_a_terminal_and_when_not_refused() {
        assert!(use_color(false, true, false));
        assert!(!use_color(true, true, false));
        assert!(!use_color(false, false, false));
        assert!(!use_color(false, true, true));
    }

    #[test]
    fn approval_is_given_asked_or_impossible() {
        assert_eq!(approval(true, false), Approval::Given);
        assert_eq!(approval(true, true), Approval::Given);
        assert_eq!(approval(false, true), Approval::Ask);
        assert_eq!(approval(false, false), Approval::Impossible);
    }

    #[test]
    fn interrupt_messages_escalate() {
        assert!(interrupt_message(1).contains("Press Ctrl-C again"));
        assert!(interrupt_message(2).starts_with("\nSecond interrupt: stopping now."));
        assert_eq!(interrupt_message(3), interrupt_message(2));
    }

    #[test]
    fn the_stack_directory_prefers_the_positional_dir() {
        let chdir = Some(PathBuf::from("c"));
        assert_eq!(stack_dir(&chdir, Some("p".into())), PathBuf::from("p"));
        assert_eq!(stack_dir(&chdir, None), PathBuf::from("c"));
        assert_eq!(stack_dir(&None, None), PathBuf::from("."));
    }

    #[test]
    fn apply_takes_a_file_as_a_saved_plan_and_a_directory_as_the_stack() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("p.plan");
        std::fs::write(&plan, "{}").unwrap();
        let chdir = Some(PathBuf::from("stack"));
        assert_eq!(apply_paths(&chdir, Some(plan.clone()), false), (PathBuf::from("stack"), Some(plan)));
        assert_eq!(apply_paths(&chdir, Some(dir.path().into()), false), (dir.path().into(), None));
        assert_eq!(apply_paths(&chdir, None, false), (PathBuf::from("stack"), None));
        // Missing: a stack directory to report, unless -reviewed-plan says it must be a plan.
        let missing = dir.path().join("missing.plan");
        assert_eq!(apply_paths(&chdir, Some(missing.clone()), false), (missing.clone(), None));
        assert_eq!(apply_paths(&chdir, Some(missing.clone()), true), (PathBuf::from("stack"), Some(missing)));
    }

    #[test]
    fn outputs_show_one_bare_value_or_every_name() {
        let out = |name: &str, value: serde_json::Value, sensitive: bool| ops::OutputValue {
            name: name.into(),
            value,
            sensitive,
        };
        let both = [out("a", serde_json::json!("x"), false), out("b", serde_json::json!(1), true)];
        assert_eq!(outputs_text(false, &both, false), "a = \"x\"\nb = (sensitive value)\n");
        assert_eq!(outputs_text(true, &both[..1], false), "\"x\"\n");
        assert_eq!(outputs_text(true, &both[1..], false), "(sensitive value)\n");
        assert_eq!(outputs_text(true, &both[..1], true), "\"x\"\n");
        let json: serde_json::Value = serde_json::from_str(&outputs_text(false, &both, true)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"a": {"sensitive": false, "type": "string", "value": "x"}, "b": {"sensitive": true, "type": "number", "value": 1}})
        );
    }

    #[test]
    fn a_failed_or_interrupted_apply_exits_1_and_says_what_was_not_done() {
        let mut o = outcome();
        o.succeeded = vec![(addr("a"), Action::Create), (addr("b"), Action::Delete)];
        o.failed = vec![(addr("c"), "terraform_data.c: boom".into())];
        o.skipped = (0..12).map(|i| addr(&format!("s{i}"))).collect();
        let (mut console, captured) = Console::captured("", false);
        assert_eq!(report_outcome(&o, PlanMode::Normal, &mut console), 1);
        let err = captured.stderr();
        assert!(err.starts_with("\nError: terraform_data.c: boom\n"), "{err}");
        assert!(err.contains("terraform_data.s9, and 2 more\n"), "{err}");
        assert!(err.ends_with("Apply failed: 1 added, 0 changed, 1 destroyed; 1 failed, 12 skipped.\n"), "{err}");
        assert_eq!(captured.stdout(), "");

        let mut o = outcome();
        o.interrupted = true;
        o.abandoned = vec![addr("slow")];
        let (mut console, captured) = Console::captured("", false);
        assert_eq!(report_outcome(&o, PlanMode::Normal, &mut console), 1);
        assert!(captured
            .stderr()
            .contains("Still in flight when stopped (recorded in the journal): terraform_data.slow"));
        assert!(captured.stderr().contains("Apply interrupted: 0 added"));
    }

    #[test]
    fn a_finished_apply_exits_0_with_outputs_and_failing_checks_as_warnings() {
        let mut o = outcome();
        o.succeeded = vec![(addr("a"), Action::Update), (addr("b"), Action::Delete)];
        o.outputs.insert("plain".into(), (Value::String("v".into()), false));
        o.outputs.insert("secret".into(), (Value::String("s".into()), true));
        o.checks = vec![check(CheckStatus::Fail), check(CheckStatus::Pass)];
        let (mut console, captured) = Console::captured("", false);
        assert_eq!(report_outcome(&o, PlanMode::Destroy, &mut console), 0);
        let out = captured.stdout();
        assert!(out.starts_with("\nDestroy complete! Resources: 0 added, 1 changed, 1 destroyed.\n"), "{out}");
        assert!(out.contains("\nOutputs:\n\nplain = "), "{out}");
        assert!(out.ends_with("secret = (sensitive value)\n"), "{out}");
        let err = captured.stderr();
        assert!(err.starts_with("Warning: check check.c failed: bad; worse\n"), "{err}");
        assert!(err.contains("`cairn check` reports health at any time."), "{err}");
    }

    const ONE: &str = "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n";
    const TWO: &str =
        "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n\nresource \"terraform_data\" \"b\" {\n  input = 2\n}\n";

    #[tokio::test]
    async fn plan_exits_2_with_changes_and_0_without_under_detailed_exitcode() {
        let (_d, dir) = stack(ONE);
        let (r, out) = cairn(&["plan", &dir, "-detailed-exitcode"], "", false).await;
        assert_eq!(r.unwrap(), 2, "{}", out.stderr());
        assert!(out.stdout().contains("terraform_data.a"), "{}", out.stdout());
        let (r, _) = cairn(&["plan", &dir], "", false).await;
        assert_eq!(r.unwrap(), 0);
        let (r, out) = cairn(&["-chdir", &dir, "apply", "-auto-approve"], "", false).await;
        assert_eq!(r.unwrap(), 0, "{}", out.stderr());
        assert!(out.stdout().contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."));
        let (r, out) = cairn(&["-C", &dir, "plan", "-detailed-exitcode"], "", false).await;
        assert_eq!(r.unwrap(), 0, "{}", out.stdout());
        let (r, _) = cairn(&["drift", &dir], "", false).await;
        assert_eq!(r.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_missing_stack_is_an_error_that_run_reports_with_exit_1() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nowhere");
        let (r, _) = cairn(&["plan", missing.to_str().unwrap(), "-detailed-exitcode"], "", false).await;
        assert!(r.unwrap_err().to_string().contains("does not exist"));
        let (mut console, captured) = Console::captured("", false);
        assert_eq!(run(cli(&["validate", missing.to_str().unwrap()]), &mut console, Stop::unhandled()).await, 1);
        assert!(captured.stderr().starts_with("Error: stack directory "), "{}", captured.stderr());
    }

    #[tokio::test]
    async fn apply_asks_at_a_terminal_and_refuses_without_one() {
        let (_d, dir) = stack(TWO);
        let (r, out) = cairn(&["apply", &dir], "", false).await;
        assert_eq!(r.unwrap(), 1);
        assert!(out.stderr().contains("standard input is not a terminal"), "{}", out.stderr());
        assert!(out.stdout().ends_with("Apply cancelled.\n"), "{}", out.stdout());

        let (r, out) = cairn(&["apply", &dir], "no\n", true).await;
        assert_eq!(r.unwrap(), 1);
        assert!(out
            .stdout()
            .contains("Only 'yes' will be accepted to approve.\n\n  Enter a value: Apply cancelled.\n"));

        let (r, out) = cairn(&["apply", &dir], " yes \n", true).await;
        assert_eq!(r.unwrap(), 0, "{}", out.stderr());
        assert!(out.stdout().contains("Apply complete! Resources: 2 added"), "{}", out.stdout());

        // Nothing to do: no question, the (empty) plan and exit 0.
        let (r, out) = cairn(&["apply", &dir], "", false).await;
        assert_eq!(r.unwrap(), 0);
        assert!(!out.stdout().contains("Enter a value"), "{}", out.stdout());
    }

    #[tokio::test]
    async fn check_exits_2_for_a_failing_check_and_fmt_check_3_for_an_unformatted_file() {
        let (_d, dir) = stack(
            "resource \"terraform_data\" \"a\" {\ninput = 0\n}\n\ncheck \"positive\" {\n  assert {\n    condition     = terraform_data.a.output > 0\n    error_message = \"a is ${terraform_data.a.output}\"\n  }\n}\n",
        );
        let (r, out) = cairn(&["apply", &dir, "-auto-approve"], "", false).await;
        assert_eq!(r.unwrap(), 0, "{}", out.stderr());
        let (r, out) = cairn(&["check", &dir], "", false).await;
        assert_eq!(r.unwrap(), 2);
        assert!(out.stdout().contains("a is 0"), "{}", out.stdout());
        let (r, out) = cairn(&["fmt", "-check", &dir], "", false).await;
        assert_eq!(r.unwrap(), 3);
        assert!(out.stdout().contains("main.tf"), "{}", out.stdout());
        let (r, _) = cairn(&["fmt", &dir], "", false).await;
        assert_eq!(r.unwrap(), 0);
        let (r, out) = cairn(&["fmt", "-check", &dir], "", false).await;
        assert_eq!(r.unwrap(), 0, "{}", out.stdout());
    }

    #[tokio::test]
    async fn var_order_reaches_the_plan() {
        let (d, dir) = stack("variable \"x\" {}\n\noutput \"x\" {\n  value = var.x\n}\n");
        let file = d.path().join("f.tfvars");
        std::fs::write(&file, "x = \"file\"\n").unwrap();
        let file = file.to_str().unwrap();
        let (r, out) = cairn(&["plan", &dir, "-var", "x=first", "-var-file", file], "", false).await;
        assert_eq!(r.unwrap(), 0, "{}", out.stderr());
        assert!(out.stdout().contains("\"file\""), "{}", out.stdout());
        let (r, out) = cairn(&["plan", &dir, "-var-file", file, "-var", "x=last"], "", false).await;
        assert_eq!(r.unwrap(), 0, "{}", out.stderr());
        assert!(out.stdout().contains("\"last\""), "{}", out.stdout());
    }
}
