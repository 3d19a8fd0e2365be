# Log sinks that export the infrastructure's logs to BigQuery, so the next incident starts
# with data (roadmap section 5.2), and the check that each exists and is enabled.

variable "project" {
  type = string
}

variable "dataset" {
  type        = string
  description = "BigQuery dataset the sinks write to."
}

variable "sinks" {
  type        = map(string)
  description = "Sink name => log filter."
}

resource "google_logging_project_sink" "this" {
  for_each               = var.sinks
  project                = var.project
  name                   = each.key
  destination            = "bigquery.googleapis.com/projects/${var.project}/datasets/${var.dataset}"
  filter                 = each.value
  unique_writer_identity = true

  bigquery_options {
    use_partitioned_tables = true
  }
}

output "writer_identities" {
  description = "Grant each of these BigQuery Data Editor on the dataset."
  value       = { for k, s in google_logging_project_sink.this : k => s.writer_identity }
}

check "sinks_enabled" {
  assert {
    condition     = alltrue([for k, f in var.sinks : try(!google_logging_project_sink.this[k].disabled, false)])
    error_message = join("\n", [for k, f in var.sinks : "Log sink '${k}' is ${try(google_logging_project_sink.this[k].disabled ? "disabled" : "enabled", "missing")}, expected enabled" if !try(!google_logging_project_sink.this[k].disabled, false)])
  }
}
