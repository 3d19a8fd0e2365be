//! Issue 14 §6: nothing in a stack is silently ignored. Each entry of Terraform's block types,
//! meta-arguments and file kinds is either honoured (validate accepts it) or refused with an
//! error located in the file that holds it.

use crate::support::*;

enum Expect {
    /// Validate accepts the stack.
    Honoured,
    /// Validate fails with this text and this `file:line:col`.
    Refused(&'static str, &'static str),
}
use Expect::*;

/// A stack's files, as (name, text) pairs.
type Files<'a> = &'a [(&'a str, &'a str)];

const R: &str = "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n";

fn case(files: &[(&str, &str)], expect: Expect) {
    let s = TestStack::new(files);
    let o = run_cairn(&["validate", s.path().to_str().unwrap()], s.path());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    match expect {
        Honoured => assert_eq!(o.status.code(), Some(0), "{files:?}: {all}"),
        Refused(msg, at) => {
            assert_eq!(o.status.code(), Some(1), "{files:?}: {all}");
            assert!(all.contains(msg) && all.contains(at), "{files:?}: wanted {msg:?} at {at}: {all}");
        }
    }
}

/// Issue 16: provider configurations are routed, so these are features now; a reference to
/// a configuration that does not exist is an error where written.
#[test]
fn provider_alias_blocks_are_honoured() {
    case(
        &[(
            "main.tf",
            "provider \"google\" {\n  project = \"a\"\n}\nprovider \"google\" {\n  alias   = \"other\"\n  project = \"b\"\n}\nresource \"google_secret_manager_secret\" \"s\" {\n  provider  = google.other\n  secret_id = \"s\"\n  replication {\n    auto {}\n  }\n}\n",
        )],
        Honoured,
    );
}

#[test]
fn a_resource_selecting_an_undeclared_alias_is_refused_where_written() {
    case(
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  provider = terraform.other\n  input    = 1\n}\n")],
        Refused("Provider configuration \"terraform.other\" not present", "main.tf:2:14"),
    );
    case(
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  provider = random\n  input    = 1\n}\n")],
        Refused("Invalid provider configuration for terraform_data", "main.tf:2:14"),
    );
}

#[test]
fn a_module_call_passing_an_undeclared_alias_is_refused_where_written() {
    case(
        &[
            ("main.tf", "module \"m\" {\n  source    = \"./m\"\n  providers = { google = google.nope }\n}\n"),
            ("m/main.tf", R),
        ],
        Refused("Provider configuration \"google.nope\" not present", "main.tf:3:26"),
    );
    case(
        &[
            ("main.tf", "module \"m\" {\n  source    = \"./m\"\n  providers = { google = google }\n}\n"),
            ("m/main.tf", R),
        ],
        Honoured,
    );
}

#[test]
fn configuration_aliases_are_honoured_in_modules_and_refused_unprovided_in_the_root() {
    const WANTS_X: &str = "terraform {\n  required_providers {\n    google = {\n      source                = \"hashicorp/google\"\n      configuration_aliases = [google.x]\n    }\n  }\n}\n";
    case(&[("main.tf", WANTS_X)], Refused("Provider configuration \"google.x\" not present", "main.tf:5:32"));
    case(
        &[
            ("main.tf", "provider \"google\" {\n  alias = \"y\"\n}\nmodule \"m\" {\n  source    = \"./m\"\n  providers = { google.x = google.y }\n}\n"),
            ("m/main.tf", WANTS_X),
        ],
        Honoured,
    );
    case(
        &[("main.tf", "module \"m\" {\n  source = \"./m\"\n}\n"), ("m/main.tf", WANTS_X)],
        Refused("Missing required provider configuration", "main.tf:1:1"),
    );
}

/// Issue 17: `.tf.json` files are read (lang::load_json), their problems located in them.
#[test]
fn json_configuration_files_are_read() {
    case(
        &[("main.tf", R), ("extra.tf.json", "{\"resource\": {\"terraform_data\": {\"b\": {\"input\": 2}}}}\n")],
        Honoured,
    );
    case(
        &[("main.tf", R), ("extra.tf.json", "{\"resource\": {\"terraform_data\": {\"a\": {}}}}\n")],
        Refused("Duplicate resource", "extra.tf.json:1:"),
    );
}

