//! Saved plans (`cairn plan -out FILE`): everything needed to check, show and apply a plan
//! later — and no secret. Sensitive values are written as positions only (see
//! [`WireValue`]); sensitive variables are named, and must be supplied again at apply.
//!
//! `apply PLANFILE` re-plans from the variables and prior state the file holds, so whoever can
//! edit the file could steer the apply. The file is therefore signed: an HMAC-SHA256 over the
//! whole file (all of it but the signature field, which comes last), keyed by a sub-key of the
//! state's secret key ([`PlanKey`]). Only the state's holders can make a file that verifies,
//! and a plan made for another state does not verify against this one.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::addr::{AttrPath, InstanceAddr};
use crate::lang::value::Value;
use crate::plan::model::*;
use crate::state::{CheckResult, State};

pub const PLAN_FORMAT: &str = "cairn-plan";
/// 3: records the plan's time (`plantimestamp()`). 2: signed, and records the stored state's
/// digest. Format 1 files were unsigned.
pub const PLAN_FORMAT_VERSION: u32 = 3;
/// The first format whose files are signed, and so the oldest `apply PLANFILE` accepts.
pub const FIRST_SIGNED_FORMAT_VERSION: u32 = 2;

type HmacSha256 = Hmac<Sha256>;

/// The signature is the file's last field, written exactly so: the signed text is the file
/// with this field cut out, so no re-serialisation (and its float or key-order hazards) is
/// involved in checking it.
const SIGNATURE_OPEN: &str = ",\n  \"signature\": \"hmac-sha256:";
const SIGNATURE_CLOSE: &str = "\"\n}\n";
/// Hex digits of an HMAC-SHA256.
const SIGNATURE_HEX_LEN: usize = 64;

/// The key plan files are signed with. Derived from the state's secret key for this one
/// purpose (HMAC of a fixed label), so that the fingerprint key is never used raw on
/// attacker-chosen text, and a signature says nothing about fingerprints.
pub struct PlanKey([u8; 32]);

impl PlanKey {
    pub fn derive(state_secret: &[u8; 32]) -> PlanKey {
        let mut mac = hmac_with(state_secret);
        mac.update(b"cairn plan-file signing key v1");
        PlanKey(mac.finalize().into_bytes().into())
    }

