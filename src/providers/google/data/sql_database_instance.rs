//! `data "google_sql_database_instance"`: a Cloud SQL instance by `name` (and `project`), read
//! as the resource type reads it.

use std::sync::Arc;

use super::{project, ViaImport};
use crate::providers::google::fields::string;
use crate::providers::google::{Shared, SqlDatabaseInstance};

pub fn data_source(shared: Arc<Shared>) -> ViaImport {
    ViaImport::new(shared.clone(), Arc::new(SqlDatabaseInstance::new(shared)), &["name"], &["project"], |config, c| {
        let name = string(config, "name").unwrap_or_default();
        Ok(format!("projects/{}/instances/{name}", project(config, c)?))
    })
}
