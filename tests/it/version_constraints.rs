//! Version constraints (issue 17): `required_version` is checked against the Terraform
//! language version Cairn implements, `required_providers` (and a provider block's legacy
//! `version`) against the provider versions it implements, in every module, with Terraform's
//! constraint syntax. Each refusal is located and snapshot-tested.

use crate::support::*;
use cairn::ops;
use cairn::providers::Registry;
use cairn::version::{GOOGLE_PROVIDER_VERSION, RANDOM_PROVIDER_VERSION, TERRAFORM_LANGUAGE_VERSION};

async fn validate(files: &[(&str, &str)]) -> Result<(), String> {
    let s = TestStack::new(files);
    let c = common(s.path(), Registry::builtin());
    // Relative paths in the rendering: the snapshots hold no temp directory names.
    ops::validate(&c).await.map(|_| ()).map_err(|e| describe(&e).replace(&format!("{}/", s.path().display()), ""))
}

fn terraform_block(inner: &str) -> String {
    format!("terraform {{\n{inner}}}\nresource \"terraform_data\" \"a\" {{}}\n")
}

fn required_version(constraint: &str) -> String {
    terraform_block(&format!("  required_version = \"{constraint}\"\n"))
}

fn google(constraint: &str) -> String {
    terraform_block(&format!(
        "  required_providers {{\n    google = {{\n      source  = \"hashicorp/google\"\n      version = \"{constraint}\"\n    }}\n  }}\n"
    ))
}

#[test]
fn the_implemented_versions_are_versions() {
    for v in [TERRAFORM_LANGUAGE_VERSION, GOOGLE_PROVIDER_VERSION, RANDOM_PROVIDER_VERSION] {
        assert!(semver::Version::parse(v).is_ok(), "{v}");
    }
}

/// Terraform's constraint syntax (hashicorp/go-version): operators, partial versions, `~>`
/// (pessimistic: `~> 1.14` allows 1.x from 1.14, `~> 1.14.0` allows 1.14.x), commas (all must
/// hold), `!=`, and pre-releases (a constraint's pre-release is below its release).
#[tokio::test]
async fn required_version_follows_terraforms_constraint_syntax() {
    assert_eq!(TERRAFORM_LANGUAGE_VERSION, "1.14.0", "the cases below are written for 1.14.0");
    for allowed in [
        ">= 1.0",
        ">= 1.14.0",
        "~> 1.14",
        "~> 1.14.0",
        "~> 1.0",
        "~> 1",
        "1.14.0",
        "= 1.14",
        "v1.14.0",
        ">= 1.5, < 2.0.0",
        "> 1.13.9,<= 1.14.0",
        "!= 1.13.0",
        ">= 1.14.0-rc1",
    ] {
        assert_eq!(validate(&[("main.tf", &required_version(allowed))]).await, Ok(()), "{allowed}");
    }
    for refused in [
        "> 1.14.0",
        "< 1.14",
        ">= 2",
        "~> 1.13.0",
        "~> 1.15",
        "1.13.5",
        "!= 1.14.0",
        ">= 1.0, != 1.14.0",
        "= 1.14.0-rc1",
    ] {
        let e = validate(&[("main.tf", &required_version(refused))]).await.expect_err(refused);
        assert!(e.contains("Unsupported Terraform Core version"), "{refused}: {e}");
        assert!(e.contains(&format!("\"{refused}\"")) && e.contains("1.14.0"), "{refused}: {e}");
        assert!(e.contains("main.tf:2:22"), "{refused}: {e}");
    }
}

