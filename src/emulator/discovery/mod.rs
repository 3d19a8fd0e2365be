//! The schemas of the emulated resources, from the APIs' discovery documents: which fields a
//! request body may carry, at every depth.
//!
//! The JSON files beside this module are the discovery documents trimmed to the schemas the
//! emulator serves (and completed from the official SDK's model where a document is older than
//! the SDK); `trim.py` writes them, and its header says how. A body naming a field its schema
//! lacks is refused the way Google's JSON front end refuses it: "Invalid JSON payload received.
//! Unknown name \"x\" at 'secret.rotation': Cannot find field."

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::errors::{invalid_argument, ApiError};

/// One API's trimmed discovery document.
#[derive(Debug, serde::Deserialize)]
pub struct Discovery {
    /// The discovery file it was trimmed from, and that file's revision.
    pub discovery: String,
    pub revision: Option<String>,
    schemas: HashMap<String, Schema>,
}

#[derive(Debug, serde::Deserialize)]
struct Schema {
    /// `None`: a free-form object (`"type": "any"`), anything goes beneath it.
    #[serde(default)]
    properties: Option<HashMap<String, Property>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Property {
    #[serde(rename = "$ref")]
    reference: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    items: Option<Box<Property>>,
    #[serde(rename = "additionalProperties")]
    additional: Option<Box<Property>>,
    /// An inline object's own fields.
    properties: Option<HashMap<String, Property>>,
    #[serde(default, rename = "outputOnly")]
    output_only: bool,
}

macro_rules! documents {
    ($($api:literal),* $(,)?) => {
        /// The trimmed document of `api` (the store namespace, e.g. "secretmanager").
        ///
        /// # Panics
        /// On an API without a document, or a document that does not parse: both are build
        /// mistakes the module's tests catch.
        pub fn of(api: &str) -> &'static Discovery {
            static DOCS: OnceLock<HashMap<&'static str, Discovery>> = OnceLock::new();
            let docs = DOCS.get_or_init(|| {
                let mut docs = HashMap::new();
                $(
                    let text = include_str!(concat!($api, ".json"));
                    let doc: Discovery = serde_json::from_str(text)
                        .unwrap_or_else(|e| panic!("src/emulator/discovery/{}.json: {e}", $api));
                    docs.insert($api, doc);
                )*
                docs
            });
            docs.get(api).unwrap_or_else(|| panic!("no discovery document for {api}"))
        }
    };
}

documents!("secretmanager", "vpcaccess", "logging", "sqladmin", "compute", "run", "monitoring");

