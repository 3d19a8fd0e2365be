//! The command line: clap's types, Terraform's one-dash long options, and the -var/-var-file
//! order.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::lang::vars::VarArg;
use crate::providers::google::limiter::Concurrency;

#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version = crate::version::LONG_VERSION,
    about = "Infrastructure as code for Google Cloud, in Terraform's language",
    propagate_version = true
)]
pub struct Cli {
    /// The stack directory (every command; a positional DIR means the same).
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Plain output without colours.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// More logging (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Run against an embedded Google Cloud emulator instead of Google Cloud. Its data lives
    /// in the stack's local state directory (`.cairn/` with a remote backend) as
    /// `emulator-cloud.json`, so plan, apply, drift and check behave like a real cloud across
    /// invocations.
    #[arg(long, global = true)]
    pub emulator: bool,
    /// With --emulator: seed the emulated cloud from this scenario file when it is new.
    #[arg(long = "emulator-scenario", global = true, value_name = "FILE")]
    pub emulator_scenario: Option<PathBuf>,
    /// With --emulator: answer like Google Cloud under load (latency distributions, operation
    /// durations per resource type, per-project rate quotas refused with the real 429).
    #[arg(long = "emulator-realistic", global = true, requires = "emulator")]
    pub emulator_realistic: bool,
    /// With --emulator-realistic: compress latencies, operation durations and quota windows
    /// by this factor (0.01 runs a real minute in 0.6 s).
    #[arg(
        long = "emulator-time-scale",
        global = true,
        value_name = "F",
        default_value_t = 1.0,
        requires = "emulator_realistic"
    )]
    pub emulator_time_scale: f64,
    /// With --emulator-realistic: multiply every default rate quota (0.1: a tight project).
    #[arg(
        long = "emulator-quota-scale",
        global = true,
        value_name = "F",
        default_value_t = 1.0,
        requires = "emulator_realistic"
    )]
    pub emulator_quota_scale: f64,
    /// With --emulator-realistic: replace one rate quota, API:BUCKET=REQUESTS_PER_MINUTE (e.g.
    /// compute:write=100; buckets: read, list, write, operation-read, access, requests).
    #[arg(long = "emulator-quota", global = true, value_name = "API:BUCKET=N", requires = "emulator_realistic")]
    pub emulator_quota: Vec<crate::emulator::realistic::QuotaOverride>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// `-var` and `-var-file`, in the order they were given: a later one overrides an earlier
/// one, whichever kind each is (Terraform's rule).
#[derive(Clone, Debug, Default)]
pub struct VarOpts {
    pub args: Vec<VarArg>,
}

/// The clap-facing half of [`VarOpts`]: clap collects each kind separately, and
/// [`VarOpts::from_arg_matches`] puts them back in command-line order.
#[derive(Args)]
struct VarFlags {
    /// Set a root variable: -var 'name=value' (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    var: Vec<String>,
    /// Read root variables from a .tfvars file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    var_file: Vec<PathBuf>,
}

impl VarOpts {
    /// Interleaves the values of `-var` and `-var-file` by their positions on the command line.
    fn from_matches(matches: &ArgMatches) -> Self {
        let mut positioned: Vec<(usize, VarArg)> = Vec::new();
        if let (Some(values), Some(indices)) = (matches.get_many::<String>("var"), matches.indices_of("var")) {
            positioned.extend(indices.zip(values).map(|(i, v)| (i, VarArg::Var(v.clone()))));
        }
        if let (Some(values), Some(indices)) = (matches.get_many::<PathBuf>("var_file"), matches.indices_of("var_file"))
        {
            positioned.extend(indices.zip(values).map(|(i, v)| (i, VarArg::File(v.clone()))));
        }
        positioned.sort_by_key(|(i, _)| *i);
        VarOpts { args: positioned.into_iter().map(|(_, a)| a).collect() }
    }
}

impl FromArgMatches for VarOpts {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(VarOpts::from_matches(matches))
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = VarOpts::from_matches(matches);
        Ok(())
    }
}

impl Args for VarOpts {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        VarFlags::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        VarFlags::augment_args_for_update(cmd)
    }
}

#[derive(Args, Clone, Debug)]
pub struct PlanOpts {
    #[command(flatten)]
    pub vars: VarOpts,
    /// Limit the plan to these resources (and what they depend on).
    #[arg(long = "target", value_name = "ADDR")]
    pub target: Vec<String>,
    /// Force replacement of this resource instance.
    #[arg(long = "replace", value_name = "ADDR")]
    pub replace: Vec<String>,
    /// Read live objects before planning (default true).
    #[arg(long = "refresh", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Only reconcile state with live objects; change nothing in the cloud.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// The most operations in flight at once (default 256; with --parallelism-fixed,
    /// exactly this many, default 10). Each Google API's own limit adapts to its quota
    /// underneath this bound.
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    /// Terraform's behaviour, for comparison: -parallelism (default 10) operations at once,
    /// fixed limits per API, retry with backoff only; no adaptive limits.
    #[arg(long = "parallelism-fixed")]
    pub parallelism_fixed: bool,
    /// How long to wait for the state lock (e.g. 30s, 5m; default 0s).
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: String,
    /// Terraform's machine-readable UI: one JSON message a line on standard output (apply and
    /// destroy need -auto-approve or a saved plan, since nobody can answer a prompt).
    #[arg(long = "json")]
    pub json: bool,
    #[command(flatten)]
    pub ci: CiOpts,
}

