//! Recent sessions as plain data (no `leptos`, no `web_sys`; unit-tested natively): the list
//! that autosave keeps, newest first, bounded in count and bytes, without duplicates.
//!
//! A session is a scenario and the plugin it runs. The scenario is kept as JSON and read back
//! through [`Scenario::from_value`] (the migrations and limits that files and links get); the
//! plugin's bytes are stored apart, once per sha256, so that sessions sharing a plugin share its
//! bytes. `persist` does the storing.

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use pwp_model::Scenario;
use pwp_model::scenario::PluginRef;
use serde::{Deserialize, Serialize};

/// At most this many sessions are kept.
pub const MAX_SESSIONS: usize = 8;
/// At most this many bytes (scenarios and distinct plugins) are kept; the newest session is
/// kept whatever its size.
pub const MAX_BYTES: u64 = 48 * 1024 * 1024;

/// How a session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The user's own work (a fresh page, an uploaded plugin).
    #[default]
    Own,
    /// A bundled example.
    Example,
    /// A share link.
    Link,
    /// A scenario file.
    File,
}

/// The session being edited: its id in [`Recent`] and how it began.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    /// Its [`Entry::id`].
    pub id: String,
    /// How it began.
    pub origin: Origin,
    /// Its saved plugin while the bytes are on their way back from storage (saves meanwhile
    /// keep naming it).
    pub awaiting: Option<SavedPlugin>,
}

impl Current {
    /// A session without a plugin on its way.
    pub fn new(id: String, origin: Origin) -> Current {
        Current {
            id,
            origin,
            awaiting: None,
        }
    }
}

/// The plugin a session runs: its name, and how to find it again (`source.sha256` is the key
/// of its stored bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlugin {
    /// What the user called it (file name, example name, URL).
    pub name: String,
    /// Where it came from, with its sha256 and size.
    pub source: PluginRef,
}

/// One saved session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Stable while the session lives.
    pub id: String,
    /// When it was last saved, in milliseconds since the Unix epoch.
    pub saved_at: f64,
    /// How it began.
    #[serde(default)]
    pub origin: Origin,
    /// The scenario as JSON (read back with [`Entry::scenario`]).
    pub scenario: serde_json::Value,
    /// The plugin, if one is loaded.
    #[serde(default)]
    pub plugin: Option<SavedPlugin>,
    /// The content's [`Entry::fingerprint`] when it was opened from an example, a link or a
    /// file; while it is unchanged, the session holds nothing the user typed.
    #[serde(default)]
    pub opened: Option<u64>,
}

/// The sha256 of each plugin a scenario's chain names, from its JSON.
pub fn chain_shas(scenario: &serde_json::Value) -> Vec<String> {
    scenario["chain"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["plugin"]["sha256"].as_str())
        .map(str::to_ascii_lowercase)
        .collect()
}

impl Entry {
    /// A session of `scenario` and `plugin`.
    pub fn new(
        id: String,
        saved_at: f64,
        origin: Origin,
        scenario: &Scenario,
        plugin: Option<SavedPlugin>,
    ) -> Entry {
        Entry {
            id,
            saved_at,
            origin,
            scenario: pwp_model::json::to_value(scenario).unwrap_or_default(),
            plugin,
            opened: None,
        }
    }

    /// The scenario, through the same migrations and limits as files and links.
    ///
    /// # Errors
    ///
    /// Why the saved scenario cannot be used (for example, saved by a newer playground).
    pub fn scenario(&self) -> Result<Scenario, String> {
        Scenario::from_value(self.scenario.clone()).map_err(|e| e.to_string())
    }

    /// The sha256 of the plugin's stored bytes.
    pub fn plugin_sha(&self) -> Option<&str> {
        self.plugin.as_ref()?.source.sha256.as_deref()
    }

    /// The digests of the plugins the scenario's chain names (uploaded ones are stored by
    /// them, like the session's own plugin).
    pub fn chain_shas(&self) -> Vec<String> {
        chain_shas(&self.scenario)
    }

