# Every top-level argument and nested block of google_secret_manager_secret at least once.

provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

resource "google_secret_manager_secret" "rotated" {
  secret_id = "corpus-rotated"
  project   = "cairn-test"

  labels = {
    team = "platform"
    env  = "staging"
  }
  annotations = {
    "owner.example.com/contact" = "platform@example.com"
  }
  version_destroy_ttl = "86400s"
  expire_time         = "2035-01-01T00:00:00Z"
  tags = {
    "tagKeys/281484271805522" = "tagValues/281479612660046"
  }
  deletion_protection = false
  deletion_policy     = "DELETE"

  replication {
    user_managed {
      replicas {
        location = "us-central1"
        customer_managed_encryption {
          kms_key_name = "projects/cairn-test/locations/us-central1/keyRings/staging/cryptoKeys/secrets"
        }
      }
      replicas {
        location = "us-east1"
      }
    }
  }

  topics {
    name = "projects/cairn-test/topics/secret-events"
  }

  rotation {
    next_rotation_time = "2030-06-01T00:00:00Z"
    rotation_period    = "2592000s"
  }
}

resource "google_secret_manager_secret_version" "first" {
  secret      = google_secret_manager_secret.rotated.id
  secret_data = "first-value"
}

resource "google_secret_manager_secret" "ttl" {
  secret_id = "corpus-ttl"
  ttl       = "31536000s"

  replication {
    auto {
      customer_managed_encryption {
        kms_key_name = "projects/cairn-test/locations/global/keyRings/staging/cryptoKeys/secrets"
      }
    }
  }
}
