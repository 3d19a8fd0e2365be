//! Project ids and numbers.
//!
//! Real projects have a 12-digit number beside their id, and some APIs (Secret Manager,
//! Logging) answer with the number whatever the request used. The emulator derives a stable
//! number from the id (so a stack sees the same names across runs) unless a scenario pins it,
//! and remembers every id it has seen so a number in a path can be mapped back.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Projects {
    /// id → number (decimal string).
    numbers: BTreeMap<String, String>,
}

impl Projects {
    /// Pins `id` to `number` (scenario files).
    pub fn insert(&mut self, id: &str, number: &str) {
        self.numbers.insert(id.to_string(), number.to_string());
    }

    /// The number for a path segment that is either an id or a number. Unknown ids get their
    /// derived number and are remembered.
    pub fn number_for(&mut self, id_or_number: &str) -> String {
        if is_number(id_or_number) {
            return id_or_number.to_string();
        }
        self.numbers.entry(id_or_number.to_string()).or_insert_with(|| derive_number(id_or_number)).clone()
    }

    /// The id for a path segment that is either an id or a number; a number nobody has
    /// introduced stays a number (as on the real API, which accepts both).
    pub fn id_for(&self, id_or_number: &str) -> String {
        if !is_number(id_or_number) {
            return id_or_number.to_string();
        }
        self.numbers
            .iter()
            .find(|(_, number)| number.as_str() == id_or_number)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| id_or_number.to_string())
    }
}

fn is_number(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

/// A 12-digit number (first digit non-zero) from a hash of the id.
pub fn derive_number(id: &str) -> String {
    let digest = Sha256::digest(id.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(head) % 900_000_000_000 + 100_000_000_000;
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_numbers_are_stable_and_twelve_digits() {
        let a = derive_number("acme-staging");
        assert_eq!(a, derive_number("acme-staging"));
        assert_eq!(a.len(), 12);
        assert!(!a.starts_with('0'));
        assert_ne!(a, derive_number("acme-prod"));
    }

    #[test]
    fn ids_and_numbers_resolve_both_ways() {
        let mut projects = Projects::default();
        projects.insert("pinned", "123456789012");
        assert_eq!(projects.number_for("pinned"), "123456789012");
        assert_eq!(projects.number_for("123456789012"), "123456789012");
        assert_eq!(projects.id_for("123456789012"), "pinned");
        let derived = projects.number_for("other");
        assert_eq!(projects.id_for(&derived), "other");
        assert_eq!(projects.id_for("999"), "999");
    }
}
