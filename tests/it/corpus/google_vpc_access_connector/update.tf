# main.tf one step later: the network connector grows in place.

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
  machine_type    = "f1-micro"
  min_instances   = 2
  max_instances   = 5
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
