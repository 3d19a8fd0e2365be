# Staging, as the remediation roadmap (issue #1278) restored it: the VPC connector, the Cloud
# SQL instance with its database and user, the ten application secrets, the two Cloud Run
# services, the managed certificate, the HTTPS load balancer in front of the services and the
# monitoring sinks, one module each. `cairn check stacks/staging` is the health report the
# roadmap's infrastructure_health_check script printed: a section per module (the two Cloud Run
# service calls share a module, hence one "Cloud Run Services" section), named as the script
# names them.

terraform {
  backend "local" {
    path = "../../state/staging"
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

locals {
  # Roadmap 3.2's connection limit: the instance's flag, and what the connections alert
  # measures against.
  max_connections = 100
  connector = {
    name          = "staging-connector"
    region        = var.region
    max_instances = 10
  }
}

module "vpc_connector" {
  source        = "../../modules/vpc-connector"
  project       = var.project
  name          = local.connector.name
  region        = local.connector.region
  network       = var.network
  ip_cidr_range = "10.1.0.0/28"
  machine_type  = "e2-micro"
  # Roadmap 3.1 scales the connector from 2/10 to 3/15 instances, but the API accepts at most
  # 10 (max_throughput 1000 Mbps of e2-micro instances): `update --max-instances=15` would fail.
  # So: min 3 for the extra baseline capacity, max 10; beyond that, a larger machine_type.
  min_instances = 3
  max_instances = local.connector.max_instances
}

module "cloud_sql_instance" {
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
    max_connections   = tostring(local.max_connections)
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
  database_host = module.cloud_sql_instance.private_ip_address
  database_url  = "postgresql+asyncpg://${module.cloud_sql_instance.user_name}:${module.cloud_sql_instance.user_password}@${local.database_host}:5432/netra_db"
  direct_url    = "postgresql://${module.cloud_sql_instance.user_name}:${module.cloud_sql_instance.user_password}@${local.database_host}:5432/netra_db"

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

module "secret_manager_secrets" {
  source     = "../../modules/secrets"
  project    = var.project
  secret_ids = toset(var.required_secrets)
  values     = local.secret_values
  labels = {
    environment = "staging"
    managed_by  = "cairn"
  }
}

# The roadmap's services. Both reach the database at its private address (10.x, an RFC 1918
# range) through the connector; PRIVATE_RANGES_ONLY sends only such traffic through it, so their
# calls to public APIs (OpenAI, Anthropic, OAuth, SMTP) keep Cloud Run's own internet egress and
# need no Cloud NAT behind the connector, which ALL_TRAFFIC would. The roadmap's "600 s startup"
# fix takes effect here: serverless NEG backends cannot carry load balancer health checks, so the
# services' startup probes allow 600 s on their health paths, and requests may run 600 s.
module "netra_backend" {
  source             = "../../modules/cloud-run-service"
  project            = var.project
  name               = "netra-backend-staging"
  region             = var.region
  image              = var.backend_image
  connector          = module.vpc_connector.id
  vpc_egress         = "PRIVATE_RANGES_ONLY"
  cloud_sql_instance = module.cloud_sql_instance.connection_name
  health_path        = "/health"
  env = {
    ENVIRONMENT = "staging"
  }
  secret_env = {
    DATABASE_URL         = module.secret_manager_secrets.ids["database-url"]
    JWT_SECRET_KEY       = module.secret_manager_secrets.ids["jwt-secret-staging"]
    REDIS_URL            = module.secret_manager_secrets.ids["redis-url"]
    OPENAI_API_KEY       = module.secret_manager_secrets.ids["openai-api-key"]
    ANTHROPIC_API_KEY    = module.secret_manager_secrets.ids["anthropic-api-key"]
    CORS_ALLOWED_ORIGINS = module.secret_manager_secrets.ids["cors-allowed-origins"]
  }
}

module "auth" {
  source             = "../../modules/cloud-run-service"
  project            = var.project
  name               = "auth-staging"
  region             = var.region
  image              = var.auth_image
  connector          = module.vpc_connector.id
  vpc_egress         = "PRIVATE_RANGES_ONLY"
  cloud_sql_instance = module.cloud_sql_instance.connection_name
  health_path        = "/auth/health"
  env = {
    ENVIRONMENT = "staging"
  }
  secret_env = {
    DATABASE_URL        = module.secret_manager_secrets.ids["database-url"]
    JWT_SECRET_KEY      = module.secret_manager_secrets.ids["jwt-secret-staging"]
    OAUTH_CLIENT_ID     = module.secret_manager_secrets.ids["oauth-client-id"]
    OAUTH_CLIENT_SECRET = module.secret_manager_secrets.ids["oauth-client-secret"]
    SMTP_PASSWORD       = module.secret_manager_secrets.ids["smtp-password"]
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
  name            = "staging-lb"
  certificate_ids = [module.certificates.id]
  api_domain      = var.domains[1]
  url_map_name    = "staging-url-map"
  proxy_name      = "staging-https-proxy"
  services = {
    default = {
      backend_service_name = "staging-backend-service"
      backend_group        = module.netra_backend.neg_id
      timeout_sec          = 600
    }
    auth = {
      backend_service_name = "staging-auth-service"
      backend_group        = module.auth.neg_id
      timeout_sec          = 600
    }
  }
}

# Roadmap 5.2 and 5.3: the sinks, the dataset they write to (granted to their writers), the
# alerts on what broke staging and the uptime checks of both domains' /health.
module "monitoring" {
  source  = "../../modules/monitoring"
  project = var.project
  dataset = "infrastructure_monitoring"
  sinks = {
    "vpc-connector-monitoring" = "resource.type=\"vpc_access_connector\""
    # The roadmap writes cloud_sql_database, a resource type that does not exist: Cloud SQL logs
    # under cloudsql_database (README, "Where the stack departs from the roadmap").
    "cloud-sql-monitoring" = "resource.type=\"cloudsql_database\" AND severity>=WARNING"
  }
  alert_email     = var.alert_email
  vpc_connector   = local.connector
  sql_instance    = module.cloud_sql_instance.instance_name
  max_connections = local.max_connections
  uptime_hosts    = var.domains
}

# The module calls were renamed so that the health report's sections read as the roadmap's
# script names them; state written under the old names follows.
moved {
  from = module.cloud_sql
  to   = module.cloud_sql_instance
}

moved {
  from = module.secret_manager
  to   = module.secret_manager_secrets
}
