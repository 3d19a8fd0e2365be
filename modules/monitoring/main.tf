# Prevention (roadmap sections 5.2 and 5.3): log sinks that export the infrastructure's logs to
# a BigQuery dataset their writers may write to, an email channel, alert policies on what broke
# staging (connector capacity, database connections, certificate expiry, /health failing), the
# uptime checks behind the last two, and the checks that say each of these is in place.
#
# Everything project-specific is a variable: the connector, the database instance and its
# connection limit, the hosts, the address alerts go to.

variable "project" {
  type = string
}

variable "dataset" {
  type        = string
  description = "BigQuery dataset the sinks write to; the module creates it."
}

variable "dataset_location" {
  type        = string
  description = "Where the dataset lives (BigQuery location). A sink writes to a dataset in any location."
  default     = "US"
}

variable "sinks" {
  type        = map(string)
  description = "Sink name => log filter."
}

variable "alert_email" {
  type        = string
  description = "Address of the email notification channel every alert policy notifies."
}

variable "vpc_connector" {
  type = object({
    name          = string
    region        = string
    max_instances = number
  })
  description = "The Serverless VPC Access connector whose capacity is alerted on."
}

variable "connector_cpu_threshold" {
  type        = number
  description = "Connector CPU utilization (0-1, 99th percentile) above which the capacity alert fires."
  default     = 0.8
}

variable "sql_instance" {
  type        = string
  description = "Name of the Cloud SQL instance whose connections are alerted on."
}

variable "max_connections" {
  type        = number
  description = "The instance's max_connections flag."
}

variable "connections_alert_fraction" {
  type        = number
  description = "Fraction of max_connections above which the connections alert fires."
  default     = 0.8

  validation {
    condition     = var.connections_alert_fraction > 0 && var.connections_alert_fraction < 1
    error_message = "connections_alert_fraction is a fraction of max_connections, between 0 and 1 (0.8 alerts at 80 connections of 100)."
  }
}

variable "uptime_hosts" {
  type        = list(string)
  description = "Hosts whose health path is checked over HTTPS, with the certificate validated."
}

variable "health_path" {
  type    = string
  default = "/health"
}

variable "uptime_timeout" {
  type        = string
  description = "How long a health request may take (roadmap 5.1: 200 OK within 10 seconds)."
  default     = "10s"
}

variable "certificate_expiry_days" {
  type        = number
  description = "Days before a served certificate expires at which the expiry alert fires."
  default     = 30
}

variable "runbook" {
  type        = string
  description = "The document alert documentation points at, by section."
  default     = "the infrastructure remediation roadmap (issue #1278)"
}

locals {
  destination = "bigquery.googleapis.com/projects/${var.project}/datasets/${var.dataset}"
  hosts       = toset(var.uptime_hosts)
  # 80 of 100 by default: alert while there is room to act, before connections are refused.
  connections_threshold = floor(var.max_connections * var.connections_alert_fraction)

  # Roles of a dataset's access list that may write tables there: the basic roles the API
  # answers with, and the IAM roles it accepts for them.
  write_roles = ["OWNER", "WRITER", "roles/bigquery.dataOwner", "roles/bigquery.dataEditor", "roles/bigquery.admin"]
}

# --- Log sinks and their destination (roadmap 5.2) ---

resource "google_bigquery_dataset" "this" {
  project     = var.project
  dataset_id  = var.dataset
  location    = var.dataset_location
  description = "Infrastructure logs exported by the log sinks (${join(", ", sort(keys(var.sinks)))})."
  labels = {
    managed_by = "cairn"
  }
}

resource "google_logging_project_sink" "this" {
  for_each               = var.sinks
  project                = var.project
  name                   = each.key
  destination            = local.destination
  filter                 = each.value
  unique_writer_identity = true

  bigquery_options {
    use_partitioned_tables = true
  }

  depends_on = [google_bigquery_dataset.this]
}

