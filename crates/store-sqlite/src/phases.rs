//! Where a rebuild's time goes, phase by phase: wall seconds and the
//! process's CPU seconds (all threads, from `/proc/self/stat`), written to
//! standard error when `KINSHIP_REBUILD_PHASES` is set. For benchmarks
//! (BENCHMARKS.md "Rebuild, session 7"): a profile says which code is hot,
//! this says which phase the wall is spent in. Names and counts only: no
//! row data is ever printed.

use std::time::Instant;

pub struct Phases {
    on: bool,
    start: Instant,
    last: Instant,
    last_cpu: f64,
    start_cpu: f64,
}

/// User + system CPU seconds of this process so far (all threads); 0 where
/// `/proc` is not there.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which may hold spaces, so split after its ')').
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // The kernel reports in USER_HZ, 100 on every Linux this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

impl Phases {
    pub fn new() -> Self {
        let on = std::env::var_os("KINSHIP_REBUILD_PHASES").is_some();
        let now = Instant::now();
        let cpu = if on { cpu_seconds() } else { 0.0 };
        Self { on, start: now, last: now, last_cpu: cpu, start_cpu: cpu }
    }

    /// Ends the phase called `name` (it began where the last one ended).
    pub fn mark(&mut self, name: &str) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        let cpu = cpu_seconds();
        eprintln!("rebuild phase {name:<28} wall {:>6.3} s  cpu {:>6.2} s", (now - self.last).as_secs_f64(), cpu - self.last_cpu);
        self.last = now;
        self.last_cpu = cpu;
    }

    /// A figure inside a phase (such as time spent waiting).
    pub fn note(&self, name: &str, seconds: f64) {
        if self.on {
            eprintln!("rebuild   within: {name:<26} wall {seconds:>6.3} s");
        }
    }

    pub fn total(&self) {
        if self.on {
            eprintln!(
                "rebuild phase {:<28} wall {:>6.3} s  cpu {:>6.2} s",
                "total",
                self.start.elapsed().as_secs_f64(),
                cpu_seconds() - self.start_cpu
            );
        }
    }
}