#[test]
fn an_unmet_required_version_is_refused_where_written() {
    case(
        &[("main.tf", "terraform {\n  required_version = \">= 999.0\"\n}\n")],
        Refused("Unsupported Terraform Core version", "main.tf:2:22"),
    );
}

/// The rest of the list: what Cairn honours, and what it already refused.
#[test]
fn every_other_block_meta_argument_and_file_kind_is_honoured_or_refused() {
    let honoured: &[&[(&str, &str)]] = &[
        &[("main.tf", "variable \"v\" {\n  default = 1\n}\nlocals {\n  l = var.v\n}\noutput \"o\" {\n  value = local.l\n}\n")],
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  count = 2\n  input = count.index\n}\n")],
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  for_each = toset([\"x\"])\n  input    = each.key\n}\n")],
        &[("main.tf", "resource \"terraform_data\" \"b\" {\n  input = 1\n}\nresource \"terraform_data\" \"a\" {\n  depends_on = [terraform_data.b]\n  input      = 1\n}\n")],
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  lifecycle {\n    create_before_destroy = true\n    prevent_destroy       = true\n    ignore_changes        = [input]\n  }\n}\n")],
        &[("main.tf", "check \"c\" {\n  assert {\n    condition     = true\n    error_message = \"x\"\n  }\n}\n")],
        &[("main.tf", "resource \"terraform_data\" \"b\" {\n  input = 1\n}\nmoved {\n  from = terraform_data.a\n  to   = terraform_data.b\n}\n")],
        &[("main.tf", "terraform {\n  backend \"local\" {\n    path = \"x.tfstate\"\n  }\n}\n")],
        &[("main.tf", "variable \"v\" {\n  type = string\n}\n"), ("terraform.tfvars", "v = \"x\"\n")],
        &[("main.tf", "variable \"v\" {\n  type = string\n}\n"), ("x.auto.tfvars", "v = \"x\"\n")],
        &[("main.tf", "variable \"v\" {\n  type = string\n}\n"), ("x.auto.tfvars.json", "{\"v\": \"x\"}")],
        &[("main.tf", "variable \"v\" {\n  type = string\n}\n"), ("terraform.tfvars.json", "{\"v\": \"x\"}")],
        &[("main.tf", &format!("{R}import {{\n  to = terraform_data.a\n  id = \"x\"\n}}\n"))],
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  for_each = toset([\"x\"])\n}\nimport {\n  for_each = toset([\"x\"])\n  to       = terraform_data.a[each.key]\n  id       = each.value\n}\n")],
        &[("main.tf", "removed {\n  from = terraform_data.gone\n  lifecycle {\n    destroy = false\n  }\n}\n")],
        &[("main.tf", "removed {\n  from = module.old\n}\n")],
        &[("main.tf", "resource \"terraform_data\" \"b\" {\n  input = 1\n}\nresource \"terraform_data\" \"a\" {\n  input = 1\n  lifecycle {\n    replace_triggered_by = [terraform_data.b]\n  }\n}\n")],
        &[("main.tf", "terraform {\n  backend \"gcs\" {\n    bucket = \"b\"\n  }\n}\n")],
        // Issue 16: module expansion.
        &[("main.tf", "module \"m\" {\n  source = \"./m\"\n  count  = 1\n}\nmoved {\n  from = module.m\n  to   = module.m[0]\n}\n"), ("m/main.tf", R)],
        &[("main.tf", "module \"m\" {\n  source   = \"./m\"\n  for_each = toset([\"x\"])\n  depends_on = [terraform_data.a]\n}\n"), ("m/main.tf", R), ("r.tf", R)],
    ];
    for files in honoured {
        case(files, Honoured);
    }
    case(
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  provisioner \"local-exec\" {\n    command = \"x\"\n  }\n}\n")],
        Refused("Provisioner blocks are not supported", "main.tf:3:3"),
    );
    case(
        &[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  connection {\n    host = \"x\"\n  }\n}\n")],
        Refused("Connection blocks are not supported", "main.tf:3:3"),
    );
    case(&[("main.tf", "terraform {\n  cloud {\n  }\n}\n")], Refused("Unsupported block type", "main.tf:2:3"));
    case(&[("main.tf", "terraform {\n  experiments = []\n}\n")], Refused("", "main.tf:2:3"));
    case(&[("main.tf", "terraform {\n  provider_meta \"google\" {\n  }\n}\n")], Refused("", "main.tf:2:3"));
    // Data blocks are honoured (validate reads nothing); an unknown data source is refused.
    case(
        &[("main.tf", "data \"terraform_remote_state\" \"d\" {\n  backend = \"local\"\n  config = {\n    path = \"../x/state\"\n  }\n}\n")],
        Honoured,
    );
    case(
        &[("main.tf", "data \"terraform_data\" \"d\" {\n}\n")],
        Refused("Unsupported data source \"terraform_data\"", "main.tf:1:6"),
    );
    case(
        &[("main.tf", R), ("x_override.tf", "terraform {\n  required_version = \">= 1\"\n}\n")],
        Refused("", "x_override.tf:2:3"),
    );
    // Issue 14 §6, the rest of Terraform's language reference.
    let refused: &[(Files, &str, &str)] = &[
        (&[("main.tf", &format!("{R}import {{\n  for_each = toset([\"a\"])\n  to       = terraform_data.a\n  id       = each.key\n}}\n"))], "Invalid import address", "main.tf:6:14"),
        (&[("main.tf", &format!("{R}import {{\n  to       = terraform_data.a\n  id       = \"x\"\n  provider = terraform.other\n}}\n"))], "\"provider\" in import blocks is not supported", "main.tf:7:3"),
        (&[("main.tf", &format!("{R}import {{\n  to       = terraform_data.a\n  identity = {{ id = \"x\" }}\n}}\n"))], "Unsupported argument", "main.tf:6:3"),
        (&[("main.tf", "removed {\n  from = terraform_data.gone\n  lifecycle {\n    destroy = false\n  }\n  provisioner \"local-exec\" {\n    when = destroy\n  }\n}\n")], "Provisioner blocks are not supported", "main.tf:6:3"),
        (&[("main.tf", "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n  }\n}\n")], "Unsupported backend \"s3\"", "main.tf:2:11"),
        (&[("main.tf", "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n")], "Unsupported block type", "main.tf:2:3"),
        (&[("main.tf", "terraform {\n  encryption {\n  }\n}\n")], "Unsupported block type", "main.tf:2:3"),
        (&[("main.tf", R), ("main_override.tf", "resource \"terraform_data\" \"a\" {\n  input = 2\n}\n")], "override file", "main_override.tf:1:1"),
        (&[("main.tf", R), ("override.tf", "resource \"terraform_data\" \"a\" {\n  input = 2\n}\n")], "override file", "override.tf:1:1"),
        (&[("main.tf", "module \"m\" {\n  source  = \"./m\"\n  version = \"1.0\"\n}\n"), ("m/main.tf", R)], "Version constraint on a non-registry module", "main.tf:3:13"),
        (&[("main.tf", "check \"c\" {\n  data \"terraform_remote_state\" \"x\" {\n    backend = \"local\"\n  }\n  assert {\n    condition     = true\n    error_message = \"x\"\n  }\n}\n")], "Nested data blocks in check blocks are not supported", "main.tf:2:3"),
        (&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  locals {\n    x = 1\n  }\n}\n")], "Unsupported block type \"locals\"", "main.tf:3:3"),
        (&[("main.tf", "ephemeral \"random_password\" \"p\" {\n  length = 8\n}\n")], "Unsupported block type", "main.tf:1:1"),
        (&[("main.tf", "action \"local_command\" \"a\" {\n}\n")], "Unsupported block type", "main.tf:1:1"),
        (&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  lifecycle {\n    enabled = false\n  }\n}\n")], "Unsupported argument", "main.tf:4:5"),
        (&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  lifecycle {\n    action_trigger {\n    }\n  }\n}\n")], "Unsupported block type", "main.tf:4:5"),
        (&[("main.tf", "variable \"v\" {\n  default   = \"x\"\n  ephemeral = true\n}\n")], "Unsupported argument", "main.tf:3:3"),
        (&[("main.tf", "variable \"v\" {\n  default    = \"x\"\n  deprecated = \"use w\"\n}\n")], "Unsupported argument", "main.tf:3:3"),
        (&[("main.tf", "output \"o\" {\n  value     = 1\n  ephemeral = true\n}\n")], "Unsupported argument", "main.tf:3:3"),
        (&[("main.tf", "provider \"google\" {\n  version = \"1.0\"\n}\n")], "Unsupported provider version for \"google\"", "main.tf:2:13"),
        (&[("main.tf", "module \"m\" {\n  source = \"./m\"\n}\n"), ("m/main.tf", "provider \"google\" {\n  project = \"p\"\n}\n")], "Provider configurations in child modules are not supported", "m/main.tf:1:1"),
        (&[("main.tf", R), ("main.tftest.hcl", "run \"x\" {\n}\n")], "Unsupported block type", "main.tftest.hcl:1:1"),
        // Parsed but never evaluated: a failing condition would pass without a word.
        (&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  lifecycle {\n    precondition {\n      condition     = false\n      error_message = \"x\"\n    }\n  }\n}\n")], "precondition blocks are not supported yet", "main.tf:4:5"),
        (&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n  lifecycle {\n    postcondition {\n      condition     = false\n      error_message = \"x\"\n    }\n  }\n}\n")], "postcondition blocks are not supported yet", "main.tf:4:5"),
        (&[("main.tf", "output \"o\" {\n  value = 1\n  precondition {\n    condition     = false\n    error_message = \"x\"\n  }\n}\n")], "precondition blocks are not supported yet", "main.tf:3:3"),
    ];
    for (files, msg, at) in refused {
        case(files, Refused(msg, at));
    }
}

