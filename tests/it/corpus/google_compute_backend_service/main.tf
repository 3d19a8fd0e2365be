# Every top-level argument and nested block of google_compute_backend_service, over two
# services whose settings the API accepts together: a classic external one with Cloud CDN, and
# a global external Application Load Balancer one with advanced traffic management.

provider "google" {
  project = "netra-staging"
}

resource "google_compute_health_check" "web" {
  name = "corpus-web-health-check"
  http_health_check {
    request_path = "/health"
  }
}

resource "google_compute_backend_service" "cdn" {
  name                            = "corpus-cdn-backend"
  description                     = "Static assets behind Cloud CDN"
  protocol                        = "HTTP"
  port_name                       = "http"
  timeout_sec                     = 30
  load_balancing_scheme           = "EXTERNAL"
  health_checks                   = [google_compute_health_check.web.id]
  connection_draining_timeout_sec = 120
  enable_cdn                      = true
  compression_mode                = "AUTOMATIC"
  session_affinity                = "GENERATED_COOKIE"
  affinity_cookie_ttl_sec         = 3600
  custom_request_headers          = ["X-Client-Geo: {client_region}"]
  custom_response_headers         = ["X-Cache-Hit: {cdn_cache_status}"]
  security_policy                 = "corpus-armor-policy"
  edge_security_policy            = "corpus-edge-policy"

  backend {
    group                        = "https://www.googleapis.com/compute/v1/projects/netra-staging/zones/us-central1-a/instanceGroups/corpus-web"
    balancing_mode               = "RATE"
    max_rate_per_instance        = 100
    capacity_scaler              = 0.8
    description                  = "us-central1-a web servers"
  }

  cdn_policy {
    cache_mode                   = "CACHE_ALL_STATIC"
    default_ttl                  = 3600
    max_ttl                      = 86400
    client_ttl                   = 3600
    negative_caching             = true
    serve_while_stale            = 86400
    signed_url_cache_max_age_sec = 7200
    request_coalescing           = true

    cache_key_policy {
      include_host         = true
      include_protocol     = true
      include_query_string = true
      query_string_whitelist = ["v"]
      include_http_headers = ["X-Device-Type"]
      include_named_cookies = ["session-variant"]
    }

    negative_caching_policy {
      code = 404
      ttl  = 60
    }

    bypass_cache_on_request_headers {
      header_name = "X-Bypass-Cache"
    }
  }

  log_config {
    enable      = true
    sample_rate = 0.5
  }

  iap {
    enabled              = true
    oauth2_client_id     = "corpus-client-id.apps.googleusercontent.com"
    oauth2_client_secret = "corpus-client-secret"
  }
}

resource "google_compute_backend_service" "managed" {
  name                        = "corpus-managed-backend"
  protocol                    = "HTTPS"
  load_balancing_scheme       = "EXTERNAL_MANAGED"
  health_checks               = [google_compute_health_check.web.name]
  locality_lb_policy          = "RING_HASH"
  session_affinity            = "HEADER_FIELD"
  ip_address_selection_policy = "PREFER_IPV6"

  backend {
    group           = "https://www.googleapis.com/compute/v1/projects/netra-staging/zones/us-central1-b/instanceGroups/corpus-api"
    balancing_mode  = "UTILIZATION"
    max_utilization = 0.8
    preference      = "PREFERRED"

    custom_metrics {
      name            = "orca.application_utilization"
      dry_run         = true
      max_utilization = 0.9
    }
  }

  circuit_breakers {
    max_requests_per_connection = 100
    max_connections             = 2048
    max_pending_requests        = 512
    max_requests                = 4096
    max_retries                 = 5
  }

  consistent_hash {
    http_header_name  = "X-User-Id"
    minimum_ring_size = 2048

    http_cookie {
      name = "lb-session"
      path = "/"
      ttl {
        seconds = 3600
        nanos   = 0
      }
    }
  }

  outlier_detection {
    consecutive_errors                    = 5
    consecutive_gateway_failure           = 3
    enforcing_consecutive_errors          = 100
    enforcing_consecutive_gateway_failure = 100
    enforcing_success_rate                = 100
    max_ejection_percent                  = 50
    success_rate_minimum_hosts            = 5
    success_rate_request_volume           = 100
    success_rate_stdev_factor             = 1900

    base_ejection_time {
      seconds = 30
    }

    interval {
      seconds = 10
    }
  }

  locality_lb_policies {
    policy {
      name = "RING_HASH"
    }
  }

  locality_lb_policies {
    custom_policy {
      name = "corpus.example.com/weighted"
      data = "{\"weight\": 3}"
    }
  }

  custom_metrics {
    name    = "orca.named_metrics.queue_depth"
    dry_run = false
  }

  strong_session_affinity_cookie {
    name = "strong-session"
    path = "/"
    ttl {
      seconds = 600
    }
  }

  security_settings {
    subject_alt_names = ["spiffe://netra-staging.svc.id.goog/ns/default/sa/api"]

    aws_v4_authentication {
      access_key_id      = "AKIDCORPUSEXAMPLE"
      access_key         = "corpus-aws-secret-key"
      access_key_version = "1"
      origin_region      = "us-east-1"
    }
  }

  tls_settings {
    sni = "api.netrasystems.ai"

    subject_alt_names {
      dns_name = "api.netrasystems.ai"
    }

    subject_alt_names {
      uniform_resource_identifier = "spiffe://netra-staging.svc.id.goog/ns/default/sa/api"
    }
  }

  max_stream_duration {
    seconds = "300"
    nanos   = 500
  }

  log_config {
    enable        = true
    optional_mode = "CUSTOM"
    optional_fields = ["tls.protocol", "orca_load_report"]

    request_headers {
      header_name = "X-Request-Id"
    }

    response_headers {
      header_name = "X-Served-By"
    }
  }

  params {
    resource_manager_tags = {
      "tagKeys/281474976710656" = "tagValues/281474976710657"
    }
  }
}

# The fields the schema carries for other load balancers' backend services: a Traffic
# Director one (INTERNAL_SELF_MANAGED) takes a service LB policy and a client TLS policy.
resource "google_compute_backend_service" "mesh" {
  name                  = "corpus-mesh-backend"
  protocol              = "GRPC"
  load_balancing_scheme = "INTERNAL_SELF_MANAGED"
  health_checks         = [google_compute_health_check.web.self_link]
  service_lb_policy     = "//networkservices.googleapis.com/projects/netra-staging/locations/global/serviceLbPolicies/corpus-lb-policy"

  security_settings {
    client_tls_policy = "projects/netra-staging/locations/global/clientTlsPolicies/corpus-client-tls"
  }

  tls_settings {
    authentication_config = "projects/netra-staging/locations/global/backendAuthenticationConfigs/corpus-auth"
  }
}

resource "google_compute_backend_service" "migrating" {
  project                                       = "netra-staging"
  deletion_policy                               = "DELETE"
  name                                          = "corpus-migrating-backend"
  load_balancing_scheme                         = "EXTERNAL"
  external_managed_migration_state              = "TEST_BY_PERCENTAGE"
  external_managed_migration_testing_percentage = 25
}
