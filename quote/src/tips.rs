//! The tips the quote service serves, and which one is current.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const BUILT_IN: &str = include_str!("tips.txt");

#[derive(Debug, thiserror::Error)]
pub enum TipsError {
    #[error("cannot read tips file {path}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("tips file {path} has no tips (one tip per line; '#' starts a comment line)")]
    Empty { path: String },
}

/// A non-empty list of tips.
#[derive(Debug, Clone)]
pub struct Tips(Vec<String>);

impl Tips {
    pub fn built_in() -> Self {
        Self::parse(BUILT_IN).expect("the built-in tips are not empty")
    }

    /// Reads a file with one tip per line.
    pub fn from_file(path: &Path) -> Result<Self, TipsError> {
        let text = std::fs::read_to_string(path).map_err(|source| TipsError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).ok_or_else(|| TipsError::Empty {
            path: path.display().to_string(),
        })
    }

    /// One tip per line; blank lines and lines starting with `#` are skipped. `None`
    /// when nothing is left.
    pub fn parse(text: &str) -> Option<Self> {
        let tips: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect();
        (!tips.is_empty()).then_some(Self(tips))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// Picks the tip of the current interval. Every interval since start-up draws a tip at
/// random from a generator seeded with this process's random seed and the interval's
/// number, so one process answers the same tip for a whole interval and different
/// processes (pods) usually answer different tips, without any lock or timer task.
#[derive(Debug, Clone)]
pub struct TipOfTheInterval {
    tips: Tips,
    interval: Duration,
    started: Instant,
    seed: u64,
}

impl TipOfTheInterval {
    pub fn new(tips: Tips, interval: Duration) -> Self {
        Self {
            tips,
            interval,
            started: Instant::now(),
            seed: rand::random(),
        }
    }

    pub fn current(&self) -> &str {
        let elapsed = self.started.elapsed().as_nanos();
        let interval_number = (elapsed / self.interval.as_nanos().max(1)) as u64;
        let mut rng = SmallRng::seed_from_u64(
            self.seed ^ interval_number.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        &self.tips.0[rng.random_range(0..self.tips.len())]
    }

    /// The tip `seed` picks: the same in every process (deterministic mode).
    pub fn for_seed(&self, seed: u64) -> &str {
        &self.tips.0[service_kit::index_for_seed(seed, self.tips.len())]
    }

    pub fn tips(&self) -> &Tips {
        &self.tips
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_tips_are_plenty_short_and_unique() {
        let tips = Tips::built_in();
        assert!(tips.len() >= 50, "only {} tips", tips.len());
        let mut seen = std::collections::HashSet::new();
        for tip in tips.as_slice() {
            assert!(tip.len() <= 160, "tip too long for one line: {tip}");
            assert!(seen.insert(tip), "duplicate tip: {tip}");
        }
    }

    #[test]
    fn parse_skips_comments_and_blank_lines() {
        let tips = Tips::parse("# heading\n\n  first tip  \n# note\nsecond tip\n").unwrap();
        assert_eq!(tips.as_slice(), ["first tip", "second tip"]);
        assert!(Tips::parse("# only a comment\n\n").is_none());
    }

    #[test]
    fn the_tip_stays_the_same_within_an_interval() {
        let picker = TipOfTheInterval::new(Tips::built_in(), Duration::from_secs(3600));
        let first = picker.current().to_owned();
        for _ in 0..100 {
            assert_eq!(picker.current(), first);
        }
    }
}
