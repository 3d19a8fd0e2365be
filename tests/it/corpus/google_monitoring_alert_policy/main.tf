provider "google" {
  project = "cairn-test"
}

resource "google_monitoring_notification_channel" "email" {
  display_name = "On-call"
  description  = "Pages the on-call engineer"
  type         = "email"
  enabled      = true
  force_delete = true
  labels = {
    email_address = "oncall@example.com"
  }
  user_labels = {
    team = "platform"
  }
}

resource "google_monitoring_alert_policy" "p" {
  display_name          = "Connector throughput"
  combiner              = "OR"
  enabled               = true
  severity              = "WARNING"
  notification_channels = [google_monitoring_notification_channel.email.name]
  user_labels = {
    team = "platform"
  }
  documentation {
    content   = "Throughput is near the connector's maximum."
    mime_type = "text/markdown"
    subject   = "connector throughput"
    links {
      display_name = "runbook"
      url          = "https://example.com/runbook"
    }
  }
  alert_strategy {
    auto_close = "1800s"
    notification_channel_strategy {
      notification_channel_names = [google_monitoring_notification_channel.email.name]
      renotify_interval          = "3600s"
    }
  }
  conditions {
    display_name = "throughput high"
    condition_threshold {
      filter                  = "resource.type = \"vpc_access_connector\" AND metric.type = \"vpcaccess.googleapis.com/connector/sent_bytes_count\""
      comparison              = "COMPARISON_GT"
      threshold_value         = 100000000
      duration                = "300s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      trigger {
        count = 1
      }
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.connector_name"]
      }
    }
  }
  conditions {
    display_name = "no data"
    condition_absent {
      filter   = "resource.type = \"vpc_access_connector\" AND metric.type = \"vpcaccess.googleapis.com/connector/sent_bytes_count\""
      duration = "600s"
      trigger {
        percent = 50
      }
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_COUNT"
      }
    }
  }
}
