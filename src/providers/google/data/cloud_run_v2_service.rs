//! `data "google_cloud_run_v2_service"`: a Cloud Run service by `name` and `location` (and
//! `project`), read as the resource type reads it.

use std::sync::Arc;

use super::{project, ViaImport};
use crate::providers::google::cloud_run_v2_service::{full_name, CloudRunV2Service};
use crate::providers::google::fields::string;
use crate::providers::google::Shared;

pub fn data_source(shared: Arc<Shared>) -> ViaImport {
    ViaImport::new(
        shared.clone(),
        Arc::new(CloudRunV2Service::new(shared)),
        &["name", "location"],
        &["project"],
        |config, c| {
            let name = string(config, "name").unwrap_or_default();
            let location = string(config, "location").unwrap_or_default();
            Ok(full_name(&project(config, c)?, &location, &name))
        },
    )
}
