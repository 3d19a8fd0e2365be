# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/cloudrunv2_service_probes.tf.tmpl
# (Apache-2.0), the example terraform-provider-google documents for google_cloud_run_v2_service;
# template variables filled in: primary resource id "default", cloud_run_service_name "cloudrun-service".

resource "google_cloud_run_v2_service" "default" {
  name     = "cloudrun-service"
  location = "us-central1"
  deletion_protection = false

  template {
    containers {
      image = "us-docker.pkg.dev/cloudrun/container/hello"
      startup_probe {
        initial_delay_seconds = 0
        timeout_seconds = 1
        period_seconds = 3
        failure_threshold = 1
        tcp_socket {
          port = 8080
        }
      }
      liveness_probe {
        http_get {
          path = "/"
        }
      }
    }
  }
}
