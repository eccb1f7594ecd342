//! Progress across tenants on stderr, never on stdout (JSON and Markdown on
//! stdout stay clean): a progress bar (indicatif) when stderr is a terminal,
//! else one line every few seconds for CI logs. Nothing for a single tenant,
//! nor with `--no-progress` / `SSPRCTL_NO_PROGRESS`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ssprctl_engine::{Phase, Progress, TenantDone};
use ssprctl_plan::group::thousands;

/// How often a progress line is written when stderr is not a terminal.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Environment variable that sets the interval between progress lines, in
/// milliseconds (for tests and for noisy or quiet logs).
pub const INTERVAL_ENV: &str = "SSPRCTL_PROGRESS_INTERVAL_MS";

/// Counts of one phase so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tenants in the phase.
    pub total: usize,
    /// Tenants finished.
    pub done: usize,
    /// Plan: tenants with a surface that could not be read. Apply: tenants
    /// not written and verified.
    pub failed: usize,
    /// Plan: tenants with changes. Apply: tenants written to.
    pub changed: usize,
}

/// One progress line, e.g. `plan: 4,000 of 10,000 tenants read (2
/// unreadable, 120 with changes)`.
pub fn line(phase: Phase, c: &Counts) -> String {
    format!(
        "{}: {} of {} tenants {} ({})",
        verb(phase),
        thousands(c.done),
        thousands(c.total),
        match phase {
            Phase::Plan => "read",
            Phase::Apply => "applied",
        },
        detail(phase, c)
    )
}

fn verb(phase: Phase) -> &'static str {
    match phase {
        Phase::Plan => "plan",
        Phase::Apply => "apply",
    }
}

/// The counts after the number done: `2 unreadable, 120 with changes`.
fn detail(phase: Phase, c: &Counts) -> String {
    match phase {
        Phase::Plan => format!(
            "{} unreadable, {} with changes",
            thousands(c.failed),
            thousands(c.changed)
        ),
        Phase::Apply => format!(
            "{} failed, {} written",
            thousands(c.failed),
            thousands(c.changed)
        ),
    }
}

/// How progress is shown.
enum Mode {
    /// Not at all.
    Off,
    /// A bar on the terminal.
    Bar,
    /// A line on stderr at most every `interval`.
    Lines { interval: Duration },
}

struct State {
    phase: Phase,
    counts: Counts,
    last: Instant,
    /// The tenants done at the last line written, if one was.
    printed: Option<usize>,
    bar: Option<ProgressBar>,
}

/// Shows progress for the CLI; see the module documentation.
pub struct Reporter {
    mode: Mode,
    state: Mutex<State>,
}

impl Reporter {
    /// A reporter that shows progress unless `off`: a bar when `terminal`
    /// (stderr is one), else lines every [`DEFAULT_INTERVAL`] or
    /// [`INTERVAL_ENV`] milliseconds.
    pub fn new(off: bool, terminal: bool) -> Reporter {
        let mode = if off {
            Mode::Off
        } else if terminal {
            Mode::Bar
        } else {
            let interval = std::env::var(INTERVAL_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_INTERVAL, Duration::from_millis);
            Mode::Lines { interval }
        };
        Reporter {
            mode,
            state: Mutex::new(State {
                phase: Phase::Plan,
                counts: Counts::default(),
                last: Instant::now(),
                printed: None,
                bar: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves counts that are
        // still worth showing.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Progress for Reporter {
    fn start(&self, phase: Phase, total: usize) {
        let mut s = self.state();
        s.phase = phase;
        s.counts = Counts {
            total,
            ..Counts::default()
        };
        s.last = Instant::now();
        s.printed = None;
        s.bar = None;
        if total <= 1 {
            return;
        }
        if let Mode::Bar = self.mode {
            let mut bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                .with_prefix(verb(phase))
                .with_message(detail(phase, &s.counts));
            if let Ok(style) =
                ProgressStyle::with_template("{prefix} [{bar:20}] {pos}/{len} tenants, {msg}")
            {
                bar = bar.with_style(style.progress_chars("=> "));
            }
            bar.set_length(total as u64);
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            s.bar = Some(bar);
        }
    }

    fn tenant_done(&self, done: TenantDone) {
        let mut s = self.state();
        s.counts.done += 1;
        s.counts.failed += usize::from(done.failed);
        s.counts.changed += usize::from(done.changed);
        if s.counts.total <= 1 {
            return;
        }
        let (phase, counts) = (s.phase, s.counts);
        if let Some(bar) = &s.bar {
            bar.inc(1);
            bar.set_message(detail(phase, &counts));
            return;
        }
        if let Mode::Lines { interval } = self.mode
            && s.last.elapsed() >= interval
        {
            s.last = Instant::now();
            s.printed = Some(counts.done);
            crate::out::write_err(&format!("{}\n", line(phase, &counts)));
        }
    }

    /// Clears the bar; in a log that got progress lines, writes the last
    /// one, so the log shows the phase ended.
    fn finish(&self) {
        let mut s = self.state();
        if let Some(bar) = s.bar.take() {
            bar.finish_and_clear();
        }
        if let Some(done) = s.printed
            && done != s.counts.done
        {
            s.printed = Some(s.counts.done);
            crate::out::write_err(&format!("{}\n", line(s.phase, &s.counts)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_says_how_far_and_what_was_found() {
        let c = Counts {
            total: 10_000,
            done: 4_000,
            failed: 2,
            changed: 120,
        };
        assert_eq!(
            line(Phase::Plan, &c),
            "plan: 4,000 of 10,000 tenants read (2 unreadable, 120 with changes)"
        );
        assert_eq!(
            line(Phase::Apply, &c),
            "apply: 4,000 of 10,000 tenants applied (2 failed, 120 written)"
        );
    }

    #[test]
    fn a_reporter_counts_what_it_is_told() {
        let r = Reporter::new(true, false);
        r.start(Phase::Plan, 3);
        r.tenant_done(TenantDone {
            failed: true,
            changed: false,
        });
        r.tenant_done(TenantDone {
            failed: false,
            changed: true,
        });
        assert_eq!(
            r.state().counts,
            Counts {
                total: 3,
                done: 2,
                failed: 1,
                changed: 1
            }
        );
        assert!(matches!(r.mode, Mode::Off));
    }
}
