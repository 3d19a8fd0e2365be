# The external HTTPS load balancer in front of the services (roadmap section 3.5), front to back:
# a global address; a forwarding rule on 443 to the HTTPS proxy serving the certificates; a URL
# map sending `/auth/*` on the API domain to the auth service and everything else to the default
# service; a backend service per service routing to its backend group (a serverless NEG for a
# Cloud Run service). Port 80 answers with a redirect to HTTPS through its own URL map and HTTP
# proxy on the same address. A managed certificate provisions only once its domains resolve to
# this address: point their DNS A records at the `ip_address` output.

variable "project" {
  type = string
}

variable "name" {
  type        = string
  description = "Prefix of the front end's names (address, forwarding rules, HTTP redirect)."
}

variable "certificate_ids" {
  type        = list(string)
  description = "The SSL certificates the HTTPS proxy serves (ids of google_compute_managed_ssl_certificate)."
}

variable "api_domain" {
  type        = string
  description = "The domain whose /auth/* paths go to the auth service."
}

variable "url_map_name" {
  type = string
}

variable "proxy_name" {
  type = string
}

variable "load_balancing_scheme" {
  type        = string
  default     = "EXTERNAL"
  description = "EXTERNAL (classic Application Load Balancer) or EXTERNAL_MANAGED; the forwarding rules and backend services must agree."
}

variable "services" {
  description = <<-EOT
    Backend services by role: `default` serves everything, `auth` serves /auth/* on the API
    domain. `backend_group` is the backend's instance group or NEG. A health check is created
    and attached only when `health_check_path` is set: the API refuses health checks on backend
    services whose backends are serverless NEGs (Cloud Run checks its instances with the
    service's own startup and liveness probes).
  EOT
  type = map(object({
    backend_service_name = string
    backend_group        = string
    timeout_sec          = optional(number, 600)
    health_check_name    = optional(string)
    health_check_path    = optional(string)
    port                 = optional(number, 8080)
  }))
}

# The roadmap asked for a 60 s health check timeout with a 30 s interval; the Compute API
# rejects a timeout longer than the interval (a check cannot wait longer for an answer than
# the time between checks). Keeping the 60 s timeout the slow-starting services need means
# checking every 60 s; five failures in a row (5 minutes) mark a backend unhealthy.
locals {
  check_interval_sec  = 60
  timeout_sec         = 60
  unhealthy_threshold = 5
  healthy_threshold   = 2
  checked             = { for k, s in var.services : k => s if s.health_check_path != null }
}

resource "google_compute_health_check" "this" {
  for_each            = local.checked
  project             = var.project
  name                = each.value.health_check_name
  check_interval_sec  = local.check_interval_sec
  timeout_sec         = local.timeout_sec
  unhealthy_threshold = local.unhealthy_threshold
  healthy_threshold   = local.healthy_threshold

  http_health_check {
    port         = each.value.port
    request_path = each.value.health_check_path
  }
}

resource "google_compute_backend_service" "this" {
  for_each              = var.services
  project               = var.project
  name                  = each.value.backend_service_name
  protocol              = "HTTP"
  timeout_sec           = each.value.timeout_sec
  load_balancing_scheme = var.load_balancing_scheme
  health_checks         = try([google_compute_health_check.this[each.key].id], null)

  backend {
    group = each.value.backend_group
  }
}

resource "google_compute_url_map" "this" {
  project         = var.project
  name            = var.url_map_name
  default_service = google_compute_backend_service.this["default"].id

  host_rule {
    hosts        = [var.api_domain]
    path_matcher = "api"
  }

  path_matcher {
    name            = "api"
    default_service = google_compute_backend_service.this["default"].id

    path_rule {
      paths   = ["/auth/*"]
      service = google_compute_backend_service.this["auth"].id
    }
  }
}

resource "google_compute_target_https_proxy" "this" {
  project          = var.project
  name             = var.proxy_name
  url_map          = google_compute_url_map.this.id
  ssl_certificates = var.certificate_ids
}

resource "google_compute_global_address" "this" {
  project = var.project
  name    = "${var.name}-ip"
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project
  name                  = "${var.name}-https"
  target                = google_compute_target_https_proxy.this.id
  ip_address            = google_compute_global_address.this.id
  port_range            = "443"
  load_balancing_scheme = var.load_balancing_scheme
}

# Port 80: every request is redirected to the same URL on HTTPS (301).
resource "google_compute_url_map" "http_redirect" {
  project = var.project
  name    = "${var.name}-http-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "http_redirect" {
  project = var.project
  name    = "${var.name}-http-redirect"
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project
  name                  = "${var.name}-http"
  target                = google_compute_target_http_proxy.http_redirect.id
  ip_address            = google_compute_global_address.this.id
  port_range            = "80"
  load_balancing_scheme = var.load_balancing_scheme
}

output "proxy_id" {
  value = google_compute_target_https_proxy.this.id
}

output "ip_address" {
  description = "The address the domains' DNS A records must point at."
  value       = google_compute_global_address.this.address
}

check "backend_timeouts" {
  assert {
    condition     = alltrue([for k, s in var.services : try(google_compute_backend_service.this[k].timeout_sec, -1) == s.timeout_sec])
    error_message = join("\n", [for k, s in var.services : "Backend service '${s.backend_service_name}' timeout is ${try("${google_compute_backend_service.this[k].timeout_sec}s", "missing")}, expected ${s.timeout_sec}s" if try(google_compute_backend_service.this[k].timeout_sec, -1) != s.timeout_sec])
  }
}

check "backends" {
  assert {
    condition     = alltrue([for k, s in var.services : contains(try(google_compute_backend_service.this[k].backend[*].group, []), s.backend_group)])
    error_message = join("\n", [for k, s in var.services : "Backend service '${s.backend_service_name}' does not route to ${s.backend_group}" if !contains(try(google_compute_backend_service.this[k].backend[*].group, []), s.backend_group)])
  }
}

check "health_check_paths" {
  assert {
    condition     = alltrue([for k, s in local.checked : try(google_compute_health_check.this[k].http_health_check[0].request_path, "") == s.health_check_path])
    error_message = join("\n", [for k, s in local.checked : "Health check '${s.health_check_name}' path is '${try(google_compute_health_check.this[k].http_health_check[0].request_path, "missing")}', expected '${s.health_check_path}'" if try(google_compute_health_check.this[k].http_health_check[0].request_path, "") != s.health_check_path])
  }
}

check "https_front_end" {
  assert {
    condition     = try(google_compute_global_forwarding_rule.https.target, "") == try(google_compute_target_https_proxy.this.id, "missing")
    error_message = "HTTPS proxy '${var.proxy_name}' is not served: no forwarding rule on 443 targets it"
  }
}
