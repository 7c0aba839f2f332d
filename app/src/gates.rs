//! What the controls can do right now, and why not: the run toolbar's buttons, the URL box,
//! and a run refused because an editor holds input it could not apply. Pure logic, tested
//! natively.

/// Where the run is, as far as the controls care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunFacts {
    /// A plugin is loaded.
    pub plugin: bool,
    /// A drive loop is stepping the session.
    pub running: bool,
    /// Paused on a callout no mock answers.
    pub awaiting_callout: bool,
    /// Something ran (a session or results exist), so there is something to restart.
    pub started: bool,
    /// Paused in a live session (not stale after an edit).
    pub paused: bool,
}

/// Why each control cannot act (`None`: it can).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Blocked {
    /// Run from the start.
    pub run: Option<&'static str>,
    /// Step over, Step into, Continue.
    pub step: Option<&'static str>,
    /// Restart.
    pub restart: Option<&'static str>,
    /// Tick and Advance clock (they add an event where the run is paused).
    pub clock: Option<&'static str>,
}

const NO_PLUGIN: &str = "Load a plugin first";
const RUNNING: &str = "The plugin is running: Cancel it first";
const CALLOUT: &str = "A callout waits for an answer: answer it (or reset it) in the form that opens the results, or Restart";
const NOT_PAUSED: &str = "Pause the run first (Step over, Step into or a breakpoint): the event is added where the run is paused";

/// What blocks each control, given the facts.
pub fn blocked(f: RunFacts) -> Blocked {
    if !f.plugin {
        return Blocked {
            run: Some(NO_PLUGIN),
            step: Some(NO_PLUGIN),
            restart: Some(NO_PLUGIN),
            clock: Some(NO_PLUGIN),
        };
    }
    Blocked {
        run: f.running.then_some(RUNNING),
        step: if f.running {
            Some(RUNNING)
        } else if f.awaiting_callout {
            Some(CALLOUT)
        } else {
            None
        },
        restart: (!f.started).then_some("Nothing has run yet"),
        clock: if f.running {
            Some(RUNNING)
        } else if f.awaiting_callout {
            Some(CALLOUT)
        } else if !f.paused {
            Some(NOT_PAUSED)
        } else {
            None
        },
    }
}

/// A button's tooltip: why it cannot act, or what it does.
pub fn tooltip(blocked: Option<&str>, what: &str) -> String {
    match blocked {
        Some(why) => format!("{why} ({what})"),
        None => what.to_string(),
    }
}

/// The URL box: `url#sha256=<hex>` or a path ending in `.wasm` (relative to the page).
/// Returns the URL and the pinned digest.
///
/// # Errors
///
/// A sentence saying what is wrong with the text, for the user.
pub fn plugin_url(text: &str) -> Result<(String, Option<String>), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Type or paste the URL of a .wasm plugin first.".into());
    }
    let (url, sha) = match text.split_once("#sha256=") {
        Some((u, s)) => (u.trim(), Some(s.trim())),
        None => (text, None),
    };
    if let Some(sha) = sha
        && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "“#sha256={sha}” is not a SHA-256 digest: it must be 64 hexadecimal digits."
        ));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(format!(
            "“{url}” is not a URL: it contains spaces. Paste an address such as https://example.com/plugin.wasm."
        ));
    }
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| {
            !s.is_empty()
                && s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        })
        .map(str::to_ascii_lowercase);
    match scheme.as_deref() {
        Some("http" | "https" | "blob" | "data") => {}
        Some(other) => {
            return Err(format!(
                "“{url}”: a {other}: URL cannot be fetched by the page; use http(s)."
            ));
        }
        None if url.contains('/') || url.ends_with(".wasm") => {}
        None => {
            return Err(format!(
                "“{url}” is not a URL: start with https:// (or give a path ending in .wasm)."
            ));
        }
    }
    Ok((url.to_string(), sha.map(str::to_string)))
}

/// Why a run must not start while editors hold text they could not apply: `invalid` lists
/// `(editor, problem)`.
pub fn refusal(invalid: &[(String, String)]) -> Option<String> {
    let (first, problem) = invalid.first()?;
    let more = match invalid.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(format!(
        "Not run: the {first} is invalid{more}.\n{problem} — fix it first; the run would otherwise use the last valid one."
    ))
}

/// The engine a new session runs on when driven to `until`: the browser's own `WebAssembly`
/// for a plain run (to the end, or to breakpoints that fall between callbacks), unless the
/// scenario asks for the interpreter; the interpreter for stepping into host calls,
/// host-call breakpoints and stepping callback by callback, so that a step can go on inside
/// the callback it stops before. (Concurrent workers run on the interpreter whatever is asked:
/// the worker decides that.)
pub fn engine_for(
    setting: pwp_model::scenario::EngineSetting,
    until: pwp_model::run::StepUntil,
    breakpoints: &pwp_model::run::Breakpoints,
) -> pwp_proto::EngineChoice {
    use pwp_model::run::StepUntil;
    use pwp_proto::EngineChoice;
    let plain =
        matches!(until, StepUntil::End | StepUntil::Breakpoint) && breakpoints.hostcalls.is_empty();
    if plain && setting.is_auto() {
        EngineChoice::Browser
    } else {
        EngineChoice::Interpreter
    }
}

