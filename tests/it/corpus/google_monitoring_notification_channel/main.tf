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

resource "google_monitoring_notification_channel" "slack" {
  display_name = "Alerts channel"
  type         = "slack"
  labels = {
    channel_name = "#alerts"
  }
  sensitive_labels {
    auth_token = "xoxb-corpus-token-0000"
  }
}
