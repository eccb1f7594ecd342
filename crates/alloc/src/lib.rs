//! The memory allocator of the `ssprctl` binary, and its one tuning.
//!
//! The binary allocates with mimalloc instead of the system allocator: a plan
//! of thousands of tenants spent about a third of its CPU time in glibc's
//! `malloc` and `free`, and glibc's per-thread arenas fragment.
//!
//! mimalloc keeps the pages it has freed for a while before it gives them back
//! to the operating system (its purge delay: 1 s by default). A run of
//! thousands of tenants allocates and frees without pause (each tenant's
//! answers are decoded, planned and dropped), so within that second fresh
//! pages are taken while freed ones wait: the peak resident memory of a plan of
//! 10,000 tenants was 125 MB with the default and 91 MB with a purge delay of
//! 10 ms, for the same CPU time (release build, 2 cores, 2026-11-30).
//!
//! Setting the delay is an FFI call, which Rust counts as unsafe code. The rest
//! of the workspace forbids unsafe code; this crate exists so that the one call
//! lives in one small place that is easy to audit.

pub use mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`, its position in the `mi_option_t`
/// enumeration of `mimalloc.h` (the same in mimalloc v2 and v3).
/// `libmimalloc-sys` does not name it; the test below checks that the option
/// at this position is the purge delay (the only option whose default
/// is 1,000 ms).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long, in milliseconds, mimalloc keeps freed pages before it returns
/// them to the operating system, once [`return_freed_memory_promptly`] ran.
pub const PURGE_DELAY_MS: i64 = 10;

/// Makes mimalloc return freed pages to the operating system after
/// [`PURGE_DELAY_MS`] instead of a second. Call it first thing in `main`; it
/// may be called again, from any thread.
pub fn return_freed_memory_promptly() {
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_set` stores an integer into mimalloc's table of
    // options. It takes no pointer, has no precondition and may be called at
    // any time from any thread (the option is read anew each time mimalloc
    // decides whether to purge); the position is checked by the test below.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as _);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purge_delay() -> i64 {
        #[allow(unsafe_code)]
        // SAFETY: `mi_option_get` reads an integer from mimalloc's table of
        // options; no pointer, no precondition.
        let value = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        value as i64
    }

    #[test]
    fn the_option_set_is_the_purge_delay_and_it_takes_the_value() {
        // Unless the environment set it, the option at this position has the
        // purge delay's default in mimalloc v3 (the version built here):
        // 1,000 ms, which no other option has.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                purge_delay(),
                1_000,
                "option {MI_OPTION_PURGE_DELAY} is not mimalloc's purge delay"
            );
        }
        return_freed_memory_promptly();
        assert_eq!(purge_delay(), PURGE_DELAY_MS);
    }
}
