# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/uptime_check_config_https.tf.erb
# (Apache-2.0), the example terraform-provider-google documents for google_monitoring_uptime_check_config;
# template variables filled in: primary resource id "https", display_name "https-uptime-check", project_id "netra-staging".

resource "google_monitoring_uptime_check_config" "https" {
  display_name = "https-uptime-check"
  timeout = "60s"

  http_check {
    path = "/some-path"
    port = "443"
    use_ssl = true
    validate_ssl = true
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = "netra-staging"
      host = "192.168.1.1"
    }
  }

  content_matchers {
    content = "example"
  }
}
