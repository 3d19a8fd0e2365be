# Every top-level argument of google_secret_manager_secret_version at least once.

provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

variable "api_token" {
  type      = string
  sensitive = true
  default   = "token-v1"
}

resource "google_secret_manager_secret" "s" {
  secret_id = "corpus-versions"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "plain" {
  secret      = google_secret_manager_secret.s.id
  secret_data = "config-value"
  enabled     = true
}

resource "google_secret_manager_secret_version" "write_only" {
  secret                 = google_secret_manager_secret.s.id
  secret_data_wo         = var.api_token
  secret_data_wo_version = "1"
  deletion_policy        = "DISABLE"
}

resource "google_secret_manager_secret_version" "base64" {
  secret                = google_secret_manager_secret.s.id
  project               = "cairn-test"
  secret_data           = base64encode("binary-ish")
  is_secret_data_base64 = true
  enabled               = false
  deletion_policy       = "ABANDON"
}
