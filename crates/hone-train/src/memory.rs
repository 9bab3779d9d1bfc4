//! Host memory of this process, for the run log and memory reports: the
//! resident set now (`VmRSS`) and its high-water mark (`VmHWM`), read from
//! `/proc/self/status`, and a reset of that mark through
//! `/proc/self/clear_refs` so that each phase (load, train, eval) can report
//! its own peak. Linux only; elsewhere the readers return `None` and
//! [`reset_peak`] returns `false`. Device (GPU) memory is not covered here.

/// Resident set size of this process in bytes (`VmRSS`), or `None` where it
/// cannot be read (not Linux, no `/proc`).
pub fn resident_bytes() -> Option<u64> {
    status_bytes("VmRSS")
}

/// Peak resident set size of this process in bytes (`VmHWM`) since it
/// started or since the last successful [`reset_peak`].
pub fn peak_resident_bytes() -> Option<u64> {
    status_bytes("VmHWM")
}

/// Resets the peak ([`peak_resident_bytes`]) to the current resident size by
/// writing `5` to `/proc/self/clear_refs` (Linux ≥ 4.0). Returns `false` if
/// that is not possible (not Linux, or the write is refused, e.g. in some
/// sandboxes).
pub fn reset_peak() -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(target_os = "linux")]
fn status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kib(&status, key).map(|kib| kib * 1024)
}

#[cfg(not(target_os = "linux"))]
fn status_bytes(_key: &str) -> Option<u64> {
    None
}

/// The value of `key` in a `/proc/*/status` text, whose memory lines read
/// `VmRSS:\t  123456 kB` (kibibytes, despite the unit's spelling).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let mut fields = rest.split_whitespace();
        let value = fields.next()?.parse().ok()?;
        match fields.next() {
            Some("kB") => Some(value),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The peak is per process and tests run on parallel threads: a reset in
    /// one test must not land inside another's measurement.
    static PEAK: Mutex<()> = Mutex::new(());

    #[test]
    fn parses_status_lines() {
        let status =
            "Name:\thone\nVmPeak:\t 1000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t  1024 kB\nThreads:\t4\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(1024));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(2048));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        // No unit: not a memory line.
        assert_eq!(parse_status_kib(status, "Threads"), None);
        // A prefix of another key does not match it.
        assert_eq!(parse_status_kib("VmRSSx:\t5 kB\n", "VmRSS"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_rises_when_200_mb_are_touched() {
        const SIZE: usize = 200 << 20;
        const MIN_RISE: u64 = 150 << 20;

        let _guard = PEAK.lock().unwrap_or_else(|e| e.into_inner());
        let reset = reset_peak();
        let rss_before = resident_bytes().expect("VmRSS");
        let peak_before = peak_resident_bytes().expect("VmHWM");
        assert!(peak_before >= rss_before || !reset);

        // Zeroed allocations may be lazily mapped: write every page.
        let mut buf = vec![0u8; SIZE];
        for i in (0..SIZE).step_by(4096) {
            buf[i] = 1;
        }
        std::hint::black_box(&mut buf);
        let rss_during = resident_bytes().unwrap();
        drop(buf);
        let peak_after = peak_resident_bytes().unwrap();

        // Measured from the resident size before, not the old peak, so that a
        // refused reset (or an earlier, larger peak) does not matter.
        assert!(
            peak_after >= rss_before + MIN_RISE,
            "peak {peak_after} should be ≥ resident-before {rss_before} + 150 MB \
             (resident while holding: {rss_during}, reset: {reset})"
        );
        assert!(rss_during >= rss_before + MIN_RISE);
        assert!(peak_after >= peak_before);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reset_brings_peak_down_to_resident() {
        let _guard = PEAK.lock().unwrap_or_else(|e| e.into_inner());
        // Raise the peak, free the memory, then reset.
        let mut buf = vec![0u8; 64 << 20];
        for i in (0..buf.len()).step_by(4096) {
            buf[i] = 1;
        }
        std::hint::black_box(&mut buf);
        drop(buf);
        if reset_peak() {
            let peak = peak_resident_bytes().unwrap();
            let rss = resident_bytes().unwrap();
            // Other test threads may allocate in between: allow slack.
            assert!(peak <= rss + (32 << 20), "peak {peak}, resident {rss}");
        }
    }

    #[cfg(not(target_os = "linux"))]
    #[test]
    fn unsupported_platforms_report_nothing() {
        assert_eq!(resident_bytes(), None);
        assert_eq!(peak_resident_bytes(), None);
        assert!(!reset_peak());
    }
}
