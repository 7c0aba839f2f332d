// Share links: a link to an edited session reopens it in a fresh browser (plugin included:
// by example name, inline, or as a file to drop and check), and a truncated or tampered link
// says so and leaves the autosaved session alone.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { inflateRawSync } from "node:zlib";
import binaryen from "binaryen";
import { distDir, pickExample, screenshot, useApp } from "../lib.mjs";

const app = useApp();

const VIEWPORT = { width: 1280, height: 720 };

/** A fresh browser (no storage shared with any other), with its errors collected. */
async function fresh({ clipboard = false } = {}) {
  const context = await app.browser.newContext({ viewport: VIEWPORT });
  if (clipboard) {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(app.server.url).origin });
  }
  const errors = [];
  const watch = (page) => {
    page.on("pageerror", (err) => errors.push(`page: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
    });
    return page;
  };
  return { context, errors, page: async (url) => {
    const page = watch(await context.newPage());
    await page.goto(url);
    return page;
  } };
}

/**
 * Sets the request path in whichever request editor the app has: a path field, or the raw
 * HTTP textarea (applied on change).
 */
async function editRequestPath(page, path) {
  const field = page.locator('input[data-testid="request-path"], [data-testid="request-path"] input').first();
  if ((await field.count()) > 0) {
    if (!(await field.isVisible())) {
      await page.getByRole("tab", { name: /request/i }).first().click();
    }
    await field.fill(path);
    await field.press("Tab");
    return;
  }
  const editor = page.locator('textarea[data-testid="request-editor"]');
  const text = await editor.inputValue();
  await editor.fill(text.replace(/^(\S+) \S+/, `$1 ${path}`));
  await editor.dispatchEvent("change");
}

/** Runs to the end (on a page that has not run yet) and returns what the client and the upstream got. */
async function run(page) {
  await page.getByTestId("run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === "Finished", null, { timeout: 120_000 });
  return {
    status: await page.getByTestId("client-status").textContent(),
    client: await page.getByTestId("client-response").textContent(),
    upstream: await page.getByTestId("upstream-request").textContent(),
  };
}

/** Clicks Share and returns the link it shows, once copied (or once copying gave up). */
async function share(page) {
  await page.getByTestId("share").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="share-status"]')?.textContent !== "Copying…");
  return page.getByTestId("share-link").inputValue();
}

const notice = (page) => page.getByTestId("notice").textContent();
const waitForNotice = (page, pattern) =>
  page.waitForFunction(
    (source) => new RegExp(source).test(document.querySelector('[data-testid="notice"]')?.textContent ?? ""),
    pattern.source,
  );

/**
 * A minimal plugin that adds `x-tiny: yes`: a few hundred bytes, so it travels inside links;
 * `padding` random bytes make it bigger (and incompressible).
 */
function tinyPlugin(padding = 0) {
  const random = [...randomBytes(padding)].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
  const wat = `(module
    (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 2)
    (global $heap (mut i32) (i32.const 4096))
    (data (i32.const 100) "x-tiny")
    (data (i32.const 120) "yes")
    (data (i32.const 8192) "${random}")
    (func (export "proxy_abi_version_0_2_1"))
    (func (export "_initialize"))
    (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
      (local $p i32)
      global.get $heap
      local.set $p
      global.get $heap
      local.get $n
      i32.add
      global.set $heap
      local.get $p)
    (func (export "proxy_on_context_create") (param i32 i32))
    (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
    (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
      (drop (call $add (i32.const 0) (i32.const 100) (i32.const 6) (i32.const 120) (i32.const 3)))
      i32.const 0)
    (func (export "proxy_on_log") (param i32))
    (func (export "proxy_on_done") (param i32) (result i32) i32.const 1)
    (func (export "proxy_on_delete") (param i32)))`;
  const module = binaryen.parseText(wat);
  const bytes = Buffer.from(module.emitBinary());
  module.dispose();
  return bytes;
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** The JSON payload of a link (`#s=z…` deflate or `#s=j…` plain). */
function payloadOf(link) {
  const data = link.split("#s=")[1];
  const bytes = Buffer.from(data.slice(1), "base64url");
  return JSON.parse((data[0] === "z" ? inflateRawSync(bytes) : bytes).toString("utf8"));
}

/**
 * The link with one character of its compressed payload changed, at the first place (from the
 * middle on) where that makes the payload undecodable, so the test does not depend on luck.
 */
function tamper(link) {
  const [base, data] = link.split("#s=");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = Math.floor(data.length / 2); i < data.length - 1; i++) {
    for (const c of "A_Zz") {
      if (c === data[i] || !alphabet.includes(c)) continue;
      const changed = data.slice(0, i) + c + data.slice(i + 1);
      try {
        payloadOf(`#s=${changed}`);
      } catch {
        return `${base}#s=${changed}`;
      }
    }
  }
  throw new Error("no single-character change breaks this payload");
}

test("a link to an edited example reopens in a fresh browser and runs the same", async () => {
  const sender = await fresh({ clipboard: true });
  const a = await sender.page(app.server.url);
  await pickExample(a, "rust-basic-auth");
  await editRequestPath(a, "/profile/shared?via=link");
  const original = await run(a);
  assert.match(original.upstream, /\/profile\/shared\?via=link/);
  assert.equal(original.status, "200");

  const link = await share(a);
  assert.ok(link.startsWith(`${app.server.url}#s=`), link);
  assert.equal(await a.getByTestId("share-status").textContent(), "Copied to the clipboard.");
  assert.equal(await a.evaluate(() => navigator.clipboard.readText()), link);
  assert.match(await a.getByTestId("share-plugin").textContent(), /bundled example rust-basic-auth/);
  assert.equal(await a.getByTestId("share-warning").count(), 0, "a short link has no length warning");
  assert.deepEqual(payloadOf(link).scenario.plugin, { example: "rust-basic-auth" });
  await screenshot(a, "share-popover");

  const receiver = await fresh();
  const b = await receiver.page(link);
  await b.getByTestId("abi").waitFor();
  await waitForNotice(b, /Opened the shared session .* as a new session\./);
  assert.equal(await b.evaluate(() => location.hash), "", "the fragment is cleared");
  assert.deepEqual(await run(b), original);

  // A reload does not open the link again; the shared session was autosaved.
  await b.reload();
  await b.getByTestId("abi").waitFor();
  assert.doesNotMatch((await b.getByTestId("notice").count()) ? await notice(b) : "", /Opened/);
  assert.deepEqual(await run(b), original);

  // A link pasted into the address bar of the open app (only the fragment changes) opens too.
  const edited = payloadOf(link);
  edited.scenario.request.path = "/via-hashchange";
  await b.evaluate((fragment) => { location.hash = fragment; }, `#s=j${b64url(JSON.stringify(edited))}`);
  // The session it leaves holds nothing typed (the link as it was opened): the new one takes its place.
  await waitForNotice(b, /Opened the shared session .* as a new session\./);
  assert.equal(await b.getByTestId("back-to-previous").count(), 0, "no other session to go back to");
  await b.getByTestId("abi").waitFor();
  assert.equal(await b.evaluate(() => location.hash), "");
  assert.match((await run(b)).upstream, /\/via-hashchange/);

  assert.deepEqual([...sender.errors, ...receiver.errors], []);
  await sender.context.close();
  await receiver.context.close();
});

test("a truncated or tampered link says so and keeps the autosaved session", async () => {
  // A session of one's own (autosaved), and a link to break.
  const own = async (path) => {
    const browser = await fresh();
    const first = await browser.page(app.server.url);
    await pickExample(first, "rust-basic-auth");
    await editRequestPath(first, path);
    const kept = await run(first);
    assert.ok(kept.upstream.includes(path), kept.upstream);
    return { ...browser, first, kept };
  };
  const sender = await own("/shared");
  const link = await share(sender.first);
  await sender.context.close();

  const payload = link.split("#s=")[1];
  const swapped = payloadOf(link);
  const tiny = tinyPlugin();
  swapped.scenario.plugin = { inline: tiny.toString("base64"), sha256: "0".repeat(64), file_name: "tiny.wasm", size: tiny.length };
  const cases = [
    ["truncated", `${app.server.url}#s=${payload.slice(0, Math.floor(payload.length * 0.6))}`, /truncated or corrupted/],
    ["tampered", tamper(link), /truncated or corrupted/],
    ["plugin swapped", `${app.server.url}#s=j${b64url(JSON.stringify(swapped))}`, /inline plugin does not match its sha256/],
    ["from the future", `${app.server.url}#s=j${b64url(JSON.stringify({ v: 99, scenario: {} }))}`, /version 99/],
  ];
  for (const [i, [label, url, message]] of cases.entries()) {
    const { context, errors, page, kept } = await own(`/kept-${i}`);
    // The same browser (same storage) opens the broken link: a reload of the app.
    const p = await page(url);
    await waitForNotice(p, /Could not open the shared session/);
    const text = await notice(p);
    assert.match(text, message, `${label}: ${text}`);
    assert.match(text, /Your own session was kept/, label);
    assert.equal(await p.evaluate(() => location.hash), "", `${label}: the fragment is cleared`);
    // The autosaved session is back, plugin included, and runs as before.
    await p.getByTestId("abi").waitFor();
    assert.deepEqual(await run(p), kept, label);
    if (i === 0) await screenshot(p, "share-broken-link");
    assert.deepEqual(errors, [], label);
    await context.close();
  }
});

test("a small plugin travels inside the link", async () => {
  const sender = await fresh();
  const a = await sender.page(app.server.url);
  const tiny = tinyPlugin();
  await a.getByTestId("plugin-file").setInputFiles({ name: "tiny.wasm", mimeType: "application/wasm", buffer: tiny });
  await a.getByTestId("abi").waitFor();
  const original = await run(a);
  assert.match(original.upstream, /x-tiny/);
  const link = await share(a);
  assert.match(await a.getByTestId("share-plugin").textContent(), /inside the link/);
  const plugin = payloadOf(link).scenario.plugin;
  assert.equal(plugin.sha256, sha256(tiny));
  assert.equal(Buffer.from(plugin.inline, "base64").compare(tiny), 0);

  assert.equal(await a.getByTestId("share-warning").count(), 0, `${link.length} characters need no warning`);

  const receiver = await fresh();
  const b = await receiver.page(link);
  await b.getByTestId("abi").waitFor();
  await waitForNotice(b, /Opened a shared session as a new session/);
  assert.deepEqual(await run(b), original);

  // Near the inline limit (32 KiB), the link still carries the plugin but is long: a warning.
  const padded = tinyPlugin(30_000);
  await a.getByTestId("plugin-file").setInputFiles({ name: "padded.wasm", mimeType: "application/wasm", buffer: padded });
  await a.waitForFunction(() => document.querySelector('[data-testid="import-report"]')?.textContent?.includes("padded.wasm"));
  await a.getByTestId("share-close").click();
  const long = await share(a);
  assert.ok(long.length > 40_000, `${long.length}`);
  assert.match(await a.getByTestId("share-plugin").textContent(), /inside the link/);
  assert.match(await a.getByTestId("share-warning").textContent(), /characters long: many chat tools/);
  const c = await receiver.page(long);
  await waitForNotice(c, /Opened a shared session as a new session/);
  await c.waitForFunction(() => document.querySelector('[data-testid="import-report"]')?.textContent?.includes("padded.wasm"));

  assert.deepEqual([...sender.errors, ...receiver.errors], []);
  await sender.context.close();
  await receiver.context.close();
});

test("a plugin loaded from a URL is fetched again and checked against its sha256", async () => {
  const url = `${app.server.url}examples/rust-basic-auth.wasm`;
  const sender = await fresh();
  const a = await sender.page(app.server.url);
  await a.getByTestId("plugin-url").fill(url);
  await a.getByTestId("plugin-url").press("Enter");
  await a.getByTestId("abi").waitFor();
  const link = await share(a);
  const plugin = payloadOf(link).scenario.plugin;
  assert.deepEqual(plugin, { url, sha256: sha256(await readFile(join(distDir, "examples", "rust-basic-auth.wasm"))) });
  assert.match(await a.getByTestId("share-plugin").textContent(), /downloads the plugin from .* and checks its sha256/);

  const receiver = await fresh();
  const b = await receiver.page(link);
  await b.getByTestId("abi").waitFor();
  await waitForNotice(b, /as a new session/);
  // The same link with another digest: the download is refused.
  const wrong = payloadOf(link);
  wrong.scenario.plugin.sha256 = "f".repeat(64);
  const c = await receiver.page(`${app.server.url}#s=j${b64url(JSON.stringify(wrong))}`);
  await waitForNotice(c, /Not restored: the plugin: .* has sha256 [0-9a-f]{64}, not the expected f{64}; the plugin was not loaded/);
  assert.equal(await c.getByTestId("abi").count(), 0);
  assert.deepEqual([...sender.errors, ...receiver.errors], []);
  await sender.context.close();
  await receiver.context.close();
});

test("a large file is named in the link; the receiver's file is checked against its sha256", async () => {
  const wasm = join(distDir, "examples", "rust-basic-auth.wasm");
  const bytes = await readFile(wasm);
  const sender = await fresh();
  const a = await sender.page(app.server.url);
  await pickExample(a, "rust-basic-auth");
  await a.getByTestId("plugin-file").setInputFiles(wasm);
  await a.waitForFunction(() => document.querySelector('[data-testid="import-report"]')?.textContent?.includes("rust-basic-auth.wasm"));
  const original = await run(a);
  const link = await share(a);
  const note = await a.getByTestId("share-plugin").textContent();
  assert.ok(
    note.includes(`the receiver must drop rust-basic-auth.wasm (197.8 KiB, sha256 ${sha256(bytes)})`),
    note,
  );

  const receiver = await fresh();
  // The wrong file: reported.
  const b = await receiver.page(link);
  await waitForNotice(b, /Not restored: the plugin, which is not in the link: drop rust-basic-auth\.wasm/);
  assert.equal(await b.getByTestId("abi").count(), 0, "no plugin yet");
  await b.getByTestId("plugin-file").setInputFiles(join(distDir, "examples", "rust-body-transform.wasm"));
  await waitForNotice(b, /rust-body-transform\.wasm is not the plugin the shared link names/);
  await b.close();
  // The right file: confirmed, and the session runs as the sender's did.
  const c = await receiver.page(link);
  await waitForNotice(c, /drop rust-basic-auth\.wasm/);
  await c.getByTestId("plugin-file").setInputFiles(wasm);
  await waitForNotice(c, /rust-basic-auth\.wasm is the plugin the shared link names/);
  assert.deepEqual(await run(c), original);
  assert.deepEqual([...sender.errors, ...receiver.errors], []);
  await sender.context.close();
  await receiver.context.close();
});
