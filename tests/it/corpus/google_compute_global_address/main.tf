# Every argument of google_compute_global_address: the load balancer's external IP, and an
# internal range reserved for private services access.

provider "google" {
  project = "netra-staging"
}

resource "google_compute_global_address" "lb" {
  project         = "netra-staging"
  name            = "corpus-lb-ip"
  description     = "The corpus load balancer's front end"
  address_type    = "EXTERNAL"
  ip_version      = "IPV4"
  address         = "203.0.113.10"
  deletion_policy = "DELETE"
  labels = {
    env = "corpus"
  }
}

resource "google_compute_global_address" "private_services" {
  name          = "corpus-private-services-range"
  address_type  = "INTERNAL"
  purpose       = "VPC_PEERING"
  address       = "10.20.0.0"
  prefix_length = 16
  network       = "projects/netra-staging/global/networks/default"
}
