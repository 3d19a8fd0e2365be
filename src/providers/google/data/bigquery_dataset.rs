//! `data "google_bigquery_dataset"`: a BigQuery dataset by `dataset_id` (and `project`), read
//! as the resource type reads it.

use std::sync::Arc;

use super::{project, ViaImport};
use crate::providers::google::bigquery_dataset::BigqueryDataset;
use crate::providers::google::fields::string;
use crate::providers::google::Shared;

pub fn data_source(shared: Arc<Shared>) -> ViaImport {
    ViaImport::new(
        shared.clone(),
        Arc::new(BigqueryDataset::new(shared)),
        &["dataset_id"],
        &["project"],
        |config, c| {
            let dataset = string(config, "dataset_id").unwrap_or_default();
            Ok(format!("projects/{}/datasets/{dataset}", project(config, c)?))
        },
    )
}
