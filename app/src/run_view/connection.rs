//! The connection view of an L4 run: each frame as the plugin saw it, what it changed and
//! passed on, the bytes each way, and the closes.

use leptos::prelude::*;
use pwp_model::connection::{ConnectionOutcome, Direction, FrameOutcome, Peer};
use pwp_model::scenario::Body;
use pwp_model::stream::Access;

use crate::labels;
use crate::state::{RunStatus, use_state};

fn shown(b: &Body) -> String {
    match b {
        Body::Text(t) if t.is_empty() => "(nothing)".into(),
        Body::Text(t) => format!("{t:?}"),
        Body::Base64 { base64 } => format!("(binary, base64) {base64}"),
    }
}

fn byte_len(b: &Body) -> usize {
    b.bytes().map_or(0, |v| v.len())
}

/// Whether the run is an L4 one, and its outcome so far.
fn connection_outcome() -> impl Fn() -> Option<ConnectionOutcome> + Copy {
    let state = use_state();
    move || {
        state
            .run
            .with(|r| r.report.as_ref().and_then(|r| r.connection.clone()))
    }
}

/// The connection panel's content.
#[component]
pub fn ConnectionView() -> impl IntoView {
    let outcome = connection_outcome();
    view! {
        <div data-testid="connection">
            {move || match outcome() {
                None => view! { <p class="empty">"Not run yet."</p> }.into_any(),
                Some(c) => view! {
                    <Totals down=c.downstream.clone() up=c.upstream.clone() />
                    <Frames frames=c.frames.clone() />
                    <Closes c=c />
                }.into_any(),
            }}
        </div>
    }
}

/// Bytes each way: what each peer sent and what reached the other.
#[component]
fn Totals(down: Direction, up: Direction) -> impl IntoView {
    let row = |name: &'static str, d: Direction, testid: &'static str| {
        let eos = if d.end_of_stream {
            " + end of stream"
        } else {
            ""
        };
        view! {
            <tr data-testid=testid>
                <td class="k">{name}</td>
                <td class="mono">{byte_len(&d.received)}</td>
                <td class="mono">{format!("{}{eos}", byte_len(&d.forwarded))}</td>
                <td class="mono">{byte_len(&d.held)}</td>
            </tr>
        }
    };
    view! {
        <table class="conn-totals">
            <thead><tr><th></th><th>"sent (bytes)"</th><th>"passed on"</th><th>"held"</th></tr></thead>
            <tbody>
                {row("client → upstream", down, "conn-down")}
                {row("upstream → client", up, "conn-up")}
            </tbody>
        </table>
    }
}

/// Each scenario frame, in order.
#[component]
fn Frames(frames: Vec<FrameOutcome>) -> impl IntoView {
    view! {
        <ol class="conn-frames" data-testid="conn-frames">
            {frames.into_iter().map(|f| view! { <FrameItem f=f /> }).collect_view()}
        </ol>
    }
}

/// One frame: its bytes, what the plugin saw and returned, what it changed, what went on.
#[component]
fn FrameItem(f: FrameOutcome) -> impl IntoView {
    let state = use_state();
    let (arrow, class) = match f.from {
        Peer::Downstream => ("client → upstream", "conn-frame down"),
        Peer::Upstream => ("upstream → client", "conn-frame up"),
    };
    let eos = if f.end_of_stream {
        ", end of stream"
    } else {
        ""
    };
    let callback = f.callback;
    let select = move |_| state.selected.set(callback);
    view! {
        <li class=class data-testid="conn-frame">
            <div class="conn-head">
                <strong>{format!("{arrow}{eos}")}</strong>
                <span class="mono">{shown(&f.data)}</span>
            </div>
            {f.seen.clone().map(|seen| view! {
                <div class="conn-line">
                    <button type="button" class="conn-cb" title="Show this callback in the timeline" on:click=select>
                        {callback.map(labels::callback_no).unwrap_or_default()}
                    </button>
                    {format!(" plugin saw {} bytes → {}", byte_len(&seen), f.action.map(|a| a.name()).unwrap_or("Continue"))}
                </div>
            })}
            {f.changed_to.clone().map(|to| view! {
                <div class="conn-line conn-changed" data-testid="conn-changed">{format!("changed to {}", shown(&to))}</div>
            })}
            {(byte_len(&f.forwarded) > 0).then(|| view! {
                <div class="conn-line">{format!("passed on {}", shown(&f.forwarded))}</div>
            })}
            {(f.held > 0).then(|| view! {
                <div class="conn-line note">{format!("{} bytes held in the connection buffer", f.held)}</div>
            })}
            {(!f.note.is_empty()).then(|| view! { <div class="conn-line note">{f.note.clone()}</div> })}
        </li>
    }
}

/// The close callbacks and whether the context ended.
#[component]
fn Closes(c: ConnectionOutcome) -> impl IntoView {
    let end = if c.closed {
        "Closed: proxy_on_done, proxy_on_log and proxy_on_delete ran."
    } else {
        "Still open at the end of the scenario: add a frame that closes it."
    };
    view! {
        <ul class="conn-closes" data-testid="conn-closes">
            {c.closes.into_iter().map(|x| view! {
                <li><span class="mono">{x.label()}</span>{format!(" — {}", x.reason)}</li>
            }).collect_view()}
        </ul>
        <p class="note" data-testid="conn-end">{end}</p>
    }
}

/// While a run is paused in an L4 connection: its buffers as the plugin sees them, and whether
/// it may read and write each now.
#[component]
pub fn ConnectionNow() -> impl IntoView {
    let state = use_state();
    let now = super::of_run(state, |r| {
        r.connection
            .clone()
            .filter(|_| r.status == RunStatus::Paused)
    });
    view! {
        {move || now.get().map(|c| {
            let buffer = |title: &'static str, peer: Peer| {
                let (bytes, open) = c.buffer(peer);
                let access = if open { Access::ReadWrite } else { Access::None };
                view! {
                    <h4>{title} " " <small class="access">{labels::access(access)}</small></h4>
                    <pre class="body mono">{format!("{} bytes: {:?}", bytes.len(), String::from_utf8_lossy(bytes))}</pre>
                }
            };
            view! {
                <section class="stream-now" data-testid="connection-now" aria-label="The connection at the pause">
                    <h3 class="panel-title">{format!("The connection now (context {})", c.id)}</h3>
                    {buffer("DOWNSTREAM_DATA (client → upstream)", Peer::Downstream)}
                    {buffer("UPSTREAM_DATA (upstream → client)", Peer::Upstream)}
                </section>
            }
        })}
    }
}
