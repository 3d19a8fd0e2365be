# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/
# region_network_endpoint_group_appengine_empty.tf.tmpl (Apache-2.0), an example of
# google_compute_region_network_endpoint_group's reference page, with its template variables
# filled in as the definition's resource_id_vars give them.

// App Engine Example
resource "google_compute_region_network_endpoint_group" "appengine_neg" {
  name                  = "appengine-neg"
  network_endpoint_type = "SERVERLESS"
  region                = "us-central1"
  app_engine {
  }
}
