# Every argument and block of google_logging_project_sink except custom_writer_identity, which
# Cairn refuses at plan time (its client cannot send the customWriterIdentity parameter).

provider "google" {
  project = "corpus-project"
  region  = "us-central1"
}

resource "google_logging_project_sink" "full" {
  name                   = "corpus-sink"
  project                = "corpus-project"
  destination            = "bigquery.googleapis.com/projects/corpus-project/datasets/logs"
  filter                 = "severity>=ERROR"
  description            = "errors to BigQuery"
  disabled               = false
  unique_writer_identity = true
  deletion_policy        = "DELETE"

  bigquery_options {
    use_partitioned_tables = true
  }

  exclusions {
    name        = "no-debug"
    description = "drop debug entries"
    filter      = "severity=DEBUG"
    disabled    = false
  }
}
