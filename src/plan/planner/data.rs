//! Data sources in the plan walk (Terraform's `planDataSource`).
//!
//! A data instance is read during the plan, once, when every argument is known and nothing it
//! names in `depends_on` (its own, or its module calls') has changes pending; otherwise the
//! read is deferred to apply, its attributes are unknown, and the plan shows a `read` change
//! with the reason. Reads made here go to the plan's prior state (apply records them); data
//! instances never produce create or delete changes.

use super::*;
use crate::lang::refs::{expr_references, RefRoot};
use crate::providers::DataSource;
use crate::state::ResourceInstanceState;

/// One data block being planned, with what its instances share.
struct DataWalk<'r> {
    addr: &'r ResourceAddr,
    block: &'r ResourceBlock,
    ds: Arc<dyn DataSource>,
    provider: String,
    dependencies: crate::addr::Dependencies,
    /// Why the read waits for apply whatever the arguments (a depends_on with changes).
    dependency_pending: bool,
    in_target: bool,
    each: Option<Value>,
}

impl<'w> Walk<'w> {
    /// Checks a data block against its data source's schema, expands it and reads (or defers)
    /// each instance.
    pub(super) async fn data_resource(&mut self, raddr: &ResourceAddr) {
        let (config, registry) = (self.read.input.config, self.read.input.registry);
        let Some(block) = config.resource(raddr) else { return };
        let provider = config.provider_config_of(&raddr.module, block);
        if registry.data_source(&block.type_name).is_some()
            && registry.data_source_for(&block.type_name, &provider).is_none()
        {
            self.diags.push(
                Diagnostic::error(format!("Invalid provider configuration for data source {}", block.type_name))
                    .detail(format!(
                        "{raddr} would be read through provider configuration {provider}, which has no data source \"{}\".",
                        block.type_name
                    ))
                    .at_opt(block.provider_span)
                    .at(block.span),
            );
            return;
        }
        let Some(ds) = registry.data_source_for(&block.type_name, &provider) else {
            let names: Vec<&str> = registry.data_source_names().collect();
            let mut d =
                Diagnostic::error(format!("Unsupported data source \"{}\"", block.type_name)).at(block.type_span).help(
                    crate::lang::diag::suggest(&block.type_name, names.iter().copied())
                        .unwrap_or_else(|| format!("supported data sources: {}", names.join(", "))),
                );
            if registry.get(&block.type_name).is_some() {
                d = d.detail(format!(
                    "\"{}\" is a resource type; Cairn has no data source of that name.",
                    block.type_name
                ));
            }
            self.diags.push(d);
            return;
        };
        let Some((expansion, each)) = self.checked_expansion(raddr, block, ds.schema()) else { return };
        let dependencies = self.instance_dependencies(raddr);
        let d = DataWalk {
            addr: raddr,
            block,
            provider,
            dependencies,
            dependency_pending: self.depends_on_pending(raddr, block),
            in_target: self.read.targets.is_none_or(|t| t.contains(raddr)),
            each,
            ds,
        };
        let mut instances = Instances::new(expansion.clone());
        for key in expansion.keys() {
            if let Some(value) = self.data_instance(&d, &key).await {
                instances.insert(key, value);
            }
        }
        self.env.resources.insert(raddr.clone(), instances);
    }

    /// Reads one data instance now, or plans its read for apply. Returns the value references
    /// to it see (None when it could not be evaluated: the reason is in the diagnostics).
    async fn data_instance(&mut self, d: &DataWalk<'_>, key: &InstanceKey) -> Option<Value> {
        let (config, block, schema) = (self.read.input.config, d.block, d.ds.schema());
        let iaddr = d.addr.instance(key.clone());
        // `validate` reads nothing: every attribute the read would fill is unknown.
        let conf = match self.instance_config(&d.addr.module, key, d.each.as_ref(), block, schema)? {
            Ok(conf) => conf,
            Err(placeholder) => return Some(placeholder),
        };
        if !d.in_target {
            return Some(Value::unknown());
        }
        let dependencies = self.keyed_dependencies(d.addr, block, key, d.each.as_ref(), &d.dependencies);
        let deferred = if conf.contains_unknown() {
            Some(ActionReason::ReadBecauseConfigUnknown)
        } else if d.dependency_pending {
            Some(ActionReason::ReadBecauseDependencyPending)
        } else {
            None
        };
        if let Some(reason) = deferred {
            let after = placeholder(schema, &conf);
            self.actions_by_resource.entry(d.addr.clone()).or_default().push(Action::Read);
            self.changes.push(ResourceChange {
                previous_addr: None,
                addr: iaddr,
                type_name: block.type_name.clone(),
                provider: d.provider.clone(),
                action: Action::Read,
                reason: Some(reason),
                before: None,
                after: Some(after.clone()),
                changed_paths: vec![],
                replace_paths: vec![],
                importing: None,
                dependencies,
                create_before_destroy: false,
                warnings: vec![],
            });
            return Some(after);
        }
        let mut cc = call_context(self.read.input, &d.provider, block, read_purpose(self.read.opts));
        cc.root_dir = Some(config.root_dir.clone());
        match read_data_source(&*d.ds, &cc, &conf).await {
            Ok(value) => {
                let stored = data_record(&d.ds, &block.type_name, &d.provider, &value, &dependencies, self.read.input);
                self.actions_by_resource.entry(d.addr.clone()).or_default().push(Action::NoOp);
                self.data_reads.insert(iaddr, stored);
                Some(value)
            }
            Err(e) => {
                self.diags.push(data_read_error(&iaddr, &e, block));
                None
            }
        }
    }

