# From GoogleCloudPlatform/magic-modules, mmv1/templates/terraform/examples/
# bigquery_dataset_external_reference_aws.tf.tmpl (Apache-2.0), an example of
# google_bigquery_dataset's reference page, with its template variables filled in as the
# definition's resource_id_vars give them (mmv1/products/bigquery/Dataset.yaml). The page's
# other examples use types Cairn does not support (google_service_account, google_kms_*,
# google_bigquery_routine, google_tags_*) or the google-beta provider.

resource "google_bigquery_dataset" "dataset" {
  dataset_id                  = "example_dataset"
  friendly_name               = "test"
  description                 = "This is a test description"
  location                    = "aws-us-east-1"

  external_dataset_reference {
    external_source = "aws-glue://arn:aws:glue:us-east-1:999999999999:database/database"
    connection      = "projects/project/locations/aws-us-east-1/connections/connection"
  }
}
