locals {
  zones = ["a", "b"]
  third = local.zones[5]
}

resource "terraform_data" "x" {
  input = local.third
}