/// The proto spelling Google's errors use for a field location (`ipConfiguration` →
/// `ip_configuration`).
fn snake(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn unknown(name: &str, at: &str) -> ApiError {
    invalid_argument(format!("Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."))
}

impl Discovery {
    fn schema(&self, name: &str) -> &Schema {
        self.schemas.get(name).unwrap_or_else(|| panic!("{} has no schema {name}", self.discovery))
    }

    /// Refuses the first field of `body`, at any depth, that schema `root` does not know.
    /// `at` names the body in the error (`secret`, `resource`, `body`…).
    pub fn check_body(&self, root: &str, body: &Map<String, Value>, at: &str) -> Result<(), ApiError> {
        self.check_object(self.schema(root).properties.as_ref(), body, at)
    }

    fn check_object(
        &self,
        fields: Option<&HashMap<String, Property>>,
        body: &Map<String, Value>,
        at: &str,
    ) -> Result<(), ApiError> {
        let Some(fields) = fields else { return Ok(()) };
        for (name, value) in body {
            let property = fields.get(name).ok_or_else(|| unknown(name, at))?;
            self.check_value(property, value, &format!("{at}.{}", snake(name)))?;
        }
        Ok(())
    }

    fn check_value(&self, property: &Property, value: &Value, at: &str) -> Result<(), ApiError> {
        match value {
            Value::Object(map) => {
                if let Some(reference) = &property.reference {
                    return self.check_object(self.schema(reference).properties.as_ref(), map, at);
                }
                if let Some(inline) = &property.properties {
                    return self.check_object(Some(inline), map, at);
                }
                if let Some(values) = &property.additional {
                    for (key, item) in map {
                        self.check_value(values, item, &format!("{at}[{key}]"))?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => match &property.items {
                Some(item_property) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(item_property, item, &format!("{at}[{i}]"))?;
                    }
                    Ok(())
                }
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Whether a dotted JSON path (`rotation.nextRotationTime`) names a field of schema
    /// `root`, going through messages only (a mask cannot reach into lists or maps).
    pub fn knows_path(&self, root: &str, path: &str) -> bool {
        let mut fields = self.schema(root).properties.as_ref();
        let mut segments = path.split('.').peekable();
        while let Some(segment) = segments.next() {
            let Some(map) = fields else { return true };
            let Some(property) = map.get(segment) else { return false };
            if segments.peek().is_none() {
                return true;
            }
            fields = match (&property.reference, &property.properties) {
                (Some(reference), _) => self.schema(reference).properties.as_ref(),
                (None, Some(inline)) => Some(inline),
                (None, None) if property.kind.as_deref() == Some("any") => None,
                (None, None) => return false,
            };
        }
        true
    }

    /// Drops, at every depth, the fields of `body` that schema `root` marks output only: the
    /// real APIs ignore them in a request rather than refuse them.
    pub fn strip_output_only(&self, root: &str, body: &mut Map<String, Value>) {
        self.strip_object(self.schema(root).properties.as_ref(), body);
    }

    fn strip_object(&self, fields: Option<&HashMap<String, Property>>, body: &mut Map<String, Value>) {
        let Some(fields) = fields else { return };
        body.retain(|name, _| !fields.get(name).is_some_and(|p| p.output_only));
        for (name, value) in body.iter_mut() {
            if let Some(property) = fields.get(name) {
                self.strip_value(property, value);
            }
        }
    }

    fn strip_value(&self, property: &Property, value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = &property.reference {
                    self.strip_object(self.schema(reference).properties.as_ref(), map);
                } else if let Some(inline) = &property.properties {
                    self.strip_object(Some(inline), map);
                } else if let Some(values) = &property.additional {
                    for item in map.values_mut() {
                        self.strip_value(values, item);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_property) = &property.items {
                    for item in items {
                        self.strip_value(item_property, item);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the top-level field of schema `root` is output only.
    pub fn is_output_only(&self, root: &str, field: &str) -> bool {
        self.schema(root).properties.as_ref().and_then(|m| m.get(field)).is_some_and(|p| p.output_only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn every_document_parses_and_every_reference_resolves() {
        for api in ["secretmanager", "vpcaccess", "logging", "sqladmin", "compute", "run", "monitoring"] {
            let doc = of(api);
            for (name, schema) in &doc.schemas {
                let mut stack: Vec<&Property> = schema.properties.iter().flat_map(|m| m.values()).collect();
                while let Some(p) = stack.pop() {
                    if let Some(r) = &p.reference {
                        assert!(doc.schemas.contains_key(r), "{api}: {name} refers to missing {r}");
                    }
                    stack.extend(p.items.as_deref());
                    stack.extend(p.additional.as_deref());
                    stack.extend(p.properties.iter().flat_map(|m| m.values()));
                }
            }
        }
    }

    #[test]
    fn nested_unknown_fields_are_refused_with_their_location() {
        let doc = of("secretmanager");
        let ok = body(json!({"rotation": {"rotationPeriod": "60s"}, "labels": {"a": "b"}, "topics": [{"name": "t"}]}));
        assert!(doc.check_body("Secret", &ok, "secret").is_ok());
        let err = doc.check_body("Secret", &body(json!({"rotation": {"nextRotation": "x"}})), "secret").unwrap_err();
        assert_eq!(
            err.message,
            "Invalid JSON payload received. Unknown name \"nextRotation\" at 'secret.rotation': Cannot find field."
        );
        let err =
            doc.check_body("Secret", &body(json!({"topics": [{"name": "t"}, {"nom": "u"}]})), "secret").unwrap_err();
        assert!(err.message.contains("at 'secret.topics[1]'"), "{}", err.message);
        let compute = of("compute");
        let err = compute
            .check_body("UrlMap", &body(json!({"pathMatchers": [{"routeRules": [{"bogus": 1}]}]})), "resource")
            .unwrap_err();
        assert!(err.message.contains("at 'resource.path_matchers[0].route_rules[0]'"), "{}", err.message);
    }

    #[test]
    fn fields_newer_than_the_document_come_from_the_sdk() {
        let sql = of("sqladmin");
        let settings = json!({"settings": {"connectionPoolConfig": {"connectionPoolingEnabled": true},
            "ipConfiguration": {"pscConfig": {"pscEnabled": true, "pscAutoConnections": [{"consumerProject": "p"}]}}}});
        assert!(sql.check_body("DatabaseInstance", &body(settings), "body").is_ok());
        assert!(sql.check_body("User", &body(json!({"databaseRoles": ["r"]})), "body").is_ok());
        assert!(of("secretmanager").check_body("Secret", &body(json!({"tags": {"k": "v"}})), "secret").is_ok());
    }

    #[test]
    fn output_only_fields_are_dropped_at_every_depth() {
        let mut cert = body(json!({"name": "c", "creationTimestamp": "t",
            "managed": {"domains": ["example.com"], "status": "ACTIVE", "domainStatus": {"example.com": "ACTIVE"}}}));
        of("compute").strip_output_only("SslCertificate", &mut cert);
        assert_eq!(Value::Object(cert), json!({"name": "c", "managed": {"domains": ["example.com"]}}));
        let mut sink = body(json!({"destination": "d", "writerIdentity": "w",
            "bigqueryOptions": {"usePartitionedTables": true, "usesTimestampColumnPartitioning": true}}));
        of("logging").strip_output_only("LogSink", &mut sink);
        assert_eq!(Value::Object(sink), json!({"destination": "d", "bigqueryOptions": {"usePartitionedTables": true}}));
    }

    #[test]
    fn mask_paths_resolve_through_messages() {
        let doc = of("secretmanager");
        assert!(doc.knows_path("Secret", "rotation.nextRotationTime"));
        assert!(doc.knows_path("Secret", "labels"));
        assert!(!doc.knows_path("Secret", "rotation.bogus"));
        assert!(!doc.knows_path("Secret", "labels.env"), "no path into a map");
        assert!(doc.is_output_only("Secret", "createTime"));
        assert!(!doc.is_output_only("Secret", "labels"));
    }
}
