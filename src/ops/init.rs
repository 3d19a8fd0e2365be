//! `cairn init`, and installing modules on first use.

use std::path::Path;

use crate::install::InstallReport;
use crate::lang::config::Config;
use crate::lang::module_lock::LockedModules;

use super::OpError;

/// Installs the stack's remote modules (git, archives, registries) into `.cairn/modules/` and
/// writes `.cairn.modules.lock.json`; with `upgrade`, every call is resolved afresh instead of
/// as locked.
pub fn init(dir: &Path, upgrade: bool) -> Result<InstallReport, OpError> {
    if !dir.is_dir() {
        return Err(OpError::msg(format!(
            "stack directory {} does not exist (pass the directory holding your .tf/.hcl files with -C DIR)",
            dir.display()
        )));
    }
    match crate::install::install(dir, upgrade) {
        Ok((_, report)) => Ok(report),
        Err((e, report)) => {
            print_lines(&report);
            Err(OpError::Diagnostics { sources: e.sources, diags: e.diagnostics })
        }
    }
}

fn print_lines(report: &InstallReport) {
    for line in &report.lines {
        eprintln!("{line}");
    }
}

/// Loads a stack through its module lock and cache; when a remote module is not installed yet
/// (no lock file, no entry, or no cached copy), installs as `cairn init` would, says so on
/// stderr, and loads again. A module whose configuration changed since it was locked, or whose
/// cache was modified, is an error that asks for `cairn init`: it is not re-resolved silently.
pub(super) fn load_installing(dir: &Path) -> Result<Config, OpError> {
    let mut locked = LockedModules::new(dir);
    match crate::lang::load::load_with(dir, &mut locked) {
        Ok(config) => Ok(config),
        Err(_) if !locked.missing.is_empty() => {
            eprintln!("Modules not installed yet ({}): installing them as cairn init does.", locked.missing.join(", "));
            match crate::install::install(dir, false) {
                Ok((config, report)) => {
                    print_lines(&report);
                    Ok(config)
                }
                Err((e, report)) => {
                    print_lines(&report);
                    Err(OpError::Diagnostics { sources: e.sources, diags: e.diagnostics })
                }
            }
        }
        Err(e) => Err(OpError::Diagnostics { sources: e.sources, diags: e.diagnostics }),
    }
}
