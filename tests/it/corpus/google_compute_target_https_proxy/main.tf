# Every top-level argument of google_compute_target_https_proxy, over three proxies: compute
# certificates, Certificate Manager certificates, and a certificate map.

provider "google" {
  project = "netra-staging"
}

resource "google_compute_managed_ssl_certificate" "web" {
  name = "corpus-proxy-cert"
  managed {
    domains = ["corpus-proxy.netrasystems.ai"]
  }
}

resource "google_compute_health_check" "web" {
  name = "corpus-proxy-health-check"
  http_health_check {
    request_path = "/health"
  }
}

resource "google_compute_backend_service" "web" {
  name                  = "corpus-proxy-backend"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  health_checks         = [google_compute_health_check.web.id]
}

resource "google_compute_url_map" "web" {
  name            = "corpus-proxy-url-map"
  default_service = google_compute_backend_service.web.id
}

resource "google_compute_target_https_proxy" "compute" {
  project                     = "netra-staging"
  name                        = "corpus-proxy-compute"
  description                 = "HTTPS with a Google-managed certificate"
  url_map                     = google_compute_url_map.web.id
  ssl_certificates            = [google_compute_managed_ssl_certificate.web.id]
  quic_override               = "ENABLE"
  tls_early_data              = "STRICT"
  http_keep_alive_timeout_sec = 610
  ssl_policy                  = "corpus-modern-tls"
  server_tls_policy           = "projects/netra-staging/locations/global/serverTlsPolicies/corpus-mtls"
  proxy_bind                  = false
  deletion_policy             = "DELETE"
}

resource "google_compute_target_https_proxy" "certificate_manager" {
  name                             = "corpus-proxy-cert-manager"
  url_map                          = google_compute_url_map.web.id
  certificate_manager_certificates = ["projects/netra-staging/locations/global/certificates/corpus-cm-cert"]
}

resource "google_compute_target_https_proxy" "certificate_map" {
  name            = "corpus-proxy-cert-map"
  url_map         = google_compute_url_map.web.name
  certificate_map = "//certificatemanager.googleapis.com/projects/netra-staging/locations/global/certificateMaps/corpus-map"
}
