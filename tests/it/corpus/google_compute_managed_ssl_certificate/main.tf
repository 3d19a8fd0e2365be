# Every argument and block of google_compute_managed_ssl_certificate: one named certificate
# with every argument, and one whose name Cairn generates.

provider "google" {
  project = "netra-staging"
}

resource "google_compute_managed_ssl_certificate" "named" {
  project         = "netra-staging"
  name            = "corpus-managed-cert"
  description     = "The corpus site's certificate"
  type            = "MANAGED"
  deletion_policy = "DELETE"

  managed {
    domains = ["corpus.netrasystems.ai", "www.corpus.netrasystems.ai."]
  }
}

resource "google_compute_managed_ssl_certificate" "generated_name" {
  managed {
    domains = ["api.corpus.netrasystems.ai"]
  }

  lifecycle {
    create_before_destroy = true
  }
}
