//! What a stack says about providers outside resources: `provider "NAME" { … }` blocks and
//! `terraform { required_providers { … } }` entries. Each argument and entry is either one
//! Cairn acts on or an error at its location — never dropped, since a dropped `default_labels`
//! or `billing_project` would change what is created without a word.

use crate::lang::config::{Body, Config};
use crate::lang::diag::{suggest, Diagnostic, Diagnostics};

/// The providers Cairn ships, with the source address Terraform's registry gives each.
const SHIPPED: &[(&str, &str)] =
    &[("google", "hashicorp/google"), ("random", "hashicorp/random"), ("terraform", "terraform.io/builtin/terraform")];

/// The provider block arguments a shipped provider acts on.
fn honoured_arguments(provider: &str) -> Vec<&'static str> {
    match provider {
        "google" => super::google::config::honoured_arguments(),
        _ => Vec::new(),
    }
}

/// Arguments the real provider accepts that Cairn does not act on yet, refused by name.
fn is_unimplemented_argument(provider: &str, name: &str) -> bool {
    match provider {
        "google" => super::google::config::is_unimplemented_argument(name),
        _ => false,
    }
}

/// Checks every provider block and `required_providers` entry of the configuration.
pub fn check(config: &Config) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for module in config.modules.values() {
        for (name, req) in &module.required_providers {
            check_required_provider(name, req, &mut diags);
        }
        // Child modules' provider blocks are refused by the loader; aliases too.
        for p in &module.providers {
            let Some(&(name, _)) = SHIPPED.iter().find(|(n, _)| *n == p.name) else {
                diags.push(unknown_provider(&p.name).at(p.span));
                continue;
            };
            check_arguments(name, &p.body, &mut diags);
        }
    }
    diags
}

fn unknown_provider(name: &str) -> Diagnostic {
    let shipped: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
    let mut d = Diagnostic::error(format!("Unsupported provider \"{name}\""))
        .detail(format!("Cairn ships the providers {}; it cannot install others.", shipped.join(", ")));
    if let Some(h) = suggest(name, shipped.iter().copied()) {
        d = d.help(h);
    }
    d
}

fn check_required_provider(name: &str, req: &crate::lang::config::RequiredProvider, diags: &mut Diagnostics) {
    let Some(&(_, source)) = SHIPPED.iter().find(|(n, _)| *n == name) else {
        diags.push(unknown_provider(name).at(req.span));
        return;
    };
    if let Some(written) = &req.source {
        if !same_source(written, source) {
            diags.push(
                Diagnostic::error(format!("Unsupported source for provider \"{name}\""))
                    .detail(format!(
                        "Cairn's \"{name}\" provider is {source}; \"{written}\" is another provider, which Cairn cannot install."
                    ))
                    .help(format!("write source = \"{source}\""))
                    .at(req.source_span.unwrap_or(req.span)),
            );
        }
    }
    if let Some(constraint) = &req.version {
        if let Some(d) =
            crate::lang::load::unmet_provider_version(name, constraint, req.version_span.unwrap_or(req.span))
        {
            diags.push(d);
        }
    }
}

/// Registry source addresses are case-insensitive and may name the default host.
fn same_source(written: &str, shipped: &str) -> bool {
    let written = written.trim().to_ascii_lowercase();
    written == shipped || written.strip_prefix("registry.terraform.io/") == Some(shipped)
}

fn check_arguments(provider: &str, body: &Body, diags: &mut Diagnostics) {
    let honoured = honoured_arguments(provider);
    let refuse = |name: &str, kind: &str| -> Diagnostic {
        if is_unimplemented_argument(provider, name) {
            return Diagnostic::error(format!("Provider {kind} \"{name}\" is not supported yet"))
                .detail(format!(
                    "terraform-provider-{provider} accepts \"{name}\", but Cairn does not act on it yet; it is refused rather than ignored."
                ))
                .help(format!("remove \"{name}\" from the provider \"{provider}\" block"));
        }
        let mut d = Diagnostic::error(format!("Unsupported {kind} \"{name}\" in provider \"{provider}\""));
        d = if honoured.is_empty() {
            d.detail(format!("The \"{provider}\" provider takes no arguments."))
        } else {
            d.detail(format!("The provider \"{provider}\" block takes: {}.", honoured.join(", ")))
        };
        match suggest(name, honoured.iter().copied()) {
            Some(h) => d.help(h),
            None => d,
        }
    };
    for a in body.attributes.values() {
        if !honoured.contains(&a.name.as_str()) {
            diags.push(refuse(&a.name, "argument").at(a.name_span));
        }
    }
    // No shipped provider's configuration has nested blocks.
    for b in &body.blocks {
        diags.push(refuse(&b.type_name, "block").at(b.span));
    }
    for b in &body.dynamic_blocks {
        diags.push(refuse(&b.type_name, "block").at(b.span));
    }
}
