# Every argument and block of google_bigquery_dataset at least once: one dataset with managed
# access entries of every member kind, one over an external catalog.

provider "google" {
  project = "corpus-project"
}

resource "google_bigquery_dataset" "full" {
  dataset_id                      = "corpus_full"
  project                         = "corpus-project"
  friendly_name                   = "Corpus"
  description                     = "every argument"
  location                        = "EU"
  default_table_expiration_ms     = 3600000
  default_partition_expiration_ms = 7200000
  max_time_travel_hours           = "96"
  is_case_insensitive             = true
  default_collation               = "und:ci"
  storage_billing_model           = "PHYSICAL"
  delete_contents_on_destroy      = true
  deletion_policy                 = "DELETE"
  resource_tags = {
    "corpus-project/environment" = "staging"
  }
  labels = {
    env = "corpus"
  }

  default_encryption_configuration {
    kms_key_name = "projects/corpus-project/locations/eu/keyRings/bq/cryptoKeys/datasets"
  }

  access {
    role          = "OWNER"
    special_group = "projectOwners"
  }
  access {
    role          = "roles/bigquery.dataEditor"
    user_by_email = "writer@corpus-project.iam.gserviceaccount.com"
  }
  access {
    role           = "READER"
    group_by_email = "analysts@example.com"
  }
  access {
    role   = "READER"
    domain = "example.com"
  }
  access {
    role       = "READER"
    iam_member = "principalSet://iam.googleapis.com/locations/global/workforcePools/staff/*"
    condition {
      title       = "until-2030"
      description = "temporary"
      expression  = "request.time < timestamp(\"2030-01-01T00:00:00Z\")"
    }
  }
  access {
    view {
      project_id = "corpus-project"
      dataset_id = "corpus_source"
      table_id   = "errors_view"
    }
  }
  access {
    dataset {
      dataset {
        project_id = "corpus-project"
        dataset_id = "corpus_source"
      }
      target_types = ["VIEWS"]
    }
  }
  access {
    routine {
      project_id = "corpus-project"
      dataset_id = "corpus_source"
      routine_id = "redact"
    }
  }
}

resource "google_bigquery_dataset" "external" {
  dataset_id = "corpus_external"
  location   = "US"

  external_dataset_reference {
    external_source = "aws-glue://arn:aws:glue:us-east-1:999999999999:database/database"
    connection      = "projects/corpus-project/locations/aws-us-east-1/connections/connection"
  }

  external_catalog_dataset_options {
    parameters = {
      dataset_owner = "corpus"
    }
    default_storage_location_uri = "gs://corpus-bucket/catalog"
  }
}
