//! Addresses: `module.db.google_sql_user.app["x"]`, and attribute paths like `settings[0].tier`.
//!
//! Everything that names a resource — state keys, plan changes, `--target`, `state mv`, moved and
//! import blocks — goes through these types so that one spelling means one thing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lang::config::ResourceMode;

/// One step of a module instance path: the call's name and, when the call has `count` or
/// `for_each`, the instance's key (Terraform's `ModuleInstanceStep`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleStep {
    pub name: String,
    pub key: InstanceKey,
}

/// Module instance path; empty for the root module. `module.app["x"].module.db` is
/// `[("app", "x"), ("db", None)]`. A path whose keys are all `None` is also how a module of the
/// configuration (`Config::modules`, the graph's nodes) is named, whatever its instances.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModulePath(pub Vec<ModuleStep>);

impl ModulePath {
    pub fn root() -> Self {
        ModulePath(Vec::new())
    }
    /// The configuration module of static names `names` (no instance keys).
    pub fn of_names<S: AsRef<str>>(names: &[S]) -> Self {
        ModulePath(names.iter().map(|n| ModuleStep { name: n.as_ref().to_string(), key: InstanceKey::None }).collect())
    }
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    pub fn child(&self, name: &str) -> Self {
        self.child_instance(name, InstanceKey::None)
    }
    pub fn child_instance(&self, name: &str, key: InstanceKey) -> Self {
        let mut v = self.0.clone();
        v.push(ModuleStep { name: name.to_string(), key });
        ModulePath(v)
    }
    /// The parent instance and the call's name (the last step's key is dropped).
    pub fn parent(&self) -> Option<(ModulePath, &str)> {
        let (last, rest) = self.0.split_last()?;
        Some((ModulePath(rest.to_vec()), &last.name))
    }
    /// The last step's instance key (`None` for the root module or an unexpanded call).
    pub fn last_key(&self) -> &InstanceKey {
        self.0.last().map_or(&InstanceKey::None, |s| &s.key)
    }
    /// The configuration module this instance is of: the same names without keys.
    pub fn without_keys(&self) -> ModulePath {
        ModulePath(self.0.iter().map(|s| ModuleStep { name: s.name.clone(), key: InstanceKey::None }).collect())
    }
    /// True if `self` is `other` or inside it.
    pub fn starts_with(&self, other: &ModulePath) -> bool {
        self.0.starts_with(&other.0)
    }
    /// True if this instance is `pattern` or inside it, where a step of `pattern` without a key
    /// stands for every instance of that call: how `--target module.svc` and
    /// `state rm module.svc` select all of `module.svc["a"]`, `module.svc["b"]`, ….
    pub fn within(&self, pattern: &ModulePath) -> bool {
        self.0.len() >= pattern.0.len()
            && self
                .0
                .iter()
                .zip(&pattern.0)
                .all(|(s, p)| s.name == p.name && (p.key == InstanceKey::None || s.key == p.key))
    }
}

impl fmt::Display for ModulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "module.{}{}", m.name, m.key)?;
        }
        Ok(())
    }
}

/// A resource block's address (no instance key).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
    pub module: ModulePath,
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
}

impl ResourceAddr {
    pub fn managed(module: ModulePath, type_name: &str, name: &str) -> Self {
        ResourceAddr { module, mode: ResourceMode::Managed, type_name: type_name.into(), name: name.into() }
    }
    /// Key within its module: `type.name` (or `data.type.name`).
    pub fn local_key(&self) -> String {
        match self.mode {
            ResourceMode::Managed => format!("{}.{}", self.type_name, self.name),
            ResourceMode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }
    pub fn instance(&self, key: InstanceKey) -> InstanceAddr {
        InstanceAddr { resource: self.clone(), key }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
        f.write_str(&self.local_key())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InstanceKey {
    None,
    Int(i64),
    Str(String),
}

impl InstanceKey {
    /// The value `count.index` / `each.key` has for this key.
    pub fn to_value(&self) -> crate::lang::value::Value {
        match self {
            InstanceKey::None => crate::lang::value::Value::Null,
            InstanceKey::Int(i) => (*i).into(),
            InstanceKey::Str(s) => s.as_str().into(),
        }
    }
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", serde_json::Value::String(s.clone())),
        }
    }
}

/// One resource instance: `module.db.google_sql_user.app["x"]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceAddr {
    pub resource: ResourceAddr,
    pub key: InstanceKey,
}

