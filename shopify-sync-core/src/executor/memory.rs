//! The process's resident memory, read cheaply, for the executor's memory watermark.
//!
//! On Linux it is `/proc/self/statm` (resident pages, one small read) times the page size
//! (read once from the auxiliary vector), with `/proc/self/status` (`VmRSS`) as the
//! fallback. Elsewhere it is unknown and the watermark admits everything. A
//! [`MemoryProbe`] can replace it (tests, a cgroup-aware reading).
use std::fmt;
use std::sync::OnceLock;

/// Where the executor reads the memory in use.
pub trait MemoryProbe: Send + Sync + fmt::Debug {
    /// Bytes in use now, or `None` if unknown (then nothing is held back).
    fn resident_bytes(&self) -> Option<u64>;
}

/// The process's resident set size: see the [module documentation](self).
///
/// ```
/// use shopify_sync::executor::{MemoryProbe, ProcessMemory};
/// if cfg!(target_os = "linux") {
///     assert!(ProcessMemory.resident_bytes().unwrap() > 1024 * 1024);
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessMemory;

impl MemoryProbe for ProcessMemory {
    fn resident_bytes(&self) -> Option<u64> {
        resident_bytes()
    }
}

/// The process's resident set size in bytes, if the platform tells.
pub fn resident_bytes() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    statm().or_else(status_vm_rss)
}

fn statm() -> Option<u64> {
    let page = page_size()?;
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(page)
}

fn status_vm_rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&text)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The page size, from `AT_PAGESZ` in `/proc/self/auxv` (read once).
fn page_size() -> Option<u64> {
    static PAGE: OnceLock<Option<u64>> = OnceLock::new();
    *PAGE.get_or_init(|| {
        let auxv = std::fs::read("/proc/self/auxv").ok()?;
        parse_auxv_page_size(&auxv)
    })
}

fn parse_auxv_page_size(auxv: &[u8]) -> Option<u64> {
    const AT_PAGESZ: u64 = 6;
    const W: usize = std::mem::size_of::<usize>();
    let word = |b: &[u8]| -> Option<u64> {
        let arr: [u8; W] = b.try_into().ok()?;
        u64::try_from(usize::from_ne_bytes(arr)).ok()
    };
    auxv.chunks_exact(2 * W).find_map(|pair| {
        (word(&pair[..W])? == AT_PAGESZ)
            .then(|| word(&pair[W..]))
            .flatten()
            .filter(|p| p.is_power_of_two())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_proc_formats() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads: 1\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        let mut auxv = vec![];
        for (k, v) in [(3usize, 64usize), (6, 16_384), (0, 0)] {
            auxv.extend_from_slice(&k.to_ne_bytes());
            auxv.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(parse_auxv_page_size(&auxv), Some(16_384));
        assert_eq!(
            parse_auxv_page_size(&auxv[..2 * std::mem::size_of::<usize>()]),
            None
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn statm_agrees_with_vm_rss() {
        let a = statm().unwrap();
        let b = status_vm_rss().unwrap();
        // Two readings moments apart: within 10%.
        assert!(a.abs_diff(b) * 10 < a.max(b), "{a} vs {b}");
    }
}