    /// What the session holds: equal fingerprints, equal sessions.
    pub fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.scenario.to_string().hash(&mut h);
        self.plugin_sha().hash(&mut h);
        h.finish()
    }

    /// True while the session is as it was opened (nothing typed into it since).
    pub fn is_pristine(&self) -> bool {
        self.opened == Some(self.fingerprint())
    }

    /// Marks the session's content as the one it was opened with.
    pub fn mark_opened(&mut self) {
        self.opened = Some(self.fingerprint());
    }

    /// A title for lists: the scenario's name, else the plugin's, else "Untitled session".
    pub fn title(&self) -> String {
        let name = self
            .scenario
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::trim)
            .unwrap_or("");
        if !name.is_empty() {
            return name.to_string();
        }
        match &self.plugin {
            Some(p) => p.name.clone(),
            None => "Untitled session".into(),
        }
    }

    /// A short description: the plugin (when the title is not its name) and how it began.
    pub fn details(&self) -> String {
        let mut parts = Vec::new();
        let title = self.title();
        match &self.plugin {
            Some(p) if p.name != title => parts.push(p.name.clone()),
            None => parts.push("no plugin".into()),
            _ => {}
        }
        match self.origin {
            Origin::Own => {}
            Origin::Example => parts.push("example".into()),
            Origin::Link => parts.push("shared link".into()),
            Origin::File => parts.push("scenario file".into()),
        }
        parts.join(" · ")
    }

    /// Bytes this entry's scenario takes.
    fn scenario_bytes(&self) -> u64 {
        self.scenario.to_string().len() as u64
    }
}

/// The saved sessions, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recent {
    /// Newest first.
    pub entries: Vec<Entry>,
}

impl Recent {
    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The entry with this id, to change.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// The newest session other than `current`.
    pub fn previous(&self, current: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id != current)
    }

    /// Saves `entry` as the newest session: it replaces the entry with its id and any other
    /// entry with the same content (the same link opened twice is one session), keeps what
    /// `opened` said about the entry it replaces, then drops the oldest sessions beyond
    /// [`MAX_SESSIONS`] and [`MAX_BYTES`].
    pub fn save(&mut self, mut entry: Entry) {
        if entry.opened.is_none()
            && let Some(old) = self.get(&entry.id)
        {
            entry.opened = old.opened;
        }
        let fingerprint = entry.fingerprint();
        self.entries
            .retain(|e| e.id != entry.id && e.fingerprint() != fingerprint);
        self.entries.insert(0, entry);
        self.evict();
    }

    /// Removes the session with this id.
    pub fn remove(&mut self, id: &str) {
        self.entries.retain(|e| e.id != id);
    }

    /// The id a new session gets when it takes over from `current`: `current`'s own when that
    /// session holds nothing the user typed (opening three examples in a row leaves one
    /// session, not three), else `fresh`.
    pub fn id_for_new(&self, current: Option<&str>, fresh: String) -> String {
        match current.and_then(|id| self.get(id)) {
            Some(e) if e.is_pristine() => e.id.clone(),
            _ => fresh,
        }
    }

    /// The sha256 of every plugin a session names (the stored bytes to keep).
    pub fn plugin_shas(&self) -> BTreeSet<String> {
        self.entries
            .iter()
            .filter_map(|e| e.plugin_sha().map(str::to_string))
            .chain(self.entries.iter().flat_map(Entry::chain_shas))
            .collect()
    }

    /// Bytes kept: every scenario, and every distinct plugin once.
    pub fn bytes(&self) -> u64 {
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for e in &self.entries {
            total += e.scenario_bytes();
            if let Some(p) = &e.plugin
                && let Some(sha) = &p.source.sha256
                && seen.insert(sha.clone())
            {
                total += p.source.size.unwrap_or(0);
            }
        }
        total
    }

    fn evict(&mut self) {
        while self.entries.len() > 1
            && (self.entries.len() > MAX_SESSIONS || self.bytes() > MAX_BYTES)
        {
            self.entries.pop();
        }
    }
}

