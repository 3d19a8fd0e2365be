# Every top-level argument of google_cloud_run_v2_service at least once, and the template's
# container, probe, volume and VPC blocks the staging stack uses.

provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

resource "google_cloud_run_v2_service" "full" {
  name                 = "corpus-service"
  location             = "us-central1"
  description          = "corpus service"
  ingress              = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  launch_stage         = "GA"
  client               = "cairn"
  client_version       = "1"
  custom_audiences     = ["https://api.example.com"]
  default_uri_disabled = false
  invoker_iam_disabled = false
  deletion_protection  = false
  labels = {
    env = "corpus"
  }
  annotations = {
    owner = "platform"
  }

  binary_authorization {
    use_default = true
  }

  scaling {
    min_instance_count = 1
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  template {
    service_account                  = "runner@cairn-test.iam.gserviceaccount.com"
    timeout                          = "600s"
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    max_instance_request_concurrency = 40
    session_affinity                 = true
    labels = {
      tier = "api"
    }
    annotations = {
      note = "corpus"
    }

    scaling {
      min_instance_count = 1
      max_instance_count = 4
    }

    vpc_access {
      connector = "projects/cairn-test/locations/us-central1/connectors/corpus-connector"
      egress    = "PRIVATE_RANGES_ONLY"
    }

    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = ["cairn-test:us-central1:corpus-db"]
      }
    }

    volumes {
      name = "scratch"
      empty_dir {
        medium     = "MEMORY"
        size_limit = "64Mi"
      }
    }

    containers {
      name        = "api"
      image       = "us-docker.pkg.dev/cloudrun/container/hello"
      command     = ["/server"]
      args        = ["--port", "8080"]
      working_dir = "/srv"

      ports {
        name           = "http1"
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      env {
        name  = "ENVIRONMENT"
        value = "corpus"
      }

      env {
        name = "API_TOKEN"
        value_source {
          secret_key_ref {
            secret  = "corpus-token"
            version = "latest"
          }
        }
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }

      volume_mounts {
        name       = "scratch"
        mount_path = "/tmp/scratch"
      }

      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 10
        timeout_seconds       = 5
        failure_threshold     = 60
        http_get {
          path = "/health"
          port = 8080
          http_headers {
            name  = "X-Probe"
            value = "startup"
          }
        }
      }

      liveness_probe {
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
        tcp_socket {
          port = 8080
        }
      }
    }
  }
}