#[tokio::test]
async fn provider_constraints_are_checked_against_the_implemented_provider() {
    for allowed in ["~> 8.0", ">= 6.0", "8.0.0", ">= 7.0, < 9.0"] {
        assert_eq!(validate(&[("main.tf", &google(allowed))]).await, Ok(()), "{allowed}");
    }
    for refused in ["~> 6.0", "< 8.0.0", "~> 8.1", "!= 8.0.0"] {
        let e = validate(&[("main.tf", &google(refused))]).await.expect_err(refused);
        assert!(e.contains("Unsupported provider version for \"google\""), "{refused}: {e}");
        assert!(e.contains(&format!("\"{refused}\"")) && e.contains(GOOGLE_PROVIDER_VERSION), "{e}");
        assert!(e.contains("main.tf:5:17"), "{refused}: {e}");
    }
    let random = |c: &str| {
        terraform_block(&format!(
            "  required_providers {{\n    random = {{\n      source  = \"hashicorp/random\"\n      version = \"{c}\"\n    }}\n  }}\n"
        ))
    };
    assert_eq!(validate(&[("main.tf", &random("~> 3.7"))]).await, Ok(()));
    let e = validate(&[("main.tf", &random("~> 2.0"))]).await.unwrap_err();
    assert!(e.contains("Unsupported provider version for \"random\"") && e.contains(RANDOM_PROVIDER_VERSION), "{e}");
    // The short form (a bare constraint string) is checked the same way.
    let e = validate(&[("main.tf", &terraform_block("  required_providers {\n    google = \"~> 5.0\"\n  }\n"))])
        .await
        .unwrap_err();
    assert!(e.contains("Unsupported provider version for \"google\"") && e.contains("main.tf:3:14"), "{e}");
}

/// The legacy constraint inside a provider block is honoured, with Terraform's deprecation
/// warning.
#[tokio::test]
async fn a_provider_blocks_version_is_checked_and_deprecated() {
    let block = |c: &str| format!("provider \"google\" {{\n  project = \"p\"\n  version = \"{c}\"\n}}\n");
    let s = TestStack::new(&[("main.tf", &block("~> 8.0"))]);
    let warnings = ops::validate(&common(s.path(), Registry::builtin())).await.expect("valid");
    let deprecated = "Version constraints inside provider configuration blocks are deprecated";
    assert!(warnings.to_string().contains(deprecated), "the loader's warning reaches validate: {warnings}");
    let o = run_cairn(&["validate", s.path().to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(deprecated) && stderr(&o).contains("main.tf:3:"), "shown, located: {}", stderr(&o));
    let e = validate(&[("main.tf", &block("~> 4.0"))]).await.unwrap_err();
    assert!(e.contains("Unsupported provider version for \"google\"") && e.contains("main.tf:3:13"), "{e}");
}

#[tokio::test]
async fn child_modules_constraints_are_checked_too() {
    let files = [
        ("main.tf", "module \"m\" {\n  source = \"./m\"\n}\n"),
        ("m/main.tf", "terraform {\n  required_version = \">= 1.15\"\n}\nresource \"terraform_data\" \"a\" {}\n"),
    ];
    let e = validate(&files).await.unwrap_err();
    assert!(e.contains("Unsupported Terraform Core version") && e.contains("m/main.tf:2:22"), "{e}");
    insta::assert_snapshot!("version_constraints__child_module_required_version", e);
    let files = [("main.tf", "module \"m\" {\n  source = \"./m\"\n}\n"), ("m/main.tf", &google("~> 7.0")[..])];
    let e = validate(&files).await.unwrap_err();
    assert!(e.contains("Unsupported provider version for \"google\"") && e.contains("m/main.tf:5:17"), "{e}");
}

/// The new refusals the malformed-stack corpus does not hold (it has the unmet
/// `required_version` and `required_providers` constraints), rendered.
#[tokio::test]
async fn each_refusal_reads_as_terraforms() {
    let cases: [(&str, String); 3] = [
        ("required_version_malformed", required_version(">= banana")),
        ("provider_version_malformed", google(">= 8.0,")),
        (
            "builtin_provider_version",
            terraform_block(
                "  required_providers {\n    terraform = {\n      source  = \"terraform.io/builtin/terraform\"\n      version = \"1.0\"\n    }\n  }\n",
            ),
        ),
    ];
    for (name, text) in cases {
        let e = validate(&[("main.tf", &text)]).await.expect_err(name);
        assert!(e.contains("main.tf:"), "{name}: not located: {e}");
        insta::assert_snapshot!(format!("version_constraints__{name}"), e);
    }
}

/// The binary exits 1 on an unmet constraint, for every command that reads the stack.
#[test]
fn an_unmet_constraint_exits_1() {
    let s = TestStack::new(&[("main.tf", &required_version(">= 99"))]);
    for args in [&["validate"][..], &["plan"]] {
        let o = run_cairn(args, s.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("Unsupported Terraform Core version"), "{}", stderr(&o));
    }
}
