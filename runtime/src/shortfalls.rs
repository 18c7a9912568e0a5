//! What bpfbox could not do as asked, as the kernel counts it (struct
//! bpfbox_stats, bpf/include/bpfbox.h): events the ring buffer had no room
//! for, confined processes killed because their state could not be
//! stored, forks refused at the limit of tracked processes, and function
//! scopes that could not be recorded. Each is denied or lost on purpose
//! (bpfbox fails closed), and each leaves a user asking why: `--follow`
//! says so as a count grows, `--list` while one is not zero, with what to
//! do. One table, so that a new count is told in both places.

use bpfbox_abi as abi;

/// One count: what it counts, in the singular and the plural, and the fix.
struct Shortfall {
    count: fn(&abi::bpfbox_stats) -> u64,
    one: &'static str,
    many: &'static str,
    hint: &'static str,
}

const SHORTFALLS: [Shortfall; 4] = [
    Shortfall {
        count: |s| s.events_dropped,
        one: "event was dropped because the ring buffer was full",
        many: "events were dropped because the ring buffer was full",
        hint: "read the events faster, or with fewer #[audit] rules",
    },
    Shortfall {
        count: |s| s.procs_lost,
        one: "confined process was killed because its state could not be stored (no kernel memory)",
        many: "confined processes were killed because their state could not be stored (no kernel memory)",
        hint: "free memory, or raise the memory limit of the cgroup the first bpfbox-load ran in (bpfbox's maps are charged to it)",
    },
    Shortfall {
        count: |s| s.forks_refused,
        one: "fork of a confined process was refused (EAGAIN): bpfbox tracked as many processes as --max-procs allows",
        many: "forks of confined processes were refused (EAGAIN): bpfbox tracked as many processes as --max-procs allows",
        hint: "unload everything and load again with a larger --max-procs (at most 65536)",
    },
    Shortfall {
        count: |s| s.scopes_dropped,
        one: "#[func] scope could not be recorded (more than 8 active in one thread, or no room): its thread was denied everything inside it",
        many: "#[func] scopes could not be recorded (more than 8 active in one thread, or no room): their threads were denied everything inside them",
        hint: "nest fewer scoped functions",
    },
];

// The limit the scope messages name.
const _: () = assert!(abi::bpfbox_limits::BPFBOX_MAX_ACTIVE_SCOPES == 8);
const _: () = assert!(abi::bpfbox_limits::BPFBOX_MAX_PROCS == 65536);

fn what(s: &Shortfall, n: u64) -> &'static str {
    if n == 1 {
        s.one
    } else {
        s.many
    }
}

/// For `--list`: a warning for each count that is not zero.
pub fn standing(stats: &abi::bpfbox_stats) -> Vec<String> {
    SHORTFALLS
        .iter()
        .filter_map(|s| {
            let total = (s.count)(stats);
            (total > 0).then(|| {
                format!(
                    "warning: since bpfbox was loaded, {total} {}; {}",
                    what(s, total),
                    s.hint
                )
            })
        })
        .collect()
}

/// For `--follow`: what grew since it was last asked, once each.
#[derive(Default)]
pub struct Growth {
    reported: [u64; SHORTFALLS.len()],
}

impl Growth {
    pub fn lines(&mut self, stats: &abi::bpfbox_stats) -> Vec<String> {
        let mut lines = Vec::new();
        for (s, reported) in SHORTFALLS.iter().zip(&mut self.reported) {
            let total = (s.count)(stats);
            if total <= *reported {
                continue;
            }
            let new = total - *reported;
            *reported = total;
            lines.push(format!(
                "warning: {new} {} ({total} since bpfbox was loaded); {}",
                what(s, new),
                s.hint
            ));
        }
        lines
    }

    /// Tells, on stderr (standard output keeps the events alone), what
    /// grew.
    pub fn report(&mut self, stats: &abi::bpfbox_stats) {
        for line in self.lines(stats) {
            eprintln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(events: u64, lost: u64, forks: u64, scopes: u64) -> abi::bpfbox_stats {
        abi::bpfbox_stats {
            events_dropped: events,
            procs_lost: lost,
            forks_refused: forks,
            scopes_dropped: scopes,
            ..Default::default()
        }
    }

    #[test]
    fn growth_is_told_once_each() {
        let mut growth = Growth::default();
        assert!(growth.lines(&stats(0, 0, 0, 0)).is_empty());
        assert_eq!(
            growth.lines(&stats(3, 0, 0, 0)),
            ["warning: 3 events were dropped because the ring buffer was full (3 since bpfbox was loaded); read the events faster, or with fewer #[audit] rules"]
        );
        assert!(growth.lines(&stats(3, 0, 0, 0)).is_empty());
        let lines = growth.lines(&stats(4, 1, 2, 0));
        assert_eq!(lines.len(), 3);
        assert!(lines[0]
            .starts_with("warning: 1 event was dropped because the ring buffer was full (4 since"));
        assert!(lines[1].starts_with("warning: 1 confined process was killed"));
        assert!(lines[2].starts_with("warning: 2 forks of confined processes were refused"));
        assert!(lines[2].ends_with("with a larger --max-procs (at most 65536)"));
    }

    #[test]
    fn standing_names_what_is_not_zero() {
        assert!(standing(&stats(0, 0, 0, 0)).is_empty());
        assert_eq!(
            standing(&stats(0, 0, 0, 1)),
            ["warning: since bpfbox was loaded, 1 #[func] scope could not be recorded (more than 8 active in one thread, or no room): its thread was denied everything inside it; nest fewer scoped functions"]
        );
        assert_eq!(standing(&stats(5, 2, 0, 0)).len(), 2);
    }
}
