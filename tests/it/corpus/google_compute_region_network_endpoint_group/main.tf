# Every argument of google_compute_region_network_endpoint_group: serverless groups for each
# serverless platform, and a Private Service Connect group (network, subnetwork, psc_*).

provider "google" {
  project = "netra-staging"
  region  = "us-central1"
}

resource "google_compute_region_network_endpoint_group" "cloud_run" {
  project               = "netra-staging"
  name                  = "corpus-api-neg"
  description           = "The backend's Cloud Run service"
  region                = "us-central1"
  network_endpoint_type = "SERVERLESS"
  deletion_policy       = "DELETE"
  cloud_run {
    service = "netra-backend-staging"
    tag     = "blue"
  }
}

resource "google_compute_region_network_endpoint_group" "url_mask" {
  name   = "corpus-masked-neg"
  region = "projects/netra-staging/regions/us-central1"
  cloud_run {
    url_mask = "<service>.example.com"
  }
}

resource "google_compute_region_network_endpoint_group" "app_engine" {
  name   = "corpus-appengine-neg"
  region = "us-central1"
  app_engine {
    service  = "default"
    version  = "v1"
    url_mask = "-dot-appname.appspot.com/<version>"
  }
}

resource "google_compute_region_network_endpoint_group" "function" {
  name   = "corpus-function-neg"
  region = "us-central1"
  cloud_function {
    function = "hello"
    url_mask = "/<function>"
  }
}

resource "google_compute_region_network_endpoint_group" "psc" {
  name                  = "corpus-psc-neg"
  region                = "asia-northeast3"
  network_endpoint_type = "PRIVATE_SERVICE_CONNECT"
  psc_target_service    = "asia-northeast3-cloudkms.googleapis.com"
  network               = "default"
  subnetwork            = "projects/netra-staging/regions/asia-northeast3/subnetworks/psc-subnet"
  psc_data {
    producer_port = "88"
  }
}
