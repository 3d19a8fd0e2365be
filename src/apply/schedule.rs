//! Critical-path scheduling, and the critical path an apply actually had.
//!
//! When more steps are ready than may run, the ones that head the longest chain of expected
//! time go first: a Cloud SQL instance that three steps wait for starts before a dozen secrets
//! nothing waits for, so the slow chain is not delayed behind work that could run alongside it.
//! Expected times come from the resource types ([`crate::providers::ResourceType::expected_durations`]);
//! only their order matters here. Ties keep the order in which steps became ready (FIFO).
//!
//! After the apply, the measured durations give its critical path: the chain of dependent
//! steps whose durations sum to the most. No schedule can finish before it does, so the ratio
//! of the apply's wall time to it says how much the schedule (and the in-flight bound) cost.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::Duration;

/// For each step, the expected time of the longest chain it heads: its own `weight` plus the
/// longest chain among the steps waiting for it. `dependents` must be acyclic (the step graph
/// is checked for cycles before this runs).
pub(super) fn remaining_chains<K: Copy + Ord>(
    steps: &[K],
    dependents: &BTreeMap<K, Vec<K>>,
    weight: impl Fn(K) -> Duration,
) -> BTreeMap<K, Duration> {
    let mut chains: BTreeMap<K, Duration> = BTreeMap::new();
    // Depth-first, iteratively (a stack of 100,000 chained steps must not overflow the
    // thread's): a step's chain is known once every dependent's is.
    for &root in steps {
        if chains.contains_key(&root) {
            continue;
        }
        let mut stack: Vec<(K, usize)> = vec![(root, 0)];
        while let Some((step, next)) = stack.last_mut() {
            let waiting = dependents.get(step).map(Vec::as_slice).unwrap_or_default();
            if let Some(&d) = waiting.get(*next) {
                *next += 1;
                if !chains.contains_key(&d) {
                    stack.push((d, 0));
                }
                continue;
            }
            let longest = waiting.iter().filter_map(|d| chains.get(d)).max().copied().unwrap_or_default();
            let step = *step;
            chains.insert(step, weight(step) + longest);
            stack.pop();
        }
    }
    chains
}

/// The steps ready to start, longest remaining chain first, ties in the order they became
/// ready.
pub(super) struct ReadyQueue<K> {
    chains: BTreeMap<K, Duration>,
    heap: BinaryHeap<(Duration, Reverse<u64>, K)>,
    pushed: u64,
}

impl<K: Copy + Ord> ReadyQueue<K> {
    /// A queue ordering steps by `chains` ([`remaining_chains`]); a step missing from it counts
    /// as a chain of nothing.
    pub(super) fn new(chains: BTreeMap<K, Duration>) -> Self {
        ReadyQueue { chains, heap: BinaryHeap::new(), pushed: 0 }
    }

    pub(super) fn push(&mut self, step: K) {
        let chain = self.chains.get(&step).copied().unwrap_or_default();
        self.heap.push((chain, Reverse(self.pushed), step));
        self.pushed += 1;
    }

    pub(super) fn pop(&mut self) -> Option<K> {
        self.heap.pop().map(|(_, _, step)| step)
    }
}

