//! `data "google_vpc_access_connector"`: a Serverless VPC Access connector by `name` (and
//! `project`, `region`), read as the resource type reads it.

use std::sync::Arc;

use super::{project, region, ViaImport};
use crate::providers::google::fields::string;
use crate::providers::google::{Shared, VpcAccessConnector};

pub fn data_source(shared: Arc<Shared>) -> ViaImport {
    ViaImport::new(
        shared.clone(),
        Arc::new(VpcAccessConnector::new(shared)),
        &["name"],
        &["project", "region"],
        |config, c| {
            let name = string(config, "name").unwrap_or_default();
            Ok(format!("projects/{}/locations/{}/connectors/{name}", project(config, c)?, region(config, "region", c)?))
        },
    )
}
