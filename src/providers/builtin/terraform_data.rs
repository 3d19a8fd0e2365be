//! `terraform_data`: a value that lives in state, for `replace_triggered_by` and for carrying
//! a value through the plan/apply lifecycle (Terraform's built-in replacement for null_resource).

use async_trait::async_trait;

use super::{planned_with_prior, read_from_state};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, Schema};

pub struct TerraformData {
    schema: Schema,
}

impl TerraformData {
    pub fn new() -> Self {
        TerraformData {
            schema: Schema::new()
                .attr(
                    "input",
                    Attribute::optional(AttrType::Dynamic).describe("A value to store; copied to `output` on apply."),
                )
                .attr(
                    "output",
                    Attribute::computed(AttrType::Dynamic).describe("The value of `input` after the last apply."),
                )
                .attr(
                    "triggers_replace",
                    Attribute::optional(AttrType::Dynamic)
                        .force_new()
                        .describe("A value whose change replaces the resource."),
                )
                .attr("id", Attribute::computed(AttrType::String).describe("A random UUID assigned on create.")),
        }
    }
}

impl Default for TerraformData {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl ResourceType for TerraformData {
    fn name(&self) -> &'static str {
        "terraform_data"
    }

    /// Computed in the process: no API to wait for.
    fn expected_durations(&self) -> crate::providers::ExpectedDurations {
        crate::providers::ExpectedDurations::LOCAL
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// As Terraform does: `output` is unknown until apply whenever `input` changes (null when
    /// `input` is null, since the output always mirrors the input's type).
    fn customize_plan(&self, proposal: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        let input = proposal.planned.get("input").cloned().unwrap_or(Value::Null);
        let input_changed = proposal.prior.is_none() || proposal.changed.iter().any(|p| p.top() == Some("input"));
        if input_changed || input.is_null() || !proposal.requires_replace.is_empty() {
            let output = if input.is_null() { Value::Null } else { Value::unknown() };
            if let Some(m) = proposal.planned.map_mut() {
                m.insert("output".into(), output);
            }
        }
        Ok(Vec::new())
    }

    async fn read_many(&self, _ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        Ok(read_from_state(reqs))
    }

    async fn create(&self, _ctx: &CallContext, planned: &Value, config: &Value) -> Result<Value, ProviderError> {
        let mut obj = planned_with_prior(planned, None);
        let input = known_input(planned, config)?;
        obj.insert("output".into(), input.clone());
        obj.insert("input".into(), input);
        obj.insert("id".into(), Value::string(uuid::Uuid::new_v4().to_string()));
        Ok(Value::object(obj))
    }

    async fn update(
        &self,
        _ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        _changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let mut obj = planned_with_prior(planned, Some(prior));
        let input = known_input(planned, config)?;
        obj.insert("output".into(), input.clone());
        obj.insert("input".into(), input);
        if let Some(id) = prior.get("id") {
            obj.insert("id".into(), id.clone());
        }
        Ok(Value::object(obj))
    }

    async fn delete(&self, _ctx: &CallContext, _prior: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn import(&self, _ctx: &CallContext, _id: &str) -> Result<Value, ProviderError> {
        Err(ProviderError::new(
            "terraform_data cannot be imported: it exists only in state, so there is no remote object to read. \
             Remove the import and let apply create it.",
        ))
    }
}

/// The input as it will be stored: from the plan, or from the configuration when the plan
/// still had unknowns (the apply evaluates the configuration with everything known).
fn known_input(planned: &Value, config: &Value) -> Result<Value, ProviderError> {
    let planned_input = planned.get("input").cloned().unwrap_or(Value::Null);
    if planned_input.is_wholly_known() {
        return Ok(planned_input);
    }
    match config.get("input") {
        Some(v) if v.is_wholly_known() => Ok(v.clone()),
        _ => Err(ProviderError::new(
            "terraform_data.input is still unknown at apply time; this is a bug in Cairn's apply ordering",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{InstanceKey, ModulePath, ResourceAddr};
    use crate::schema::propose::propose;

    fn ctx() -> CallContext {
        CallContext::new(Value::Null)
    }

    fn cfg(input: Value, triggers: Value) -> Value {
        Value::map([("input", input), ("triggers_replace", triggers), ("output", Value::Null), ("id", Value::Null)])
    }

    #[tokio::test]
    async fn create_sets_uuid_and_output() {
        let t = TerraformData::new();
        let mut prop = propose(t.schema(), None, &cfg(Value::from("v1"), Value::Null), false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.planned.get("output").unwrap().is_unknown());
        assert!(prop.planned.get("id").unwrap().is_unknown());
        let state = t.create(&ctx(), &prop.planned, &prop.config).await.unwrap();
        assert_eq!(state.get("output"), Some(&Value::from("v1")));
        let id = state.get("id").and_then(Value::as_str).unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }

    #[tokio::test]
    async fn sensitive_input_stays_marked_in_output() {
        let t = TerraformData::new();
        let planned = cfg(Value::from("s").sensitive(), Value::Null);
        let state = t.create(&ctx(), &planned, &planned).await.unwrap();
        assert!(state.get("output").unwrap().is_sensitive());
    }

    #[tokio::test]
    async fn update_keeps_id_and_copies_input() {
        let t = TerraformData::new();
        let prior = Value::map([
            ("input", Value::from("v1")),
            ("output", Value::from("v1")),
            ("triggers_replace", Value::Null),
            ("id", Value::from("abc")),
        ]);
        let unchanged = {
            let mut p = propose(t.schema(), Some(&prior), &cfg(Value::from("v1"), Value::Null), false);
            t.customize_plan(&mut p).unwrap();
            p
        };
        assert_eq!(unchanged.planned, prior, "no change, no diff");

        let mut prop = propose(t.schema(), Some(&prior), &cfg(Value::from("v2"), Value::Null), false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.requires_replace.is_empty());
        assert!(prop.planned.get("output").unwrap().is_unknown());
        assert_eq!(prop.planned.get("id"), Some(&Value::from("abc")));
        let state = t.update(&ctx(), &prior, &prop.planned, &prop.config, &[AttrPath::attr("input")]).await.unwrap();
        assert_eq!(state.get("output"), Some(&Value::from("v2")));
        assert_eq!(state.get("id"), Some(&Value::from("abc")));
    }

    #[tokio::test]
    async fn changing_triggers_replace_replaces() {
        let t = TerraformData::new();
        let prior = Value::map([
            ("input", Value::Null),
            ("output", Value::Null),
            ("triggers_replace", Value::from(1)),
            ("id", Value::from("abc")),
        ]);
        let mut prop = propose(t.schema(), Some(&prior), &cfg(Value::Null, Value::from(2)), false);
        t.customize_plan(&mut prop).unwrap();
        assert_eq!(prop.requires_replace, vec![AttrPath::attr("triggers_replace")]);
        assert!(prop.planned.get("id").unwrap().is_unknown());
        assert_eq!(prop.planned.get("output"), Some(&Value::Null));
    }

    #[tokio::test]
    async fn import_is_refused_and_read_returns_prior() {
        let t = TerraformData::new();
        let err = t.import(&ctx(), "x").await.unwrap_err();
        assert!(err.message.contains("cannot be imported"), "{}", err.message);
        let prior = Value::map([("id", Value::from("abc"))]);
        let addr = ResourceAddr::managed(ModulePath::root(), "terraform_data", "x").instance(InstanceKey::None);
        let got = t.read_many(&ctx(), &[ReadRequest { addr, prior: prior.clone() }]).await.unwrap();
        assert_eq!(got, vec![Some(prior)]);
    }
}