impl fmt::Display for InstanceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.resource, self.key)
    }
}

impl Serialize for InstanceAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for InstanceAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.parse::<AnyAddr>() {
            Ok(AnyAddr::Instance(i)) => Ok(i),
            Ok(AnyAddr::Resource(r)) => Ok(r.instance(InstanceKey::None)),
            _ => Err(serde::de::Error::custom(format!("not a resource instance address: {s}"))),
        }
    }
}

/// The instances one instance depends on. Shared, not copied: every instance of a resource
/// that reads another depends on the same list (all of that one's instances), and a plan's
/// changes, the state they are recorded in and a decoded state hold each list once (at
/// 100,000 instances reading a 10-instance `count` resource, a million addresses otherwise).
pub type Dependencies = std::sync::Arc<[InstanceAddr]>;

/// (De)serializes [`Dependencies`] as the list of addresses it always was.
pub mod shared_dependencies {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Dependencies, InstanceAddr};

    pub fn serialize<S: Serializer>(v: &Dependencies, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Dependencies, D::Error> {
        Vec::<InstanceAddr>::deserialize(d).map(Dependencies::from)
    }
}

/// What `moved`, `--target` and `state mv` accept: a module, a resource, or one instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AnyAddr {
    Module(ModulePath),
    Resource(ResourceAddr),
    Instance(InstanceAddr),
}

impl AnyAddr {
    /// Where the instance `old` (which `self` contains) goes when `self` is moved to `to`, by
    /// Terraform's rules for `moved` blocks and `state mv`: a module moves with everything in
    /// it, a resource's instances keep their keys, an instance moved to a resource becomes its
    /// only (unkeyed) instance, and a resource's unkeyed instance may become a keyed one. None
    /// when the move is not one of these.
    pub fn move_instance(&self, old: &InstanceAddr, to: &AnyAddr) -> Option<InstanceAddr> {
        match (self, to) {
            (AnyAddr::Module(from), AnyAddr::Module(to)) => {
                let module = move_module_instance(from, &old.resource.module, to)?;
                Some(InstanceAddr { resource: ResourceAddr { module, ..old.resource.clone() }, key: old.key.clone() })
            }
            (AnyAddr::Resource(from), AnyAddr::Resource(to)) => {
                Some(in_module(from, old, to).instance(old.key.clone()))
            }
            (AnyAddr::Instance(from), AnyAddr::Instance(to)) => {
                Some(in_module(&from.resource, old, &to.resource).instance(to.key.clone()))
            }
            (AnyAddr::Instance(from), AnyAddr::Resource(to)) => {
                Some(in_module(&from.resource, old, to).instance(InstanceKey::None))
            }
            (AnyAddr::Resource(from), AnyAddr::Instance(to)) if old.key == InstanceKey::None => {
                Some(in_module(from, old, &to.resource).instance(to.key.clone()))
            }
            _ => None,
        }
    }

