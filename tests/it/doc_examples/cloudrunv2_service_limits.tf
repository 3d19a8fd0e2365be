# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/cloudrunv2_service_limits.tf.tmpl
# (Apache-2.0), the example terraform-provider-google documents for google_cloud_run_v2_service;
# template variables filled in: primary resource id "default", cloud_run_service_name "cloudrun-service".

resource "google_cloud_run_v2_service" "default" {
  name     = "cloudrun-service"
  location = "us-central1"
  deletion_protection = false
  ingress = "INGRESS_TRAFFIC_ALL"

  template {
    health_check_disabled = true
    containers {
      image = "us-docker.pkg.dev/cloudrun/container/hello"
      resources {
        limits = {
          cpu    = "2"
          memory = "1024Mi"
        }
      }
    }
  }
}
