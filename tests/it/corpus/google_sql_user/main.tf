# Every argument and block of google_sql_user (password_wo and password are alternatives: the
# second user takes password).

provider "google" {
  project = "corpus-project"
  region  = "us-central1"
}

resource "google_sql_database_instance" "db" {
  name                = "corpus-users-db"
  database_version    = "MYSQL_8_0"
  deletion_protection = false
  settings {
    tier = "db-custom-2-7680"
  }
}

resource "google_sql_user" "full" {
  name                = "corpus_user"
  instance            = google_sql_database_instance.db.name
  project             = "corpus-project"
  host                = "%"
  type                = "BUILT_IN"
  password_wo         = "corpus-password"
  password_wo_version = "1"
  deletion_policy     = "DELETE"
  database_roles      = ["cloudsqlsuperuser"]
  password_policy {
    allowed_failed_attempts      = 5
    password_expiration_duration = "2592000s"
    enable_failed_attempts_check = true
    enable_password_verification = true
  }
}

resource "google_sql_user" "with_password" {
  name     = "corpus_reader"
  instance = google_sql_database_instance.db.name
  host     = "10.0.0.%"
  password = "corpus-reader-password"
}
