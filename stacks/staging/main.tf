# Staging, as the remediation roadmap (issue #1278) restored it: the VPC connector, the Cloud
# SQL instance with its database and user, the ten application secrets, the managed
# certificate, the HTTPS load balancer and the monitoring sinks, one module each.
# `cairn check stacks/staging` is the health report the roadmap's infrastructure_health_check
# script printed, a section per module.

terraform {
  backend "local" {
    path = "../../state/staging"
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

module "vpc_connector" {
  source        = "../../modules/vpc-connector"
  project       = var.project
  name          = "staging-connector"
  region        = var.region
  network       = var.network
  ip_cidr_range = "10.1.0.0/28"
  machine_type  = "e2-micro"
  # Roadmap 3.1 scales the connector from 2/10 to 3/15 instances, but the API accepts at most
  # 10 (max_throughput 1000 Mbps of e2-micro instances): `update --max-instances=15` would fail.
  # So: min 3 for the extra baseline capacity, max 10; beyond that, a larger machine_type.
  min_instances = 3
  max_instances = 10
}

module "cloud_sql" {
  source           = "../../modules/cloud-sql"
  project          = var.project
  name             = "netra-staging-db"
  region           = var.region
  database_version = "POSTGRES_14"
  tier             = "db-f1-micro"
  network          = var.network
  database_name    = "netra_db"
  user_name        = "netra_user"
  # Roadmap 3.2: connection limit and the timeouts that keep queries under the 35 s budget.
  database_flags = {
    max_connections   = "100"
    statement_timeout = "35000"
    lock_timeout      = "15000"
  }
}

# `openssl rand -hex 32` in the roadmap: 256 random bits. Generated here (64 characters of
# [a-z0-9], more entropy than 32 hex bytes) and never stored by Cairn.
resource "random_password" "jwt_secret" {
  length  = 64
  special = false
  upper   = false
}

locals {
  database_host = module.cloud_sql.private_ip_address
  database_url  = "postgresql+asyncpg://${module.cloud_sql.user_name}:${module.cloud_sql.user_password}@${local.database_host}:5432/netra_db"
  direct_url    = "postgresql://${module.cloud_sql.user_name}:${module.cloud_sql.user_password}@${local.database_host}:5432/netra_db"

  # Values Cairn sets. Secrets the owners set themselves are supplied through sensitive
  # variables when known (TF_VAR_redis_url, …); otherwise Cairn only makes sure they exist.
  supplied = {
    "redis-url"           = var.redis_url
    "oauth-client-id"     = var.oauth_client_id
    "oauth-client-secret" = var.oauth_client_secret
    "openai-api-key"      = var.openai_api_key
    "anthropic-api-key"   = var.anthropic_api_key
    "smtp-password"       = var.smtp_password
  }
  secret_values = merge(
    {
      "database-url"         = local.database_url
      "database-direct-url"  = local.direct_url
      "jwt-secret-staging"   = random_password.jwt_secret.result
      "cors-allowed-origins" = jsonencode([for d in var.domains : "https://${d}"])
    },
    { for k, v in local.supplied : k => v if nonsensitive(v != null) },
  )
}

module "secret_manager" {
  source     = "../../modules/secrets"
  project    = var.project
  secret_ids = toset(var.required_secrets)
  values     = local.secret_values
  labels = {
    environment = "staging"
    managed_by  = "cairn"
  }
}

module "certificates" {
  source  = "../../modules/managed-certificate"
  project = var.project
  name    = "staging-netrasystems-ai-cert"
  domains = var.domains
}

module "load_balancer" {
  source          = "../../modules/https-lb"
  project         = var.project
  certificate_ids = [module.certificates.id]
  api_domain      = var.domains[1]
  url_map_name    = "staging-url-map"
  proxy_name      = "staging-https-proxy"
  services = {
    default = {
      backend_service_name = "staging-backend-service"
      health_check_name    = "staging-backend-health-check"
      health_check_path    = "/health"
      timeout_sec          = 600
    }
    auth = {
      backend_service_name = "staging-auth-service"
      health_check_name    = "staging-auth-health-check"
      health_check_path    = "/auth/health"
      timeout_sec          = 600
    }
  }
}

module "monitoring" {
  source  = "../../modules/monitoring"
  project = var.project
  dataset = "infrastructure_monitoring"
  sinks = {
    "vpc-connector-monitoring" = "resource.type=\"vpc_access_connector\""
    "cloud-sql-monitoring"     = "resource.type=\"cloudsql_database\" AND severity>=WARNING"
  }
}
