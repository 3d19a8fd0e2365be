# A Cloud Run service behind the HTTPS load balancer (roadmap sections 2.1 and 3.5): the service
# on the VPC connector with the egress it needs, its secrets from Secret Manager as environment
# variables, the Cloud SQL instance attached, a startup probe that allows the slow start the
# roadmap measured, the invoker grant the load balancer needs, and the serverless NEG the load
# balancer's backend service routes to. The checks are the roadmap health script's Cloud Run
# lines, word for word.

variable "project" {
  type = string
}

variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "image" {
  type        = string
  description = "The image a new service starts with (Artifact Registry path with a tag or digest); later deploys own it."
}

variable "connector" {
  type        = string
  description = "The Serverless VPC Access connector's id (projects/P/locations/R/connectors/N)."
}

variable "vpc_egress" {
  type        = string
  default     = "PRIVATE_RANGES_ONLY"
  description = "PRIVATE_RANGES_ONLY or ALL_TRAFFIC: which outbound traffic goes through the connector."
}

variable "env" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables."
}

variable "secret_env" {
  type        = map(string)
  default     = {}
  description = "Environment variables read from Secret Manager: variable name => secret id (latest version)."
}

variable "cloud_sql_instance" {
  type        = string
  default     = null
  description = "The Cloud SQL instance's connection name (project:region:instance), mounted at /cloudsql."
}

variable "health_path" {
  type        = string
  description = "The HTTP path the startup and liveness probes call."
}

variable "startup_allowance_sec" {
  type        = number
  default     = 600
  description = "How long a new instance may take to answer the health path before it is failed."
}

variable "request_timeout" {
  type        = string
  default     = "600s"
  description = "How long a request may run (a duration, at most 3600s)."
}

variable "min_instances" {
  type    = number
  default = 1
}

variable "max_instances" {
  type    = number
  default = 10
}

variable "deletion_protection" {
  type    = bool
  default = true
}

locals {
  # The startup probe fails an instance after period × failure_threshold seconds without a 200
  # from the health path. Cloud Run caps period_seconds at 240 and requires timeout_seconds ≤
  # period_seconds (https://cloud.google.com/run/docs/configuring/healthchecks), so the
  # allowance is made of 10 s periods.
  probe_period_sec = 10
  probe_failures   = ceil(var.startup_allowance_sec / local.probe_period_sec)
}

resource "google_cloud_run_v2_service" "this" {
  project             = var.project
  name                = var.name
  location            = var.region
  deletion_protection = var.deletion_protection
  # Only the load balancer (and other Google Cloud load balancers in the project) may reach the
  # service; its run.googleapis.com URL refuses the internet.
  ingress = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"

  template {
    timeout = var.request_timeout

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    vpc_access {
      connector = var.connector
      egress    = var.vpc_egress
    }

    dynamic "volumes" {
      for_each = var.cloud_sql_instance == null ? [] : [var.cloud_sql_instance]
      content {
        name = "cloudsql"
        cloud_sql_instance {
          instances = [volumes.value]
        }
      }
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = var.secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      dynamic "volume_mounts" {
        for_each = var.cloud_sql_instance == null ? [] : ["cloudsql"]
        content {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }
      }

      startup_probe {
        period_seconds    = local.probe_period_sec
        timeout_seconds   = 5
        failure_threshold = local.probe_failures
        http_get {
          path = var.health_path
        }
      }

      liveness_probe {
        period_seconds    = 30
        timeout_seconds   = 10
        failure_threshold = 3
        http_get {
          path = var.health_path
        }
      }
    }
  }

  lifecycle {
    # The deploy pipeline (gcloud run deploy) owns the image and stamps client and
    # client_version; `image` here is only what a new service starts with.
    ignore_changes = [template[0].containers[0].image, client, client_version]
  }
}

# An external Application Load Balancer reaches Cloud Run as an unauthenticated caller: the
# service must grant run.invoker to allUsers, and ingress (above) keeps everyone else out.
resource "google_cloud_run_v2_service_iam_member" "load_balancer_invoker" {
  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# The serverless NEG through which a backend service routes to this service. It must be in the
# service's region.
resource "google_compute_region_network_endpoint_group" "this" {
  project               = var.project
  name                  = "${var.name}-neg"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloud_run_v2_service.this.name
  }
}

output "name" {
  value = google_cloud_run_v2_service.this.name
}

output "uri" {
  value = google_cloud_run_v2_service.this.uri
}

output "neg_id" {
  value = google_compute_region_network_endpoint_group.this.id
}

check "vpc_connector" {
  assert {
    condition     = try(google_cloud_run_v2_service.this.template[0].vpc_access[0].connector, "") == var.connector
    error_message = "Service '${var.name}' has incorrect VPC connector"
  }
}

check "vpc_egress" {
  assert {
    condition     = try(google_cloud_run_v2_service.this.template[0].vpc_access[0].egress, "") == var.vpc_egress
    error_message = "Service '${var.name}' has incorrect VPC egress"
  }
}

check "ready" {
  assert {
    condition     = try(google_cloud_run_v2_service.this.terminal_condition[0].state, "MISSING") == "CONDITION_SUCCEEDED"
    error_message = "Service '${var.name}' is not ready: ${try(google_cloud_run_v2_service.this.terminal_condition[0].message, "missing")}"
  }
}

check "startup_probe" {
  assert {
    condition = try(
      google_cloud_run_v2_service.this.template[0].containers[0].startup_probe[0].http_get[0].path == var.health_path &&
      google_cloud_run_v2_service.this.template[0].containers[0].startup_probe[0].period_seconds * google_cloud_run_v2_service.this.template[0].containers[0].startup_probe[0].failure_threshold >= var.startup_allowance_sec,
      false
    )
    error_message = "Service '${var.name}' startup probe does not allow ${var.startup_allowance_sec}s on ${var.health_path}"
  }
}

check "request_timeout" {
  assert {
    condition     = try(google_cloud_run_v2_service.this.template[0].timeout, "") == var.request_timeout
    error_message = "Service '${var.name}' request timeout is ${try(google_cloud_run_v2_service.this.template[0].timeout, "missing")}, expected ${var.request_timeout}"
  }
}
