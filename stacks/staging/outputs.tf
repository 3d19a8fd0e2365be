output "database_connection_name" {
  value = module.cloud_sql.connection_name
}

output "secrets_without_value" {
  description = "Secrets Cairn created but whose value their owners set."
  value       = module.secret_manager.without_value
}

output "sink_writer_identities" {
  value = module.monitoring.writer_identities
}
