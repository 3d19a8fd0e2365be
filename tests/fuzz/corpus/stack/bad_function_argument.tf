locals {
  s = cidrsubnet("10.0.0.0/33", 4, 1)
}

resource "terraform_data" "x" {
  input = local.s
}
