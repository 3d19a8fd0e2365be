# Secret Manager secrets for an application, with values that never reach Cairn's state:
# generated ones come from random_password, supplied ones from sensitive variables, and both
# are sent through write-only arguments. Try it offline:
#
#   cargo run -- --emulator apply stacks/secrets-example --auto-approve
#   cargo run -- --emulator drift stacks/secrets-example

provider "google" {
  project = var.project
}

variable "project" {
  type    = string
  default = "cairn-demo"
}

variable "smtp_password" {
  type      = string
  sensitive = true
  default   = null
  nullable  = true
}

locals {
  secrets = toset(["jwt-secret", "session-key", "smtp-password"])
}

resource "google_secret_manager_secret" "app" {
  for_each  = local.secrets
  secret_id = each.key

  replication {
    auto {}
  }

  labels = {
    app        = "demo"
    managed_by = "cairn"
  }
}

resource "random_password" "generated" {
  for_each = toset(["jwt-secret", "session-key"])
  length   = 48
  special  = false
}

resource "google_secret_manager_secret_version" "generated" {
  for_each               = random_password.generated
  secret                 = google_secret_manager_secret.app[each.key].id
  secret_data_wo         = each.value.result
  secret_data_wo_version = "1"
}

resource "google_secret_manager_secret_version" "smtp" {
  # Whether a value was given is not itself secret; nonsensitive() says so.
  count                  = nonsensitive(var.smtp_password != null) ? 1 : 0
  secret                 = google_secret_manager_secret.app["smtp-password"].id
  secret_data_wo         = var.smtp_password
  secret_data_wo_version = "1"
}

output "secret_ids" {
  value = sort([for s in google_secret_manager_secret.app : s.id])
}
