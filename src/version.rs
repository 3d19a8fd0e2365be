//! The versions of Terraform and its providers whose behaviour Cairn follows: the one place
//! `cairn version`, `--version`, the JSON documents' `terraform_version` and the checks of a
//! configuration's `required_version` and `required_providers` constraints read them from.

/// Cairn's own version.
pub const CAIRN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Terraform language (and CLI) version Cairn implements: its functions, expressions,
/// blocks and commands behave as Terraform's of this version do.
pub const TERRAFORM_LANGUAGE_VERSION: &str = "1.14.0";

/// The terraform-provider-google version whose type names, attributes, defaults and
/// replace/update rules Cairn's `google` resources follow (the schemas in the design
/// references are from the provider's 8.0 line).
pub const GOOGLE_PROVIDER_VERSION: &str = "8.0.0";

/// The registry source address of that provider, as `required_providers` and the state name it.
pub const GOOGLE_PROVIDER_SOURCE: &str = "registry.terraform.io/hashicorp/google";

/// The hashicorp/random version whose resources Cairn's built-in `random` provider follows.
pub const RANDOM_PROVIDER_VERSION: &str = "3.7.2";

/// What `cairn --version` prints after the program name (clap wants a literal, so the
/// versions are spelled out; a test holds them to the constants).
pub const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (Terraform language 1.14.0, hashicorp/google 8.0.0)");

/// The version Cairn implements of a provider it ships (by its local name in
/// `required_providers`), or `None` for the built-in `terraform` provider, which Terraform
/// does not version apart from itself.
pub fn provider_version(local_name: &str) -> Option<&'static str> {
    match local_name {
        "google" => Some(GOOGLE_PROVIDER_VERSION),
        "random" => Some(RANDOM_PROVIDER_VERSION),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_version_names_the_same_versions_as_the_constants() {
        assert_eq!(
            LONG_VERSION,
            format!("{CAIRN_VERSION} (Terraform language {TERRAFORM_LANGUAGE_VERSION}, hashicorp/google {GOOGLE_PROVIDER_VERSION})")
        );
    }
}