/// Issue 14 §6: every argument of a provider block is one Cairn acts on or refused where
/// written: unknown ones with the list Cairn honours, terraform-provider-google's others by name.
#[test]
fn provider_block_arguments_are_honoured_or_refused_where_written() {
    case(
        &[(
            "main.tf",
            "provider \"google\" {\n  project         = \"p\"\n  region          = \"r\"\n  zone            = \"z\"\n  request_timeout = \"60s\"\n  sql_custom_endpoint = \"http://127.0.0.1:1/\"\n}\nprovider \"random\" {\n}\n",
        )],
        Honoured,
    );
    let refused: &[(&str, &str, &str)] = &[
        ("  bogus = 1\n", "Unsupported argument \"bogus\" in provider \"google\"", "main.tf:2:3"),
        ("  projet = \"p\"\n", "did you mean \"project\"?", "main.tf:2:3"),
        ("  bogus = 1\n", "project, region, zone, credentials, access_token, request_timeout", "main.tf:2:3"),
        (
            "  user_project_override = true\n",
            "Provider argument \"user_project_override\" is not supported yet",
            "main.tf:2:3",
        ),
        ("  billing_project = \"b\"\n", "Provider argument \"billing_project\" is not supported yet", "main.tf:2:3"),
        ("  request_reason = \"r\"\n", "Provider argument \"request_reason\" is not supported yet", "main.tf:2:3"),
        (
            "  impersonate_service_account = \"sa\"\n",
            "Provider argument \"impersonate_service_account\" is not supported yet",
            "main.tf:2:3",
        ),
        (
            "  impersonate_service_account_delegates = []\n",
            "Provider argument \"impersonate_service_account_delegates\" is not supported yet",
            "main.tf:2:3",
        ),
        ("  scopes = []\n", "Provider argument \"scopes\" is not supported yet", "main.tf:2:3"),
        (
            "  default_labels = { a = \"b\" }\n",
            "Provider argument \"default_labels\" is not supported yet",
            "main.tf:2:3",
        ),
        (
            "  add_terraform_attribution_label = false\n",
            "Provider argument \"add_terraform_attribution_label\" is not supported yet",
            "main.tf:2:3",
        ),
        (
            "  terraform_attribution_label_addition_strategy = \"CREATION_ONLY\"\n",
            "Provider argument \"terraform_attribution_label_addition_strategy\" is not supported yet",
            "main.tf:2:3",
        ),
        ("  universe_domain = \"u\"\n", "Provider argument \"universe_domain\" is not supported yet", "main.tf:2:3"),
        (
            "  storage_custom_endpoint = \"http://x/\"\n",
            "Provider argument \"storage_custom_endpoint\" is not supported yet",
            "main.tf:2:3",
        ),
        (
            "  batching {\n    send_after = \"10s\"\n  }\n",
            "Provider block \"batching\" is not supported yet",
            "main.tf:2:3",
        ),
        (
            "  external_credentials {\n  }\n",
            "Provider block \"external_credentials\" is not supported yet",
            "main.tf:2:3",
        ),
        (
            "  dynamic \"batching\" {\n    for_each = []\n    content {\n    }\n  }\n",
            "Provider block \"batching\" is not supported yet",
            "main.tf:2:3",
        ),
    ];
    for (arg, msg, at) in refused {
        case(&[("main.tf", &format!("provider \"google\" {{\n{arg}}}\n"))], Refused(msg, at));
    }
    case(
        &[("main.tf", "provider \"random\" {\n  seed = 1\n}\n")],
        Refused("Unsupported argument \"seed\" in provider \"random\"", "main.tf:2:3"),
    );
    case(
        &[("main.tf", "provider \"aws\" {\n  region = \"x\"\n}\n")],
        Refused("Unsupported provider \"aws\"", "main.tf:1:1"),
    );
}

