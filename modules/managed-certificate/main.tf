# A Google-managed certificate for the domains the load balancer serves (roadmap section 3.4),
# with the check that says it is usable: ACTIVE for every domain. Provisioning takes up to an
# hour after DNS points at the load balancer; until then the check reports each domain's status.

variable "project" {
  type = string
}

variable "name" {
  type = string
}

variable "domains" {
  type        = list(string)
  description = "Domains the certificate covers."
}

resource "google_compute_managed_ssl_certificate" "this" {
  project = var.project
  name    = var.name

  managed {
    domains = var.domains
  }

  # A new certificate must be on the proxy before the old one can be deleted (changing the
  # domains replaces the certificate).
  lifecycle {
    create_before_destroy = true
  }
}

output "id" {
  value = google_compute_managed_ssl_certificate.this.id
}

check "certificate_active" {
  assert {
    condition     = alltrue([for d in var.domains : try(google_compute_managed_ssl_certificate.this.managed[0].domain_status[d], "MISSING") == "ACTIVE"])
    error_message = try(google_compute_managed_ssl_certificate.this.name, null) == null ? "Certificate '${var.name}' is missing" : join("\n", [for d in var.domains : "Certificate '${var.name}' is ${try(google_compute_managed_ssl_certificate.this.managed[0].domain_status[d], "MISSING")} for ${d}, expected ACTIVE" if try(google_compute_managed_ssl_certificate.this.managed[0].domain_status[d], "MISSING") != "ACTIVE"])
  }
}
