//! The process's CPU time, to report what a request costs apart from how much of the shared
//! cores the process happened to get: throughput on a machine other builds also load swings
//! with their load, CPU time per request much less.

use std::time::Duration;

/// User and system CPU time of the whole process (every thread) so far; zero where
/// `/proc/self/stat` cannot be read.
pub fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis
    // start with field 3, so utime and stime (fields 14 and 15) are the 12th and 13th.
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let mut fields = after_name.split_whitespace().skip(11);
    let mut ticks = || {
        fields
            .next()
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let total = ticks() + ticks();
    // Linux reports these in USER_HZ, which is 100 on every architecture it exports to users.
    Duration::from_millis(total * 10)
}
