provider "google" {
  project = "cairn-test"
}

resource "google_monitoring_uptime_check_config" "u" {
  display_name       = "health"
  timeout            = "10s"
  period             = "60s"
  selected_regions   = ["USA", "EUROPE", "ASIA_PACIFIC"]
  log_check_failures = true
  checker_type       = "STATIC_IP_CHECKERS"
  user_labels = {
    team = "platform"
  }
  http_check {
    path           = "/health"
    port           = 443
    use_ssl        = true
    validate_ssl   = true
    request_method = "POST"
    content_type   = "URL_ENCODED"
    body           = "Zm9vJTI1M0RiYXI="
    mask_headers   = true
    headers = {
      x-check = "cairn"
    }
    auth_info {
      username = "checker"
      password = "corpus-password"
    }
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }
  content_matchers {
    content = "ok"
    matcher = "CONTAINS_STRING"
  }
  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = "cairn-test"
      host       = "staging.example.com"
    }
  }
}
