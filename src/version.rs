//! The versions of Terraform and its providers whose behaviour Cairn follows: what a
//! configuration's `required_version` and `required_providers` constraints are checked against,
//! and what `cairn version -json` reports.

/// The Terraform language (and CLI) version Cairn implements: its functions, expressions,
/// blocks and commands behave as Terraform's of this version do.
pub const TERRAFORM_LANGUAGE_VERSION: &str = "1.14.0";

/// The terraform-provider-google version whose type names, attributes, defaults and
/// replace/update rules Cairn's `google` resources follow (the schemas in the design
/// references are from the provider's 8.0 line).
pub const GOOGLE_PROVIDER_VERSION: &str = "8.0.0";

/// The hashicorp/random version whose resources Cairn's built-in `random` provider follows.
pub const RANDOM_PROVIDER_VERSION: &str = "3.7.2";

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
