resource "terraform_data" "x" {
  count    = 2
  for_each = { a = 1 }
}
