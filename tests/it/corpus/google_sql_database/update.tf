# main.tf one step later: a collation changed in place.

provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

resource "google_sql_database_instance" "mysql" {
  name                = "corpus-mysql"
  database_version    = "MYSQL_8_0"
  region              = "us-central1"
  deletion_protection = false

  settings {
    tier = "db-f1-micro"
  }
}

resource "google_sql_database_instance" "postgres" {
  name                = "corpus-postgres"
  database_version    = "POSTGRES_14"
  region              = "us-central1"
  deletion_protection = false

  settings {
    tier = "db-f1-micro"
  }
}

resource "google_sql_database" "orders" {
  name            = "orders"
  instance        = google_sql_database_instance.mysql.name
  project         = "cairn-test"
  charset         = "utf8mb4"
  collation       = "utf8mb4_0900_ai_ci"
  deletion_policy = "DELETE"
}

resource "google_sql_database" "netra" {
  name            = "netra_db"
  instance        = google_sql_database_instance.postgres.name
  charset         = "UTF8"
  collation       = "en_US.UTF8"
  deletion_policy = "ABANDON"
}
