variable "n" {
  type    = number
  default = 3
}
locals {
  subnets = cidrsubnets("10.0.0.0/16", 4, 4, 8)
  names   = [for i in range(var.n) : format("%-8s-%03d", "web", i)]
  m       = { for k, v in zipmap(["a", "b"], [1, 2]) : k => v * 2 }
  t       = templatefile("t.tpl", { x = 1 })
  s       = substr(join(",", local.names), 0, 5)
}
resource "terraform_data" "a" {
  count = length(local.names)
  input = "${local.names[count.index]} %{ if count.index > 0 }more%{ endif }"
}
output "o" {
  value     = setproduct(local.subnets, keys(local.m))
  sensitive = false
}