/// How long ago `then` was, at `now` (both in milliseconds): "just now", "5 min ago",
/// "3 h ago", "2 days ago".
pub fn age(now: f64, then: f64) -> String {
    let minutes = ((now - then) / 60_000.0).max(0.0).floor();
    // Whole minutes of a browser clock: far below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let minutes = minutes as u64;
    match minutes {
        0 => "just now".into(),
        1..=59 => format!("{minutes} min ago"),
        60..=2879 => format!("{} h ago", minutes / 60),
        _ => format!("{} days ago", minutes / 1440),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str, sha: &str, size: u64) -> SavedPlugin {
        SavedPlugin {
            name: name.into(),
            source: PluginRef {
                sha256: Some(sha.into()),
                size: Some(size),
                ..PluginRef::default()
            },
        }
    }

    fn entry(id: &str, path: &str, plugin: Option<SavedPlugin>) -> Entry {
        let mut s = Scenario::default();
        s.request.path = path.into();
        Entry::new(id.into(), 0.0, Origin::Own, &s, plugin)
    }

    fn ids(r: &Recent) -> Vec<&str> {
        r.entries.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn the_plugins_a_chain_names_are_kept_with_the_sessions_own() {
        let mut s = Scenario::default();
        s.chain.push(pwp_model::scenario::ChainFilter {
            plugin: PluginRef {
                file_name: Some("b.wasm".into()),
                sha256: Some("BB".repeat(32)),
                ..PluginRef::default()
            },
            ..Default::default()
        });
        s.chain.push(pwp_model::scenario::ChainFilter::default());
        let mut r = Recent::default();
        r.save(Entry::new(
            "a".into(),
            0.0,
            Origin::Own,
            &s,
            Some(plugin("a.wasm", &"aa".repeat(32), 1)),
        ));
        let shas: Vec<String> = r.plugin_shas().into_iter().collect();
        assert_eq!(shas, ["aa".repeat(32), "bb".repeat(32)]);
    }

    #[test]
    fn the_newest_save_comes_first_and_an_id_is_kept_once() {
        let mut r = Recent::default();
        r.save(entry("a", "/a", None));
        r.save(entry("b", "/b", None));
        r.save(entry("c", "/c", None));
        assert_eq!(ids(&r), ["c", "b", "a"]);
        // Editing `a` again makes it the newest, still once.
        r.save(entry("a", "/a2", None));
        assert_eq!(ids(&r), ["a", "c", "b"]);
        assert_eq!(r.get("a").unwrap().scenario().unwrap().request.path, "/a2");
        assert_eq!(r.previous("a").unwrap().id, "c");
    }

    #[test]
    fn the_same_content_is_kept_once() {
        let mut r = Recent::default();
        r.save(entry("mine", "/mine", None));
        r.save(entry("link-1", "/shared", Some(plugin("p", "aa", 10))));
        r.save(entry("link-2", "/shared", Some(plugin("p", "aa", 10))));
        assert_eq!(ids(&r), ["link-2", "mine"]);
        // Another plugin is other content.
        r.save(entry("link-3", "/shared", Some(plugin("p", "bb", 10))));
        assert_eq!(ids(&r), ["link-3", "link-2", "mine"]);
    }

    #[test]
    fn the_count_is_bounded_and_the_oldest_go_with_their_plugins() {
        let mut r = Recent::default();
        for i in 0..MAX_SESSIONS {
            r.save(entry(
                &format!("s{i}"),
                &format!("/{i}"),
                Some(plugin("p", &format!("sha{i}"), 1)),
            ));
        }
        assert_eq!(r.plugin_shas().len(), MAX_SESSIONS);
        r.save(entry("new", "/new", Some(plugin("p", "sha1", 1))));
        assert_eq!(r.entries.len(), MAX_SESSIONS);
        assert_eq!(r.entries[0].id, "new");
        assert!(r.get("s0").is_none(), "the oldest went");
        assert!(!r.plugin_shas().contains("sha0"), "and its plugin with it");
        // `sha1` is still named by `s1` and `new`: removing `s1` keeps it.
        r.remove("s1");
        assert!(r.plugin_shas().contains("sha1"));
        r.remove("new");
        assert!(!r.plugin_shas().contains("sha1"));
    }

    #[test]
    fn the_bytes_are_bounded_but_the_newest_session_is_always_kept() {
        let mut r = Recent::default();
        let half = MAX_BYTES / 2;
        r.save(entry("a", "/a", Some(plugin("big", "a1", half))));
        // The same plugin twice counts once.
        r.save(entry("b", "/b", Some(plugin("big", "a1", half))));
        assert_eq!(ids(&r), ["b", "a"]);
        r.save(entry("c", "/c", Some(plugin("other", "c1", half))));
        assert_eq!(
            ids(&r),
            ["c"],
            "two plugins of half the budget do not fit with scenarios"
        );
        r.save(entry(
            "huge",
            "/h",
            Some(plugin("huge", "h1", MAX_BYTES * 2)),
        ));
        assert_eq!(ids(&r), ["huge"]);
        assert_eq!(r.plugin_shas().into_iter().collect::<Vec<_>>(), ["h1"]);
    }

    #[test]
    fn a_session_nobody_typed_into_is_reused_by_the_next_one() {
        let mut r = Recent::default();
        let mut example = entry("ex", "/example", Some(plugin("go", "g", 5)));
        example.mark_opened();
        r.save(example);
        assert_eq!(r.id_for_new(Some("ex"), "fresh".into()), "ex");
        // A save without `opened` keeps the mark of the entry it replaces.
        r.save(entry("ex", "/example", Some(plugin("go", "g", 5))));
        assert!(r.get("ex").unwrap().is_pristine());
        // An edit: the session is the user's now and must not be replaced.
        r.save(entry("ex", "/edited", Some(plugin("go", "g", 5))));
        assert!(!r.get("ex").unwrap().is_pristine());
        assert_eq!(r.id_for_new(Some("ex"), "fresh".into()), "fresh");
        assert_eq!(r.id_for_new(None, "fresh".into()), "fresh");
        assert_eq!(r.id_for_new(Some("gone"), "fresh".into()), "fresh");
    }

    #[test]
    fn saved_scenarios_go_through_the_migrations_and_limits_of_files() {
        let mut e = entry("a", "/a", None);
        e.scenario["version"] = 999.into();
        assert!(
            e.scenario().unwrap_err().contains("newer"),
            "{:?}",
            e.scenario()
        );
        e.scenario["version"] = 1.into();
        e.scenario["requests"] = 1_000_000_000.into();
        assert!(e.scenario().unwrap_err().contains("at most"));
        e.scenario["requests"] = 2.into();
        e.scenario.as_object_mut().unwrap().remove("version");
        assert_eq!(e.scenario().unwrap().requests, 2);
    }

    #[test]
    fn titles_and_ages_read_well() {
        let mut e = entry("a", "/", Some(plugin("go-headers", "g", 5)));
        assert_eq!(e.title(), "go-headers");
        assert_eq!(e.details(), "");
        e.origin = Origin::Link;
        e.scenario["name"] = "  Auth demo ".into();
        assert_eq!(e.title(), "Auth demo");
        assert_eq!(e.details(), "go-headers · shared link");
        assert_eq!(entry("b", "/", None).title(), "Untitled session");
        assert_eq!(age(100_000.0, 90_000.0), "just now");
        assert_eq!(age(10.0 * 60_000.0, 0.0), "10 min ago");
        assert_eq!(age(3.0 * 3_600_000.0, 0.0), "3 h ago");
        assert_eq!(age(5.0 * 86_400_000.0, 0.0), "5 days ago");
        assert_eq!(age(0.0, 60_000.0), "just now", "a clock that went back");
    }
}