/// The longest chain of measured durations: `finished` holds every step that ran, with how
/// long it took, in the order the steps finished (a step starts only after everything it
/// waits for has finished, so that order is a topological one); `deps` says what each step
/// waited for. Ties go to the step first in key order (before a step) or to finish first (the
/// chain's end), so the same measurements give the same chain. Empty when nothing ran.
pub(super) fn longest_chain<K: Copy + Ord>(
    finished: &[(K, Duration)],
    deps: &BTreeMap<K, BTreeSet<K>>,
) -> Vec<(K, Duration)> {
    // Step → (length of the longest chain ending with it, the step before it on that chain).
    let mut best: BTreeMap<K, (Duration, Option<K>)> = BTreeMap::new();
    let mut end: Option<(K, Duration)> = None;
    for &(step, took) in finished {
        let mut before: Option<(K, Duration)> = None;
        for d in deps.get(&step).into_iter().flatten() {
            if let Some(&(length, _)) = best.get(d) {
                if before.is_none_or(|(_, l)| length > l) {
                    before = Some((*d, length));
                }
            }
        }
        let length = before.map(|(_, l)| l).unwrap_or_default() + took;
        best.insert(step, (length, before.map(|(d, _)| d)));
        if end.is_none_or(|(_, l)| length > l) {
            end = Some((step, length));
        }
    }
    let took: BTreeMap<K, Duration> = finished.iter().copied().collect();
    let mut chain = Vec::new();
    let mut at = end.map(|(k, _)| k);
    while let Some(step) = at {
        chain.push((step, took[&step]));
        at = best[&step].1;
    }
    chain.reverse();
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// `edges`: (step, a step waiting for it).
    fn graph(edges: &[(u32, u32)]) -> (BTreeMap<u32, Vec<u32>>, BTreeMap<u32, BTreeSet<u32>>) {
        let mut dependents: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut deps: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        for &(a, b) in edges {
            dependents.entry(a).or_default().push(b);
            deps.entry(b).or_default().insert(a);
        }
        (dependents, deps)
    }

    /// The order a parallelism-1 apply starts `steps` in, every step taking its weight: a
    /// step becomes ready when the last step it waits for has finished.
    fn start_order(steps: &[u32], edges: &[(u32, u32)], weight: impl Fn(u32) -> Duration) -> Vec<u32> {
        let (dependents, deps) = graph(edges);
        let mut waiting: BTreeMap<u32, usize> =
            steps.iter().map(|s| (*s, deps.get(s).map_or(0, BTreeSet::len))).collect();
        let mut ready = ReadyQueue::new(remaining_chains(steps, &dependents, weight));
        for s in steps.iter().filter(|s| waiting[s] == 0) {
            ready.push(*s);
        }
        let mut order = Vec::new();
        while let Some(s) = ready.pop() {
            order.push(s);
            for d in dependents.get(&s).into_iter().flatten() {
                let w = waiting.get_mut(d).unwrap();
                *w -= 1;
                if *w == 0 {
                    ready.push(*d);
                }
            }
        }
        order
    }

    #[test]
    fn a_chain_is_its_own_weight_plus_its_longest_dependent_chain() {
        // 1 → 2 → 3 and 1 → 4; 5 alone.
        let (dependents, _) = graph(&[(1, 2), (2, 3), (1, 4)]);
        let weight = |s: u32| secs(u64::from(s) * 10);
        let chains = remaining_chains(&[1, 2, 3, 4, 5], &dependents, weight);
        assert_eq!(chains[&3], secs(30));
        assert_eq!(chains[&2], secs(50));
        assert_eq!(chains[&4], secs(40));
        assert_eq!(chains[&1], secs(60), "1 + max(2 → 3, 4) = 10 + 50");
        assert_eq!(chains[&5], secs(50));
    }

    #[test]
    fn a_ready_set_starts_longest_chain_first_and_ties_keep_their_order() {
        // All ready at once: 10 heads a chain of 600 + 15 s, 11 and 12 are a second each, 13
        // heads 20 + 20 s.
        let weight = |s: u32| match s {
            10 => secs(600),
            20 => secs(15),
            13 | 23 => secs(20),
            _ => secs(1),
        };
        let (dependents, _) = graph(&[(10, 20), (13, 23)]);
        let mut q = ReadyQueue::new(remaining_chains(&[10, 11, 12, 13, 20, 23], &dependents, weight));
        for s in [11, 12, 13, 10] {
            q.push(s);
        }
        assert_eq!([q.pop(), q.pop(), q.pop(), q.pop(), q.pop()], [Some(10), Some(13), Some(11), Some(12), None]);
    }

    #[test]
    fn with_parallelism_one_a_long_chain_s_head_starts_before_short_independent_steps() {
        // The staging shape: secrets (1–4) nothing waits for, ready before the database (5),
        // which its database (6) and user (7) wait for.
        let weight = |s: u32| match s {
            5 => secs(600),
            6 | 7 => secs(15),
            _ => secs(1),
        };
        let steps = [1, 2, 3, 4, 5, 6, 7];
        let order = start_order(&steps, &[(5, 6), (5, 7)], weight);
        assert_eq!(order, [5, 6, 7, 1, 2, 3, 4], "the database and what waits for it first, then the rest in order");

        // Without expected durations (every weight equal) the longer chain still goes first,
        // and a graph of equals keeps today's FIFO order.
        assert_eq!(start_order(&steps, &[(5, 6), (6, 7)], |_| secs(1)), [5, 6, 1, 2, 3, 4, 7]);
        assert_eq!(start_order(&steps, &[], |_| Duration::ZERO), steps);
    }

    #[test]
    fn a_deep_chain_does_not_overflow_the_stack() {
        let n = 200_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let (dependents, _) = graph(&edges);
        let steps: Vec<u32> = (0..n).collect();
        let chains = remaining_chains(&steps, &dependents, |_| Duration::from_millis(1));
        assert_eq!(chains[&0], Duration::from_millis(u64::from(n)));
    }

    #[test]
    fn the_measured_critical_path_follows_dependencies_by_summed_duration() {
        // 1 → 2 → 4 (10 + 1 + 1) against 3 → 4 (10.5 + 1), 5 alone (11.5).
        let (_, deps) = graph(&[(1, 2), (2, 4), (3, 4)]);
        let finished = [
            (3, Duration::from_millis(10_500)),
            (1, secs(10)),
            (2, secs(1)),
            (5, Duration::from_millis(11_500)),
            (4, secs(1)),
        ];
        let chain = longest_chain(&finished, &deps);
        assert_eq!(chain, [(1, secs(10)), (2, secs(1)), (4, secs(1))]);
        assert!(longest_chain::<u32>(&[], &deps).is_empty());
        assert_eq!(longest_chain(&[(7, secs(2))], &BTreeMap::new()), [(7, secs(2))]);
    }
}
