//! The CI examples (`examples/github/`, `examples/azure-pipelines/`,
//! `examples/gitlab/`): every pipeline file parses as YAML, and each of the
//! three GitOps flows calls ssprctl with the right flags: the plan saves the
//! plan and prints Markdown with detailed exit codes, the apply applies the
//! saved (downloaded) plan and never plans, drift plans with detailed exit
//! codes and saves nothing. The Graph side is federated (no client secret).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(rel: &str) -> Value {
    serde_saphyr::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

/// Every pipeline file of the three systems.
fn pipeline_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in [
        "examples/github",
        "examples/azure-pipelines",
        "examples/gitlab",
    ] {
        let entries = std::fs::read_dir(repo().join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for entry in entries {
            let name = entry.expect("dir entry").file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

/// The ssprctl invocations in a script: each line that runs `ssprctl
/// SUBCOMMAND --config …` (every flow names the file; a display name such as
/// "ssprctl apply" is not a command).
fn invocations(script: &str) -> Vec<String> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("ssprctl ") && l.contains(" --config "))
        .map(str::to_owned)
        .collect()
}

/// All strings under `v`, joined by newlines (the scripts of a job or steps).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join("\n"),
        Value::Object(o) => o.values().map(text).collect::<Vec<_>>().join("\n"),
        Value::Null | Value::Bool(_) | Value::Number(_) => String::new(),
    }
}

fn assert_plan_flow(who: &str, script: &str) {
    let runs = invocations(script);
    assert!(
        runs.iter()
            .any(|l| l.starts_with("ssprctl validate --config ")),
        "{who}: validates first: {runs:?}"
    );
    let plans: Vec<_> = runs
        .iter()
        .filter(|l| l.starts_with("ssprctl plan "))
        .collect();
    assert_eq!(plans.len(), 1, "{who}: one plan: {runs:?}");
    for flag in [
        "--config",
        "--out ssprctl.plan",
        "--markdown",
        "--detailed-exitcode",
    ] {
        assert!(
            plans[0].contains(flag),
            "{who}: plan lacks {flag}: {}",
            plans[0]
        );
    }
    assert!(
        !script.contains("ssprctl apply"),
        "{who}: the plan flow never applies"
    );
    assert!(
        script.contains("<!-- ssprctl-plan -->"),
        "{who}: one comment, found by its marker"
    );
}

fn assert_apply_flow(who: &str, script: &str) {
    let runs = invocations(script);
    assert!(!runs.is_empty(), "{who}: applies");
    for run in &runs {
        assert!(
            run.starts_with("ssprctl apply \"$plan\" --config \"$SSPRCTL_CONFIG\""),
            "{who}: only applies the downloaded plan: {run}"
        );
    }
    assert!(
        runs.iter().any(|l| !l.contains("--allow-weakening")),
        "{who}: weakening is allowed only by the label: {runs:?}"
    );
    assert!(
        script.contains("ssprctl:allow-weakening"),
        "{who}: the label decides --allow-weakening"
    );
    assert!(
        script.contains("ssprctl-plan-") || script.contains("SSPRCTL_PLAN_JOB"),
        "{who}: the reviewed plan's artifact"
    );
}

fn assert_drift_flow(who: &str, script: &str) {
    let runs = invocations(script);
    assert_eq!(runs.len(), 1, "{who}: one plan: {runs:?}");
    let run = &runs[0];
    assert!(run.starts_with("ssprctl plan --config "), "{who}: {run}");
    assert!(run.contains("--detailed-exitcode"), "{who}: {run}");
    assert!(!run.contains("--out"), "{who}: drift saves no plan: {run}");
    // 2 is drift, 3 is unknown and never drift.
    assert!(
        script.contains("2)") && script.contains("3)"),
        "{who}: tells 2 from 3"
    );
    assert!(
        !script.contains("ssprctl apply"),
        "{who}: drift never applies"
    );
}

#[test]
fn every_ci_example_parses_as_yaml() {
    let files = pipeline_files();
    assert!(
        files.len() >= 10,
        "expected the pipelines of three systems: {files:?}"
    );
    for file in files {
        let doc = parse(&file);
        assert!(doc.is_object(), "{file}: a mapping at the top");
    }
}