/// Operations in flight when -parallelism is not given, in adaptive mode. The per-API
/// limiters decide the pace; this bound only caps the steps waiting at once, each a small
/// task that holds no request slot while its long-running operation runs, so it can be far
/// above Terraform's 10: high enough that a 1,000-resource stack's wide layers (say 200
/// secrets, 40 Cloud SQL instances taking minutes each) all start together, low enough to
/// keep memory and the number of operations open at once modest.
pub const ADAPTIVE_PARALLELISM: usize = 256;

/// Terraform's `-parallelism` default, which `--parallelism-fixed` keeps.
pub const FIXED_PARALLELISM: usize = 10;

impl PlanOpts {
    /// The bound on operations in flight: -parallelism, else the mode's default.
    pub fn in_flight(&self) -> usize {
        let default = if self.parallelism_fixed { FIXED_PARALLELISM } else { ADAPTIVE_PARALLELISM };
        self.parallelism.unwrap_or(default).max(1)
    }

    /// How the Google provider paces each API's calls.
    pub fn concurrency(&self) -> Concurrency {
        if self.parallelism_fixed {
            Concurrency::Fixed
        } else {
            Concurrency::Adaptive
        }
    }
}

/// The flags Terraform's CI scripts pass to every command that plans.
#[derive(Args, Clone, Debug)]
pub struct CiOpts {
    /// Ask for input (approval) when needed; -input=false never asks, and an apply that
    /// would have to ask fails instead (default true).
    #[arg(long = "input", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub input: bool,
    /// Hold the state lock during the operation (default true). -lock=false is dangerous if
    /// others might run commands against the same state at the same time.
    #[arg(long = "lock", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub lock: bool,
    /// Show warnings in a compact form: one line each, with a count.
    #[arg(long = "compact-warnings")]
    pub compact_warnings: bool,
}

