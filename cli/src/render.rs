//! Text output, like a test runner's.

use std::fmt::Write as _;

use pwp_model::outcome::Message;
use pwp_model::scenario::Body;
use pwp_model::trace::CallbackRecord;
use pwp_model::{PluginInfo, Report};

/// ANSI colours, or none.
pub struct Style(pub bool);

impl Style {
    /// Colours when stdout is a terminal and `NO_COLOR` is unset.
    pub fn for_stdout() -> Style {
        Style(
            std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none(),
        )
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

/// `pwp inspect` as text.
pub fn inspect(path: &str, info: &PluginInfo) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{path}");
    let _ = writeln!(
        o,
        "  size       {} bytes, sha256 {}",
        info.size, info.sha256
    );
    let _ = writeln!(
        o,
        "  abi        {} ({})",
        info.abi.map_or("none", |a| a.as_str()),
        info.abi_marker.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        o,
        "  toolchain  {} ({})",
        info.toolchain, info.toolchain_evidence
    );
    let _ = writeln!(
        o,
        "  allocator  {}",
        info.allocator.map_or("none", |a| a.name())
    );
    let _ = writeln!(
        o,
        "  start      {}",
        info.start.map_or("none", |s| s.name())
    );
    let _ = writeln!(o, "  memory     {} pages initially", info.memory_pages);
    let _ = writeln!(o, "  callbacks  {}", info.callbacks.join(", "));
    let _ = writeln!(o, "  imports ({}):", info.imports.len());
    for i in &info.imports {
        let _ = write!(
            o,
            "    {:<12} {}.{} {}",
            i.status, i.module, i.name, i.signature
        );
        if let Some(n) = &i.note {
            let _ = write!(o, "  -- {n}");
        }
        o.push('\n');
    }
    for w in &info.warnings {
        let _ = writeln!(o, "  warning: {w}");
    }
    let _ = writeln!(
        o,
        "  envoy/istio would load it: {}; higress would load it: {}",
        yes(info.envoy_would_load),
        yes(info.higress_would_load)
    );
    for p in &info.load_problems {
        let _ = writeln!(o, "    - {p}");
    }
    if let Some(why) = &info.higress_evidence {
        let _ = writeln!(
            o,
            "  built for Higress: {why}; profile auto runs it under Higress"
        );
    }
    o
}

/// A line of at most [`CLIP`] characters, saying how much was left out (`--json` has all).
pub fn clip(line: &str) -> String {
    match line.char_indices().nth(CLIP) {
        None => line.to_string(),
        Some((end, _)) => {
            let more = line[end..].chars().count();
            format!("{}… ({more} more characters)", &line[..end])
        }
    }
}

/// How long an expectation's detail line may be in text reports.
pub const CLIP: usize = 400;

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn body(b: &Body) -> String {
    match b {
        Body::Text(t) if t.is_empty() => "(empty)".into(),
        Body::Text(t) if t.len() > 300 => format!("{:?}… ({} bytes)", &t[..300], t.len()),
        Body::Text(t) => format!("{t:?}"),
        Body::Base64 { base64 } => format!("base64 {base64}"),
    }
}

fn message(o: &mut String, m: &Message) {
    for (k, v) in &m.headers {
        let _ = writeln!(o, "    {k}: {v}");
    }
    let _ = writeln!(o, "    body: {}", body(&m.body));
    for (k, v) in &m.trailers {
        let _ = writeln!(o, "    trailer {k}: {v}");
    }
}

/// The connection outcome of an L4 run: each frame as the plugin saw it, what it changed and
/// passed on, then the totals each way and the closes.
fn connection(o: &mut String, c: &pwp_model::connection::ConnectionOutcome) {
    let _ = writeln!(o, "connection (context {}):", c.context_id);
    for f in &c.frames {
        let arrow = match f.from {
            pwp_model::connection::Peer::Downstream => "client → upstream",
            pwp_model::connection::Peer::Upstream => "upstream → client",
        };
        let eos = if f.end_of_stream {
            ", end of stream"
        } else {
            ""
        };
        let _ = writeln!(o, "  #{} {arrow}: {}{eos}", f.index, body(&f.data));
        if let (Some(seen), Some(action)) = (&f.seen, f.action) {
            let _ = writeln!(o, "    plugin saw {} -> {action}", body(seen));
        }
        if let Some(to) = &f.changed_to {
            let _ = writeln!(o, "    changed to {}", body(to));
        }
        if f.forwarded != Body::default() {
            let _ = writeln!(o, "    passed on {}", body(&f.forwarded));
        }
        if f.held > 0 {
            let _ = writeln!(o, "    held {} bytes", f.held);
        }
        if !f.note.is_empty() {
            let _ = writeln!(o, "    {}", f.note);
        }
    }
    for (name, d) in [("to upstream", &c.downstream), ("to client", &c.upstream)] {
        let eos = if d.end_of_stream {
            " + end of stream"
        } else {
            ""
        };
        let _ = writeln!(o, "  {name}: {}{eos}", body(&d.forwarded));
        if d.held != Body::default() {
            let _ = writeln!(o, "    still held: {}", body(&d.held));
        }
    }
    for close in &c.closes {
        let _ = writeln!(o, "  close: {} ({})", close.label(), close.reason);
    }
    let end = if c.closed {
        "closed (proxy_on_done, proxy_on_log, proxy_on_delete ran)"
    } else {
        "still open at the end of the scenario"
    };
    let _ = writeln!(o, "  {end}");
}

/// `pwp run` as text.
pub fn report(path: &str, r: &Report, s: &Style, verbose: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {path} (ABI {}, {}, {} profile)",
        s.bold("pwp run"),
        r.abi.map_or("?", |a| a.as_str()),
        r.plugin.toolchain,
        r.profile
    );
    for (i, f) in r.filters.iter().enumerate() {
        let _ = writeln!(
            o,
            "  filter {} {}: VM {}, {} callbacks, request headers seen {} time(s){}",
            i + 1,
            s.bold(&f.name),
            f.vm + 1,
            f.callbacks,
            f.request_headers,
            f.error
                .as_ref()
                .map_or(String::new(), |e| format!(", failed: {e}"))
        );
    }
    // A replay shows the start-up and the last request (the one the expectations and the
    // messages below are about); `--json` has every callback.
    // A run with events shows every callback, with the timeline between them.
    let replay = r.requests.len() > 1 && r.timeline.is_empty();
    let last_request = r.requests.last().map(|q| q.index);
    let first_request_callback = r
        .callbacks
        .iter()
        .position(|c| c.request.is_some())
        .unwrap_or(r.callbacks.len());
    let shown = |cb: &CallbackRecord| {
        !replay
            || cb.request.map_or(cb.index < first_request_callback, |q| {
                Some(q) == last_request
            })
    };
    let hidden = r.callbacks.iter().filter(|c| !shown(c)).count();
    let last_request_starts = r.callbacks.iter().position(|c| c.request == last_request);
    let mut logs = r.logs.iter().peekable();
    let mut marks = r.timeline.iter().peekable();
    for cb in &r.callbacks {
        while let Some(m) = marks.next_if(|m| m.before <= cb.index) {
            let _ = writeln!(o, "  {}", s.bold(&format!("== {}", m.event.describe())));
        }
        if !shown(cb) {
            while logs
                .next_if(|l| l.callback_index == Some(cb.index))
                .is_some()
            {}
            continue;
        }
        if replay && Some(cb.index) == last_request_starts {
            let note = format!(
                "… {} callbacks of the other requests and ticks not shown (--json has them); request #{}:",
                pwp_model::text::thousands(hidden as u64),
                pwp_model::text::thousands(u64::from(last_request.unwrap_or_default()) + 1)
            );
            let _ = writeln!(o, "  {}", s.dim(&note));
        }
        let args: Vec<String> = cb.args.iter().map(i64::to_string).collect();
        let result = match (&cb.action, cb.ret) {
            (Some(a), _) => format!(" -> {a}"),
            (None, Some(v)) => format!(" -> {v}"),
            _ => String::new(),
        };
        let filter = cb.filter.map_or(String::new(), |f| {
            let name = r.filters.get(f as usize).map_or("?", |x| x.name.as_str());
            format!("{} ", s.bold(&format!("[{name}]")))
        });
        let worker = cb.worker.map_or(String::new(), |w| {
            format!("{} ", s.bold(&format!("[worker {w}]")))
        });
        let _ = writeln!(
            o,
            "  {filter}{worker}{}({}){result} {}",
            cb.name,
            args.join(", "),
            s.dim(&format!(
                "[{} host calls, {} fuel, {:.0} µs]",
                cb.hostcalls.len(),
                cb.fuel,
                cb.duration_us
            ))
        );
        // With concurrent streams, shared-data and queue calls are where workers race.
        let racing = |name: &str| cb.worker.is_some() && is_shared(name);
        if verbose || cb.hostcalls.iter().any(|h| racing(&h.name)) {
            for h in cb.hostcalls.iter().filter(|h| verbose || racing(&h.name)) {
                let status = h.status.map_or("", |st| st.name());
                let _ = writeln!(o, "      {} {} {}", s.dim(&h.name), h.detail, s.dim(status));
            }
        }
        for c in &cb.changes {
            let _ = writeln!(
                o,
                "      ~ {} {} {} {}",
                c.target,
                c.op,
                c.name,
                s.dim(&format!("{:?} -> {:?}", c.old, c.new))
            );
        }
        while let Some(l) = logs.next_if(|l| l.callback_index == Some(cb.index)) {
            let _ = writeln!(o, "      [{}] {}", l.level.as_str(), l.message);
        }
        if let Some(e) = &cb.error {
            let _ = writeln!(o, "      {} {e}", s.red("!!"));
        }
    }
    for m in marks {
        let _ = writeln!(o, "  {}", s.bold(&format!("== {}", m.event.describe())));
    }
    // Lines written outside any callback, and any left over; in a replay not those of the
    // callbacks left out, and at most a screenful.
    let rest: Vec<_> = logs
        .filter(|l| {
            l.callback_index
                .is_none_or(|i| r.callbacks.get(i).is_none_or(shown))
        })
        .collect();
    let keep = if replay { 20 } else { rest.len() };
    for l in rest.iter().take(keep) {
        let _ = writeln!(o, "  [{}] {}", l.level.as_str(), l.message);
    }
    if rest.len() > keep {
        let more = format!("… {} more log lines (--json has them)", rest.len() - keep);
        let _ = writeln!(o, "  {}", s.dim(&more));
    }
    if let (Some(summary), Some(first)) =
        (crate::replay::summarise(&r.requests), r.requests.first())
        && replay
    {
        o.push_str(&crate::replay::render(&summary, first));
    }
    if let Some(c) = &r.connection {
        connection(&mut o, c);
    } else {
        match &r.upstream_request {
            Some(m) => {
                let _ = writeln!(o, "upstream request:");
                message(&mut o, m);
            }
            None => {
                let _ = writeln!(
                    o,
                    "upstream request: none (the request did not reach the upstream)"
                );
            }
        }
        match &r.client_response {
            Some(c) => {
                let local = if c.local_reply {
                    format!(", local reply ({})", c.details)
                } else {
                    String::new()
                };
                let _ = writeln!(o, "client response: {}{local}", c.status);
                message(&mut o, &c.message);
            }
            None => {
                let why = r.requests.last().map_or(String::new(), |q| {
                    if q.reset {
                        " (stream reset)".into()
                    } else {
                        q.stalled
                            .clone()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    }
                });
                let _ = writeln!(o, "client response: none{why}");
            }
        }
    }
    if !r.callouts.is_empty() {
        let _ = writeln!(o, "callouts:");
        // In a replay, the last few (--json has all).
        let keep = if replay { 5 } else { r.callouts.len() };
        let skip = r.callouts.len().saturating_sub(keep);
        if skip > 0 {
            let earlier = format!(
                "… {} earlier callouts not shown",
                pwp_model::text::thousands(skip as u64)
            );
            let _ = writeln!(o, "  {}", s.dim(&earlier));
        }
        for c in &r.callouts[skip..] {
            let _ = writeln!(o, "  {} {} {} -> {}", c.kind, c.cluster, c.path, c.answer);
        }
    }
    if !r.metrics.is_empty() {
        let _ = writeln!(o, "metrics:");
        for (k, v) in &r.metrics {
            let _ = writeln!(o, "  {k} = {v}");
        }
    }
    for w in &r.warnings {
        let _ = writeln!(o, "{} {w}", s.bold("note:"));
    }
    if let Some(e) = &r.error {
        let _ = writeln!(o, "{} {e}", s.red("error:"));
        for b in &e.backtrace {
            let _ = writeln!(o, "    {b}");
        }
        if let Some(p) = &e.panic {
            let _ = writeln!(o, "  plugin output:\n    {}", p.replace('\n', "\n    "));
        }
    }
    let _ = writeln!(o, "expectations:");
    let (mut pass, mut fail) = (0, 0);
    for e in &r.expectations {
        if e.passed {
            pass += 1;
            let _ = writeln!(o, "  {} {}", s.green("✓"), e.name);
        } else {
            fail += 1;
            let _ = writeln!(o, "  {} {}", s.red("✗"), e.name);
            for line in e.detail.lines() {
                let _ = writeln!(o, "      {}", clip(line));
            }
        }
    }
    let _ = writeln!(o, "{pass} passed, {fail} failed");
    o
}

/// Shared data and shared queues: process-wide, raced for by concurrent workers.
fn is_shared(name: &str) -> bool {
    name.contains("_shared_data") || name.contains("_shared_queue")
}
