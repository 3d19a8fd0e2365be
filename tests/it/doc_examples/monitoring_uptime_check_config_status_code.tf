# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/uptime_check_config_status_code.tf.tmpl
# (Apache-2.0), the example terraform-provider-google documents for google_monitoring_uptime_check_config;
# template variables filled in: primary resource id "status_code", display_name "http-uptime-check", project_id "netra-staging".

resource "google_monitoring_uptime_check_config" "status_code" {
  display_name = "http-uptime-check"
  timeout      = "60s"

  http_check {
    path = "some-path"
    port = "8010"
    request_method = "POST"
    content_type = "URL_ENCODED"
    body = "Zm9vJTI1M0RiYXI="

    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
    accepted_response_status_codes {
            status_value = 301
    }
    accepted_response_status_codes {
            status_value = 302
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = "netra-staging"
      host       = "192.168.1.1"
    }
  }

  content_matchers {
    content = "\"example\""
    matcher = "MATCHES_JSON_PATH"
    json_path_matcher {
      json_path = "$.path"
      json_matcher = "EXACT_MATCH"
    }
  }

  checker_type = "STATIC_IP_CHECKERS"
}
