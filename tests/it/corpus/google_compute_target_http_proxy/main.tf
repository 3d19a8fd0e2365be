# Every argument of google_compute_target_http_proxy: the HTTP front that redirects to HTTPS,
# and a second URL map to move it to in place.

provider "google" {
  project = "corpus-project"
}

resource "google_compute_health_check" "backend" {
  name = "corpus-backend"
  http_health_check {
    request_path = "/health"
  }
}

resource "google_compute_backend_service" "backend" {
  name          = "corpus-backend"
  health_checks = [google_compute_health_check.backend.id]
}

resource "google_compute_url_map" "redirect" {
  name            = "corpus-http-redirect"
  default_service = google_compute_backend_service.backend.id
}

resource "google_compute_target_http_proxy" "http" {
  name                        = "corpus-http-proxy"
  description                 = "plain HTTP front"
  project                     = "corpus-project"
  url_map                     = google_compute_url_map.redirect.id
  proxy_bind                  = false
  http_keep_alive_timeout_sec = 610
  deletion_policy             = "DELETE"
}