    /// Whether anything the block's `depends_on` (or the depends_on of a module call it sits
    /// in) names has a change planned: Terraform then reads the data source only after
    /// applying those changes.
    fn depends_on_pending(&self, raddr: &ResourceAddr, block: &ResourceBlock) -> bool {
        let mut named: Vec<(ModulePath, &[crate::lang::config::Expr])> =
            vec![(raddr.module.clone(), &block.depends_on[..])];
        let mut cur = raddr.module.clone();
        while let Some((parent, name)) = cur.parent() {
            if let Some(call) = self.read.input.config.modules.get(&parent).and_then(|m| m.module_calls.get(name)) {
                named.push((parent.clone(), &call.depends_on[..]));
            }
            cur = parent;
        }
        named.iter().any(|(module, exprs)| {
            exprs.iter().flat_map(expr_references).any(|r| match &r.root {
                RefRoot::Resource { mode, type_name, name } => {
                    let a = ResourceAddr {
                        module: module.clone(),
                        mode: *mode,
                        type_name: type_name.clone(),
                        name: name.clone(),
                    };
                    self.has_changes(|x| {
                        x.module.within(&a.module) && x.type_name == a.type_name && x.name == a.name && x.mode == a.mode
                    })
                }
                RefRoot::Module(n) => {
                    let inside = module.child(n);
                    self.has_changes(|x| x.module.within(&inside))
                }
                _ => false,
            })
        })
    }

    fn has_changes(&self, which: impl Fn(&ResourceAddr) -> bool) -> bool {
        self.actions_by_resource.iter().any(|(a, actions)| which(a) && actions.iter().any(|x| *x != Action::NoOp))
    }
}

/// A read, with the sensitive marks of the arguments it was given kept on what it returns
/// (a secret passed as an argument stays a secret in state and output).
pub(crate) async fn read_data_source(
    ds: &dyn DataSource,
    cc: &CallContext,
    conf: &Value,
) -> Result<Value, crate::providers::ProviderError> {
    let mut value = ds.read(cc, conf).await?;
    if let (Some(args), Some(out)) = (conf.as_map(), value.map_mut()) {
        for (name, given) in args.iter() {
            if given.contains_sensitive() {
                if let Some(v) = out.remove(name) {
                    out.insert(name.clone(), v.sensitive());
                }
            }
        }
    }
    Ok(value)
}

/// How state keeps a data instance's result (sensitive values as fingerprints).
fn data_record(
    ds: &Arc<dyn DataSource>,
    type_name: &str,
    provider: &str,
    value: &Value,
    dependencies: &crate::addr::Dependencies,
    input: &PlanInput<'_>,
) -> ResourceInstanceState {
    data_state(ds.schema(), type_name, provider, value, dependencies, &input.fingerprint_key)
}

/// A data instance's state entry.
pub(crate) fn data_state(
    schema: &Schema,
    type_name: &str,
    provider: &str,
    value: &Value,
    dependencies: &crate::addr::Dependencies,
    key: &[u8; 32],
) -> ResourceInstanceState {
    let (attributes, sensitive_fingerprints) = codec::encode(value, schema, key);
    ResourceInstanceState {
        type_name: type_name.to_string(),
        provider: provider.to_string(),
        attributes: attributes.into(),
        sensitive_fingerprints,
        dependencies: dependencies.clone(),
        create_before_destroy: false,
        tainted: false,
        deposed: None,
    }
}

/// A failed read, located at the data block. An object that does not exist says so.
fn data_read_error(iaddr: &InstanceAddr, e: &crate::providers::ProviderError, block: &ResourceBlock) -> Diagnostic {
    let d = Diagnostic::error(format!("Cannot read {iaddr}: {}", e.message)).at(block.span);
    if e.not_found {
        d.help("a data source reads an object that must already exist; check its arguments, or manage the object here with a resource block")
    } else {
        d
    }
}

/// The data entries of the stored state.
pub(super) fn stored_data_entries(stored: &State) -> BTreeMap<InstanceAddr, ResourceInstanceState> {
    stored
        .resources
        .iter()
        .filter(|(a, _)| a.resource.mode == ResourceMode::Data)
        .map(|(a, r)| (a.clone(), r.clone()))
        .collect()
}

/// The plan's prior state: the stored data entries, replaced by this plan's reads. Entries
/// of data instances the configuration no longer has stay here (they are what is stored), and
/// the apply forgets them (`apply::stale_data_entries`); so does a destroy.
pub(super) fn with_data_reads(
    mut prior_state: State,
    stored: BTreeMap<InstanceAddr, ResourceInstanceState>,
    reads: BTreeMap<InstanceAddr, ResourceInstanceState>,
) -> State {
    prior_state.resources.extend(stored);
    prior_state.resources.extend(reads);
    prior_state
}
