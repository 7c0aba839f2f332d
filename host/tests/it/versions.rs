//! Old documents keep opening and running: every scenario file in the repository (they are
//! written in version 1 of the format) and a version 1 share link are migrated to the current
//! version and run exactly as they did, to the byte of their golden traces.

use std::path::{Path, PathBuf};

use pwp_host::{Report, Scenario, run};
use pwp_model::scenario::SCENARIO_VERSION;
use pwp_model::share;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `scenario*.json` under `examples/` written in version 1 of the format (the sources,
/// not the built copies), with its text. Files written later in a newer version are left to
/// the examples' own golden test.
fn version_1_files() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let examples = repo_root().join("examples");
    for dir in std::fs::read_dir(&examples).expect("examples/") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.starts_with("scenario") && name.ends_with(".json")) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let raw: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if raw.get("version").is_none_or(|v| v == 1) {
                out.push((file, text));
            }
        }
    }
    out.sort();
    out
}

/// Runs `scenario` against the built example it names and returns the report and the trace
/// as the golden files hold it.
fn run_example(scenario: Scenario) -> (Report, String) {
    let example = scenario
        .plugin
        .as_ref()
        .and_then(|p| p.example.clone())
        .expect("the scenario names its example plugin");
    let wasm = repo_root().join(format!("public/examples/{example}.wasm"));
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the examples first: bash examples/build.sh",
            wasm.display()
        )
    });
    let report = run(&bytes, scenario).expect("the plugin loads");
    let trace = pwp_host::Trace {
        callbacks: report.callbacks.clone(),
        logs: report.logs.clone(),
        logs_dropped: 0,
        timeline: report.timeline.clone(),
        filters: Vec::new(),
    }
    .render();
    (report, trace)
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.trace"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn failed(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| format!("{} ({})", e.name, e.detail))
        .collect();
    out.extend(report.error.as_ref().map(|e| format!("error: {e:?}")));
    out
}

#[test]
fn every_version_1_scenario_file_opens_and_runs_as_before() {
    let files = version_1_files();
    // The fourteen scenarios of the eight examples were all written in version 1.
    assert!(
        files.len() >= 14,
        "found only {} version 1 scenario files",
        files.len()
    );
    for (file, text) in files {
        let shown = file.strip_prefix(repo_root()).unwrap_or(&file).display();
        let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert_eq!(scenario.version, SCENARIO_VERSION, "{shown}");
        // Nothing the new version adds is switched on by the migration.
        assert!(!scenario.settings.lenient, "{shown}");
        // The migrated document reads back as itself.
        assert_eq!(
            Scenario::parse(&scenario.to_json_pretty()).unwrap(),
            scenario,
            "{shown}"
        );
        let example = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        let stem = file.file_stem().unwrap().to_string_lossy();
        let (report, trace) = run_example(scenario);
        assert_eq!(failed(&report), Vec::<String>::new(), "{shown}");
        assert!(
            trace == golden(&format!("{example}.{stem}")),
            "{shown}: the trace is not the golden one"
        );
    }
}

/// A link the version 1 app wrote (`share::encode` of
/// `examples/go-http-auth/scenario-denied.json`, before the format went to version 2).
const V1_LINK: &str = concat!(
    "https://play.example/#s=zhVRNj9owEP0rkc98BBZYmtWqUqWqPfbAbYsi40yIi2O79oSFsvz3jp0EWLpSOTn",
    "zxbw3b-bE9iybDJgXoLmThmUntgfnpdHRrnkNLGNbM6wQ7ZA3WGUJVpCEV-LB7aWApAAtwUe7g98NeGQDVoAXTlq",
    "MpdjqPodr_0p_lMzSSVIal_Bkw4sEzQ70IPEmFrOq2Up9CQ0moSRopKyHRKIHVT5Fc2M9OuB1In2igRAkwmjkAqE",
    "YUS9toQAODry26h4TOxMFgCj11ocoSi7lNryC1ziJR8oI75HUCE5zRVWFajx9dB4yEI5X7oq8Al5Qwyx7YYdYf9g",
    "QbLamRjgFZmwsKhA7ykBZg2kwryl4kqYp9bGv8_7vdaPUgDljMJcFpbHo7Z8tqPyDEZETNA32ROWU2eaKGFEUg44",
    "LCJnOlDKSQNEmtGG2WwW-zSi5VLmxQHyVXHkgatBJgZdPJWviPrBTNqByCy4XXKkNJ0jZNO1-A1ZDbdwxt3wbSs_",
    "STwuy8UO-McUx3xwRIujZcv7YOSrjMVTydzUnfUGKiXikho6w9JrZl5wulrOH-Wy-iEMFYmtCr16Y1HUNNNNA4re",
    "vK3adiXFhaJ8juudJSp7b4fvK2FGnnpEwNQtLU0HkPhDf0opGmMD099Xqx3gympD1KoaXvuAfHrdiwL4Ad6RVUv4",
    "wKp8kQkFCgA0bxK1VUsTY8S9PCet1BOKt0R4CEo8cGx9JDx5SUjR3kiig5I3CYWu_1SsZNqbRxdsyfXu7BXW-REX",
    "1RjGRbGsjdnHgEWn2cvpX-_fK_qhN2vX3fIQlpXUe4tGGBhEOOLaKywB1wIJOqKTUe65kdxvY-byOTZogjFjaYd5",
    "oeWh36HHxOJ3OF51g4rJSdvTRdy-pPHSTXlXh47GDgwURFdKfk_xGNfRN2IpuC2IP4RTlHwN9CJtHf0duqwgFugZ",
    "usJ_eQ89uoD8louKOrtFzg-VwSbTc3pB4E84XboJWvG8PcPFTs3bhfRxRv_VSl2HHa47Uv-8mdneHoQiH-CkUOtI",
    "RZOd1SxYJpS22k7q4Kv0_06cRnc9_AQ",
);

#[test]
fn a_version_1_share_link_opens_and_runs_as_before() {
    let opened = share::decode(V1_LINK).expect("the link opens");
    assert_eq!(opened.version, 1, "share payload version");
    assert_eq!(opened.scenario.version, SCENARIO_VERSION);
    let file = repo_root().join("examples/go-http-auth/scenario-denied.json");
    let from_file = Scenario::parse(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(opened.scenario, from_file);
    let (report, trace) = run_example(opened.scenario);
    assert_eq!(failed(&report), Vec::<String>::new());
    let client = report.client_response.as_ref().expect("a client response");
    assert_eq!(client.status, 403);
    assert!(trace == golden("go-http-auth.scenario-denied"), "{trace}");
}
