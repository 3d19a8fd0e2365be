//! The generated form of a magic-modules (MMv1) resource definition: what `generate.rs` keeps of
//! `products/<product>/<Resource>.yaml`, checked in as `generated.json`.
//!
//! It keeps what Cairn acts on (names, types, optionality, replace behaviour, defaults,
//! validation, cross-field rules, the API's field names, update verbs) and the names of the
//! provider's custom hooks (`custom_expand`, `diff_suppress_func`, …) so the hand-written file of
//! a type can be checked to handle each one. Documentation prose is left out.

use serde::{Deserialize, Serialize};

/// One resource type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// Terraform's type name (`google_compute_health_check`).
    pub type_name: String,
    /// The product and resource names in magic-modules (`Compute`, `HealthCheck`).
    pub product: String,
    pub resource: String,
    /// The collection URL (`projects/{{project}}/global/healthChecks`).
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub import_formats: Vec<String>,
    /// Every field without an update verb of its own forces replacement.
    #[serde(default, skip_serializing_if = "is_false")]
    pub immutable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub has_self_link: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_verb: Option<String>,
    /// Updates send an `updateMask` of the changed fields.
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_mask: bool,
    /// Minutes.
    pub timeouts: Timeouts,
    /// Body fields and URL parameters, then the provider's virtual (Terraform-only) fields.
    pub fields: Vec<Field>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    pub create: u32,
    pub update: u32,
    pub delete: u32,
}

/// The type of a field, in magic-modules' terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    String,
    Integer,
    Double,
    Boolean,
    Enum,
    /// An RFC 3339 timestamp, as a string.
    Time,
    /// A fingerprint the API uses for optimistic locking; output only.
    Fingerprint,
    /// A reference to another resource (its name or self link), as a string.
    ResourceRef,
    /// A string-to-string map.
    KeyValuePairs,
    /// `labels`: non-authoritative, with `effective_labels` and `terraform_labels` beside it.
    KeyValueLabels,
    /// `annotations`: non-authoritative, with `effective_annotations` beside it.
    KeyValueAnnotations,
    NestedObject,
    Array,
}

/// How a value is checked, when magic-modules says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    /// The whole string must match.
    Regex(String),
    /// Inclusive bounds (`validation.IntBetween`, `FloatBetween`, `IntAtLeast`).
    Range { min: Option<f64>, max: Option<f64> },
    /// A GCE resource name (`verify.ValidateGCEName`).
    GceName,
    /// A provider function Cairn implements by hand in the type's file.
    Function(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Terraform's attribute or block name.
    pub name: String,
    /// The field's JSON name in the API's resource body; `None` for URL parameters and
    /// Terraform-only (virtual) fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    pub kind: Kind,
    /// For arrays: the item's kind (`nested_object` items carry `fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Kind>,
    /// An array without order (Terraform's set).
    #[serde(default, skip_serializing_if = "is_false")]
    pub set: bool,
    /// Nested fields of an object, or of an array's object items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Output only: set by the API, never by configuration.
    #[serde(default, skip_serializing_if = "is_false")]
    pub output: bool,
    /// Changing it replaces the resource.
    #[serde(default, skip_serializing_if = "is_false")]
    pub immutable: bool,
    /// Optional, and the API fills it when unset (Terraform's Optional + Computed).
    #[serde(default, skip_serializing_if = "is_false")]
    pub default_from_api: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// The check every item of an array must pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_validation: Option<Validation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sensitive: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub write_only: bool,
    /// Read from the plan, never from the API (the API does not return it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_read: bool,
    /// Sent even when empty or zero (otherwise empty values are left out of requests).
    #[serde(default, skip_serializing_if = "is_false")]
    pub send_empty_value: bool,
    /// An object that is sent as `{}` when configured empty.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_empty_object: bool,
    /// Cross-field rules, as magic-modules writes them (`http_health_check.0.port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exactly_one_of: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_least_one_of: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_with: Vec<String>,
    /// A dedicated update call (`setSslCertificates`): the field is updatable in place even
    /// in an immutable resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_verb: Option<String>,
    /// The provider's custom hooks, by name: the type's hand-written file handles each one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_suppress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_expand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_flatten: Option<String>,
    /// Inside an object the provider flattens into its parent (`flatten_object`): the object's
    /// API name (`connectionDraining` for `connection_draining_timeout_sec`); `api` is the
    /// field's name within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flattened_from: Option<String>,
    /// Terraform-only, added by the provider (`deletion_protection`), not sent to the API.
    #[serde(default, skip_serializing_if = "is_false")]
    pub virtual_field: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Field {
    /// A field of `kind` named `name`, with nothing else set.
    pub fn new(name: impl Into<String>, kind: Kind) -> Field {
        Field {
            name: name.into(),
            api: None,
            kind,
            item: None,
            set: false,
            fields: Vec::new(),
            required: false,
            output: false,
            immutable: false,
            default_from_api: false,
            default: None,
            enum_values: Vec::new(),
            validation: None,
            item_validation: None,
            min_size: None,
            max_size: None,
            sensitive: false,
            write_only: false,
            ignore_read: false,
            send_empty_value: false,
            allow_empty_object: false,
            exactly_one_of: Vec::new(),
            at_least_one_of: Vec::new(),
            conflicts: Vec::new(),
            required_with: Vec::new(),
            update_url: None,
            update_verb: None,
            diff_suppress: None,
            custom_expand: None,
            custom_flatten: None,
            flattened_from: None,
            virtual_field: false,
        }
    }

    /// True for a field Terraform shows as a block: an object, or an array of objects.
    pub fn is_block(&self) -> bool {
        self.kind == Kind::NestedObject || (self.kind == Kind::Array && self.item == Some(Kind::NestedObject))
    }
}

/// Magic-modules' (and the provider's) conversion of a camelCase name to Terraform's
/// snake_case: `checkIntervalSec` → `check_interval_sec`, `http2HealthCheck` →
/// `http2_health_check`, `IPAddress` → `ip_address`, `enableCDN` → `enable_cdn`.
pub fn underscore(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::underscore;

    #[test]
    fn underscore_follows_the_provider() {
        for (camel, snake) in [
            ("checkIntervalSec", "check_interval_sec"),
            ("http2HealthCheck", "http2_health_check"),
            ("IPAddress", "ip_address"),
            ("enableCDN", "enable_cdn"),
            ("VPCAccess", "vpc_access"),
            ("CloudRunV2", "cloud_run_v2"),
            ("SQL", "sql"),
            ("name", "name"),
        ] {
            assert_eq!(underscore(camel), snake, "{camel}");
        }
    }
}
