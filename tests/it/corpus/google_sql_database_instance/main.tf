# Every argument and block of google_sql_database_instance that an apply can carry out.
# Not here, each for a reason the schema's rules state: clone, restore_backup_context,
# point_in_time_restore_context and backupdr_backup (imperative calls Cairn refuses at plan
# time); master_instance_name and replica_configuration (they need a second, primary instance:
# see the replica below); maintenance_version (update only); root_password_wo (one of it and
# root_password).

provider "google" {
  project = "corpus-project"
  region  = "us-central1"
}

resource "google_sql_database_instance" "full" {
  name                = "corpus-full-db"
  region              = "us-central1"
  database_version    = "MYSQL_8_0"
  deletion_protection = false
  deletion_policy     = "DELETE"
  root_password       = "corpus-root-password"
  encryption_key_name = "projects/corpus-project/locations/us-central1/keyRings/r/cryptoKeys/k"
  instance_type       = "CLOUD_SQL_INSTANCE"

  switch_transaction_logs_to_cloud_storage_enabled = true
  include_replicas_for_major_version_upgrade       = false
  enforce_new_sql_network_architecture             = true
  final_backup_description                         = "taken by the corpus"

  settings {
    tier                             = "db-custom-2-7680"
    edition                          = "ENTERPRISE"
    availability_type                = "REGIONAL"
    disk_size                        = 20
    disk_type                        = "PD_SSD"
    disk_autoresize                  = true
    disk_autoresize_limit            = 100
    data_disk_provisioned_iops       = 3000
    data_disk_provisioned_throughput = 140
    activation_policy                = "ALWAYS"
    user_labels                      = { env = "corpus" }
    auto_upgrade_enabled             = true
    collation                        = "utf8mb4_general_ci"
    connector_enforcement            = "REQUIRED"
    data_api_access                  = "ALLOW_DATA_API"
    deletion_protection_enabled      = false
    enable_google_ml_integration     = true
    enable_dataplex_integration      = true
    replication_lag_max_seconds      = 600
    node_count                       = 2
    pricing_plan                     = "PER_USE"
    time_zone                        = "UTC"
    retain_backups_on_delete         = true

    ip_configuration {
      ipv4_enabled                                  = true
      private_network                               = "projects/corpus-project/global/networks/vpc"
      ssl_mode                                      = "ENCRYPTED_ONLY"
      server_ca_mode                                = "CUSTOMER_MANAGED_CAS_CA"
      server_ca_pool                                = "projects/corpus-project/locations/us-central1/caPools/pool"
      server_certificate_rotation_mode              = "AUTOMATIC_ROTATION_DURING_MAINTENANCE"
      custom_subject_alternative_names              = ["db.corpus.example"]
      allocated_ip_range                            = "google-managed-services-vpc"
      enable_private_path_for_google_cloud_services = true
      authorized_networks {
        name  = "office"
        value = "203.0.113.0/24"
      }
      psc_config {
        psc_enabled                        = true
        psc_auto_dns_enabled               = true
        psc_write_endpoint_dns_enabled     = false
        psc_auto_connection_policy_enabled = true
        allowed_consumer_projects          = ["consumer-project"]
        network_attachment_uri             = "projects/corpus-project/regions/us-central1/networkAttachments/na"
        psc_auto_connections {
          consumer_network            = "projects/consumer-project/global/networks/net"
          consumer_service_project_id = "consumer-project"
        }
      }
    }
    database_flags {
      name  = "max_connections"
      value = "200"
    }
    backup_configuration {
      enabled                        = true
      start_time                     = "03:00"
      binary_log_enabled             = true
      location                       = "us"
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = 14
        retention_unit   = "COUNT"
      }
    }
    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }
    final_backup_config {
      enabled        = true
      retention_days = 30
    }
    advanced_machine_features {
      threads_per_core = 2
    }
    active_directory_config {
      domain                       = "ad.corpus.example"
      mode                         = "CUSTOMER_MANAGED_ACTIVE_DIRECTORY"
      dns_servers                  = ["10.0.0.2"]
      admin_credential_secret_name = "projects/corpus-project/secrets/ad-admin"
      organizational_unit          = "OU=sql,DC=ad,DC=corpus,DC=example"
    }
    entraid_config {
      application_id = "corpus-app"
      tenant_id      = "corpus-tenant"
    }
    data_cache_config {
      data_cache_enabled = true
    }
    deny_maintenance_period {
      start_date = "2026-11-20"
      end_date   = "2027-1-05"
      time       = "00:00:00"
    }
    sql_server_audit_config {
      bucket             = "gs://corpus-audit"
      upload_interval    = "300s"
      retention_interval = "86400s"
    }
    read_pool_auto_scale_config {
      enabled                    = true
      min_node_count             = 1
      max_node_count             = 4
      disable_scale_in           = true
      scale_in_cooldown_seconds  = 600
      scale_out_cooldown_seconds = 300
      target_metrics {
        metric       = "AVERAGE_CPU_UTILIZATION"
        target_value = 0.5
      }
    }
    location_preference {
      zone           = "us-central1-a"
      secondary_zone = "us-central1-b"
    }
    insights_config {
      query_insights_enabled          = true
      enhanced_query_insights_enabled = true
      query_string_length             = 2048
      record_application_tags         = true
      record_client_address           = true
      query_plans_per_minute          = 10
    }
    password_validation_policy {
      min_length                  = 12
      complexity                  = "COMPLEXITY_DEFAULT"
      reuse_interval              = 3
      disallow_username_substring = true
      password_change_interval    = "3600s"
      enable_password_policy      = true
    }
    connection_pool_config {
      connection_pooling_enabled = true
      flags {
        name  = "max_client_connections"
        value = "500"
      }
    }
  }

  replication_cluster {
    failover_dr_replica_name = "corpus-project:corpus-replica-db"
  }
}

# master_instance_name and replica_configuration, on a replica of the instance above.
resource "google_sql_database_instance" "replica" {
  name                 = "corpus-replica-db"
  region               = "us-central1"
  database_version     = "MYSQL_8_0"
  deletion_protection  = false
  master_instance_name = google_sql_database_instance.full.name
  replica_names        = []

  settings {
    tier = "db-custom-2-7680"
  }

  replica_configuration {
    cascadable_replica        = false
    connect_retry_interval    = 30
    master_heartbeat_period   = 1000
    failover_target           = false
    ssl_cipher                = "ALL"
    username                  = "replicator"
    password                  = "corpus-replication-password"
    verify_server_certificate = false
  }
}
