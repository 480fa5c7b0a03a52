//! What glibc's allocator keeps after a large buffer is freed, for the processes whose
//! large buffers come and go all the time: the daemon (`spate serve`: each refresh's report
//! bodies, a parameterized report's rows) and the converter (`spate convert`: record
//! batches built on one thread and encoded on another).
//!
//! With its defaults, glibc's `malloc` serves a buffer above 128 KiB with its own mapping and
//! unmaps it on `free`, but then raises that threshold to the size just freed (up to 32 MiB)
//! and the trim threshold to twice that: later buffers of that size come from the arenas (one
//! per thread that allocates, up to eight per core) and stay there once freed. Measured on
//! the 2,354-file tree (BENCHMARKS.md): the daemon's resident size grew from 32 MB after start
//! to 110 MB after a few dozen parameterized and blocks requests, most of it free memory kept
//! in the arenas of the blocking threads; fixed thresholds keep the first behaviour (same
//! sequence, same build: peak 87.6 MB → 63.9 MB). The converter with a writer thread peaked
//! at 71 MB with the defaults and 42 MB with fixed thresholds on the 65 MB sessions document.
//! The price is a `mmap`/`munmap` pair per large buffer, negligible next to the work that
//! fills it.

/// Size from which a buffer gets its own mapping, returned to the system when freed
/// (glibc's initial default, kept fixed).
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Free memory at the top of an arena beyond which it is given back (glibc's initial
/// default, kept fixed).
pub const TRIM_THRESHOLD: usize = 128 * 1024;

/// Keeps glibc's allocator from holding on to freed large buffers (see the module
/// documentation). Process-wide: call it once, early, in a process whose main job is the
/// daemon or a conversion (the command line's `serve` and `convert` do; a library inside
/// someone else's process should leave the allocator alone). Returns whether the settings were taken
/// (always `false` where the C library is not glibc: other allocators need nothing).
pub fn return_freed_memory() -> bool {
    return_freed_memory_above(MMAP_THRESHOLD)
}

/// [`return_freed_memory`] with buffers from `mmap_threshold` bytes up mapped on their own
/// (the trim threshold stays [`TRIM_THRESHOLD`]): for a process whose buffers just under
/// that size come and go by the thousand and are better reused from the arenas than mapped,
/// faulted in and unmapped each time (`spate convert`: Parquet's 1 MiB data pages).
pub fn return_freed_memory_above(mmap_threshold: usize) -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |param: libc::c_int, value: usize| {
            let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
            // SAFETY: mallopt only changes allocator parameters; it takes the arena lock
            // itself and is safe to call from any thread at any time.
            unsafe { libc::mallopt(param, value) == 1 }
        };
        set(libc::M_MMAP_THRESHOLD, mmap_threshold) & set(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = mmap_threshold;
        false
    }
}

/// The resident size of this process now and at its peak, in bytes (`VmRSS`, `VmHWM`
/// of `/proc/self/status`); `None` where that file does not exist.
pub fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn resident_reads_this_process() {
        if let Some((now, peak)) = super::resident() {
            assert!(now > 0 && peak >= now, "{now} {peak}");
        }
    }
}
