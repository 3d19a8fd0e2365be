# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/notification_channel_basic.tf.tmpl
# (Apache-2.0), the example terraform-provider-google documents for google_monitoring_notification_channel;
# template variables filled in: primary resource id "basic", display_name "Test Notification Channel".

resource "google_monitoring_notification_channel" "basic" {
  display_name = "Test Notification Channel"
  type         = "email"
  labels = {
    email_address = "fake_email@blahblah.com"
  }
  force_delete = false
}
