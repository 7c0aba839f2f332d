//! The Export dialog: a format, the deployment fields filled from the session, Higress match
//! rules with a live preview of what the plugin receives, and the output with its warnings,
//! Copy and Download.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use pwp_model::export::{
    ChainPlugin, ExportFormat, TargetRef, export, export_chain, higress_plugin_config,
};
use serde_json::Value;

use super::form::{
    Attach, Field, FormData, RuleText, TARGET_KINDS, default_namespace, group_of, shows,
};
use super::js::{self, Copied};
use super::{ShareExport, context};
use crate::state::{AppState, use_state};

/// The header's Export button, and the dialog it opens.
#[component]
pub fn ExportButton() -> impl IntoView {
    let state = use_state();
    let ctx = context();
    let open = move |_| {
        fill_form(state, ctx);
        ctx.export_open.set(true);
    };
    view! {
        <button type="button" data-testid="export-open" aria-haspopup="dialog"
            title="Write an Istio, Higress or Envoy configuration or a Dockerfile for this session"
            on:click=open>"Export"</button>
        <Show when=move || ctx.export_open.get()>
            <ExportDialog />
        </Show>
    }
}

/// Fills the form from the session when the session changed since it was last filled; what the
/// user chose for the deployment (image, namespace, …) stays.
fn fill_form(state: AppState, ctx: ShareExport) {
    let scenario = state.scenario.get_untracked();
    let (source, name, sha) = state.plugin.with_untracked(|p| match p {
        Some(p) => (
            Some(p.source.clone()),
            p.name.clone(),
            Some(p.info().sha256.clone()),
        ),
        None => (None, String::new(), None),
    });
    let key = (
        serde_json::to_string(&scenario.settings).unwrap_or_default(),
        sha.clone(),
    );
    let previous = ctx.filled_from.get_value();
    if previous.as_ref() == Some(&key) {
        return;
    }
    let fresh = FormData::from_session(&scenario, source.as_ref(), &name);
    match previous {
        None => ctx.form.set(fresh),
        Some((_, old_sha)) => ctx.form.update(|f| *f = f.refreshed(fresh, old_sha != sha)),
    }
    ctx.filled_from.set_value(Some(key));
}

/// The MIME type of a format's download. The Dockerfile is "binary" because browsers add
/// `.txt` to a `text/plain` file without an extension.
fn mime(format: ExportFormat) -> &'static str {
    if format == ExportFormat::Dockerfile {
        "application/octet-stream"
    } else {
        "application/yaml"
    }
}

