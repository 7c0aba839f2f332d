use leptos::prelude::*;

use crate::state::use_state;

/// What the loaded plugin is, at once: ABI, toolchain, allocator, stubbed imports, warnings,
/// and whether Envoy or Higress would load it; or why the file is not a usable plugin.
#[component]
pub fn ImportReport() -> impl IntoView {
    let state = use_state();
    view! {
        <div class="import-report" data-testid="import-report" aria-live="polite">
            {move || {
                if let Some(err) = state.load_error.get() {
                    return view! { <p class="error" role="alert" data-testid="load-error">{err}</p> }.into_any();
                }
                let Some(p) = state.plugin.get() else {
                    return view! { <p class="empty">"Load a plugin to see what it is."</p> }.into_any();
                };
                let i = p.info().clone();
                let stubbed: Vec<_> = i.imports.iter().filter(|x| x.status != pwp_model::ImportStatus::Implemented).cloned().collect();
                let implemented = i.imports.len() - stubbed.len();
                view! {
                    <dl class="facts">
                        <dt>"plugin"</dt><dd class="mono">{format!("{} · {} KiB", p.name, i.size / 1024)}</dd>
                        <dt>"ABI"</dt><dd data-testid="abi">{i.abi.map(|a| a.as_str()).unwrap_or("none")}</dd>
                        <dt>"toolchain"</dt><dd data-testid="toolchain">{i.toolchain.clone()}</dd>
                        <dt>"allocator"</dt><dd class="mono">{i.allocator.map_or("none", |a| a.name())}</dd>
                        <dt>"start"</dt><dd class="mono">{i.start.map_or("none", |s| s.name())}</dd>
                        <dt>"imports"</dt><dd>{format!("{} implemented, {} stubbed", implemented, stubbed.len())}</dd>
                        <dt>"sha256"</dt><dd class="mono small">{i.sha256.clone()}</dd>
                    </dl>
                    <ul class="stubbed">
                        {stubbed.into_iter().map(|x| view! {
                            <li class="mono">{format!("{}.{} {} — {}", x.module, x.name, x.signature, x.note.unwrap_or_default())}</li>
                        }).collect_view()}
                    </ul>
                    <p class=if i.envoy_would_load { "ok" } else { "warn" } data-testid="envoy-would-load">
                        {if i.envoy_would_load { "Envoy and Istio would load it." } else { "Upstream Envoy and Istio would refuse it." }}
                        " "
                        {if i.higress_would_load { "Higress would load it." } else { "Higress would refuse it." }}
                    </p>
                    {i.higress_evidence.clone().map(|why| view! {
                        <p data-testid="higress-evidence">
                            {format!("Built for Higress: {why}. Profile “auto” runs it under Higress.")}
                        </p>
                    })}
                    <ul class="warnings">
                        {i.load_problems.iter().chain(i.warnings.iter()).map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </div>
    }
}
