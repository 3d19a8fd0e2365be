# A Serverless VPC Access connector, and the checks that say it is healthy: READY, with the
# capacity it was given (roadmap section 3.1).

variable "project" {
  type = string
}

variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "network" {
  type        = string
  description = "Short name of the VPC network (e.g. staging-vpc)."
}

variable "ip_cidr_range" {
  type        = string
  description = "An unused /28 in the network."
}

variable "machine_type" {
  type    = string
  default = "e2-micro"
}

variable "min_instances" {
  type = number
}

variable "max_instances" {
  type = number
}

resource "google_vpc_access_connector" "this" {
  project       = var.project
  name          = var.name
  region        = var.region
  network       = var.network
  ip_cidr_range = var.ip_cidr_range
  machine_type  = var.machine_type
  min_instances = var.min_instances
  max_instances = var.max_instances
}

output "id" {
  value = google_vpc_access_connector.this.id
}

output "name" {
  value = google_vpc_access_connector.this.name
}

check "connector_ready" {
  assert {
    condition     = try(google_vpc_access_connector.this.state, "MISSING") == "READY"
    error_message = "VPC connector state is '${try(google_vpc_access_connector.this.state, "MISSING")}', expected 'READY'"
  }
}

check "connector_capacity" {
  assert {
    condition     = try(google_vpc_access_connector.this.min_instances == var.min_instances && google_vpc_access_connector.this.max_instances == var.max_instances, false)
    error_message = "VPC connector capacity is ${try("${google_vpc_access_connector.this.min_instances}-${google_vpc_access_connector.this.max_instances}", "unknown")} instances, expected ${var.min_instances}-${var.max_instances}"
  }
}
