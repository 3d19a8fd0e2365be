# Derives a short, stable suffix for resource names from the environment name.

variable "environment" {
  type = string
}

resource "random_id" "suffix" {
  byte_length = 2
  keepers = {
    environment = var.environment
  }
}

output "suffix" {
  value = random_id.suffix.hex
}
