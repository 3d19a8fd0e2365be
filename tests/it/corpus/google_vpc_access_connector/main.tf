# Every argument and block of google_vpc_access_connector at least once: one connector on a
# network sized by instances, one on a Shared VPC subnet sized by throughput.

provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

resource "google_vpc_access_connector" "network" {
  name            = "corpus-network"
  project         = "cairn-test"
  region          = "us-central1"
  network         = "projects/cairn-test/global/networks/staging-vpc"
  ip_cidr_range   = "10.8.0.0/28"
  machine_type    = "e2-micro"
  min_instances   = 2
  max_instances   = 3
  deletion_policy = "DELETE"
}

resource "google_vpc_access_connector" "subnet" {
  name           = "corpus-subnet"
  machine_type   = "e2-standard-4"
  min_throughput = 200
  max_throughput = 1000

  subnet {
    name       = "serverless-subnet"
    project_id = "cairn-host"
  }
}
