# A Google-managed certificate for the domains the load balancer serves (roadmap section 3.4),
# with the check that says it is usable: ACTIVE for every domain. Provisioning takes up to an
# hour after DNS points at the load balancer; until then the check reports each domain's status.

variable "project" {
  type = string
}

variable "name" {
  type        = string
  description = "Prefix of the certificate's name; the module appends a hash of the domains."

  # 54 = 63 (the GCE name limit) - 9 for "-" and the 8-character hash appended below.
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,53}$", var.name))
    error_message = "The certificate name prefix must start with a lowercase letter and hold at most 54 lowercase letters, digits and hyphens (the module appends \"-\" and an 8-character hash of the domains, and certificate names are at most 63 characters)."
  }
}

variable "domains" {
  type        = list(string)
  description = "Domains the certificate covers."

  validation {
    condition     = length(var.domains) > 0
    error_message = "A managed certificate needs at least one domain."
  }
}

locals {
  # Sorted so that listing the same domains in another order changes nothing: the API keeps
  # the list as given, and any change to it replaces the certificate.
  domains = sort(distinct(var.domains))

  # Changing the domains replaces the certificate, and create_before_destroy creates the new one
  # while the old one still exists (the proxy must always hold one). A fixed name makes that
  # create fail with 409 alreadyExists, so the name carries a hash of the domains: a new set of
  # domains is a new name, the same set is the same name.
  name = "${var.name}-${substr(sha256(join(",", local.domains)), 0, 8)}"
}

resource "google_compute_managed_ssl_certificate" "this" {
  project = var.project
  name    = local.name

  managed {
    domains = local.domains
  }

  # A new certificate must be on the proxy before the old one can be deleted.
  lifecycle {
    create_before_destroy = true
  }
}

output "id" {
  value = google_compute_managed_ssl_certificate.this.id
}

output "name" {
  description = "The certificate's name: the name prefix and a hash of its domains."
  value       = google_compute_managed_ssl_certificate.this.name
}

check "certificate_active" {
  assert {
    condition     = alltrue([for d in local.domains : try(google_compute_managed_ssl_certificate.this.managed[0].domain_status[d], "MISSING") == "ACTIVE"])
    error_message = try(google_compute_managed_ssl_certificate.this.name, null) == null ? "Certificate '${local.name}' is missing" : join("\n", [for d in local.domains : "Certificate '${local.name}' is ${try(google_compute_managed_ssl_certificate.this.managed[0].domain_status[d], "MISSING")} for ${d}, expected ACTIVE" if try(google_compute_managed_ssl_certificate.this.managed[0].domain_status[d], "MISSING") != "ACTIVE"])
  }
}

# A managed certificate renews itself while its domains point at the load balancer; one that
# is 30 days from expiring has stopped renewing (roadmap 5.3: SSL certificate expiry
# monitoring). plantimestamp() is the time of the plan `cairn check` makes.
check "certificate_not_expiring" {
  assert {
    condition     = try(google_compute_managed_ssl_certificate.this.expire_time, null) == null || timecmp(google_compute_managed_ssl_certificate.this.expire_time, timeadd(plantimestamp(), "720h")) > 0
    error_message = "Certificate '${local.name}' expires at ${try(google_compute_managed_ssl_certificate.this.expire_time, "?")}, within 30 days: check that every domain's DNS still points at the load balancer (gcloud compute ssl-certificates describe ${local.name} --global)"
  }
}
