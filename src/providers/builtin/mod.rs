//! Resource types that need no network: `terraform_data`, `random_id`, `random_password`.
//!
//! Their objects live only in state, so refreshing one returns what state recorded.

pub mod random_id;
pub mod random_password;
pub mod remote_state;
pub mod terraform_data;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{DataSource, Provider, ReadRequest, ResourceType};
use crate::lang::value::Value;

pub use random_id::RandomId;
pub use random_password::RandomPassword;
pub use terraform_data::TerraformData;

pub struct TerraformProvider;
pub struct RandomProvider;

#[async_trait::async_trait]
impl Provider for TerraformProvider {
    fn name(&self) -> &'static str {
        "terraform"
    }
    fn resource_types(&self) -> Vec<Arc<dyn ResourceType>> {
        vec![Arc::new(TerraformData::new())]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(remote_state::RemoteState::new())]
    }
}

#[async_trait::async_trait]
impl Provider for RandomProvider {
    fn name(&self) -> &'static str {
        "random"
    }
    fn resource_types(&self) -> Vec<Arc<dyn ResourceType>> {
        vec![Arc::new(RandomId::new()), Arc::new(RandomPassword::new())]
    }
}

/// Refresh for objects that exist only in state: the prior, unchanged.
fn read_from_state(reqs: &[ReadRequest]) -> Vec<Option<Value>> {
    reqs.iter().map(|r| Some(r.prior.clone())).collect()
}

/// The planned object as a map, with every still-unknown attribute taken from `prior` (for
/// updates that change nothing the provider computes).
fn planned_with_prior(planned: &Value, prior: Option<&Value>) -> BTreeMap<String, Value> {
    let mut obj = planned.as_map().cloned().unwrap_or_default();
    if let Some(prior) = prior {
        for (k, v) in obj.iter_mut() {
            if v.is_unknown() {
                if let Some(p) = prior.get(k) {
                    *v = p.clone();
                }
            }
        }
    }
    obj
}

/// An integer argument from the planned object, for arguments the schema already validated.
fn int_arg(obj: &BTreeMap<String, Value>, name: &str, default: i64) -> Result<i64, super::ProviderError> {
    match obj.get(name) {
        None => Ok(default),
        Some(v) if v.is_null() => Ok(default),
        Some(v) => v.as_i64().ok_or_else(|| {
            super::ProviderError::new(format!(
                "\"{name}\" must be a whole number known before apply, but it is {}",
                describe(v)
            ))
        }),
    }
}

fn describe(v: &Value) -> String {
    if v.is_unknown() {
        "not known yet".to_string()
    } else {
        format!("a {}", v.type_name())
    }
}

#[cfg(test)]
mod tests {
    use crate::providers::Registry;

    #[test]
    fn builtin_registry_knows_the_types() {
        let r = Registry::builtin();
        assert_eq!(r.provider_of("terraform_data"), Some("terraform"));
        assert_eq!(r.provider_of("random_id"), Some("random"));
        assert_eq!(r.provider_of("random_password"), Some("random"));
        assert_eq!(r.type_names().count(), 3);
        assert_eq!(r.provider_of_data_source("terraform_remote_state"), Some("terraform"));
    }
}