    /// True when `inst` is this address or inside it.
    pub fn contains(&self, inst: &InstanceAddr) -> bool {
        match self {
            AnyAddr::Module(m) => inst.resource.module.within(m),
            AnyAddr::Resource(r) => {
                inst.resource.module.within(&r.module)
                    && inst.resource.module.0.len() == r.module.0.len()
                    && same_resource(&inst.resource, r)
            }
            AnyAddr::Instance(i) => {
                inst.resource.module.within(&i.resource.module)
                    && inst.resource.module.0.len() == i.resource.module.0.len()
                    && same_resource(&inst.resource, &i.resource)
                    && inst.key == i.key
            }
        }
    }
    /// The same address seen from inside module `within` (for moved blocks in child modules).
    pub fn prefixed(&self, within: &ModulePath) -> AnyAddr {
        let join = |m: &ModulePath| ModulePath(within.0.iter().chain(m.0.iter()).cloned().collect());
        match self {
            AnyAddr::Module(m) => AnyAddr::Module(join(m)),
            AnyAddr::Resource(r) => AnyAddr::Resource(ResourceAddr { module: join(&r.module), ..r.clone() }),
            AnyAddr::Instance(i) => AnyAddr::Instance(InstanceAddr {
                resource: ResourceAddr { module: join(&i.resource.module), ..i.resource.clone() },
                key: i.key.clone(),
            }),
        }
    }
}

/// `to` as the destination of `old` (matched by `from`): a move between two resources of the
/// same module pattern (a `moved` block inside a module called with `count`/`for_each`, which
/// applies to each of its instances) keeps the instance's module keys; any other names its
/// module exactly.
fn in_module(from: &ResourceAddr, old: &InstanceAddr, to: &ResourceAddr) -> ResourceAddr {
    let module = if from.module == to.module { old.resource.module.clone() } else { to.module.clone() };
    ResourceAddr { module, ..to.clone() }
}

fn same_resource(a: &ResourceAddr, b: &ResourceAddr) -> bool {
    a.mode == b.mode && a.type_name == b.type_name && a.name == b.name
}

/// Where module instance `old` (inside `from`) goes when `from` is moved to `to`. The rules of
/// a resource's instances apply to the moved call's own step: unkeyed to unkeyed keeps the
/// instance's key (every instance of `module.a` becomes the same instance of `module.b`),
/// keyed to anything moves that one instance, and unkeyed to keyed moves only the unkeyed
/// instance. Steps above the moved call must match exactly.
fn move_module_instance(from: &ModulePath, old: &ModulePath, to: &ModulePath) -> Option<ModulePath> {
    let (from_last, from_parent) = from.0.split_last()?;
    let (to_last, to_parent) = to.0.split_last()?;
    if old.0.len() < from.0.len() || old.0[..from_parent.len()] != *from_parent {
        return None;
    }
    let step = &old.0[from_parent.len()];
    if step.name != from_last.name {
        return None;
    }
    let key = match (&from_last.key, &to_last.key) {
        (InstanceKey::None, InstanceKey::None) => step.key.clone(),
        (InstanceKey::None, k) if step.key == InstanceKey::None => k.clone(),
        (InstanceKey::None, _) => return None,
        (k, to_key) if *k == step.key => to_key.clone(),
        _ => return None,
    };
    let mut out = to_parent.to_vec();
    out.push(ModuleStep { name: to_last.name.clone(), key });
    out.extend(old.0[from.0.len()..].iter().cloned());
    Some(ModulePath(out))
}

impl fmt::Display for AnyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyAddr::Module(m) => write!(f, "{m}"),
            AnyAddr::Resource(r) => write!(f, "{r}"),
            AnyAddr::Instance(i) => write!(f, "{i}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {reason}")]
pub struct AddrParseError {
    pub input: String,
    pub reason: String,
}