#[component]
fn ExportDialog() -> impl IntoView {
    let state = use_state();
    let ctx = context();
    let form = ctx.form;
    let format = ctx.format;
    let status = RwSignal::new(String::new());
    // An L4 scenario exports a network filter (see `ExportOptions::network`).
    let network = Memo::new(move |_| state.scenario.with(|s| s.connection.is_some()));
    let result = Memo::new(move |_| {
        let f = format.get();
        let (mut options, mut warnings) = form.with(|d| d.options(f));
        options.network = network.get();
        if options.network {
            options.upstream_cluster = state.scenario.with(|s| s.route.cluster.clone());
        }
        let config = state.scenario.with(|s| s.settings.config.clone());
        let (sha, abi) = state.plugin.with(|p| match p {
            Some(p) => (Some(p.info().sha256.clone()), p.info().abi_marker.clone()),
            None => (None, None),
        });
        if sha.is_none() {
            warnings.push(
                "No plugin is loaded: the export has no sha256 and its ABI was not checked.".into(),
            );
        }
        let scenario = state.scenario.get();
        let out = if scenario.chain.is_empty() {
            export(f, &options, &config, sha.as_deref(), abi.as_deref())
        } else {
            // A chain: one resource per plugin, with priorities that keep its order.
            let mut digests = vec![(sha, abi)];
            state.chain_plugins.with(|m| {
                for filter in &scenario.chain {
                    let digest = match m.get(&crate::state::chain_key(&filter.plugin)) {
                        Some(crate::state::ChainPlugin::Loaded(p)) => {
                            (Some(p.info().sha256.clone()), p.info().abi_marker.clone())
                        }
                        _ => (filter.plugin.sha256.clone(), None),
                    };
                    digests.push(digest);
                }
            });
            let plugins = ChainPlugin::from_scenario(&scenario, &options, &digests);
            export_chain(f, &plugins)
        };
        warnings.extend(out.warnings);
        (out.text, warnings)
    });
    let close = move || ctx.export_open.set(false);
    let format_select = NodeRef::<leptos::html::Select>::new();
    let output = NodeRef::<leptos::html::Pre>::new();
    let copy = move |_| {
        let text = result.with_untracked(|r| r.0.clone());
        status.set("Copying…".into());
        spawn_local(async move {
            let message = match js::copy(&text).await {
                Copied::Clipboard | Copied::Fallback => "Copied to the clipboard.",
                Copied::Failed => {
                    if let Some(pre) = output.get_untracked() {
                        js::select_contents(&pre);
                    }
                    "The clipboard is not available here: the text is selected, press Ctrl+C (⌘C) to copy it."
                }
            };
            status.set(message.into());
        });
    };
    let download = move |_| {
        let f = format.get_untracked();
        let name = f.file_name_for(network.get_untracked());
        result.with_untracked(|r| crate::browser::download_text(name, &r.0, mime(f)));
        status.set(format!("Saved as {name}."));
    };
    Effect::new(move |_| {
        if let Some(select) = format_select.get() {
            let _ = select.focus();
        }
    });
    view! {
        <div class="modal-backdrop" on:click=move |e: ev::MouseEvent| {
            if e.target() == e.current_target() { close(); }
        }>
            <div class="modal export-dialog" role="dialog" aria-modal="true" aria-labelledby="export-title"
                data-testid="export-dialog"
                on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Escape" { close(); }>
                <div class="modal-head">
                    <h2 id="export-title">"Export"</h2>
                    <label class="export-format">
                        <span>"Format"</span>
                        <select node_ref=format_select data-testid="export-format" aria-label="Export format"
                            prop:value=move || format.get().as_str()
                            on:change=move |e| {
                                if let Ok(f) = event_target_value(&e).parse::<ExportFormat>() {
                                    format.set(f);
                                    status.set(String::new());
                                }
                            }>
                            {ExportFormat::ALL.into_iter().map(|f| view! {
                                <option value=f.as_str()>{move || f.label_for(network.get())}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <button type="button" class="modal-close" data-testid="export-close"
                        aria-label="Close" on:click=move |_| close()>"×"</button>
                </div>
                <div class="export-body">
                    <form class="export-form" on:submit=|e| e.prevent_default()>
                        <Fields form=form format=format />
                    </form>
                    <section class="export-result" aria-label="Output">
                        <div class="toolbar">
                            <button type="button" class="primary" data-testid="export-copy" on:click=copy>"Copy"</button>
                            <button type="button" data-testid="export-download" on:click=download>
                                {move || format!("Download {}", format.get().file_name_for(network.get()))}
                            </button>
                            <span class="export-status" data-testid="export-status" aria-live="polite">{move || status.get()}</span>
                        </div>
                        <ul class="export-warnings" data-testid="export-warnings">
                            {move || result.with(|r| {
                                if r.1.is_empty() {
                                    return view! { <li class="ok">"No warnings."</li> }.into_any();
                                }
                                r.1.iter().map(|w| {
                                    let error = w.starts_with("error: ");
                                    view! { <li class:error=error>{w.clone()}</li> }
                                }).collect_view().into_any()
                            })}
                        </ul>
                        <pre node_ref=output class="output export-output" data-testid="export-output" tabindex="0">
                            {move || result.with(|r| r.0.clone())}
                        </pre>
                    </section>
                </div>
            </div>
        </div>
    }
}

/// A text input bound to one field of the form.
fn text_field(
    form: RwSignal<FormData>,
    label: &'static str,
    testid: &'static str,
    placeholder: Signal<String>,
    get: fn(&FormData) -> &String,
    set: fn(&mut FormData) -> &mut String,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input type="text" spellcheck="false" data-testid=testid placeholder=move || placeholder.get()
                prop:value=move || form.with(|f| get(f).clone())
                on:input=move |e| {
                    let v = event_target_value(&e);
                    form.update(|f| *set(f) = v);
                } />
        </label>
    }
}

/// A select bound to one field of the form.
fn select_field(
    form: RwSignal<FormData>,
    label: &'static str,
    testid: &'static str,
    choices: &'static [(&'static str, &'static str)],
    get: fn(&FormData) -> &String,
    set: fn(&mut FormData) -> &mut String,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select data-testid=testid
                prop:value=move || form.with(|f| get(f).clone())
                on:change=move |e| {
                    let v = event_target_value(&e);
                    form.update(|f| *set(f) = v);
                }>
                {choices.iter().map(|(value, text)| view! { <option value=*value>{*text}</option> }).collect_view()}
            </select>
        </label>
    }
}

const PULL_POLICIES: &[(&str, &str)] = &[
    ("", "default (IfNotPresent; Always for :latest)"),
    ("IfNotPresent", "IfNotPresent"),
    ("Always", "Always"),
];
const PHASES: &[(&str, &str)] = &[
    ("", "unspecified (just before the router)"),
    ("AUTHN", "AUTHN (before authentication)"),
    ("AUTHZ", "AUTHZ (before authorization)"),
    ("STATS", "STATS (before stats)"),
];
const FAIL_STRATEGIES: &[(&str, &str)] = &[
    ("FAIL_CLOSE", "FAIL_CLOSE (answer 503)"),
    ("FAIL_OPEN", "FAIL_OPEN (skip the plugin)"),
    (
        "FAIL_RELOAD",
        "FAIL_RELOAD (reload the VM; Istio and Envoy only)",
    ),
];

/// The form's fields, those of the chosen format only.
#[component]
fn Fields(form: RwSignal<FormData>, format: RwSignal<ExportFormat>) -> impl IntoView {
    let show = move |field: Field| shows(format.get(), field);
    let none = Signal::stored(String::new());
    view! {
        <fieldset class="export-group">
            <legend>"Resource"</legend>
            {text_field(form, "Name", "export-name", Signal::stored("my-plugin".into()), |f| &f.name, |f| &mut f.name)}
            <Show when=move || show(Field::Namespace)>
                {text_field(form, "Namespace", "export-namespace",
                    Signal::derive(move || default_namespace(format.get()).to_string()),
                    |f| &f.namespace, |f| &mut f.namespace)}
            </Show>
            {text_field(form, "Image URL", "export-image",
                Signal::derive(move || match format.get() {
                    ExportFormat::Envoy => "empty: a local file; or https://… / file:///path".to_string(),
                    ExportFormat::Dockerfile => "oci://registry.example.com/plugins/name:1.0.0".to_string(),
                    _ => "oci://registry.example.com/plugins/name:1.0.0 or https://…".to_string(),
                }),
                |f| &f.image, |f| &mut f.image)}
            <Show when=move || show(Field::Pull)>
                {select_field(form, "Pull policy", "export-pull-policy", PULL_POLICIES, |f| &f.pull_policy, |f| &mut f.pull_policy)}
                {text_field(form, "Pull secret", "export-pull-secret", Signal::stored("none".into()), |f| &f.pull_secret, |f| &mut f.pull_secret)}
            </Show>
            <Show when=move || show(Field::WasmFile)>
                {text_field(form, "The .wasm file next to the Dockerfile", "export-wasm-file", Signal::stored("plugin.wasm".into()), |f| &f.wasm_file, |f| &mut f.wasm_file)}
            </Show>
        </fieldset>
        <Show when=move || show(Field::PluginName)>
            <fieldset class="export-group">
                <legend>"Plugin"</legend>
                <Show when=move || show(Field::Phase)>
                    {select_field(form, "Phase", "export-phase", PHASES, |f| &f.phase, |f| &mut f.phase)}
                    {text_field(form, "Priority (higher runs first)", "export-priority", none, |f| &f.priority, |f| &mut f.priority)}
                </Show>
                {select_field(form, "Fail strategy", "export-fail-strategy", FAIL_STRATEGIES, |f| &f.fail_strategy, |f| &mut f.fail_strategy)}
                {text_field(form, "Plugin name (root id)", "export-plugin-name", Signal::stored("none".into()), |f| &f.plugin_name, |f| &mut f.plugin_name)}
                <EnvRows form=form />
            </fieldset>
        </Show>
        <Show when=move || show(Field::Attach)>
            <Attachment form=form />
        </Show>
        <Show when=move || show(Field::HigressRules)>
            <HigressRulesEditor form=form />
        </Show>
    }
}

/// VM environment variables.
#[component]
fn EnvRows(form: RwSignal<FormData>) -> impl IntoView {
    let edit = move |i: usize, change: Box<dyn FnOnce(&mut pwp_model::export::EnvVar)>| {
        form.update(|f| {
            if let Some(v) = f.env.get_mut(i) {
                change(v);
            }
        });
    };
    view! {
        <div class="field">
            <span>"VM environment variables"</span>
            <For each=move || 0..form.with(|f| f.env.len()) key=|i| *i children=move |i| view! {
                <div class="export-row" data-testid="export-env">
                    <input type="text" spellcheck="false" placeholder="NAME" aria-label="Variable name"
                        prop:value=move || form.with(|f| f.env.get(i).map(|v| v.name.clone()).unwrap_or_default())
                        on:input=move |e| { let v = event_target_value(&e); edit(i, Box::new(move |x| x.name = v)); } />
                    <input type="text" spellcheck="false" placeholder="value" aria-label="Variable value"
                        prop:disabled=move || form.with(|f| f.env.get(i).is_some_and(|v| v.from_host))
                        prop:value=move || form.with(|f| f.env.get(i).map(|v| v.value.clone()).unwrap_or_default())
                        on:input=move |e| { let v = event_target_value(&e); edit(i, Box::new(move |x| x.value = v)); } />
                    <label class="check" title="Take the value from the proxy's own environment (valueFrom: HOST)">
                        <input type="checkbox"
                            prop:checked=move || form.with(|f| f.env.get(i).is_some_and(|v| v.from_host))
                            on:change=move |e| { let c = event_target_checked(&e); edit(i, Box::new(move |x| x.from_host = c)); } />
                        "from host"
                    </label>
                    <button type="button" aria-label="Remove this variable"
                        on:click=move |_| form.update(|f| { if i < f.env.len() { f.env.remove(i); } })>"×"</button>
                </div>
            } />
            <div>
                <button type="button" data-testid="export-add-env"
                    on:click=move |_| form.update(|f| f.env.push(Default::default()))>"Add variable"</button>
            </div>
        </div>
    }
}

/// What an Istio resource attaches to: the namespace, a selector or targetRefs.
#[component]
fn Attachment(form: RwSignal<FormData>) -> impl IntoView {
    let attach = move || form.with(|f| f.attach);
    view! {
        <fieldset class="export-group">
            <legend>"Applies to"</legend>
            <label class="field">
                <span>"Workloads"</span>
                <select data-testid="export-attach"
                    prop:value=move || attach().as_str()
                    on:change=move |e| { let a = Attach::from_value(&event_target_value(&e)); form.update(|f| f.attach = a); }>
                    {Attach::ALL.into_iter().map(|a| view! { <option value=a.as_str()>{a.label()}</option> }).collect_view()}
                </select>
            </label>
            <Show when=move || attach() == Attach::Selector>
                <label class="field">
                    <span>"Labels (matchLabels), one key=value a line"</span>
                    <textarea class="editor" rows="3" spellcheck="false" data-testid="export-selector"
                        placeholder="istio=ingressgateway"
                        prop:value=move || form.with(|f| f.selector.clone())
                        on:input=move |e| { let v = event_target_value(&e); form.update(|f| f.selector = v); }></textarea>
                </label>
            </Show>
            <Show when=move || attach() == Attach::Targets>
                <For each=move || 0..form.with(|f| f.targets.len()) key=|i| *i children=move |i| view! {
                    <div class="export-row" data-testid="export-target">
                        <select aria-label="Target kind"
                            prop:value=move || form.with(|f| f.targets.get(i).map(|t| t.kind.clone()).unwrap_or_default())
                            on:change=move |e| {
                                let kind = event_target_value(&e);
                                form.update(|f| if let Some(t) = f.targets.get_mut(i) {
                                    t.group = group_of(&kind).to_string();
                                    t.kind = kind;
                                });
                            }>
                            {TARGET_KINDS.iter().map(|(k, _)| view! { <option value=*k>{*k}</option> }).collect_view()}
                        </select>
                        <input type="text" spellcheck="false" placeholder="name" aria-label="Target name"
                            prop:value=move || form.with(|f| f.targets.get(i).map(|t| t.name.clone()).unwrap_or_default())
                            on:input=move |e| { let v = event_target_value(&e); form.update(|f| if let Some(t) = f.targets.get_mut(i) { t.name = v; }); } />
                        <button type="button" aria-label="Remove this target"
                            on:click=move |_| form.update(|f| { if i < f.targets.len() { f.targets.remove(i); } })>"×"</button>
                    </div>
                } />
                <div>
                    <button type="button" data-testid="export-add-target"
                        on:click=move |_| form.update(|f| f.targets.push(TargetRef::default()))>"Add target"</button>
                </div>
            </Show>
        </fieldset>
    }
}

/// Higress's default configuration and match rules, with what the plugin will receive.
#[component]
fn HigressRulesEditor(form: RwSignal<FormData>) -> impl IntoView {
    let state = use_state();
    let applied = RwSignal::new(None::<String>);
    let preview = Memo::new(move |_| {
        let mut errors = Vec::new();
        let rules = form.with(|f| f.higress_rules(&mut errors));
        let received = higress_plugin_config(&rules);
        (received, rules.problems())
    });
    let rule_text = move |i: usize, get: fn(&RuleText) -> String| {
        form.with(|f| f.rules.get(i).map(get).unwrap_or_default())
    };
    let edit = move |i: usize, change: Box<dyn FnOnce(&mut RuleText)>| {
        applied.set(None);
        form.update(|f| {
            if let Some(r) = f.rules.get_mut(i) {
                change(r);
            }
        });
    };
    let use_preview = move |_| {
        let received = preview.with_untracked(|p| p.0.clone());
        state.scenario.update(|s| s.settings.config = received);
        state.reset_run();
        applied.set(Some(
            "This is now the session's plugin configuration: close the dialog and Run to test the rules against the session's request (its authority, route and cluster)."
                .into(),
        ));
    };
    view! {
        <fieldset class="export-group higress-rules" data-testid="higress-rules">
            <legend>"Higress configuration"</legend>
            <label class="field">
                <span>"Default configuration (defaultConfig), JSON; applies when no rule matches"</span>
                <textarea class="editor" rows="5" spellcheck="false" data-testid="higress-default-config"
                    prop:value=move || form.with(|f| f.default_config.clone())
                    on:input=move |e| { let v = event_target_value(&e); applied.set(None); form.update(|f| f.default_config = v); }></textarea>
            </label>
            <label class="check">
                <input type="checkbox" data-testid="higress-default-disable"
                    prop:checked=move || form.with(|f| f.default_disable)
                    on:change=move |e| { let c = event_target_checked(&e); applied.set(None); form.update(|f| f.default_disable = c); } />
                "Disable the default configuration (only matching requests run the plugin)"
            </label>
            <For each=move || 0..form.with(|f| f.rules.len()) key=|i| *i children=move |i| view! {
                <fieldset class="higress-rule" data-testid="higress-rule">
                    <legend>{format!("Rule {} (first match wins)", i + 1)}</legend>
                    <label class="field">
                        <span>"Routes (ingress), e.g. default/foo"</span>
                        <input type="text" spellcheck="false" data-testid="rule-ingress"
                            prop:value=move || rule_text(i, |r| r.ingress.clone())
                            on:input=move |e| { let v = event_target_value(&e); edit(i, Box::new(move |r| r.ingress = v)); } />
                    </label>
                    <label class="field">
                        <span>"Domains, e.g. *.example.com"</span>
                        <input type="text" spellcheck="false" data-testid="rule-domain"
                            prop:value=move || rule_text(i, |r| r.domain.clone())
                            on:input=move |e| { let v = event_target_value(&e); edit(i, Box::new(move |r| r.domain = v)); } />
                    </label>
                    <label class="field">
                        <span>"Services, e.g. httpbin.default.svc.cluster.local:8080"</span>
                        <input type="text" spellcheck="false" data-testid="rule-service"
                            prop:value=move || rule_text(i, |r| r.service.clone())
                            on:input=move |e| { let v = event_target_value(&e); edit(i, Box::new(move |r| r.service = v)); } />
                    </label>
                    <label class="field">
                        <span>"Configuration for matching requests, JSON"</span>
                        <textarea class="editor" rows="3" spellcheck="false" data-testid="rule-config"
                            prop:value=move || rule_text(i, |r| r.config.clone())
                            on:input=move |e| { let v = event_target_value(&e); edit(i, Box::new(move |r| r.config = v)); }></textarea>
                    </label>
                    <div class="toolbar">
                        <label class="check">
                            <input type="checkbox" data-testid="rule-disable"
                                prop:checked=move || form.with(|f| f.rules.get(i).is_some_and(|r| r.disable))
                                on:change=move |e| { let c = event_target_checked(&e); edit(i, Box::new(move |r| r.disable = c)); } />
                            "Disable this rule"
                        </label>
                        <button type="button" aria-label="Move this rule up" prop:disabled=move || i == 0
                            on:click=move |_| { applied.set(None); form.update(|f| if i > 0 && i < f.rules.len() { f.rules.swap(i - 1, i); }); }>"Move up"</button>
                        <button type="button" data-testid="rule-remove"
                            on:click=move |_| { applied.set(None); form.update(|f| { if i < f.rules.len() { f.rules.remove(i); } }); }>"Remove"</button>
                    </div>
                </fieldset>
            } />
            <div>
                <button type="button" data-testid="higress-add-rule"
                    on:click=move |_| { applied.set(None); form.update(|f| f.rules.push(RuleText::default())); }>"Add rule"</button>
            </div>
            <div class="field">
                <span>"What the plugin receives (_rules_ built as Higress's controller does)"</span>
                <pre class="output" data-testid="higress-preview">{move || preview.with(|p| match &p.0 {
                    Value::Null => "nothing: the plugin gets no configuration".to_string(),
                    v => pwp_model::json::to_string_pretty(v).unwrap_or_default(),
                })}</pre>
                <ul class="export-warnings" data-testid="higress-problems">
                    {move || preview.with(|p| p.1.iter().map(|w| view! { <li class="error">{w.clone()}</li> }).collect_view())}
                </ul>
                <div class="toolbar">
                    <button type="button" data-testid="higress-use-config"
                        prop:disabled=move || preview.with(|p| p.0.is_null())
                        title="Replace the session's plugin configuration with this JSON, to test the rules here"
                        on:click=use_preview>"Use as the session's plugin configuration"</button>
                </div>
                {move || applied.get().map(|m| view! { <p class="share-note" data-testid="higress-applied">{m}</p> })}
            </div>
        </fieldset>
    }
}
