# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/monitoring_alert_policy_promql_condition.tf.tmpl
# (Apache-2.0), the example terraform-provider-google documents for google_monitoring_alert_policy;
# template variables filled in: primary resource id "alert_policy", alert_policy_display_name "My Alert Policy".

resource "google_monitoring_alert_policy" "alert_policy" {
  display_name = "My Alert Policy"
  combiner     = "OR"
  conditions {
    display_name = "test condition"
    condition_prometheus_query_language {
      query      = "compute_googleapis_com:instance_cpu_usage_time > 0"
      duration   = "60s"
      evaluation_interval = "60s"
      alert_rule  = "AlwaysOn"
      rule_group  = "a test"
    }
  }

  alert_strategy {
    auto_close  = "1800s"
  }
}
