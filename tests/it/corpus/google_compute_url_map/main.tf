# Every top-level argument and nested block of google_compute_url_map, over three maps whose
# defaults the API takes one at a time: a service, a route action, a redirect.

provider "google" {
  project = "netra-staging"
}

resource "google_compute_health_check" "web" {
  name = "corpus-urlmap-health-check"
  http_health_check {
    request_path = "/health"
  }
}

resource "google_compute_backend_service" "web" {
  name                  = "corpus-urlmap-web"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  health_checks         = [google_compute_health_check.web.id]
}

resource "google_compute_backend_service" "api" {
  name                  = "corpus-urlmap-api"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  health_checks         = [google_compute_health_check.web.id]
}

resource "google_compute_url_map" "service" {
  name            = "corpus-urlmap-service"
  description     = "Host and path routing with advanced route rules"
  default_service = google_compute_backend_service.web.id

  header_action {
    request_headers_to_remove  = ["X-Debug"]
    response_headers_to_remove = ["Server"]
    request_headers_to_add {
      header_name  = "X-Lb"
      header_value = "corpus"
      replace      = true
    }
    response_headers_to_add {
      header_name  = "Strict-Transport-Security"
      header_value = "max-age=31536000"
      replace      = false
    }
  }

  default_custom_error_response_policy {
    error_service = google_compute_backend_service.web.id
    error_response_rule {
      match_response_codes   = ["5xx"]
      path                   = "/errors/5xx.html"
      override_response_code = 502
    }
  }

  host_rule {
    description  = "The API"
    hosts        = ["api.corpus.example.com"]
    path_matcher = "api"
  }

  host_rule {
    hosts        = ["www.corpus.example.com"]
    path_matcher = "web"
  }

  path_matcher {
    name            = "api"
    description     = "API routes"
    default_service = google_compute_backend_service.api.id

    header_action {
      request_headers_to_remove = ["X-Internal"]
    }

    default_custom_error_response_policy {
      error_service = google_compute_backend_service.web.id
      error_response_rule {
        match_response_codes   = ["404"]
        path                   = "/errors/404.html"
        override_response_code = 404
      }
    }

    path_rule {
      paths   = ["/v1/*"]
      service = google_compute_backend_service.api.id

      custom_error_response_policy {
        error_service = google_compute_backend_service.web.id
        error_response_rule {
          match_response_codes = ["503"]
          path                 = "/errors/503.html"
        }
      }
    }

    path_rule {
      paths = ["/v2/*"]
      route_action {
        cors_policy {
          allow_credentials    = true
          allow_headers        = ["Authorization"]
          allow_methods        = ["GET", "POST"]
          allow_origin_regexes = [".*\\.corpus\\.example\\.com"]
          allow_origins        = ["https://www.corpus.example.com"]
          disabled             = false
          expose_headers       = ["X-Request-Id"]
          max_age              = 3600
        }
        fault_injection_policy {
          abort {
            http_status = 503
            percentage  = 0.5
          }
          delay {
            percentage = 1
            fixed_delay {
              seconds = "1"
              nanos   = 500
            }
          }
        }
        request_mirror_policy {
          backend_service = google_compute_backend_service.web.id
        }
        retry_policy {
          num_retries      = 3
          retry_conditions = ["5xx", "gateway-error"]
          per_try_timeout {
            seconds = "5"
          }
        }
        timeout {
          seconds = "30"
        }
        max_stream_duration {
          seconds = "300"
        }
        url_rewrite {
          host_rewrite        = "api-v2.corpus.example.com"
          path_prefix_rewrite = "/"
        }
        weighted_backend_services {
          backend_service = google_compute_backend_service.api.id
          weight          = 90
          header_action {
            request_headers_to_add {
              header_name  = "X-Canary"
              header_value = "false"
              replace      = true
            }
          }
        }
        weighted_backend_services {
          backend_service = google_compute_backend_service.web.id
          weight          = 10
        }
      }
    }

    path_rule {
      paths = ["/old/*"]
      url_redirect {
        host_redirect          = "www.corpus.example.com"
        https_redirect         = true
        path_redirect          = "/new"
        redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
        strip_query            = true
      }
    }
  }

  path_matcher {
    name            = "web"
    default_service = google_compute_backend_service.web.id

    route_rules {
      priority = 1
      service  = google_compute_backend_service.api.id
      header_action {
        response_headers_to_add {
          header_name  = "X-Route"
          header_value = "beta"
          replace      = true
        }
      }
      match_rules {
        prefix_match = "/beta"
        ignore_case  = true
        header_matches {
          header_name  = "X-Beta"
          exact_match  = "1"
          invert_match = false
        }
        header_matches {
          header_name = "X-Version"
          range_match {
            range_start = 2
            range_end   = 5
          }
        }
        query_parameter_matches {
          name          = "beta"
          present_match = true
        }
        metadata_filters {
          filter_match_criteria = "MATCH_ANY"
          filter_labels {
            name  = "region"
            value = "us"
          }
        }
      }
    }

    route_rules {
      priority = 2
      match_rules {
        path_template_match = "/users/{id}"
      }
      route_action {
        weighted_backend_services {
          backend_service = google_compute_backend_service.api.id
          weight          = 100
        }
        url_rewrite {
          path_prefix_rewrite = "/v1/users"
        }
      }
      custom_error_response_policy {
        error_service = google_compute_backend_service.web.id
        error_response_rule {
          match_response_codes = ["4xx"]
          path                 = "/errors/4xx.html"
        }
      }
    }

    route_rules {
      priority = 3
      match_rules {
        full_path_match = "/legacy"
      }
      url_redirect {
        path_redirect = "/"
        strip_query   = false
      }
    }
  }

  test {
    description = "The API's v1 routes"
    host        = "api.corpus.example.com"
    path        = "/v1/users"
    service     = google_compute_backend_service.api.id
  }

  test {
    host                            = "www.corpus.example.com"
    path                            = "/old/page"
    expected_output_url             = "https://www.corpus.example.com/new"
    expected_redirect_response_code = 301
    headers {
      name  = "User-Agent"
      value = "corpus"
    }
  }
}

resource "google_compute_url_map" "route_action" {
  project = "netra-staging"
  name    = "corpus-urlmap-route-action"

  default_route_action {
    weighted_backend_services {
      backend_service = google_compute_backend_service.web.id
      weight          = 100
      header_action {
        request_headers_to_add {
          header_name  = "X-Default"
          header_value = "true"
          replace      = true
        }
      }
    }
    timeout {
      seconds = "60"
    }
    retry_policy {
      num_retries      = 2
      retry_conditions = ["connect-failure"]
      per_try_timeout {
        seconds = "10"
      }
    }
    url_rewrite {
      host_rewrite = "www.corpus.example.com"
    }
    cors_policy {
      allow_origins = ["https://corpus.example.com"]
      max_age       = 600
    }
    request_mirror_policy {
      backend_service = google_compute_backend_service.api.id
    }
    fault_injection_policy {
      abort {
        http_status = 500
        percentage  = 0.1
      }
    }
  }
}

resource "google_compute_url_map" "redirect" {
  name            = "corpus-urlmap-redirect"
  deletion_policy = "DELETE"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "PERMANENT_REDIRECT"
    strip_query            = false
  }
}