/// The memory limit a plain Run of `scenario` on the browser's engine compiles the plugin for,
/// or `None` when the scenario keeps to the interpreter.
pub fn browser_pages(scenario: &pwp_model::scenario::Scenario) -> Option<u32> {
    let settings = &scenario.settings;
    settings
        .engine
        .is_auto()
        .then_some(settings.limits.memory_pages)
}

/// Whether a run of `requests` replayed requests has the worker summarise its snapshots
/// (`pwp_proto::Summary`): a run of one request shows its whole report at every step, a replay
/// the callbacks without their host calls, which the worker sends for the callback shown.
pub fn summarise(requests: u32) -> bool {
    requests > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_replay_of_several_requests_is_summarised() {
        assert!(!summarise(0));
        assert!(!summarise(1));
        assert!(summarise(2));
        assert!(summarise(10_000));
    }

    #[test]
    fn without_a_plugin_nothing_can_act() {
        let b = blocked(RunFacts::default());
        assert_eq!(b.run, Some(NO_PLUGIN));
        assert_eq!(b.step, Some(NO_PLUGIN));
        assert_eq!(b.restart, Some(NO_PLUGIN));
    }

    #[test]
    fn a_waiting_callout_blocks_stepping_but_not_run_or_restart() {
        let b = blocked(RunFacts {
            plugin: true,
            awaiting_callout: true,
            started: true,
            ..RunFacts::default()
        });
        assert_eq!(b.step, Some(CALLOUT));
        assert_eq!(b.run, None);
        assert_eq!(b.restart, None);
    }

    #[test]
    fn running_blocks_run_and_steps() {
        let b = blocked(RunFacts {
            plugin: true,
            running: true,
            started: true,
            ..RunFacts::default()
        });
        assert_eq!(b.run, Some(RUNNING));
        assert_eq!(b.step, Some(RUNNING));
    }

    #[test]
    fn a_ready_plugin_can_run_and_step_but_not_restart() {
        let b = blocked(RunFacts {
            plugin: true,
            ..RunFacts::default()
        });
        assert_eq!((b.run, b.step), (None, None));
        assert!(b.restart.is_some());
        assert_eq!(b.clock, Some(NOT_PAUSED));
        let paused = blocked(RunFacts {
            plugin: true,
            started: true,
            paused: true,
            ..RunFacts::default()
        });
        assert_eq!(paused.clock, None);
        assert_eq!(tooltip(None, "Run (Ctrl+Enter)"), "Run (Ctrl+Enter)");
        assert!(tooltip(b.restart, "Restart").starts_with("Nothing has run"));
    }

    #[test]
    fn urls_and_paths_load_and_plain_words_are_refused_with_a_reason() {
        assert_eq!(
            plugin_url(" https://x.test/p.wasm ").unwrap(),
            ("https://x.test/p.wasm".to_string(), None)
        );
        assert_eq!(
            plugin_url("examples/go-headers.wasm").unwrap().0,
            "examples/go-headers.wasm"
        );
        let sha = "a".repeat(64);
        assert_eq!(
            plugin_url(&format!("https://x.test/p.wasm#sha256={sha}")).unwrap(),
            ("https://x.test/p.wasm".to_string(), Some(sha))
        );
        for bad in [
            "",
            "hello",
            "not a url",
            "ftp://x/p.wasm",
            "https://x/p.wasm#sha256=abc",
        ] {
            let e = plugin_url(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(plugin_url("hello").unwrap_err().contains("not a URL"));
    }

    #[test]
    fn a_refusal_names_the_editor_and_the_problem() {
        assert_eq!(refusal(&[]), None);
        let one = refusal(&[(
            "plugin configuration".into(),
            "line 1, column 2: expected value".into(),
        )])
        .unwrap();
        assert!(one.starts_with("Not run: the plugin configuration is invalid.\n"));
        assert!(one.contains("line 1, column 2: expected value"));
        let two = refusal(&[
            ("plugin configuration".into(), "x".into()),
            ("VM configuration".into(), "y".into()),
        ])
        .unwrap();
        assert!(two.contains("(and 1 more)"));
    }

    #[test]
    fn plain_runs_go_to_the_browsers_engine_and_steps_to_the_interpreter() {
        use pwp_model::run::{Breakpoints, StepUntil};
        use pwp_model::scenario::EngineSetting::{Auto, Interpreter};
        use pwp_proto::EngineChoice::{Browser, Interpreter as Wasmi};
        let none = Breakpoints::default();
        assert_eq!(engine_for(Auto, StepUntil::Breakpoint, &none), Browser);
        assert_eq!(engine_for(Auto, StepUntil::End, &none), Browser);
        assert_eq!(engine_for(Interpreter, StepUntil::Breakpoint, &none), Wasmi);
        assert_eq!(engine_for(Auto, StepUntil::Callback, &none), Wasmi);
        assert_eq!(engine_for(Auto, StepUntil::HostCall, &none), Wasmi);
        let mut on_callback = Breakpoints::default();
        on_callback
            .callbacks
            .insert("proxy_on_request_headers".into());
        assert_eq!(
            engine_for(Auto, StepUntil::Breakpoint, &on_callback),
            Browser
        );
        let mut on_hostcall = Breakpoints::default();
        on_hostcall.hostcalls.insert("proxy_http_call".into());
        assert_eq!(engine_for(Auto, StepUntil::Breakpoint, &on_hostcall), Wasmi);
    }
}