    /// A public check value naming this key (HMAC of a constant, as `KeyRecord::check`): a plan
    /// file records it, so that a signature that fails because the state's fingerprint key was
    /// replaced (`cairn state rekey`) is told apart from an edited file. It says nothing about
    /// the key.
    pub fn check(&self) -> String {
        let mut mac = hmac_with(&self.0);
        mac.update(b"cairn plan-file key check v1");
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    fn mac(&self, text: &str) -> HmacSha256 {
        let mut mac = hmac_with(&self.0);
        mac.update(text.as_bytes());
        mac
    }
}

fn hmac_with(key: &[u8; 32]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// "sha256:<hex>" of the stored state's canonical JSON (`None`: no state yet). A saved plan
/// records it so that a state edited without a serial bump is still seen as moved.
pub fn state_digest(state: Option<&State>) -> String {
    let mut text = String::new();
    match state.map(serde_json::to_value) {
        None => text.push_str("no state"),
        Some(Ok(json)) => crate::state::codec::write_canonical(&json, &mut text),
        // A state that does not serialise cannot match anything a plan recorded.
        Some(Err(e)) => text = format!("unserialisable state: {e}"),
    }
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

#[derive(Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub format_version: u32,
    pub cairn_version: String,
    pub mode: PlanMode,
    pub lineage: String,
    pub serial: u64,
    pub config_hash: String,
    pub variables: BTreeMap<String, serde_json::Value>,
    pub sensitive_variables: Vec<String>,
    pub targets: Vec<String>,
    pub replace: Vec<String>,
    pub refresh: bool,
    pub changes: Vec<ChangeRecord>,
    pub drift: Vec<DriftRecord>,
    pub output_changes: Vec<OutputRecord>,
    pub checks: Vec<CheckResult>,
    pub prior_state: State,
    pub warnings: Vec<String>,
    /// The stack directory as given to `cairn plan` (`stacks/staging`): names the plan in a
    /// pull-request comment's marker. Absent in plans written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// [`state_digest`] of the stored state the plan was made from (before refresh). Empty
    /// only in format 1 files, which are read for display alone.
    #[serde(default)]
    pub state_digest: String,
    /// When the plan was made (RFC 3339, UTC, whole seconds): what `plantimestamp()` returned,
    /// and returns again when `apply PLANFILE` plans again. Covered by the signature like
    /// every other field. Absent in format 2 files, made by a Cairn without `plantimestamp()`,
    /// so no value in them can depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// [`PlanKey::check`] of the key that signed the file. Only words a refusal: a file
    /// whose signature fails is never trusted, whatever this says. Absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_check: Option<String>,
    /// The workspace the plan was made in; `apply` refuses it in another, as Terraform does
    /// (`errWrongWorkspaceForPlan`). Absent in plans written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// A change as a saved plan holds it.
pub type ChangeRecord = ChangeOf<WireValue>;

#[derive(Serialize, Deserialize)]
pub struct DriftRecord {
    pub addr: InstanceAddr,
    pub type_name: String,
    pub provider: String,
    pub action: Action,
    pub before: WireValue,
    pub after: Option<WireValue>,
    pub changed_paths: Vec<AttrPath>,
}

#[derive(Serialize, Deserialize)]
pub struct OutputRecord {
    pub name: String,
    pub action: Action,
    pub before: Option<WireValue>,
    pub after: Option<WireValue>,
    pub sensitive: bool,
}

fn wire(v: &Option<Value>, fp: &dyn Fn(&Value) -> String) -> Option<WireValue> {
    v.as_ref().map(|v| WireValue::fingerprinted(v, fp))
}

fn unwire(v: &Option<WireValue>) -> Option<Value> {
    v.as_ref().map(WireValue::to_value)
}

impl PlanFile {
    /// The plan as saved. Its secrets are fingerprinted with the state's own fingerprint
    /// key, as the state fingerprints them (see [`WireValue::fingerprinted`]): a secret read
    /// back from state (withheld, with the state's fingerprint) and the same secret supplied
    /// again then carry one fingerprint, so "same secret" and "another secret" can be told
    /// apart across the two. The file exposes nothing the state does not already hold.
    pub fn from_plan(plan: &Plan, replace: &[InstanceAddr], refresh: bool, fingerprint_key: &[u8; 32]) -> PlanFile {
        let fp = |v: &Value| crate::state::codec::fingerprint(fingerprint_key, v);
        let fp: &dyn Fn(&Value) -> String = &fp;
        PlanFile {
            format: PLAN_FORMAT.into(),
            format_version: PLAN_FORMAT_VERSION,
            cairn_version: env!("CARGO_PKG_VERSION").into(),
            mode: plan.mode,
            lineage: plan.lineage.clone(),
            serial: plan.serial,
            config_hash: plan.config_hash.clone(),
            variables: plan.variables.iter().map(|(k, v)| (k.clone(), v.to_json_redacted())).collect(),
            sensitive_variables: plan.sensitive_variables.clone(),
            targets: plan.targets.clone(),
            replace: replace.iter().map(|a| a.to_string()).collect(),
            refresh,
            changes: plan.changes.iter().map(|c| c.map_values(|v| WireValue::fingerprinted(v, fp))).collect(),
            drift: plan
                .drift
                .iter()
                .map(|d| DriftRecord {
                    addr: d.addr.clone(),
                    type_name: d.type_name.clone(),
                    provider: d.provider.clone(),
                    action: d.action,
                    before: WireValue::fingerprinted(&d.before, fp),
                    after: wire(&d.after, fp),
                    changed_paths: d.changed_paths.clone(),
                })
                .collect(),
            output_changes: plan
                .output_changes
                .iter()
                .map(|o| OutputRecord {
                    name: o.name.clone(),
                    action: o.action,
                    // A sensitive output is written as its mark and fingerprint alone.
                    before: wire(&o.before.as_ref().map(|v| v.clone().mark_if(o.sensitive)), fp),
                    after: wire(&o.after.as_ref().map(|v| v.clone().mark_if(o.sensitive)), fp),
                    sensitive: o.sensitive,
                })
                .collect(),
            checks: plan.checks.clone(),
            prior_state: plan.prior_state.clone(),
            warnings: plan.warnings.clone(),
            stack: None,
            state_digest: String::new(),
            plan_timestamp: plan.plan_time,
            signing_key_check: Some(PlanKey::derive(fingerprint_key).check()),
            workspace: None,
        }
    }

    pub fn to_plan(&self) -> Plan {
        Plan {
            mode: self.mode,
            lineage: self.lineage.clone(),
            serial: self.serial,
            config_hash: self.config_hash.clone(),
            variables: self.variables.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect(),
            sensitive_variables: self.sensitive_variables.clone(),
            changes: self.changes.iter().map(|c| c.map_values(WireValue::to_value)).collect(),
            drift: self
                .drift
                .iter()
                .map(|d| Drift {
                    addr: d.addr.clone(),
                    type_name: d.type_name.clone(),
                    provider: d.provider.clone(),
                    action: d.action,
                    before: d.before.to_value(),
                    after: unwire(&d.after),
                    changed_paths: d.changed_paths.clone(),
                })
                .collect(),
            output_changes: self
                .output_changes
                .iter()
                .map(|o| OutputChange {
                    name: o.name.clone(),
                    action: o.action,
                    before: if o.sensitive { Some(Value::Null.sensitive()) } else { unwire(&o.before) },
                    after: if o.sensitive { Some(Value::Null.sensitive()) } else { unwire(&o.after) },
                    sensitive: o.sensitive,
                })
                .collect(),
            checks: self.checks.clone(),
            prior_state: self.prior_state.clone(),
            targets: self.targets.clone(),
            warnings: self.warnings.clone(),
            plan_time: self.plan_timestamp,
        }
    }
}

/// A stack directory as the user would type it: `stacks/staging`, not `./stacks/staging/`,
/// so that plans of the same stack made from the same working directory carry one name.
pub fn stack_label(dir: &std::path::Path) -> String {
    let text = dir.to_string_lossy();
    let mut rest = &*text;
    while let Some(r) = rest.strip_prefix("./") {
        rest = r.trim_start_matches('/');
    }
    let trimmed = rest.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/.").unwrap_or(trimmed);
    if trimmed.is_empty() {
        if text.starts_with('/') {
            "/".into()
        } else {
            ".".into()
        }
    } else {
        trimmed.to_string()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is not a Cairn plan file ({reason})")]
    NotAPlan { path: String, reason: String },
    #[error("{path} was written by a newer Cairn (plan format {found}); this one reads format {PLAN_FORMAT_VERSION}")]
    TooNew { path: String, found: u32 },
    #[error("{path} was made by an older Cairn (plan format {found}, unsigned), so it cannot be trusted: re-plan with `cairn plan -out` and apply the new plan")]
    Unsigned { path: String, found: u32 },
    #[error("{path} is cut short or damaged ({reason}); nothing was applied: re-plan with `cairn plan -out`")]
    Damaged { path: String, reason: String },
    #[error("{path} does not carry this state's signature: it was edited after `cairn plan -out`, or made for another stack's state; nothing was applied: re-plan with `cairn plan -out` against this stack")]
    BadSignature { path: String },
}

/// A plan file whose signature checks out with `key`: the one a holder of this state wrote.
pub fn read(path: &std::path::Path, key: &PlanKey) -> Result<PlanFile, PlanFileError> {
    let text = read_text(path)?;
    let found = format_version(path, &text)?;
    if found < FIRST_SIGNED_FORMAT_VERSION {
        return Err(PlanFileError::Unsigned { path: path.display().to_string(), found });
    }
    let damaged = |reason: &str| PlanFileError::Damaged { path: path.display().to_string(), reason: reason.into() };
    let rest = text.strip_suffix(SIGNATURE_CLOSE).ok_or_else(|| damaged("it does not end with its signature"))?;
    let hex_at = rest.len().checked_sub(SIGNATURE_HEX_LEN).ok_or_else(|| damaged("no signature"))?;
    let (unsigned, signature) = (rest.get(..hex_at), rest.get(hex_at..));
    let (Some(unsigned), Some(signature)) = (unsigned, signature) else {
        return Err(damaged("no signature"));
    };
    let body = unsigned.strip_suffix(SIGNATURE_OPEN).ok_or_else(|| damaged("no signature field at its end"))?;
    let signature = hex::decode(signature).map_err(|_| damaged("its signature is not hexadecimal"))?;
    let signed = format!("{body}\n}}");
    if key.mac(&signed).verify_slice(&signature).is_err() {
        return Err(PlanFileError::BadSignature { path: path.display().to_string() });
    }
    serde_json::from_str(&signed)
        .map_err(|e| PlanFileError::NotAPlan { path: path.display().to_string(), reason: e.to_string() })
}

/// A plan file for display (`cairn show`), signed or not: showing trusts nothing in it. Never
/// apply what this returns.
pub fn read_for_display(path: &std::path::Path) -> Result<PlanFile, PlanFileError> {
    let text = read_text(path)?;
    format_version(path, &text)?;
    serde_json::from_str(&text)
        .map_err(|e| PlanFileError::NotAPlan { path: path.display().to_string(), reason: e.to_string() })
}

fn read_text(path: &std::path::Path) -> Result<String, PlanFileError> {
    let bytes = std::fs::read(path)
        .map_err(|e| PlanFileError::Read { path: path.display().to_string(), reason: e.to_string() })?;
    String::from_utf8(bytes).map_err(|_| PlanFileError::NotAPlan {
        path: path.display().to_string(),
        reason: "it is not UTF-8 text".into(),
    })
}

/// Checks the container (JSON, `"format": "cairn-plan"`, a version this Cairn reads) and
/// returns the version. A file that starts as a plan but does not parse is called damaged,
/// which is what a cut-short copy looks like.
fn format_version(path: &std::path::Path, text: &str) -> Result<u32, PlanFileError> {
    let head: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        if text.trim_start().starts_with('{') && text.contains(&format!("\"{PLAN_FORMAT}\"")) {
            PlanFileError::Damaged { path: path.display().to_string(), reason: e.to_string() }
        } else {
            PlanFileError::NotAPlan { path: path.display().to_string(), reason: e.to_string() }
        }
    })?;
    if head.get("format").and_then(|f| f.as_str()) != Some(PLAN_FORMAT) {
        return Err(PlanFileError::NotAPlan {
            path: path.display().to_string(),
            reason: "no \"format\": \"cairn-plan\" field".into(),
        });
    }
    // Saturating, not `as`: 2^32 + 1 must read as "too new", not wrap around to format 1.
    let found = head.get("format_version").and_then(|v| v.as_u64()).map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
    if found > PLAN_FORMAT_VERSION {
        return Err(PlanFileError::TooNew { path: path.display().to_string(), found });
    }
    Ok(found)
}

/// The file's text, signed with `key` (see [`SIGNATURE_OPEN`]).
pub fn signed_text(pf: &PlanFile, key: &PlanKey) -> std::io::Result<String> {
    let body = serde_json::to_string_pretty(pf).map_err(std::io::Error::other)?;
    let Some(open) = body.strip_suffix("\n}") else {
        return Err(std::io::Error::other("a plan serialised to something other than a JSON object"));
    };
    let signature = hex::encode(key.mac(&body).finalize().into_bytes());
    Ok(format!("{open}{SIGNATURE_OPEN}{signature}{SIGNATURE_CLOSE}"))
}

/// Writes a plan file whole or not at all, private to its owner whatever the umask (it holds
/// the stack's variables and planned values): a 0600 temporary file beside it, renamed into
/// place. The rename replaces whatever is at `path`, a symlink included, and never writes
/// through it.
pub fn write(path: &std::path::Path, pf: &PlanFile, key: &PlanKey) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let text = signed_text(pf, key)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".cairnplan-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_labels_are_written_one_way() {
        for (given, label) in [
            ("stacks/staging", "stacks/staging"),
            ("./stacks/staging/", "stacks/staging"),
            ("stacks/staging/.", "stacks/staging"),
            (".", "."),
            ("./", "."),
            ("/abs/stack/", "/abs/stack"),
        ] {
            assert_eq!(stack_label(std::path::Path::new(given)), label, "{given}");
        }
    }