/// `required_providers` entries: Cairn's shipped providers at their registry source addresses;
/// any other provider, another source, or a version constraint is refused where written.
#[test]
fn required_providers_entries_are_honoured_or_refused_where_written() {
    let entries = |body: &str| format!("terraform {{\n  required_providers {{\n{body}  }}\n}}\n");
    for body in [
        "    google = {\n      source = \"hashicorp/google\"\n    }\n",
        "    google = {\n      source = \"registry.terraform.io/HashiCorp/google\"\n    }\n",
        "    random = {\n      source = \"hashicorp/random\"\n    }\n",
        "    terraform = {\n      source = \"terraform.io/builtin/terraform\"\n    }\n",
        "    google = {\n    }\n",
    ] {
        case(&[("main.tf", &entries(body))], Honoured);
    }
    let refused: &[(&str, &str, &str)] = &[
        ("    aws = {\n      source = \"hashicorp/aws\"\n    }\n", "Unsupported provider \"aws\"", "main.tf:3:5"),
        (
            "    google-beta = {\n      source = \"hashicorp/google-beta\"\n    }\n",
            "Unsupported provider \"google-beta\"",
            "main.tf:3:5",
        ),
        (
            "    google = {\n      source = \"hashicorp/google-beta\"\n    }\n",
            "Unsupported source for provider \"google\"",
            "main.tf:4:16",
        ),
        (
            "    google = {\n      source = \"example.com/me/google\"\n    }\n",
            "write source = \"hashicorp/google\"",
            "main.tf:4:16",
        ),
        (
            "    google = {\n      source  = \"hashicorp/google\"\n      version = \"~> 6.0\"\n    }\n",
            "Unsupported provider version for \"google\"",
            "main.tf:5:17",
        ),
        ("    google = \"~> 6.0\"\n", "Unsupported provider version for \"google\"", "main.tf:3:14"),
    ];
    for (body, msg, at) in refused {
        case(&[("main.tf", &entries(body))], Refused(msg, at));
    }
}