/// GitLab's own schema of `.gitlab-ci.yml`, vendored (tests/fixtures/README.md).
#[test]
fn gitlab_pipeline_is_valid_against_gitlabs_schema() {
    let schema: Value = serde_json::from_str(&read("tests/fixtures/gitlab-ci.schema.json"))
        .expect("vendored schema is JSON");
    let validator = jsonschema::draft7::new(&schema).expect("a valid draft-07 schema");
    let ci = parse("examples/gitlab/.gitlab-ci.yml");
    let problems: Vec<String> = validator
        .iter_errors(&ci)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The schema does catch a mistake in these jobs.
    let mut broken = ci.clone();
    broken["ssprctl-apply"]["artifacts"]["when"] = Value::from("sometimes");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn gitlab_pipeline_runs_the_three_flows_with_federated_graph_sign_in() {
    let ci = parse("examples/gitlab/.gitlab-ci.yml");
    let config = ci["variables"]["SSPRCTL_CONFIG"]
        .as_str()
        .expect("SSPRCTL_CONFIG");
    let base = &ci[".ssprctl"];
    assert_eq!(
        base["id_tokens"]["SSPRCTL_ID_TOKEN"]["aud"], "api://AzureADTokenExchange",
        "the ID token's audience is the one Entra's federated credentials expect"
    );
    let setup = text(&base["before_script"]);
    assert!(setup.contains("AZURE_FEDERATED_TOKEN_FILE") && setup.contains("$SSPRCTL_ID_TOKEN"));
    let mut jobs = Vec::new();
    for (name, job) in ci.as_object().expect("mapping") {
        if job.get("script").is_none() {
            continue;
        }
        assert_eq!(
            job["extends"], ".ssprctl",
            "{name}: federated sign-in and the cached binary"
        );
        jobs.push(name.clone());
    }
    assert_eq!(jobs, ["ssprctl-plan", "ssprctl-apply", "ssprctl-drift"]);

    let plan = &ci["ssprctl-plan"];
    assert!(text(&plan["rules"]).contains("merge_request_event"));
    assert_eq!(
        plan["rules"][0]["changes"][0], config,
        "changes: names SSPRCTL_CONFIG"
    );
    assert!(text(&plan["artifacts"]["paths"]).contains("ssprctl.plan"));
    assert_plan_flow("gitlab plan", &text(&plan["script"]));

    let apply = &ci["ssprctl-apply"];
    assert_eq!(apply["rules"][0]["changes"][0], config);
    assert!(text(&apply["rules"]).contains("$CI_DEFAULT_BRANCH"));
    assert_eq!(apply["environment"]["name"], "entra-production");
    assert_eq!(apply["resource_group"], format!("ssprctl-apply-{config}"));
    assert!(text(&apply["artifacts"]["paths"]).contains(".ssprctl/journal/"));
    let script = text(&apply["script"]);
    assert!(
        script.contains("artifacts/ssprctl.plan"),
        "downloads the plan job's artifact"
    );
    assert_apply_flow("gitlab apply", &script);

    let drift = &ci["ssprctl-drift"];
    assert!(text(&drift["rules"]).contains("\"schedule\""));
    assert_drift_flow("gitlab drift", &text(&drift["script"]));
}

#[test]
fn azure_pipelines_run_the_three_flows_with_federated_graph_sign_in() {
    let vars = parse("examples/azure-pipelines/ssprctl-vars.yml");
    let config = vars["variables"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == "SSPRCTL_CONFIG"))
        .and_then(|v| v["value"].as_str())
        .expect("SSPRCTL_CONFIG")
        .to_owned();

    // The shared steps: the script runs in AzureCLI@2 with the service
    // connection's federated idToken written to the token file; the portal
    // secret is mapped in from the variable group.
    let steps = parse("examples/azure-pipelines/ssprctl-steps.yml");
    let cli = steps["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["task"] == "AzureCLI@2"))
        .expect("an AzureCLI@2 step");
    assert_eq!(cli["inputs"]["addSpnToEnvironment"], true);
    let inline = cli["inputs"]["inlineScript"]
        .as_str()
        .expect("inlineScript");
    assert!(inline.contains("$idToken") && inline.contains("AZURE_FEDERATED_TOKEN_FILE"));
    assert!(inline.contains("${{ parameters.script }}"));
    assert_eq!(
        cli["env"]["SSPRCTL_PORTAL_REFRESH_TOKEN"],
        "$(SSPRCTL_PORTAL_REFRESH_TOKEN)"
    );

    // Each pipeline runs its ssprctl script through the shared steps.
    let template_script = |doc: &Value, who: &str| -> String {
        let jobs = text(&doc["jobs"]);
        assert!(
            jobs.contains("ssprctl-steps.yml"),
            "{who}: uses ssprctl-steps.yml"
        );
        jobs
    };

    let plan = parse("examples/azure-pipelines/ssprctl-plan.yml");
    let script = template_script(&plan, "azure plan");
    assert!(
        script.contains("System.PullRequest.SourceCommitId"),
        "plans the source commit"
    );
    assert!(
        script.contains("ssprctl-plan-$(SSPRCTL_HEAD)"),
        "publishes the plan by commit"
    );
    assert_plan_flow("azure plan", &script);

    let apply = parse("examples/azure-pipelines/ssprctl-apply.yml");
    assert_eq!(apply["lockBehavior"], "sequential");
    assert_eq!(apply["trigger"]["paths"]["include"][0], config.as_str());
    let job = &apply["jobs"][0];
    assert_eq!(job["environment"], "entra-production");
    let script = template_script(&apply, "azure apply");
    assert!(script.contains("DownloadPipelineArtifact@2"));
    assert_apply_flow("azure apply", &script);

    let drift = parse("examples/azure-pipelines/ssprctl-drift.yml");
    assert!(drift["schedules"][0]["cron"].is_string());
    assert_eq!(drift["trigger"], "none");
    assert_drift_flow("azure drift", &template_script(&drift, "azure drift"));
}

#[test]
fn no_ci_example_holds_a_graph_client_secret() {
    for file in pipeline_files() {
        let text = read(&file);
        for needle in ["AZURE_CLIENT_SECRET", "clientSecret", "client_secret"] {
            assert!(
                !text.contains(needle),
                "{file} mentions {needle}: the Graph side is federated"
            );
        }
    }
}
