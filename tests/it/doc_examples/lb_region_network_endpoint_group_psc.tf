# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/
# region_network_endpoint_group_psc.tf.tmpl (Apache-2.0), an example of
# google_compute_region_network_endpoint_group's reference page, with its template variables
# filled in as the definition's resource_id_vars give them.

resource "google_compute_region_network_endpoint_group" "psc_neg" {
  name                  = "psc-neg"
  region                = "asia-northeast3"

  network_endpoint_type = "PRIVATE_SERVICE_CONNECT"
  psc_target_service    = "asia-northeast3-cloudkms.googleapis.com"
}
