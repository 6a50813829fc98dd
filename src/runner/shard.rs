//! `--shard K/N`: a stable partition of the suite by scenario id, so that N CI machines each run
//! one part and together run every scenario exactly once.
//!
//! A scenario belongs to shard `FNV-1a(id) mod N + 1`. FNV-1a is fixed by its specification, so
//! the partition is the same on every machine, build and run (std's `RandomState` is not). This
//! module only decides membership; selecting and loading scenarios is `runner::select`'s.

use std::fmt;
use std::hash::Hasher as _;
use std::str::FromStr;

/// One part of a partition of the suite: part `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

/// A `--shard` value that is not `K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard {given:?}: {why}; write K/N with 1 <= K <= N, e.g. --shard 1/4")]
pub struct ShardError {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

impl Shard {
    /// Whether the scenario `id` belongs to this shard.
    pub fn contains(&self, id: &str) -> bool {
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(id.as_bytes());
        hasher.finish() % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        let error = |why: &str| ShardError {
            given: given.to_string(),
            why: why.to_string(),
        };
        let (k, n) = given
            .split_once('/')
            .ok_or_else(|| error("no `/` between K and N"))?;
        let k: u32 = k.trim().parse().map_err(|_| error("K is not a number"))?;
        let n: u32 = n.trim().parse().map_err(|_| error("N is not a number"))?;
        if n == 0 {
            return Err(error("N must be at least 1"));
        }
        if k == 0 || k > n {
            return Err(error("K must be between 1 and N"));
        }
        Ok(Shard { index: k, count: n })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_cover_everything_and_are_stable() {
        let ids: Vec<String> = (0..200)
            .map(|i| format!("area{}/case-{i}", i % 7))
            .collect();
        for n in 1..=5u32 {
            let shards: Vec<Shard> = (1..=n).map(|k| Shard { index: k, count: n }).collect();
            for id in &ids {
                let owners = shards.iter().filter(|s| s.contains(id)).count();
                assert_eq!(owners, 1, "{id} in {owners} of {n} shards");
            }
        }
        // FNV-1a 64 of "login/ok" is fixed by the algorithm, so this never moves.
        let owner = |n| (1..=n).find(|&k| Shard { index: k, count: n }.contains("login/ok"));
        assert_eq!(owner(2), Some(2));
        assert_eq!(owner(3), Some(1));
    }

    #[test]
    fn bad_values_say_what_to_write() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/2", "3/2", "1/0", "1", "a/2", "1/b", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("write K/N"), "{bad}: {err}");
        }
    }
}