/// `-lock` and `-lock-timeout` for the commands that only write state.
#[derive(Args, Clone, Debug)]
pub struct LockOpts {
    /// Hold the state lock during the operation (default true).
    #[arg(long = "lock", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub lock: bool,
    /// How long to wait for the state lock (e.g. 30s, 5m; default 0s).
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Install the stack's modules from git and registries into .cairn/modules and write the
    /// lock file (.cairn.modules.lock.json); plan, apply and validate also install on first use.
    Init {
        dir: Option<PathBuf>,
        /// Resolve every module afresh (newest allowed version, the ref's current commit)
        /// instead of as the lock file pins it.
        #[arg(long)]
        upgrade: bool,
        /// Accepted as Terraform's CI scripts pass it: init never asks for input.
        #[arg(long = "input", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        input: bool,
    },
    /// Check a stack's files: syntax, references, types, schemas and API rules.
    Validate {
        dir: Option<PathBuf>,
        /// Print Terraform's validation document (valid, counts, located diagnostics) as JSON.
        #[arg(long = "json")]
        json: bool,
    },
    /// Rewrite .tf/.hcl files in the canonical format.
    Fmt {
        /// Only report files that are not formatted (exit 3 if any).
        #[arg(long)]
        check: bool,
        /// Also format the files of subdirectories (except hidden ones such as .cairn, which
        /// holds installed modules).
        #[arg(long)]
        recursive: bool,
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
        /// Plan to destroy every object the stack manages (what `cairn destroy` would do).
        #[arg(long, conflicts_with = "refresh_only")]
        destroy: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// For `import` blocks whose target has no resource block: write the imported objects'
        /// configuration (HCL) into this new file of the stack, then plan with it.
        #[arg(long = "generate-config-out", value_name = "FILE")]
        generate_config_out: Option<PathBuf>,
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
        /// Text report: every check's own lines under its section's summary line.
        #[arg(long = "detailed-report")]
        detailed_report: bool,
        /// Text report: plain-ASCII markers instead of emoji (the default where the locale is
        /// not UTF-8 or TERM=dumb).
        #[arg(long)]
        ascii: bool,
    },
    /// Show a saved plan, or without one the current state.
    Show {
        planfile: Option<PathBuf>,
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
        /// Every output (or the named one) as JSON.
        #[arg(long)]
        json: bool,
        /// The named output's value as plain text, without quotes (strings, numbers and bools
        /// only), for shell scripts.
        #[arg(long, conflicts_with = "json", requires = "name")]
        raw: bool,
    },
    /// Update the state from the live objects; changes nothing in the cloud (same as
    /// `apply -refresh-only -auto-approve`).
    Refresh {
        dir: Option<PathBuf>,
        #[command(flatten)]
        opts: PlanOpts,
    },
    /// Mark a resource instance as tainted: the next plan replaces it.
    Taint {
        addr: String,
        /// Succeed (with a warning) when the instance is not in state.
        #[arg(long = "allow-missing")]
        allow_missing: bool,
        #[command(flatten)]
        lock: LockOpts,
    },
    /// Remove the tainted mark from a resource instance.
    Untaint {
        addr: String,
        /// Succeed (with a warning) when the instance is not in state.
        #[arg(long = "allow-missing")]
        allow_missing: bool,
        #[command(flatten)]
        lock: LockOpts,
    },
    /// Evaluate expressions against the stack's state, variables and locals: interactively
    /// at a terminal, otherwise one expression a line from standard input.
    Console {
        dir: Option<PathBuf>,
        #[command(flatten)]
        vars: VarOpts,
    },
    /// Show Cairn's version and the Terraform language and google provider versions it
    /// implements.
    Version {
        /// As JSON (Terraform's `version -json` fields).
        #[arg(long)]
        json: bool,
    },
    /// Show the providers the stack's configuration and state require (`providers schema
    /// -json`: their schemas).
    #[command(args_conflicts_with_subcommands = true)]
    Providers {
        dir: Option<PathBuf>,
        #[command(subcommand)]
        command: Option<ProvidersCommand>,
    },
    /// Print a shell completion script: `cairn completions bash > /etc/bash_completion.d/cairn`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `cairn man | man -l -`.
    Man,
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
        /// Accepted as Terraform's CI scripts pass it: import never asks for input.
        #[arg(long = "input", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        input: bool,
        #[command(flatten)]
        lock: LockOpts,
    },
    /// Run the Google Cloud emulator as a local server (for CI and for trying stacks).
    Emulator {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8085")]
        listen: std::net::SocketAddr,
        /// Seed resources from this scenario file (JSON) when the data file is new.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Added to every answer, after its request took effect (e.g. 50ms).
        #[arg(long, default_value = "0ms")]
        latency: String,
        /// Fraction of requests answered 429/503 without being processed (0.0 to 1.0).
        #[arg(long = "fault-rate", default_value_t = 0.0)]
        fault_rate: f64,
        /// Keep the emulated cloud in this file across restarts.
        #[arg(long)]
        data: Option<PathBuf>,
        /// How long long-running operations take (e.g. 2s); realistic mode draws them per
        /// resource type instead.
        #[arg(long = "operation-duration", default_value = "2s")]
        operation_duration: String,
        /// Answer like Google Cloud under load: latency distributions per API, operation
        /// durations per resource type, per-project rate quotas refused with the real 429.
        #[arg(long)]
        realistic: bool,
        /// With --realistic: compress latencies, operation durations and quota windows by this
        /// factor (0.01 runs a real minute in 0.6 s).
        #[arg(long = "time-scale", value_name = "F", default_value_t = 1.0, requires = "realistic")]
        time_scale: f64,
        /// With --realistic: multiply every default rate quota (0.1: a tight project).
        #[arg(long = "quota-scale", value_name = "F", default_value_t = 1.0, requires = "realistic")]
        quota_scale: f64,
        /// With --realistic: replace one rate quota, API:BUCKET=REQUESTS_PER_MINUTE (e.g.
        /// compute:write=100; buckets: read, list, write, operation-read, access, requests).
        #[arg(long = "quota", value_name = "API:BUCKET=N", requires = "realistic")]
        quota: Vec<crate::emulator::realistic::QuotaOverride>,
        /// With --realistic: the seed of the latency draws.
        #[arg(long, value_name = "N", default_value_t = crate::emulator::realistic::DEFAULT_SEED, requires = "realistic")]
        seed: u64,
    },
    /// Manage workspaces: several states of one stack, one of them selected.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Print the resource dependency graph as Graphviz DOT.
    Graph {
        dir: Option<PathBuf>,
        /// Include variables, locals and outputs.
        #[arg(long)]
        all: bool,
    },
    /// Many stacks under one directory: list them in dependency order, or run plan, apply,
    /// drift or check on each (with --changed-since, only those a change since a git ref
    /// touches, and the stacks that depend on them).
    #[command(subcommand)]
    Stacks(StacksCommand),
}

