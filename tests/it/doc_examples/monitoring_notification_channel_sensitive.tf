# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/notification_channel_sensitive.tf.tmpl
# (Apache-2.0), the example terraform-provider-google documents for google_monitoring_notification_channel;
# template variables filled in: primary resource id "default".
# The example's own `provider "google" { add_terraform_attribution_label = false }` block is
# left out: the test gives the stack its provider block (project "netra-staging"), and a
# second default google provider block is an error.

resource "google_monitoring_notification_channel" "default" {
  display_name = "Test Slack Channel"
  type         = "slack"
  labels = {
    "channel_name" = "#foobar"
  }
  sensitive_labels {
    auth_token = "one"
  }
}
