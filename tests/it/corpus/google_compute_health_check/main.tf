# Every argument and block of google_compute_health_check, across one health check per
# protocol (the API allows exactly one protocol block each).

provider "google" {
  project = "corpus-project"
}

resource "google_compute_health_check" "http" {
  name                = "corpus-http"
  description         = "HTTP, every field"
  check_interval_sec  = 10
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 3
  deletion_policy     = "DELETE"
  http_health_check {
    host               = "staging.example.com"
    request_path       = "/health"
    response           = "ok"
    port               = 8080
    proxy_header       = "NONE"
    port_specification = "USE_FIXED_PORT"
  }
  log_config {
    enable = true
  }
}

resource "google_compute_health_check" "https" {
  name    = "corpus-https"
  project = "corpus-project"
  https_health_check {
    port_name          = "https"
    port_specification = "USE_NAMED_PORT"
    request_path       = "/healthz"
  }
}

resource "google_compute_health_check" "http2" {
  name = "corpus-http2"
  http2_health_check {
    port_specification = "USE_SERVING_PORT"
    request_path       = "/"
  }
}

resource "google_compute_health_check" "tcp" {
  name = "corpus-tcp"
  tcp_health_check {
    port     = 5432
    request  = "ping"
    response = "pong"
  }
}

resource "google_compute_health_check" "ssl" {
  name = "corpus-ssl"
  ssl_health_check {
    port         = 443
    proxy_header = "PROXY_V1"
  }
}

resource "google_compute_health_check" "grpc" {
  name = "corpus-grpc"
  grpc_health_check {
    port              = 50051
    grpc_service_name = "health"
  }
}

resource "google_compute_health_check" "grpc_tls" {
  name = "corpus-grpc-tls"
  grpc_tls_health_check {
    port              = 443
    grpc_service_name = "health"
  }
}

resource "google_compute_health_check" "regions" {
  name               = "corpus-regions"
  check_interval_sec = 30
  source_regions     = ["us-central1", "us-east1", "europe-west1"]
  http_health_check {
    port = 80
  }
}
