//! Resource types that need no network: `terraform_data`, `random_id`, `random_password`.

use std::sync::Arc;

use super::{Provider, ResourceType};

pub struct TerraformProvider;
pub struct RandomProvider;

impl Provider for TerraformProvider {
    fn name(&self) -> &'static str {
        "terraform"
    }
    fn resource_types(&self) -> Vec<Arc<dyn ResourceType>> {
        Vec::new()
    }
}

impl Provider for RandomProvider {
    fn name(&self) -> &'static str {
        "random"
    }
    fn resource_types(&self) -> Vec<Arc<dyn ResourceType>> {
        Vec::new()
    }
}