impl std::str::FromStr for AnyAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| AddrParseError { input: input.to_string(), reason: reason.to_string() };
        let mut rest = input.trim();
        let mut modules = Vec::new();
        while let Some(r) = rest.strip_prefix("module.") {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return Err(err("empty module name"));
            }
            rest = &r[end..];
            let mut key = InstanceKey::None;
            if rest.starts_with('[') {
                let close = rest.find(']').ok_or_else(|| err("an instance key is written [0] or [\"key\"]"))?;
                key = parse_key(&rest[1..close]).map_err(&err)?;
                rest = &rest[close + 1..];
            }
            modules.push(ModuleStep { name: name.to_string(), key });
            if rest.is_empty() {
                return Ok(AnyAddr::Module(ModulePath(modules)));
            }
            rest = rest.strip_prefix('.').ok_or_else(|| err("expected '.' after a module instance"))?;
        }
        let module = ModulePath(modules);
        let (mode, rest) = match rest.strip_prefix("data.") {
            Some(r) => (ResourceMode::Data, r),
            None => (ResourceMode::Managed, rest),
        };
        let dot = rest.find('.').ok_or_else(|| err("expected TYPE.NAME"))?;
        let type_name = &rest[..dot];
        let after = &rest[dot + 1..];
        let name_end = after.find('[').unwrap_or(after.len());
        let name = &after[..name_end];
        let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid(type_name) || !valid(name) {
            return Err(err("expected TYPE.NAME made of letters, digits, '_' and '-'"));
        }
        let resource = ResourceAddr { module, mode, type_name: type_name.into(), name: name.into() };
        let key_part = &after[name_end..];
        if key_part.is_empty() {
            return Ok(AnyAddr::Resource(resource));
        }
        let inner = key_part
            .strip_prefix('[')
            .and_then(|k| k.strip_suffix(']'))
            .ok_or_else(|| err("an instance key is written [0] or [\"key\"]"))?;
        let key = parse_key(inner).map_err(err)?;
        Ok(AnyAddr::Instance(InstanceAddr { resource, key }))
    }
}

/// A provider configuration: `google` (the default one) or `google.other` (`alias = "other"`).
///
/// Configurations are declared only in the root module (a child module receives them through
/// its call's `providers` argument or inherits the defaults), so this short form names one
/// configuration of the whole stack. It is the key of plan changes, state entries and the
/// evaluated provider blocks; state stores Terraform's long form ([`Self::to_terraform`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderConfigAddr {
    /// The provider's local name (`google`).
    pub provider: String,
    pub alias: Option<String>,
}

impl ProviderConfigAddr {
    pub fn default_for(provider: impl Into<String>) -> Self {
        ProviderConfigAddr { provider: provider.into(), alias: None }
    }

    /// `google` or `google.other`.
    pub fn parse(key: &str) -> Self {
        match key.split_once('.') {
            Some((p, a)) => ProviderConfigAddr { provider: p.to_string(), alias: Some(a.to_string()) },
            None => ProviderConfigAddr::default_for(key),
        }
    }

    /// Terraform's provider source address: `registry.terraform.io/hashicorp/google`;
    /// `terraform_data` belongs to the built-in provider.
    pub fn source_address(&self) -> String {
        match self.provider.as_str() {
            "terraform" => "terraform.io/builtin/terraform".to_string(),
            p => format!("registry.terraform.io/hashicorp/{p}"),
        }
    }

    /// Terraform's absolute configuration address, as its state records it:
    /// `provider["registry.terraform.io/hashicorp/google"].other`.
    pub fn to_terraform(&self) -> String {
        let base = format!("provider[\"{}\"]", self.source_address());
        match &self.alias {
            Some(a) => format!("{base}.{a}"),
            None => base,
        }
    }

    /// Reads [`Self::to_terraform`]'s form, or the short one (`google`) that states written
    /// before configurations were recorded hold: those mean the default configuration.
    pub fn from_recorded(s: &str) -> Option<Self> {
        let Some(rest) = s.strip_prefix("provider[\"") else {
            return (!s.is_empty() && !s.contains(['[', '"'])).then(|| ProviderConfigAddr::parse(s));
        };
        let (source, tail) = rest.split_once("\"]")?;
        let provider = source.rsplit('/').next().filter(|p| !p.is_empty())?.to_string();
        let alias = match tail {
            "" => None,
            t => Some(t.strip_prefix('.').filter(|a| !a.is_empty() && !a.contains('.'))?.to_string()),
        };
        Some(ProviderConfigAddr { provider, alias })
    }
}

impl fmt::Display for ProviderConfigAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.alias {
            Some(a) => write!(f, "{}.{a}", self.provider),
            None => f.write_str(&self.provider),
        }
    }
}

