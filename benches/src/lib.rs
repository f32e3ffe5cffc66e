//! Benchmarks live in `benches/`; see `README.md` for the figures. This library holds
//! what several of them measure with.

/// A field of `/proc/self/status` in KiB (Linux: `VmRSS:`, `VmHWM:` ...), or 0 elsewhere.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Reset the peak RSS (`VmHWM`) to the current RSS (Linux 4.0+: `echo 5 >
/// /proc/self/clear_refs`); false where that is not possible.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// KiB as MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
