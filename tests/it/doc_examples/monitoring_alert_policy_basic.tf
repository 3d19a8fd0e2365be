# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/monitoring_alert_policy_basic.tf.erb
# (Apache-2.0), the example terraform-provider-google documents for google_monitoring_alert_policy;
# template variables filled in: primary resource id "alert_policy", alert_policy_display_name "My Alert Policy".

resource "google_monitoring_alert_policy" "alert_policy" {
  display_name = "My Alert Policy"
  combiner     = "OR"
  conditions {
    display_name = "test condition"
    condition_threshold {
      filter     = "metric.type=\"compute.googleapis.com/instance/disk/write_bytes_count\" AND resource.type=\"gce_instance\""
      duration   = "60s"
      comparison = "COMPARISON_GT"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_RATE"
      }
    }
  }

  user_labels = {
    foo = "bar"
  }
}
