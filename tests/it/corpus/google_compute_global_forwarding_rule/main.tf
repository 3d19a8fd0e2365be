# Every argument of google_compute_global_forwarding_rule: an HTTPS front end on a reserved
# address, serverless backends behind it, and an HTTP rule on an ephemeral address.
# (metadata_filters, network, subnetwork, service_directory_registrations, source_ip_ranges
# and no_automate_dns_zone belong to other load balancer kinds; the API takes them as sent.)

provider "google" {
  project = "netra-staging"
}

resource "google_compute_region_network_endpoint_group" "api" {
  name   = "corpus-fr-api-neg"
  region = "us-central1"
  cloud_run {
    service = "netra-backend-staging"
  }
}

resource "google_compute_backend_service" "api" {
  name                  = "corpus-fr-api"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  backend {
    group = google_compute_region_network_endpoint_group.api.id
  }
}

resource "google_compute_url_map" "api" {
  name            = "corpus-fr-url-map"
  default_service = google_compute_backend_service.api.id
}

resource "google_compute_target_http_proxy" "a" {
  name    = "corpus-fr-proxy-a"
  url_map = google_compute_url_map.api.id
}

resource "google_compute_target_http_proxy" "b" {
  name    = "corpus-fr-proxy-b"
  url_map = google_compute_url_map.api.id
}

resource "google_compute_backend_service" "mesh" {
  name                  = "corpus-fr-mesh"
  load_balancing_scheme = "INTERNAL_SELF_MANAGED"
}

resource "google_compute_url_map" "mesh" {
  name            = "corpus-fr-mesh-url-map"
  default_service = google_compute_backend_service.mesh.id
}

resource "google_compute_target_http_proxy" "mesh" {
  name    = "corpus-fr-proxy-mesh"
  url_map = google_compute_url_map.mesh.id
}

resource "google_compute_global_address" "lb" {
  name = "corpus-fr-ip"
}

resource "google_compute_global_forwarding_rule" "front" {
  project                                                      = "netra-staging"
  name                                                         = "corpus-fr-front"
  description                                                  = "The corpus front end"
  target                                                       = google_compute_target_http_proxy.a.id
  ip_address                                                   = google_compute_global_address.lb.id
  ip_protocol                                                  = "TCP"
  ip_version                                                   = "IPV4"
  port_range                                                   = "80"
  load_balancing_scheme                                        = "EXTERNAL_MANAGED"
  network_tier                                                 = "PREMIUM"
  external_managed_backend_bucket_migration_state              = "PREPARE"
  external_managed_backend_bucket_migration_testing_percentage = 10
  deletion_policy                                              = "DELETE"
  labels = {
    env = "corpus"
  }
}

resource "google_compute_global_forwarding_rule" "internal" {
  name                  = "corpus-fr-internal"
  target                = google_compute_target_http_proxy.mesh.id
  ip_address            = "0.0.0.0"
  port_range            = "8080"
  load_balancing_scheme = "INTERNAL_SELF_MANAGED"
  network               = "default"
  subnetwork            = "projects/netra-staging/regions/us-central1/subnetworks/default"
  source_ip_ranges      = ["10.0.0.0/8"]
  no_automate_dns_zone  = false
  metadata_filters {
    filter_match_criteria = "MATCH_ANY"
    filter_labels {
      name  = "PLANET"
      value = "MARS"
    }
  }
  service_directory_registrations {
    namespace = "sd-namespace"
  }
}
