output "database_connection_name" {
  value = module.cloud_sql_instance.connection_name
}

output "secrets_without_value" {
  description = "Secrets Cairn created but whose value their owners set."
  value       = module.secret_manager_secrets.without_value
}

output "sink_writer_identities" {
  value = module.monitoring.writer_identities
}

output "lb_ip_address" {
  description = "Point the domains' DNS A records here: the managed certificate provisions once they resolve to the load balancer."
  value       = module.load_balancer.ip_address
}

output "service_uris" {
  value = {
    (module.netra_backend.name) = module.netra_backend.uri
    (module.auth.name)          = module.auth.uri
  }
}