/// Serde for a state entry's provider configuration: written as Terraform's long form, read
/// in either form.
pub mod recorded_provider {
    use super::ProviderConfigAddr;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ProviderConfigAddr::parse(key).to_terraform())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let s = String::deserialize(d)?;
        ProviderConfigAddr::from_recorded(&s)
            .map(|a| a.to_string())
            .ok_or_else(|| serde::de::Error::custom(format!("\"{s}\" is not a provider configuration address")))
    }
}

/// The inside of `[0]` or `["key"]`.
fn parse_key(inner: &str) -> Result<InstanceKey, &'static str> {
    if inner.starts_with('"') {
        Ok(InstanceKey::Str(serde_json::from_str::<String>(inner).map_err(|_| "bad string key")?))
    } else {
        Ok(InstanceKey::Int(inner.parse().map_err(|_| "an index must be an integer or a quoted string")?))
    }
}

/// One step of an attribute path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathStep {
    Attr(String),
    Index(i64),
}

/// A path into a resource's attributes: `settings[0].ip_configuration[0].private_network`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AttrPath(pub Vec<PathStep>);

impl AttrPath {
    pub fn root() -> Self {
        AttrPath(Vec::new())
    }
    pub fn attr(name: &str) -> Self {
        AttrPath(vec![PathStep::Attr(name.to_string())])
    }
    pub fn join_attr(&self, name: &str) -> Self {
        let mut v = self.0.clone();
        v.push(PathStep::Attr(name.to_string()));
        AttrPath(v)
    }
    pub fn join_index(&self, i: i64) -> Self {
        let mut v = self.0.clone();
        v.push(PathStep::Index(i));
        AttrPath(v)
    }
    pub fn starts_with(&self, other: &AttrPath) -> bool {
        self.0.starts_with(&other.0)
    }
    /// The first step's name (the top-level attribute).
    pub fn top(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathStep::Attr(a)) => Some(a),
            _ => None,
        }
    }
    /// Parses `a.b[0]["k"]`.
    pub fn parse(s: &str) -> Option<AttrPath> {
        let mut steps = Vec::new();
        let mut rest = s.trim();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']')?;
                let inner = &r[..end];
                if inner.starts_with('"') {
                    steps.push(PathStep::Attr(serde_json::from_str(inner).ok()?));
                } else {
                    steps.push(PathStep::Index(inner.parse().ok()?));
                }
                rest = &r[end + 1..];
            } else {
                let r = rest.strip_prefix('.').unwrap_or(rest);
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return None;
                }
                steps.push(PathStep::Attr(r[..end].to_string()));
                rest = &r[end..];
            }
        }
        Some(AttrPath(steps))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(a) if i == 0 => write!(f, "{a}")?,
                PathStep::Attr(a) => write!(f, ".{a}")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for s in [
            "module.db.google_sql_user.app[\"x\"]",
            "random_id.x[3]",
            "module.a.module.b",
            "module.svc[\"auth\"].google_x.y[0]",
            "module.a[1].module.b",
            "module.a[\"k\"]",
            "terraform_data.x",
            "data.x.y",
        ] {
            let a: AnyAddr = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn bad_addresses_are_rejected() {
        for s in ["", "x", "module.", "a.b[", "a.b[x]", "module.a[x]", "module.a[0", "module.a[0]x.y"] {
            assert!(s.parse::<AnyAddr>().is_err(), "{s}");
        }
    }

    #[test]
    fn moves_follow_terraforms_rules() {
        let a = |s: &str| s.parse::<AnyAddr>().unwrap();
        let inst = |s: &str| match a(s) {
            AnyAddr::Instance(i) => i,
            AnyAddr::Resource(r) => r.instance(InstanceKey::None),
            AnyAddr::Module(_) => panic!("{s} is a module"),
        };
        let moved = |from: &str, old: &str, to: &str| a(from).move_instance(&inst(old), &a(to)).map(|i| i.to_string());
        assert_eq!(moved("module.a", "module.a.module.b.x.y[1]", "module.c"), Some("module.c.module.b.x.y[1]".into()));
        assert_eq!(moved("x.old", "x.old[\"k\"]", "x.new"), Some("x.new[\"k\"]".into()));
        assert_eq!(moved("x.old[0]", "x.old[0]", "x.new"), Some("x.new".into()), "count removed");
        assert_eq!(moved("x.old", "x.old", "x.new[0]"), Some("x.new[0]".into()), "count added");
        assert_eq!(moved("x.old", "x.old[2]", "x.new[0]"), None, "many instances cannot become one");
        assert_eq!(moved("module.a", "module.a.x.y", "x.z"), None);
        assert_eq!(moved("module.a", "module.a.x.y", "module.b[\"x\"]"), Some("module.b[\"x\"].x.y".into()));
        assert_eq!(
            moved("module.a", "module.a[\"k\"].x.y", "module.b"),
            Some("module.b[\"k\"].x.y".into()),
            "each instance keeps its key"
        );
        assert_eq!(
            moved("module.a", "module.a[\"k\"].x.y", "module.b[\"x\"]"),
            None,
            "many instances cannot become one"
        );
        assert_eq!(
            moved("module.a[1]", "module.a[1].module.c.x.y", "module.a[2]"),
            Some("module.a[2].module.c.x.y".into())
        );
        assert_eq!(moved("module.a[1]", "module.a[0].x.y", "module.a[2]"), None);
        assert_eq!(moved("module.a[\"k\"]", "module.a[\"k\"].x.y", "module.b"), Some("module.b.x.y".into()));
        assert_eq!(
            moved("module.a.x.old", "module.a[3].x.old", "module.a.x.new"),
            Some("module.a[3].x.new".into()),
            "a moved block inside an expanded module"
        );
        assert_eq!(
            moved("module.a[1].x.old", "module.a[1].x.old", "module.a[2].x.old"),
            Some("module.a[2].x.old".into())
        );
    }

    #[test]
    fn a_module_call_without_a_key_contains_all_its_instances() {
        let a = |s: &str| s.parse::<AnyAddr>().unwrap();
        let inst = |s: &str| match a(s) {
            AnyAddr::Instance(i) => i,
            AnyAddr::Resource(r) => r.instance(InstanceKey::None),
            AnyAddr::Module(_) => panic!("{s} is a module"),
        };
        assert!(a("module.svc").contains(&inst("module.svc[\"auth\"].x.y[0]")));
        assert!(a("module.svc[\"auth\"]").contains(&inst("module.svc[\"auth\"].module.n[2].x.y")));
        assert!(!a("module.svc[\"auth\"]").contains(&inst("module.svc[\"web\"].x.y")));
        assert!(a("module.svc[\"auth\"].x.y").contains(&inst("module.svc[\"auth\"].x.y[1]")));
        assert!(!a("module.svc.x.y").contains(&inst("module.svc[\"auth\"].module.z.x.y")));
    }

    #[test]
    fn provider_configurations_round_trip_through_terraforms_form() {
        let other = ProviderConfigAddr::parse("google.other");
        assert_eq!(other.to_terraform(), "provider[\"registry.terraform.io/hashicorp/google\"].other");
        assert_eq!(ProviderConfigAddr::from_recorded(&other.to_terraform()), Some(other));
        let data = ProviderConfigAddr::default_for("terraform");
        assert_eq!(data.to_terraform(), "provider[\"terraform.io/builtin/terraform\"]");
        assert_eq!(ProviderConfigAddr::from_recorded(&data.to_terraform()), Some(data));
        // A state written before configurations were recorded: the default one.
        assert_eq!(ProviderConfigAddr::from_recorded("google"), Some(ProviderConfigAddr::default_for("google")));
        assert_eq!(ProviderConfigAddr::from_recorded("provider[\"x\"].a.b"), None);
        assert_eq!(ProviderConfigAddr::from_recorded(""), None);
    }

    #[test]
    fn attr_paths_parse() {
        let p = AttrPath::parse("settings[0].tier").unwrap();
        assert_eq!(p.to_string(), "settings[0].tier");
    }
}
