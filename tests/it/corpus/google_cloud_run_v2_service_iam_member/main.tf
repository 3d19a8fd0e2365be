# Every argument of google_cloud_run_v2_service_iam_member at least once (all force a new
# member, so there is no update.tf).

provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

resource "google_cloud_run_v2_service" "api" {
  name                = "corpus-iam"
  location            = "us-central1"
  deletion_protection = false
  template {
    containers {
      image = "us-docker.pkg.dev/cloudrun/container/hello"
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  project  = google_cloud_run_v2_service.api.project
  location = google_cloud_run_v2_service.api.location
  name     = google_cloud_run_v2_service.api.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:lb@cairn-test.iam.gserviceaccount.com"
}

resource "google_cloud_run_v2_service_iam_member" "conditional" {
  name   = google_cloud_run_v2_service.api.id
  role   = "roles/run.invoker"
  member = "user:jane@example.com"
  condition {
    title       = "until-2030"
    description = "temporary access"
    expression  = "request.time < timestamp(\"2030-01-01T00:00:00Z\")"
  }
}
