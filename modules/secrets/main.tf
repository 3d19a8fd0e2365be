# The application's Secret Manager secrets. Cairn creates every secret in `secret_ids` and
# adds a version for those whose value it is given in `values` (through a write-only argument:
# the value is sent, never stored). Secrets without a value here are left to whoever owns them.
# The checks say each required secret exists, that each value Cairn set is enabled, and that
# each secret left to its owner holds an enabled version (roadmap section 3.3: the roadmap's
# script reads `versions access latest` of every secret).

variable "project" {
  type = string
}

variable "secret_ids" {
  type = set(string)
}

variable "values" {
  type        = map(string)
  sensitive   = true
  default     = {}
  description = "Secret id => value, for the secrets whose value this stack sets."
}

variable "value_version" {
  type        = string
  default     = "1"
  description = "Bump to send every value again (rotation)."
}

variable "labels" {
  type    = map(string)
  default = {}
}

locals {
  # Which secrets get a value is not itself secret.
  with_value = nonsensitive(toset(keys(var.values)))
  # The secrets whose value their owners set outside this stack.
  without_value = sort([for id in var.secret_ids : id if !contains(local.with_value, id)])
}

resource "google_secret_manager_secret" "this" {
  for_each  = var.secret_ids
  project   = var.project
  secret_id = each.key
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "this" {
  for_each               = local.with_value
  secret                 = google_secret_manager_secret.this[each.key].id
  secret_data_wo         = var.values[each.key]
  secret_data_wo_version = var.value_version
}

output "ids" {
  value = { for k, s in google_secret_manager_secret.this : k => s.id }
  # A reader (a Cloud Run revision with `version = "latest"`) needs the values, not only the
  # secrets: it fails to start on a secret without an enabled version.
  depends_on = [google_secret_manager_secret_version.this]
}

output "without_value" {
  description = "Secrets this stack does not set a value for."
  value       = local.without_value
}

check "required_secrets" {
  assert {
    condition     = alltrue([for id in var.secret_ids : try(google_secret_manager_secret.this[id], null) != null])
    error_message = join("\n", [for id in sort(tolist(var.secret_ids)) : "Secret '${id}' is missing" if try(google_secret_manager_secret.this[id], null) == null])
  }
}

check "secret_values_enabled" {
  assert {
    # A secret that does not exist at all is reported once, by required_secrets.
    condition     = alltrue([for id in local.with_value : try(google_secret_manager_secret_version.this[id].enabled, false) || try(google_secret_manager_secret.this[id], null) == null])
    error_message = join("\n", [for id in sort(tolist(local.with_value)) : (try(google_secret_manager_secret_version.this[id].name, null) == null ? "Secret '${id}' does not hold the value this stack sets" : "Secret '${id}' version is disabled") if !try(google_secret_manager_secret_version.this[id].enabled, false) && try(google_secret_manager_secret.this[id], null) != null])
  }
}

check "owner_values_enabled" {
  assert {
    # enabled_version_count is Cairn's attribute, read live by `cairn check` only (one
    # versions.list per secret); plan and apply leave this check undecided. A secret that does
    # not exist at all is reported once, by required_secrets.
    condition     = alltrue([for id in local.without_value : try(google_secret_manager_secret.this[id].enabled_version_count, null) != 0])
    error_message = join("\n", [for id in local.without_value : "Secret '${id}' has no enabled version (its value is set by its owner: add one with gcloud secrets versions add ${id} --data-file=-)" if try(google_secret_manager_secret.this[id].enabled_version_count, null) == 0])
  }
}
