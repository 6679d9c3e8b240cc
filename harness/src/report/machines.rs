//! Telling hardware apart: runs merged from several machines (a sharded
//! sweep on a cluster) are tagged `machine A`, `machine B`, … so that QPS
//! measured on different hardware is never drawn on one Pareto curve or
//! summarised in one row.
//!
//! Two runs are on the same hardware when their CPU model, core counts and
//! RAM agree (compiler, OS and kernel are shown but do not split series).

use std::collections::BTreeMap;

use crate::sweep::machine::Machine;
use crate::sweep::results::RunResult;

/// The hardware a run's speed depends on.
fn hardware_key(m: &Machine) -> String {
    format!(
        "{}\u{1}{}\u{1}{:?}\u{1}{:?}",
        m.cpu_model.as_deref().unwrap_or("unknown CPU"),
        m.logical_cores,
        m.physical_cores,
        m.memory_bytes
    )
}

/// A letter per distinct hardware in a set of runs (`A`, `B`, …, `Z`, `AA`).
#[derive(Debug, Clone, Default)]
pub struct MachineTags {
    letters: BTreeMap<String, String>,
}

fn letters(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

impl MachineTags {
    /// Learns the distinct hardware of `runs`, lettered in order of first
    /// appearance.
    pub fn new<'a>(runs: impl IntoIterator<Item = &'a RunResult>) -> MachineTags {
        let mut letters_by_key = BTreeMap::new();
        for r in runs {
            let key = hardware_key(&r.machine);
            let next = letters_by_key.len();
            letters_by_key.entry(key).or_insert_with(|| letters(next));
        }
        MachineTags {
            letters: letters_by_key,
        }
    }

    /// How many different machines the runs came from.
    pub fn count(&self) -> usize {
        self.letters.len()
    }

    /// `machine B` for a run when the runs come from more than one machine.
    pub fn tag(&self, m: &Machine) -> Option<String> {
        if self.count() < 2 {
            return None;
        }
        self.letters
            .get(&hardware_key(m))
            .map(|l| format!("machine {l}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_run_past_z() {
        assert_eq!(letters(0), "A");
        assert_eq!(letters(25), "Z");
        assert_eq!(letters(26), "AA");
        assert_eq!(letters(27), "AB");
    }

    #[test]
    fn one_machine_gets_no_tag() {
        let m = Machine::default();
        let t = MachineTags::default();
        assert_eq!(t.tag(&m), None);
    }
}
