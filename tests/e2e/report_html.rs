//! `report --html`: the page of the quick-start tenant and of a 3-tenant
//! fleet (with drift from a saved plan), opened in headless Chromium. The DOM
//! Chromium built must hold the figures, the tenant names and the SVG charts,
//! and a screenshot of it must not be blank.
//!
//! Chromium is `$SSPRCTL_CHROMIUM`, else `/usr/bin/chromium` (`.ci/run`
//! installs Debian's package; the GitHub workflow points the variable at the
//! runner's browser). Without it the tests fail in CI (`CI=true`) and are
//! skipped with a notice elsewhere.

use std::path::{Path, PathBuf};

use crate::support::{Env, Isolated, run_limit};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The variable naming another Chromium (or Chrome) binary.
const CHROMIUM_VAR: &str = "SSPRCTL_CHROMIUM";

/// The browser, or `None` (with a notice) where a test may be skipped.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os(CHROMIUM_VAR)
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    let shown = path.display();
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{shown} is missing: the browser tests of `report --html` need headless Chromium \
         (.ci/run installs it: apt-get install -y --no-install-recommends chromium; \
         or set {CHROMIUM_VAR} to a Chromium or Chrome binary)"
    );
    // The one line a skipped test shows (cargo test prints a test's stderr
    // only when it fails, or with --nocapture).
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "notice: {shown} is missing; skipping the headless-Chromium test of report --html"
        );
    }
    None
}

/// Runs headless Chromium on `page` with `args`, isolated like the binary
/// (its own home and profile) and within the hang guard.
fn browse(browser: &Path, work: &Path, page: &Path, args: &[&str]) -> crate::support::Run {
    let home = work.join("chromium-home");
    let profile = work.join("chromium-profile");
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let url = format!("file://{}", page.display());
    let mut all = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        profile_arg.as_str(),
    ];
    all.extend_from_slice(args);
    all.push(url.as_str());
    Isolated::program(browser.as_os_str(), work, &home)
        // The Debian wrapper script needs the usual tools.
        .env("PATH", "/usr/bin:/bin")
        .run_within(&all, run_limit())
}

/// Takes a screenshot of `page` and checks that it is not blank: an image of
/// the window's size with many distinct colours and plenty of non-white
/// pixels.
fn screenshot_is_not_blank(browser: &Path, work: &Path, page: &Path, png: &Path) {
    let shot = format!("--screenshot={}", png.display());
    let run = browse(
        browser,
        work,
        page,
        &[
            shot.as_str(),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let file = std::fs::File::open(png)
        .unwrap_or_else(|e| panic!("no screenshot {}: {e}\n{}", png.display(), run.transcript()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!((info.width, info.height), (1280, 2000));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let colours: std::collections::HashSet<[u8; 3]> =
        pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    let non_white = pixels.iter().filter(|p| p[..3] != [255, 255, 255]).count();
    assert!(colours.len() > 16, "{} colours only", colours.len());
    assert!(
        non_white * 50 > pixels.len(),
        "{non_white} of {} pixels are not white",
        pixels.len()
    );
}

#[test]
fn the_quick_start_tenants_page_renders_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    let page = env.dir.path().join("report.html");
    let run = env.run(&[
        "report",
        "--config",
        cfg,
        "--html",
        page.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("in the report"),
        "the table still printed"
    );
    assert!(
        run.stderr.contains("Wrote the HTML report to"),
        "{}",
        run.stderr
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&page).expect("page").permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
    }

    let dom = browse(&browser, env.dir.path(), &page, &["--dump-dom"]);
    assert_eq!(dom.code, 0, "{}", dom.transcript());
    let dom = dom.stdout;
    for figure in [
        "<td>496</td>",
        "236 (47.6%)",
        "microsoftAuthenticatorPush",
        "<td>87</td>",
        "<td>27</td>",
        "User did not pass verification",
        "contoso",
    ] {
        assert!(dom.contains(figure), "{figure} not in the DOM:\n{dom}");
    }
    assert!(dom.contains("<svg"), "an SVG chart:\n{dom}");
    assert!(dom.contains("resets succeeded"), "the chart's legend");
    screenshot_is_not_blank(
        &browser,
        env.dir.path(),
        &page,
        &env.dir.path().join("one.png"),
    );
}

#[test]
fn a_fleets_page_with_drift_from_a_saved_plan_renders_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let env = Env::new();
    let cfg = env.example("msp-baseline.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    let plan = env.dir.path().join("plan.json");
    let planned = env.run(&[
        "plan",
        "--config",
        cfg,
        "--out",
        plan.to_str().expect("utf-8"),
    ]);
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    let page = env.dir.path().join("fleet.html");
    let run = env.run(&[
        "report",
        "--config",
        cfg,
        "--html",
        page.to_str().expect("utf-8"),
        "--plan",
        plan.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());

    let dom = browse(&browser, env.dir.path(), &page, &["--dump-dom"]);
    assert_eq!(dom.code, 0, "{}", dom.transcript());
    let dom = dom.stdout;
    for name in ["northwind", "tailspin", "woodgrove"] {
        assert!(dom.contains(name), "{name} not in the DOM:\n{dom}");
    }
    assert!(dom.contains("3 tenants"), "{dom}");
    assert!(
        dom.contains("Fleet: per day, all tenants"),
        "the fleet chart"
    );
    assert!(dom.contains(">Drift</th>"), "{dom}");
    // The inline script ran under the page's policy: it made the headings
    // sortable (focusable).
    assert!(
        dom.contains("<th tabindex=\"0\" title=\"Sort\">Tenant</th>"),
        "{dom}"
    );
    assert!(dom.contains(" change"), "drift from the plan:\n{dom}");
    // A chart per tenant and one for the fleet.
    assert!(dom.matches("<figure class=\"chart\"").count() >= 4, "{dom}");
    let png = env.dir.path().join("fleet.png");
    screenshot_is_not_blank(&browser, env.dir.path(), &page, &png);
}

#[test]
fn an_html_report_that_cannot_be_written_or_a_bad_plan_names_the_path() {
    let env = Env::new();
    let cfg = env.example("quickstart.yaml");
    let cfg = cfg.to_str().expect("utf-8");
    let run = env.run(&["report", "--config", cfg, "--html", "no-such-dir/r.html"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("error: cannot write the HTML report to no-such-dir/r.html"),
        "{}",
        run.stderr
    );

    std::fs::write(env.dir.path().join("not-a-plan.json"), "<html>").expect("write");
    env.clear_requests();
    let run = env.run(&[
        "report",
        "--config",
        cfg,
        "--html",
        "r.html",
        "--plan",
        "not-a-plan.json",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("not-a-plan.json"), "{}", run.stderr);
    assert!(!env.dir.path().join("r.html").exists());
    assert!(
        env.requests().is_empty(),
        "the plan is read before any tenant: {:?}",
        env.requests()
    );

    let run = env.run(&["report", "--config", cfg, "--plan", "not-a-plan.json"]);
    assert_eq!(run.code, 2, "--plan needs --html: {}", run.transcript());
    assert!(run.stderr.contains("--html"), "{}", run.stderr);
}
