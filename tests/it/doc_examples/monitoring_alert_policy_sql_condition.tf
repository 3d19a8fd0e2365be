# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/monitoring_alert_policy_sql_condition.tf.tmpl
# (Apache-2.0), the example terraform-provider-google documents for google_monitoring_alert_policy;
# template variables filled in: primary resource id "alert_policy", alert_policy_display_name "My Alert Policy".

resource "google_monitoring_alert_policy" "alert_policy" {
  display_name = "My Alert Policy"
  combiner     = "OR"
  conditions {
    display_name = "minutes row count"
    condition_sql {
      query = "SELECT severity, resource FROM my_project.global._Default._AllLogs WHERE severity IS NOT NULL"
      minutes {
        periodicity = 600
      }
      row_count_test {
        comparison = "COMPARISON_GT"
        threshold  = "0"
      }
    }
  }
}