    fn empty_plan() -> Plan {
        Plan {
            mode: PlanMode::Normal,
            lineage: "l".into(),
            serial: 0,
            config_hash: "h".into(),
            variables: BTreeMap::from([("region".to_string(), Value::from("europe-west1"))]),
            sensitive_variables: vec![],
            changes: vec![],
            drift: vec![],
            output_changes: vec![],
            checks: vec![],
            prior_state: State::new(),
            targets: vec![],
            warnings: vec![],
            plan_time: Some(chrono::DateTime::from_timestamp(1_796_000_000, 0).expect("in range")),
        }
    }

    /// A signed plan file in a temporary directory, and the key it was signed with.
    fn signed_file() -> (tempfile::TempDir, std::path::PathBuf, PlanKey) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.cairnplan");
        let key = PlanKey::derive(&[1; 32]);
        write(&path, &PlanFile::from_plan(&empty_plan(), &[], true, &[1; 32]), &key).expect("write");
        (dir, path, key)
    }

    #[test]
    fn a_signed_plan_reads_back() {
        let (_dir, path, key) = signed_file();
        let pf = read(&path, &key).expect("verifies");
        assert_eq!(pf.variables.get("region"), Some(&serde_json::json!("europe-west1")));
        // Still one JSON document, for jq and the like.
        let text = std::fs::read_to_string(&path).expect("read");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert!(json.get("signature").and_then(|s| s.as_str()).is_some_and(|s| s.starts_with("hmac-sha256:")));
    }

    #[test]
    fn an_edited_plan_is_refused() {
        let (_dir, path, key) = signed_file();
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("europe-west1", "europe-west2")).expect("edit");
        assert!(matches!(read(&path, &key), Err(PlanFileError::BadSignature { .. })));
        assert!(read_for_display(&path).is_ok(), "show still shows it");
    }

    #[test]
    fn another_states_plan_is_refused() {
        let (_dir, path, _) = signed_file();
        let err = read(&path, &PlanKey::derive(&[2; 32])).err().expect("refused");
        assert!(err.to_string().contains("another stack's state"), "{err}");
    }

    #[test]
    fn a_truncated_plan_is_refused_as_damaged() {
        let (_dir, path, key) = signed_file();
        let text = std::fs::read_to_string(&path).expect("read");
        for cut in [text.len() / 2, text.len() - 1, text.len() - 3, 40] {
            std::fs::write(&path, &text[..cut]).expect("cut");
            let err = read(&path, &key).err().expect("refused");
            assert!(matches!(err, PlanFileError::Damaged { .. }), "cut at {cut}: {err}");
            assert!(err.to_string().contains("re-plan"), "{err}");
        }
    }

    #[test]
    fn a_signature_moved_or_dropped_is_refused() {
        let (_dir, path, key) = signed_file();
        let text = std::fs::read_to_string(&path).expect("read");
        let mut json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let sig = json.get("signature").cloned().expect("signature");
        if let Some(m) = json.as_object_mut() {
            m.shift_remove("signature");
        }
        std::fs::write(&path, serde_json::to_string_pretty(&json).expect("ser")).expect("write");
        assert!(matches!(read(&path, &key), Err(PlanFileError::Damaged { .. })));
        // The right signature, but the body re-serialised compactly: not the signed text.
        if let Some(m) = json.as_object_mut() {
            m.insert("signature".into(), sig);
        }
        std::fs::write(&path, serde_json::to_string(&json).expect("ser")).expect("write");
        assert!(read(&path, &key).is_err());
    }

    #[test]
    fn an_unsigned_format_1_plan_is_refused_as_older() {
        let (_dir, path, key) = signed_file();
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        if let Some(m) = json.as_object_mut() {
            m.shift_remove("signature");
            m.shift_remove("state_digest");
            m.insert("format_version".into(), 1.into());
        }
        std::fs::write(&path, serde_json::to_string_pretty(&json).expect("ser")).expect("write");
        let err = read(&path, &key).err().expect("refused");
        assert!(matches!(err, PlanFileError::Unsigned { found: 1, .. }), "{err}");
        assert!(err.to_string().contains("older Cairn") && err.to_string().contains("re-plan"), "{err}");
    }

    #[test]
    fn the_plans_time_is_kept_and_signed() {
        let (_dir, path, key) = signed_file();
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("\"plan_timestamp\": \"2026-11-30T00:53:20Z\""), "{text}");
        let pf = read(&path, &key).expect("verifies");
        assert_eq!(pf.format_version, 3);
        assert_eq!(pf.to_plan().plan_time, empty_plan().plan_time);
        // Moving the time would move every value built from plantimestamp(): refused.
        std::fs::write(&path, text.replace("2026-11-30T00:53:20Z", "2026-11-30T00:53:21Z")).expect("edit");
        assert!(matches!(read(&path, &key), Err(PlanFileError::BadSignature { .. })));
    }

    #[test]
    fn a_signed_format_2_plan_still_reads() {
        // As the previous Cairn wrote it: format 2, no plan time.
        let mut pf = PlanFile::from_plan(&empty_plan(), &[], true, &[1; 32]);
        pf.format_version = 2;
        pf.plan_timestamp = None;
        let key = PlanKey::derive(&[1; 32]);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.cairnplan");
        std::fs::write(&path, signed_text(&pf, &key).expect("sign")).expect("write");
        assert!(!std::fs::read_to_string(&path).expect("read").contains("plan_timestamp"));
        let back = read(&path, &key).expect("a format 2 plan verifies");
        assert_eq!(back.format_version, 2);
        assert_eq!(back.to_plan().plan_time, None);
        assert!(read_for_display(&path).is_ok());
    }

    #[test]
    fn the_plan_key_is_bound_to_its_purpose() {
        let secret = [9; 32];
        assert_ne!(PlanKey::derive(&secret).0, secret, "the state's key is not used raw");
        assert_ne!(PlanKey::derive(&secret).0, PlanKey::derive(&[8; 32]).0);
    }

    #[test]
    fn plans_without_a_stack_still_read() {
        let plan = Plan { variables: BTreeMap::new(), ..empty_plan() };
        let mut json = serde_json::to_value(PlanFile::from_plan(&plan, &[], true, &[7; 32])).expect("serialise");
        assert!(json.get("stack").is_none(), "an unset stack is not written");
        if let Some(m) = json.as_object_mut() {
            m.insert("stack".into(), "stacks/staging".into());
        }
        let back: PlanFile = serde_json::from_value(json.clone()).expect("with stack");
        assert_eq!(back.stack.as_deref(), Some("stacks/staging"));
        if let Some(m) = json.as_object_mut() {
            m.remove("stack");
        }
        let old: PlanFile = serde_json::from_value(json).expect("without stack");
        assert_eq!(old.stack, None);
    }
}