/// `cairn stacks …`. DIR (default: -chdir, else the working directory) is searched for
/// stacks: directories with configuration files that no configuration calls as a local
/// module (hidden directories and `state/` are skipped).
#[derive(Subcommand, Debug)]
pub enum StacksCommand {
    /// Print the selected stacks, one per line, in the order they run: each after the stacks
    /// it depends on (terraform_remote_state, cairn.stack.json), ties by path.
    List {
        dir: Option<PathBuf>,
        #[command(flatten)]
        select: StacksSelect,
        /// One line of JSON: [{"path": …, "depends_on": […]}, …] in run order (for a CI
        /// job matrix).
        #[arg(long)]
        json: bool,
    },
    /// Plan each selected stack: exit 0, or with -detailed-exitcode 2 when one has changes;
    /// 1 when one fails.
    Plan {
        dir: Option<PathBuf>,
        #[command(flatten)]
        select: StacksSelect,
        #[command(flatten)]
        run: StacksRun,
        /// Exit 0 for no changes, 2 when some stack has changes, 1 for errors.
        #[arg(long = "detailed-exitcode")]
        detailed_exitcode: bool,
    },
    /// Apply each selected stack once the stacks it depends on applied successfully; a
    /// failure skips the stacks that depend on it.
    Apply {
        dir: Option<PathBuf>,
        #[command(flatten)]
        select: StacksSelect,
        #[command(flatten)]
        run: StacksRun,
        /// Required: each stack applies without asking.
        #[arg(long = "auto-approve")]
        auto_approve: bool,
    },
    /// Compare each selected stack's state with live objects: exit 0 in sync, 2 drift, 1 error.
    Drift {
        dir: Option<PathBuf>,
        #[command(flatten)]
        select: StacksSelect,
        #[command(flatten)]
        run: StacksRun,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Evaluate each selected stack's check blocks: exit 0 healthy, 2 failing, 1 error.
    Check {
        dir: Option<PathBuf>,
        #[command(flatten)]
        select: StacksSelect,
        #[command(flatten)]
        run: StacksRun,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Which stacks `cairn stacks` selects.
#[derive(Args, Clone, Debug)]
pub struct StacksSelect {
    /// Only the stacks whose files, or local modules, changed since this git ref (committed
    /// since the merge base with HEAD, or not committed yet), and those depending on them.
    #[arg(long = "changed-since", value_name = "REF")]
    pub changed_since: Option<String>,
}

/// How `cairn stacks` runs a command across stacks.
#[derive(Args, Clone, Debug)]
pub struct StacksRun {
    /// Stacks run at once, at most (default 4).
    #[arg(long, default_value_t = 4)]
    pub parallelism: usize,
    /// How long each stack waits for its state lock (e.g. 30s, 5m; default 0s).
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0s")]
    pub lock_timeout: String,
}

/// Terraform's `providers` subcommands that apply to providers Cairn ships.
#[derive(Subcommand, Debug)]
pub enum ProvidersCommand {
    /// Print the schemas of the providers the stack uses, as Terraform's
    /// `providers schema -json` does (the only format: `-json` is required, as in Terraform).
    Schema {
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Terraform's `workspace` subcommands; each takes the stack directory as an optional last
/// argument, as Terraform's do.
#[derive(Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// List the workspaces; the selected one is marked with *.
    List { dir: Option<PathBuf> },
    /// Print the selected workspace's name.
    Show,
    /// Create a workspace and select it.
    New {
        name: String,
        dir: Option<PathBuf>,
        /// How long to wait for the new state's lock (e.g. 30s).
        #[arg(long = "lock-timeout", default_value = "0s")]
        lock_timeout: String,
    },
    /// Select a workspace (remembered in the stack's .cairn/environment; TF_WORKSPACE overrides it).
    Select {
        name: String,
        dir: Option<PathBuf>,
        /// Create the workspace if it does not exist.
        #[arg(long = "or-create")]
        or_create: bool,
    },
    /// Delete a workspace's state: not the selected one, not default, and only when it tracks
    /// no resources unless forced.
    Delete {
        name: String,
        dir: Option<PathBuf>,
        /// Delete it even though its state still tracks resources (they are not destroyed).
        #[arg(long)]
        force: bool,
        /// Lock the state while checking it (default true).
        #[arg(long = "lock", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        lock: bool,
        /// How long to wait for the state's lock (e.g. 30s).
        #[arg(long = "lock-timeout", default_value = "0s")]
        lock_timeout: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
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
    /// Make a new fingerprint key for a state whose key file is lost for good. The stored
    /// fingerprints of sensitive values go with the old key: each sensitive value plans as
    /// changed once and the next apply sends it again.
    Rekey {
        /// The stack directory (default: -chdir, else the current directory).
        dir: Option<PathBuf>,
        /// Replace the key even though the old one is present and valid.
        #[arg(long)]
        force: bool,
        /// How long to wait for the state's lock (e.g. 30s).
        #[arg(long = "lock-timeout", default_value = "0s")]
        lock_timeout: String,
    },
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

impl Command {
    /// How the Google provider paces its calls for this command: `--parallelism-fixed` on
    /// the commands that take it, adaptive otherwise.
    pub fn concurrency(&self) -> Concurrency {
        match self {
            Command::Plan { opts, .. }
            | Command::Apply { opts, .. }
            | Command::Destroy { opts, .. }
            | Command::Refresh { opts, .. } => opts.concurrency(),
            _ => Concurrency::Adaptive,
        }
    }

    /// The positional stack directory, for commands that take one. `apply`'s path names a
    /// directory only when one exists there (otherwise it is a saved plan).
    pub fn stack_arg(&self) -> Option<PathBuf> {
        match self {
            Command::Validate { dir, .. }
            | Command::Init { dir, .. }
            | Command::Plan { dir, .. }
            | Command::Destroy { dir, .. }
            | Command::Drift { dir, .. }
            | Command::Check { dir, .. }
            | Command::Graph { dir, .. }
            | Command::Refresh { dir, .. }
            | Command::Console { dir, .. }
            | Command::Providers { dir, command: None } => dir.clone(),
            Command::Providers { command: Some(ProvidersCommand::Schema { dir, .. }), .. } => dir.clone(),
            Command::Apply { target_path, .. } => target_path.clone().filter(|p| p.is_dir()),
            _ => None,
        }
    }
}

/// Terraform's long options that Cairn also accepts with one dash.
const ONE_DASH_LONG: &[&str] = &[
    "upgrade",
    "var",
    "var-file",
    "out",
    "generate-config-out",
    "target",
    "replace",
    "refresh",
    "refresh-only",
    "parallelism",
    "parallelism-fixed",
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
    "or-create",
    "force",
    "input",
    "lock",
    "compact-warnings",
    "destroy",
    "raw",
    "allow-missing",
    "recursive",
    "changed-since",
    "help",
    "version",
];

/// Terraform spells long options with one dash (`-var`, `-out`, `-auto-approve`); accept both.
/// An argument that is not UTF-8 cannot be one of these options and passes through unchanged
/// (a path may be any bytes).
pub fn normalise_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| {
            let Some(text) = arg.to_str() else { return arg };
            if let Some(rest) = text.strip_prefix('-') {
                if !rest.starts_with('-') {
                    let name = rest.split('=').next().unwrap_or(rest);
                    if ONE_DASH_LONG.contains(&name) {
                        return OsString::from(format!("-{text}"));
                    }
                }
            }
            arg
        })
        .collect()
}

impl Cli {
    /// Parses a whole command line (program name first), one-dash long options included.
    pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(normalise_args(args))
    }
}

/// A command line clap refused, or asked to show help or the version.
#[derive(Debug)]
pub struct ParseFailure {
    /// What to print, on stdout for help and version, stderr otherwise.
    pub error: clap::Error,
    /// The argument that is not UTF-8 where text is needed, if that is why parsing failed.
    pub non_utf8: Option<OsString>,
}

impl ParseFailure {
    pub fn new(error: clap::Error, args: &[OsString]) -> Self {
        let non_utf8 = if error.kind() == clap::error::ErrorKind::InvalidUtf8 {
            args.iter().find(|a| a.to_str().is_none()).cloned()
        } else {
            None
        };
        ParseFailure { error, non_utf8 }
    }

    /// 0 for help and version (what clap prints on stdout), 1 for every usage error, as
    /// Terraform does: 2 means "changes", "drift" or "failing" to a CI script, never a typo.
    pub fn exit_code(&self) -> u8 {
        if self.error.use_stderr() {
            1
        } else {
            0
        }
    }

    /// Prints the message where it belongs, as clap would before exiting.
    pub fn print(&self) {
        if self.error.kind() == clap::error::ErrorKind::InvalidUtf8 {
            let shown = self.non_utf8.as_deref().map(OsStr::to_string_lossy).unwrap_or_default();
            eprintln!("Error: the argument {shown:?} is not valid UTF-8 (only file paths may hold other bytes)");
        } else {
            let _ = self.error.print();
        }
    }
}

/// Parses the process's command line (`std::env::args_os()`).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, ParseFailure> {
    let args: Vec<OsString> = args.into_iter().collect();
    Cli::parse_args(args.iter().cloned()).map_err(|e| ParseFailure::new(e, &args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["cairn"];
        all.extend_from_slice(args);
        match parse(os(&all)) {
            Ok(c) => c,
            Err(e) => panic!("{args:?}: {}", e.error),
        }
    }

    fn parse_err(args: &[&str]) -> ParseFailure {
        let mut all = vec!["cairn"];
        all.extend_from_slice(args);
        parse(os(&all)).expect_err("the command line is refused")
    }

    fn var_order(vars: &VarOpts) -> Vec<String> {
        vars.args
            .iter()
            .map(|a| match a {
                VarArg::Var(kv) => format!("var {kv}"),
                VarArg::File(p) => format!("file {}", p.display()),
            })
            .collect()
    }

    #[test]
    fn one_dash_long_options_gain_a_dash() {
        let out = normalise_args(os(&["cairn", "-var", "a=1", "-var-file=x.tfvars", "-auto-approve", "-C", "d"]));
        assert_eq!(out, os(&["cairn", "--var", "a=1", "--var-file=x.tfvars", "--auto-approve", "-C", "d"]));
        // Short options, two-dash options, values and unknown names are left alone.
        let out = normalise_args(os(&["cairn", "-v", "--out", "-x", "-", "-vv", "-unknown=1"]));
        assert_eq!(out, os(&["cairn", "-v", "--out", "-x", "-", "-vv", "-unknown=1"]));
    }

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_argument_passes_through_normalisation() {
        use std::os::unix::ffi::OsStringExt;
        let raw = OsString::from_vec(vec![b'-', 0xe9]);
        assert_eq!(normalise_args([OsString::from("cairn"), raw.clone()]), vec![OsString::from("cairn"), raw]);
    }

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_path_is_accepted_and_a_non_utf8_string_is_an_error() {
        use std::os::unix::ffi::OsStringExt;
        let odd = OsString::from_vec(vec![b'd', 0xe9]);
        let c = parse([OsString::from("cairn"), OsString::from("validate"), odd.clone()]).expect("a path");
        assert!(matches!(c.command, Command::Validate { dir: Some(d), .. } if d.as_os_str() == odd));

        let args = [OsString::from("cairn"), OsString::from("plan"), OsString::from("-var"), odd.clone()];
        let failure = parse(args).expect_err("-var needs text");
        assert_eq!(failure.exit_code(), 1);
        assert_eq!(failure.non_utf8, Some(odd));
    }

    #[test]
    fn var_and_var_file_keep_their_command_line_order() {
        let c = cli(&["plan", "-var", "a=1", "-var-file", "f.tfvars", "-var", "a=2"]);
        let Command::Plan { opts, .. } = c.command else { panic!("plan") };
        assert_eq!(var_order(&opts.vars), ["var a=1", "file f.tfvars", "var a=2"]);

        let c = cli(&["apply", "--var-file=one.tfvars", "-var=x=1", "-var-file", "two.tfvars", "-auto-approve"]);
        let Command::Apply { opts, auto_approve, .. } = c.command else { panic!("apply") };
        assert!(auto_approve);
        assert_eq!(var_order(&opts.vars), ["file one.tfvars", "var x=1", "file two.tfvars"]);

        let c = cli(&["import", "-var-file", "f", "a.b", "id", "-var", "k=v"]);
        let Command::Import { vars, addr, id, .. } = c.command else { panic!("import") };
        assert_eq!((addr.as_str(), id.as_str()), ("a.b", "id"));
        assert_eq!(var_order(&vars), ["file f", "var k=v"]);

        let c = cli(&["drift"]);
        let Command::Drift { vars, .. } = c.command else { panic!("drift") };
        assert!(vars.args.is_empty());
    }

    #[test]
    fn the_stack_directory_comes_from_chdir_or_the_positional_dir() {
        let c = cli(&["-chdir=stacks/a", "plan"]);
        assert_eq!(c.chdir.as_deref(), Some(Path::new("stacks/a")));
        assert_eq!(c.command.stack_arg(), None);
        // -C is global: it may follow the subcommand.
        let c = cli(&["plan", "-C", "stacks/b"]);
        assert_eq!(c.chdir.as_deref(), Some(Path::new("stacks/b")));
        let c = cli(&["plan", "stacks/c"]);
        assert_eq!(c.chdir, None);
        assert_eq!(c.command.stack_arg().as_deref(), Some(Path::new("stacks/c")));
        let c = cli(&["state", "list", "--chdir", "s"]);
        assert_eq!(c.chdir.as_deref(), Some(Path::new("s")));
        // apply's path is a stack only when it is a directory; otherwise a saved plan.
        let dir = tempfile::tempdir().unwrap();
        let c = cli(&["apply", dir.path().to_str().unwrap()]);
        assert_eq!(c.command.stack_arg().as_deref(), Some(dir.path()));
        let c = cli(&["apply", "no-such.plan"]);
        assert_eq!(c.command.stack_arg(), None);
    }

    #[test]
    fn plan_options_parse_with_one_or_two_dashes() {
        let c = cli(&[
            "plan",
            "-out=p.plan",
            "-detailed-exitcode",
            "-target",
            "a.b",
            "--replace=c.d",
            "-refresh=false",
            "-parallelism=3",
            "-lock-timeout",
            "5m",
            "-format",
            "json",
            "-no-color",
        ]);
        assert!(c.no_color);
        let Command::Plan { opts, out, detailed_exitcode, format, dir, .. } = c.command else { panic!("plan") };
        assert_eq!(dir, None);
        assert_eq!(out.as_deref(), Some(Path::new("p.plan")));
        assert!(detailed_exitcode);
        assert_eq!(format, Format::Json);
        assert_eq!(opts.target, ["a.b"]);
        assert_eq!(opts.replace, ["c.d"]);
        assert!(!opts.refresh);
        assert!(!opts.refresh_only);
        assert_eq!((opts.parallelism, opts.in_flight()), (Some(3), 3));
        assert_eq!(opts.lock_timeout, "5m");

        let c = cli(&["plan"]);
        let Command::Plan { opts, detailed_exitcode, format, .. } = c.command else { panic!("plan") };
        assert!(opts.refresh && !detailed_exitcode);
        assert_eq!((opts.in_flight(), opts.lock_timeout.as_str(), format), (ADAPTIVE_PARALLELISM, "0s", Format::Text));
    }

    #[test]
    fn parallelism_fixed_keeps_terraforms_ten_and_fixed_limits() {
        for (args, in_flight, mode) in [
            (&["plan"][..], ADAPTIVE_PARALLELISM, Concurrency::Adaptive),
            (&["plan", "-parallelism=40"], 40, Concurrency::Adaptive),
            (&["plan", "-parallelism-fixed"], FIXED_PARALLELISM, Concurrency::Fixed),
            (&["apply", "--parallelism-fixed", "-auto-approve"], 10, Concurrency::Fixed),
            (&["destroy", "-parallelism=3", "-parallelism-fixed"], 3, Concurrency::Fixed),
            (&["refresh", "--parallelism", "7", "--parallelism-fixed"], 7, Concurrency::Fixed),
            (&["apply", "-parallelism=0"], 1, Concurrency::Adaptive),
        ] {
            let c = cli(args);
            let (Command::Plan { opts, .. }
            | Command::Apply { opts, .. }
            | Command::Destroy { opts, .. }
            | Command::Refresh { opts, .. }) = &c.command
            else {
                panic!("{args:?}")
            };
            assert_eq!((opts.in_flight(), c.command.concurrency()), (in_flight, mode), "{args:?}");
        }
        // Commands without the flag keep the adaptive limits.
        assert_eq!(cli(&["drift"]).command.concurrency(), Concurrency::Adaptive);
        for usage in [
            &["plan", "-parallelism-fixed=yes"][..],
            &["apply", "--parallelism-fixed=true"],
            &["drift", "-parallelism-fixed"],
            &["validate", "--parallelism-fixed"],
            &["plan", "-parallelism=-1", "-parallelism-fixed"],
        ] {
            assert_eq!(parse_err(usage).exit_code(), 1, "{usage:?}");
        }
    }

    #[test]
    fn json_and_generate_config_out_parse_on_plan_apply_and_destroy() {
        let c = cli(&["plan", "-json", "-generate-config-out=generated.tf"]);
        let Command::Plan { opts, generate_config_out, .. } = c.command else { panic!("plan") };
        assert!(opts.json);
        assert_eq!(generate_config_out.as_deref(), Some(Path::new("generated.tf")));
        let c = cli(&["apply", "-json", "-auto-approve"]);
        assert!(matches!(c.command, Command::Apply { opts, auto_approve: true, .. } if opts.json));
        let c = cli(&["destroy", "--json"]);
        assert!(matches!(c.command, Command::Destroy { opts, .. } if opts.json));
        let c = cli(&["plan"]);
        assert!(matches!(c.command, Command::Plan { opts, generate_config_out: None, .. } if !opts.json));
    }

    #[test]
    fn global_flags_and_verbosity() {
        let c = cli(&["-vv", "--emulator", "--emulator-scenario", "s.json", "validate"]);
        assert_eq!(c.verbose, 2);
        assert!(c.emulator);
        assert_eq!(c.emulator_scenario.as_deref(), Some(Path::new("s.json")));
        assert!(!c.emulator_realistic);
        let c = cli(&[
            "--emulator",
            "--emulator-realistic",
            "--emulator-time-scale",
            "0.01",
            "--emulator-quota",
            "compute:write=100",
            "plan",
        ]);
        assert!(c.emulator_realistic);
        assert_eq!(c.emulator_time_scale, 0.01);
        assert_eq!(c.emulator_quota[0].to_string(), "compute:write=100");
        assert!(Cli::try_parse_from(["cairn", "--emulator-realistic", "plan"]).is_err(), "needs --emulator");
        assert!(Cli::try_parse_from(["cairn", "--emulator", "--emulator-quota", "compute:writes=1", "plan"]).is_err());
        match cli(&["emulator", "--realistic", "--time-scale", "0.1", "--quota", "secretmanager:write=60"]).command {
            Command::Emulator { realistic, time_scale, quota, .. } => {
                assert!(realistic);
                assert_eq!(time_scale, 0.1);
                assert_eq!(quota.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["cairn", "emulator", "--time-scale", "0.1"]).is_err(), "needs --realistic");
    }

    #[test]
    fn show_json_conflicts_with_format() {
        let c = cli(&["show", "p.plan", "-json"]);
        assert!(matches!(c.command, Command::Show { json: true, format: None, .. }));
        let e = parse_err(&["show", "p.plan", "-json", "-format", "text"]);
        assert_eq!(e.error.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn help_and_version_exit_0_and_usage_errors_exit_1() {
        assert_eq!(parse_err(&["--help"]).exit_code(), 0);
        assert_eq!(parse_err(&["-help"]).exit_code(), 0);
        assert_eq!(parse_err(&["plan", "-h"]).exit_code(), 0);
        assert_eq!(parse_err(&["--version"]).exit_code(), 0);
        assert_eq!(parse_err(&["-version"]).exit_code(), 0);
        for usage in [
            &["bogus"][..],
            &[],
            &["plan", "-parallelism", "many"],
            &["plan", "-no-such-flag"],
            &["plan", "-out"],
            &["plan", "-input=maybe"],
            &["output", "-raw"],
            &["state"],
            &["completions", "cmd.exe"],
        ] {
            assert_eq!(parse_err(usage).exit_code(), 1, "{usage:?}");
        }
    }

    #[test]
    fn terraform_ci_flags_parse() {
        let c = cli(&["plan", "-input=false", "-lock=false", "-compact-warnings", "-destroy"]);
        let Command::Plan { opts, destroy, .. } = c.command else { panic!("plan") };
        assert!(destroy);
        assert!(!opts.ci.input && !opts.ci.lock && opts.ci.compact_warnings);
        let c = cli(&["apply", "-input", "false", "-lock", "true"]);
        let Command::Apply { opts, .. } = c.command else { panic!("apply") };
        assert!(!opts.ci.input && opts.ci.lock && !opts.ci.compact_warnings);
        let c = cli(&["taint", "-lock=false", "-lock-timeout=3s", "-allow-missing", "a.b"]);
        assert!(matches!(c.command, Command::Taint { ref addr, allow_missing: true, ref lock }
            if addr == "a.b" && !lock.lock && lock.lock_timeout == "3s"));
        let c = cli(&["init", "-input=false"]);
        assert!(matches!(c.command, Command::Init { input: false, .. }));
        let c = cli(&["fmt", "-check", "-recursive"]);
        assert!(matches!(c.command, Command::Fmt { check: true, recursive: true, .. }));
        let c = cli(&["import", "-input=false", "-lock=false", "-lock-timeout=2s", "a.b", "id"]);
        assert!(
            matches!(c.command, Command::Import { input: false, ref lock, .. } if !lock.lock && lock.lock_timeout == "2s")
        );
        let c = cli(&["output", "-raw", "name"]);
        assert!(matches!(c.command, Command::Output { raw: true, json: false, name: Some(_) }));
        assert_eq!(parse_err(&["output", "-raw", "-json", "name"]).exit_code(), 1);
        assert_eq!(parse_err(&["plan", "-destroy", "-refresh-only"]).exit_code(), 1);
        let c = cli(&["show"]);
        assert!(matches!(c.command, Command::Show { planfile: None, .. }));
    }

    #[test]
    fn stacks_subcommands_parse() {
        let c = cli(&["stacks", "list", "-changed-since", "origin/main", "-json", "infra"]);
        assert_eq!(c.command.stack_arg(), None);
        assert!(matches!(c.command, Command::Stacks(StacksCommand::List { dir: Some(d), select, json: true })
            if d == Path::new("infra") && select.changed_since.as_deref() == Some("origin/main")));
        let c = cli(&["stacks", "plan", "-parallelism=2", "-detailed-exitcode", "-lock-timeout=5m"]);
        assert!(
            matches!(c.command, Command::Stacks(StacksCommand::Plan { dir: None, run, detailed_exitcode: true, .. })
            if run.parallelism == 2 && run.lock_timeout == "5m")
        );
        let c = cli(&["stacks", "apply", "-auto-approve"]);
        assert!(
            matches!(c.command, Command::Stacks(StacksCommand::Apply { auto_approve: true, run, .. }) if run.parallelism == 4)
        );
        let c = cli(&["stacks", "check", "--format", "markdown"]);
        assert!(matches!(c.command, Command::Stacks(StacksCommand::Check { format: Format::Markdown, .. })));
        assert_eq!(parse_err(&["stacks", "drift", "-var", "a=1"]).exit_code(), 1);
    }

    #[test]
    fn state_subcommands_parse() {
        let c = cli(&["state", "migrate", "-from", "gs://b/p", "-lock-timeout=30s"]);
        assert!(matches!(
            c.command,
            Command::State(StateCommand::Migrate { from, lock_timeout }) if from == "gs://b/p" && lock_timeout == "30s"
        ));
        let c = cli(&["state", "rm", "a.b", "c.d"]);
        assert!(matches!(c.command, Command::State(StateCommand::Rm { addrs }) if addrs == ["a.b", "c.d"]));
    }
}
