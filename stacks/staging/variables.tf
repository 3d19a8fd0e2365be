variable "project" {
  type    = string
  default = "netra-staging"
}

variable "region" {
  type    = string
  default = "us-central1"
}

variable "network" {
  type    = string
  default = "staging-vpc"
}

variable "domains" {
  type    = list(string)
  default = ["staging.netrasystems.ai", "api-staging.netrasystems.ai"]
}

variable "required_secrets" {
  type = list(string)
  default = [
    "database-url",
    "database-direct-url",
    "jwt-secret-staging",
    "redis-url",
    "oauth-client-id",
    "oauth-client-secret",
    "openai-api-key",
    "anthropic-api-key",
    "smtp-password",
    "cors-allowed-origins",
  ]
}

# Values owned by other teams. When set (TF_VAR_redis_url=…), Cairn adds them as secret
# versions without ever storing them; when not, it leaves the secret's value to its owner.
variable "redis_url" {
  type      = string
  sensitive = true
  default   = null
}

variable "oauth_client_id" {
  type      = string
  sensitive = true
  default   = null
}

variable "oauth_client_secret" {
  type      = string
  sensitive = true
  default   = null
}

variable "openai_api_key" {
  type      = string
  sensitive = true
  default   = null
}

variable "anthropic_api_key" {
  type      = string
  sensitive = true
  default   = null
}

variable "smtp_password" {
  type      = string
  sensitive = true
  default   = null
}

# The services' images. The roadmap restores infrastructure, not code: these are whatever the
# deploy pipeline last pushed; Cairn only makes sure the services run them.
variable "backend_image" {
  type    = string
  default = "us-central1-docker.pkg.dev/netra-staging/netra/netra-backend:staging"
}

variable "auth_image" {
  type    = string
  default = "us-central1-docker.pkg.dev/netra-staging/netra/auth-service:staging"
}

# Where the alert policies send their notifications (not a secret: an address).
variable "alert_email" {
  type    = string
  default = "infrastructure-alerts@netrasystems.ai"
}
