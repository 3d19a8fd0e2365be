# Staging already exists, half broken (see scenarios/broken-staging.json for what the roadmap
# found). These blocks adopt what is there, so the first apply recreates nothing that exists:
# the plan shows them as imports. database-url and jwt-secret-staging were missing, as were
# the certificate, the load balancer's front end (address, forwarding rules, HTTP redirect),
# the serverless NEGs, the log sinks with their BigQuery dataset and grants, and the alerting
# (notification channel, alert policies, uptime checks): those are created.
#
# The two health checks the roadmap tunes (staging-backend-health-check,
# staging-auth-health-check) are not adopted: the backends are serverless NEGs, and the API
# refuses health checks on a backend service with serverless NEG backends. The apply detaches
# them from the backend services; the services' startup probes do their job. Delete them when
# nothing else uses them: gcloud compute health-checks delete staging-backend-health-check
# staging-auth-health-check --project=netra-staging.

import {
  to = module.vpc_connector.google_vpc_access_connector.this
  id = "projects/${var.project}/locations/${var.region}/connectors/staging-connector"
}

import {
  to = module.cloud_sql_instance.google_sql_database_instance.this
  id = "projects/${var.project}/instances/netra-staging-db"
}

import {
  to = module.cloud_sql_instance.google_sql_database.app
  id = "projects/${var.project}/instances/netra-staging-db/databases/netra_db"
}

import {
  to = module.cloud_sql_instance.google_sql_user.app
  id = "${var.project}/netra-staging-db/netra_user"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["database-direct-url"]
  id = "projects/${var.project}/secrets/database-direct-url"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["redis-url"]
  id = "projects/${var.project}/secrets/redis-url"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["oauth-client-id"]
  id = "projects/${var.project}/secrets/oauth-client-id"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["oauth-client-secret"]
  id = "projects/${var.project}/secrets/oauth-client-secret"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["openai-api-key"]
  id = "projects/${var.project}/secrets/openai-api-key"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["anthropic-api-key"]
  id = "projects/${var.project}/secrets/anthropic-api-key"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["smtp-password"]
  id = "projects/${var.project}/secrets/smtp-password"
}

import {
  to = module.secret_manager_secrets.google_secret_manager_secret.this["cors-allowed-origins"]
  id = "projects/${var.project}/secrets/cors-allowed-origins"
}

import {
  to = module.load_balancer.google_compute_backend_service.this["default"]
  id = "projects/${var.project}/global/backendServices/staging-backend-service"
}

import {
  to = module.load_balancer.google_compute_backend_service.this["auth"]
  id = "projects/${var.project}/global/backendServices/staging-auth-service"
}

import {
  to = module.load_balancer.google_compute_url_map.this
  id = "projects/${var.project}/global/urlMaps/staging-url-map"
}

import {
  to = module.load_balancer.google_compute_target_https_proxy.this
  id = "projects/${var.project}/global/targetHttpsProxies/staging-https-proxy"
}

import {
  to = module.netra_backend.google_cloud_run_v2_service.this
  id = "projects/${var.project}/locations/${var.region}/services/netra-backend-staging"
}

import {
  to = module.auth.google_cloud_run_v2_service.this
  id = "projects/${var.project}/locations/${var.region}/services/auth-staging"
}