# A sink without write access to its destination drops every entry, silently. Sinks of one
# project may share their writer identity (the project's logging service agent); the grant is
# then the same access entry, which each sink's member keeps in place.
resource "google_bigquery_dataset_iam_member" "sink_writer" {
  for_each   = var.sinks
  project    = var.project
  dataset_id = google_bigquery_dataset.this.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_logging_project_sink.this[each.key].writer_identity
}

# --- Where alerts go ---

resource "google_monitoring_notification_channel" "email" {
  project      = var.project
  display_name = "Infrastructure alerts (${var.alert_email})"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

# --- Uptime checks (roadmap 5.1: every health endpoint answers 200 within 10 seconds) ---

resource "google_monitoring_uptime_check_config" "health" {
  for_each     = local.hosts
  project      = var.project
  display_name = "https://${each.key}${var.health_path}"
  timeout      = var.uptime_timeout
  period       = "60s"

  http_check {
    path         = var.health_path
    port         = 443
    use_ssl      = true
    validate_ssl = true
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project
      host       = each.key
    }
  }
}

# --- Alert policies (roadmap 5.3) ---

resource "google_monitoring_alert_policy" "connector_capacity" {
  project               = var.project
  display_name          = "VPC connector ${var.vpc_connector.name} near capacity"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = [google_monitoring_notification_channel.email.name]

  documentation {
    mime_type = "text/markdown"
    subject   = "VPC connector ${var.vpc_connector.name} near capacity"
    content   = "The connector ${var.vpc_connector.name} (${var.vpc_connector.region}) runs at its maximum of ${var.vpc_connector.max_instances} instances or its CPU is above ${var.connector_cpu_threshold * 100} %: services reaching the database through it will time out. Follow section 3.1 (VPC Connector Remediation) of ${var.runbook}: check `gcloud compute networks vpc-access connectors describe ${var.vpc_connector.name} --region=${var.vpc_connector.region}`; 10 instances is the API's maximum, so beyond it move to a larger machine_type in the stack and apply."
  }

  conditions {
    display_name = "instances at max_instances (${var.vpc_connector.max_instances})"
    condition_threshold {
      filter          = "resource.type = \"vpc_access_connector\" AND resource.label.connector_name = \"${var.vpc_connector.name}\" AND metric.type = \"vpcaccess.googleapis.com/connector/instances\""
      comparison      = "COMPARISON_GE"
      threshold_value = var.vpc_connector.max_instances
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  conditions {
    display_name = "CPU utilization above ${var.connector_cpu_threshold * 100} %"
    condition_threshold {
      filter          = "resource.type = \"vpc_access_connector\" AND resource.label.connector_name = \"${var.vpc_connector.name}\" AND metric.type = \"vpcaccess.googleapis.com/connector/cpu/utilizations\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.connector_cpu_threshold
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_PERCENTILE_99"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "database_connections" {
  project               = var.project
  display_name          = "Cloud SQL ${var.sql_instance} connections near max_connections"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = [google_monitoring_notification_channel.email.name]

  documentation {
    mime_type = "text/markdown"
    subject   = "Cloud SQL ${var.sql_instance}: over ${local.connections_threshold} of ${var.max_connections} connections"
    content   = "More than ${local.connections_threshold} connections (${var.connections_alert_fraction * 100} % of max_connections = ${var.max_connections}) are open on ${var.sql_instance}: new ones will be refused once the limit is reached. Follow section 3.2 (Cloud SQL Remediation) of ${var.runbook}: find the clients holding connections (pg_stat_activity), check the services' pool sizes, and raise max_connections in the stack only if the tier allows it."
  }

  conditions {
    display_name = "num_backends above ${local.connections_threshold}"
    condition_threshold {
      filter          = "resource.type = \"cloudsql_database\" AND resource.label.database_id = \"${var.project}:${var.sql_instance}\" AND metric.type = \"cloudsql.googleapis.com/database/postgresql/num_backends\""
      comparison      = "COMPARISON_GT"
      threshold_value = local.connections_threshold
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.database_id"]
      }
    }
  }
}

resource "google_monitoring_alert_policy" "certificate_expiry" {
  project               = var.project
  display_name          = "Certificate expires within ${var.certificate_expiry_days} days"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = [google_monitoring_notification_channel.email.name]

  documentation {
    mime_type = "text/markdown"
    subject   = "A served certificate expires within ${var.certificate_expiry_days} days"
    content   = "An uptime check sees a certificate on $${resource.label.host} that expires in less than ${var.certificate_expiry_days} days. Managed certificates renew themselves while their domains' DNS points at the load balancer: follow section 3.4 (SSL Certificate Deployment) of ${var.runbook} and check `gcloud compute ssl-certificates list` for a status other than ACTIVE."
  }

  conditions {
    display_name = "time_until_ssl_cert_expires below ${var.certificate_expiry_days} days"
    condition_threshold {
      filter          = "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires\""
      comparison      = "COMPARISON_LT"
      threshold_value = var.certificate_expiry_days
      duration        = "600s"
      aggregations {
        alignment_period     = "1200s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_MEAN"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }
}

resource "google_monitoring_alert_policy" "uptime" {
  for_each              = local.hosts
  project               = var.project
  display_name          = "https://${each.key}${var.health_path} failing"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = [google_monitoring_notification_channel.email.name]

  documentation {
    mime_type = "text/markdown"
    subject   = "https://${each.key}${var.health_path} failing"
    content   = "https://${each.key}${var.health_path} did not answer 2xx within ${var.uptime_timeout} from several checker regions. Run `cairn check` on the stack (the roadmap's health check, section 2.1 of ${var.runbook}), then follow the section of the failing component: 3.1 connector, 3.2 database, 3.4 certificate, 3.5 load balancer."
  }

  conditions {
    display_name = "uptime check on ${each.key} failing"
    condition_threshold {
      filter          = "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.label.check_id = \"${google_monitoring_uptime_check_config.health[each.key].uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "60s"
      aggregations {
        alignment_period     = "1200s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }
}

output "writer_identities" {
  description = "The sinks' writer identities, each granted BigQuery Data Editor on the dataset."
  value       = { for k, s in google_logging_project_sink.this : k => s.writer_identity }
}

output "notification_channel" {
  value = google_monitoring_notification_channel.email.name
}

check "sinks_enabled" {
  assert {
    condition     = alltrue([for k, f in var.sinks : try(!google_logging_project_sink.this[k].disabled, false)])
    error_message = join("\n", [for k, f in var.sinks : "Log sink '${k}' is ${try(google_logging_project_sink.this[k].disabled ? "disabled" : "enabled", "missing")}, expected enabled" if !try(!google_logging_project_sink.this[k].disabled, false)])
  }
}

# The checks read the refreshed resources directly (not through locals, which `cairn check`
# evaluates while planning, before it knows what is missing).

# A sink whose destination is missing or whose writer may not write there drops every entry.
# The grant counts when this module's own member resource holds it (a refresh drops that
# resource when the entry is gone) or when the dataset's access list shows it: right after an
# apply the dataset's recorded access list predates the grants made beside it.
check "sinks_can_write" {
  assert {
    condition = try(google_bigquery_dataset.this.dataset_id, null) != null && alltrue([
      for k, f in var.sinks : try(google_logging_project_sink.this[k].writer_identity, null) == null ||
      try(google_bigquery_dataset_iam_member.sink_writer[k].member, null) == google_logging_project_sink.this[k].writer_identity || anytrue([
        for a in try(google_bigquery_dataset.this.access, []) :
        contains(local.write_roles, try(a.role, "")) && (
          try(a.user_by_email, null) == trimprefix(google_logging_project_sink.this[k].writer_identity, "serviceAccount:") ||
          try(a.iam_member, null) == google_logging_project_sink.this[k].writer_identity
        )
      ])
    ])
    error_message = join("\n", (
      try(google_bigquery_dataset.this.dataset_id, null) == null ?
      [for k in sort(keys(var.sinks)) : "Log sink '${k}' cannot write: its destination dataset '${var.dataset}' is missing (cairn apply creates it; by hand: bq mk --dataset ${var.project}:${var.dataset})"] :
      [
        for k in sort(keys(var.sinks)) :
        "Log sink '${k}' cannot write to dataset '${var.dataset}': its writer identity ${google_logging_project_sink.this[k].writer_identity} holds no role there that may write (cairn apply grants it roles/bigquery.dataEditor on the dataset)"
        if try(google_logging_project_sink.this[k].writer_identity, null) != null &&
        try(google_bigquery_dataset_iam_member.sink_writer[k].member, null) != google_logging_project_sink.this[k].writer_identity && !anytrue([
          for a in try(google_bigquery_dataset.this.access, []) :
          contains(local.write_roles, try(a.role, "")) && (
            try(a.user_by_email, null) == trimprefix(google_logging_project_sink.this[k].writer_identity, "serviceAccount:") ||
            try(a.iam_member, null) == google_logging_project_sink.this[k].writer_identity
          )
        ])
      ]
    ))
  }
}

check "notification_channel" {
  assert {
    condition     = try(google_monitoring_notification_channel.email.labels.email_address, null) == var.alert_email && try(google_monitoring_notification_channel.email.enabled, true) != false
    error_message = try(google_monitoring_notification_channel.email.name, null) == null ? "Notification channel for ${var.alert_email} is missing (cairn apply creates it)" : "Notification channel '${google_monitoring_notification_channel.email.display_name}' is disabled or sends elsewhere, expected enabled and sending to ${var.alert_email}"
  }
}

# Each alert policy exists, is enabled and notifies someone.
check "alert_policies" {
  assert {
    condition = alltrue([
      for label, p in merge(
        {
          "VPC connector capacity" = try(google_monitoring_alert_policy.connector_capacity, null)
          "Cloud SQL connections"  = try(google_monitoring_alert_policy.database_connections, null)
          "Certificate expiry"     = try(google_monitoring_alert_policy.certificate_expiry, null)
        },
        { for h in local.hosts : "Uptime of ${h}" => try(google_monitoring_alert_policy.uptime[h], null) },
      ) : p != null && try(p.enabled, true) != false && length(try(p.notification_channels, [])) > 0
    ])
    error_message = join("\n", [
      for label, p in merge(
        {
          "VPC connector capacity" = try(google_monitoring_alert_policy.connector_capacity, null)
          "Cloud SQL connections"  = try(google_monitoring_alert_policy.database_connections, null)
          "Certificate expiry"     = try(google_monitoring_alert_policy.certificate_expiry, null)
        },
        { for h in local.hosts : "Uptime of ${h}" => try(google_monitoring_alert_policy.uptime[h], null) },
      ) : (
        p == null ? "Alert policy '${label}' is missing (cairn apply creates it)" :
        try(p.enabled, true) == false ? "Alert policy '${label}' is disabled, expected enabled" :
        "Alert policy '${label}' has no notification channel, expected ${var.alert_email}"
      ) if !(p != null && try(p.enabled, true) != false && length(try(p.notification_channels, [])) > 0)
    ])
  }
}

check "uptime_checks" {
  assert {
    condition     = alltrue([for h in local.hosts : try(google_monitoring_uptime_check_config.health[h].uptime_check_id, null) != null])
    error_message = join("\n", [for h in local.hosts : "Uptime check of https://${h}${var.health_path} is missing (cairn apply creates it)" if try(google_monitoring_uptime_check_config.health[h].uptime_check_id, null) == null])
  }
}
