# Staging already exists, half broken (see scenarios/broken-staging.json for what the roadmap
# found). These blocks adopt what is there, so the first apply recreates nothing that exists:
# the plan shows them as imports. database-url and jwt-secret-staging were missing, as were
# the certificate, the URL map, the HTTPS proxy and the log sinks: those are created.

import {
  to = module.vpc_connector.google_vpc_access_connector.this
  id = "projects/${var.project}/locations/${var.region}/connectors/staging-connector"
}

import {
  to = module.cloud_sql.google_sql_database_instance.this
  id = "projects/${var.project}/instances/netra-staging-db"
}

import {
  to = module.cloud_sql.google_sql_database.app
  id = "projects/${var.project}/instances/netra-staging-db/databases/netra_db"
}

import {
  to = module.cloud_sql.google_sql_user.app
  id = "${var.project}/netra-staging-db/netra_user"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["database-direct-url"]
  id = "projects/${var.project}/secrets/database-direct-url"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["redis-url"]
  id = "projects/${var.project}/secrets/redis-url"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["oauth-client-id"]
  id = "projects/${var.project}/secrets/oauth-client-id"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["oauth-client-secret"]
  id = "projects/${var.project}/secrets/oauth-client-secret"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["openai-api-key"]
  id = "projects/${var.project}/secrets/openai-api-key"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["anthropic-api-key"]
  id = "projects/${var.project}/secrets/anthropic-api-key"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["smtp-password"]
  id = "projects/${var.project}/secrets/smtp-password"
}

import {
  to = module.secret_manager.google_secret_manager_secret.this["cors-allowed-origins"]
  id = "projects/${var.project}/secrets/cors-allowed-origins"
}

import {
  to = module.load_balancer.google_compute_health_check.this["default"]
  id = "projects/${var.project}/global/healthChecks/staging-backend-health-check"
}

import {
  to = module.load_balancer.google_compute_health_check.this["auth"]
  id = "projects/${var.project}/global/healthChecks/staging-auth-health-check"
}

import {
  to = module.load_balancer.google_compute_backend_service.this["default"]
  id = "projects/${var.project}/global/backendServices/staging-backend-service"
}

import {
  to = module.load_balancer.google_compute_backend_service.this["auth"]
  id = "projects/${var.project}/global/backendServices/staging-auth-service"
}
