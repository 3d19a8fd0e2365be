//! Which versions of Terraform's language and of the google provider Cairn implements: the
//! one place `cairn version`, `--version` and version constraints read them from.

/// Cairn's own version.
pub const CAIRN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Terraform release whose language and CLI Cairn follows (functions, expressions,
/// blocks, commands and their flags).
pub const TERRAFORM_LANGUAGE_VERSION: &str = "1.9.0";

/// The hashicorp/google provider release whose resource types and attributes Cairn's google
/// provider implements.
pub const GOOGLE_PROVIDER_VERSION: &str = "6.0.0";

/// The registry source address of that provider, as `required_providers` and the state name it.
pub const GOOGLE_PROVIDER_SOURCE: &str = "registry.terraform.io/hashicorp/google";

/// What `cairn --version` prints after the program name.
pub const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (Terraform language 1.9.0, hashicorp/google 6.0.0)");

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
