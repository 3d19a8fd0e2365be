# Every argument of google_bigquery_dataset_iam_member at least once (all force a new member,
# so there is no update.tf).

provider "google" {
  project = "corpus-project"
}

resource "google_bigquery_dataset" "logs" {
  dataset_id = "corpus_logs"
}

resource "google_bigquery_dataset_iam_member" "writer" {
  project    = google_bigquery_dataset.logs.project
  dataset_id = google_bigquery_dataset.logs.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:writer@corpus-project.iam.gserviceaccount.com"
}

resource "google_bigquery_dataset_iam_member" "conditional" {
  dataset_id = google_bigquery_dataset.logs.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = "iamMember:principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/jane"
  condition {
    title       = "until-2030"
    description = "temporary access"
    expression  = "request.time < timestamp(\"2030-01-01T00:00:00Z\")"
  }
}
