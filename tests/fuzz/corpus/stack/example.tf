# An example stack of built-in resources: it needs no cloud and no credentials, and shows the
# language features Cairn's Google stacks use — variables, locals, a module, for_each, count,
# outputs and a check block.

terraform {
  backend "local" {
    path = "state"
  }
}

variable "environment" {
  type        = string
  default     = "example"
  description = "Name prefix for everything this stack creates."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.environment))
    error_message = "environment must be 3-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "services" {
  type = map(object({
    replicas = number
    tier     = optional(string, "standard")
  }))
  default = {
    api  = { replicas = 2 }
    auth = { replicas = 1, tier = "critical" }
  }
}

variable "db_password_length" {
  type    = number
  default = 24
}

locals {
  prefix = "${var.environment}-${module.naming.suffix}"
  labels = {
    environment = var.environment
    managed_by  = "cairn"
  }
}

module "naming" {
  source      = "./modules/naming"
  environment = var.environment
}

resource "random_password" "db" {
  length      = var.db_password_length
  min_numeric = 2
  special     = false
}

resource "terraform_data" "service" {
  for_each = var.services

  input = {
    name     = "${local.prefix}-${each.key}"
    replicas = each.value.replicas
    tier     = each.value.tier
    labels   = merge(local.labels, { service = each.key })
  }
}

resource "random_id" "shard" {
  count       = 2
  byte_length = 4
  prefix      = "shard${count.index}-"
}

resource "terraform_data" "registry" {
  input = {
    services = sort([for s in terraform_data.service : s.output.name])
    shards   = random_id.shard[*].hex
  }
}

output "service_names" {
  value = { for k, s in terraform_data.service : k => s.output.name }
}

output "shards" {
  value = random_id.shard[*].hex
}

output "db_password" {
  value     = random_password.db.result
  sensitive = true
}

check "every_service_has_replicas" {
  assert {
    condition     = alltrue([for k, s in var.services : s.replicas > 0])
    error_message = "every service needs at least one replica"
  }
}
