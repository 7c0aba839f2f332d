// Sessions that are never lost: an uploaded plugin and an edited config survive opening a
// colleague's share link and reloading, and come back from "Recent sessions" or from the
// notice's "Back to your previous session".

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { distDir, pickExample, screenshot, useApp } from "../lib.mjs";

const app = useApp();

const CONFIG = { realm: "mine", users: { bob: "pw" } };

/** A link to a session of the go-headers example, as a colleague would send it. */
const link = () => {
  const payload = { v: 1, scenario: { name: "Colleague's session", plugin: { example: "go-headers" }, request: { path: "/shared" } } };
  return `${app.server.url}#s=j${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
};

const reportShows = (page, text) =>
  page.waitForFunction((t) => document.querySelector('[data-testid="import-report"]')?.textContent?.includes(t), text);

const noticeMatches = (page, pattern) =>
  page.waitForFunction(
    (source) => new RegExp(source).test(document.querySelector('[data-testid="notice"]')?.textContent ?? ""),
    pattern.source,
  );

/** The plugin configuration the Config tab shows, parsed. */
async function config(page) {
  await page.getByRole("tab", { name: "Config" }).click();
  return JSON.parse(await page.getByTestId("config-editor").inputValue());
}

/** Runs from the start; the client's status and response. */
async function run(page) {
  await page.getByTestId("run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === "Finished", null, { timeout: 120_000 });
  return {
    status: await page.getByTestId("client-status").textContent(),
    client: await page.getByTestId("client-response").textContent(),
  };
}

test("a share link opens as a new session; the uploaded plugin and its config come back", async () => {
  const context = await app.browser.newContext({ viewport: { width: 1280, height: 720 } });
  const errors = [];
  const newPage = async (url) => {
    const page = await context.newPage();
    page.on("pageerror", (err) => errors.push(`page: ${err.message}`));
    page.on("console", (msg) => msg.type() === "error" && errors.push(`console: ${msg.text()}`));
    await page.goto(url);
    return page;
  };

  // My session: an uploaded plugin and a config of my own.
  const mine = await newPage(app.server.url);
  await mine.getByTestId("plugin-file").setInputFiles(join(distDir, "examples", "rust-basic-auth.wasm"));
  await reportShows(mine, "rust-basic-auth.wasm");
  await mine.getByRole("tab", { name: "Config" }).click();
  await mine.getByTestId("config-editor").fill(JSON.stringify(CONFIG, null, 2));
  const original = await run(mine);
  assert.equal(original.status, "401");
  assert.match(original.client, /realm="mine"/);
  await mine.close();

  // A colleague's link, opened in the same browser: a new session, with the way back offered.
  const shared = await newPage(link());
  await noticeMatches(shared, /Opened the shared session “Colleague's session” as a new session\. Your previous session is kept in Recent sessions\./);
  await reportShows(shared, "go-headers ·");
  assert.equal(await shared.getByTestId("back-to-previous").textContent(), "Back to your previous session");
  await screenshot(shared, "sessions-link-opened");

  // A reload keeps the shared session (the newest), and Recent sessions lists both.
  await shared.reload();
  await reportShows(shared, "go-headers ·");
  await shared.getByTestId("recent-sessions").click();
  const entries = shared.getByTestId("recent-session");
  assert.equal(await entries.count(), 2);
  assert.match(await entries.nth(0).textContent(), /Colleague's session.*go-headers · shared link.*current/);
  assert.match(await entries.nth(1).textContent(), /rust-basic-auth\.wasm/);
  await screenshot(shared, "sessions-recent");

  // Picking my session brings back the plugin and the config, and it runs as before.
  await entries.nth(1).click();
  await reportShows(shared, "rust-basic-auth.wasm");
  assert.deepEqual(await config(shared), CONFIG);
  assert.deepEqual(await run(shared), original);
  await screenshot(shared, "sessions-restored");

  // The same link again: still one shared session, and the notice's button leads back.
  const again = await newPage(link());
  await reportShows(again, "go-headers ·");
  await again.getByTestId("back-to-previous").click();
  await reportShows(again, "rust-basic-auth.wasm");
  assert.deepEqual(await config(again), CONFIG);
  await again.getByTestId("recent-sessions").click();
  assert.equal(await again.getByTestId("recent-session").count(), 2, "the same link opened twice is one session");
  await again.getByTestId("recent-sessions").press("Escape");
  await again.getByTestId("recent-list").waitFor({ state: "detached" });

  // Browsing examples does not push my work out: an unedited example is replaced by the next.
  for (const name of ["go-headers", "rust-body-transform", "go-http-auth"]) {
    await pickExample(again, name);
  }
  await again.getByTestId("recent-sessions").click();
  const titles = await again.getByTestId("recent-session").allTextContents();
  assert.equal(titles.length, 3, titles.join("\n"));
  assert.ok(titles.some((t) => t.includes("rust-basic-auth.wasm")), titles.join("\n"));

  // IndexedDB keeps the plugins of the listed sessions, each once, and no other.
  const sha = async (file) => createHash("sha256").update(await readFile(join(distDir, "examples", file))).digest("hex");
  const kept = (await Promise.all(["go-http-auth.wasm", "rust-basic-auth.wasm", "go-headers.wasm"].map(sha))).sort();
  await again.waitForFunction(async (want) => {
    const db = await new Promise((ok, fail) => {
      const open = indexedDB.open("pwp");
      open.onsuccess = () => ok(open.result);
      open.onerror = () => fail(open.error);
    });
    const keys = await new Promise((ok) => {
      const all = db.transaction("plugins").objectStore("plugins").getAllKeys();
      all.onsuccess = () => ok(all.result);
    });
    db.close();
    return JSON.stringify([...keys].sort()) === JSON.stringify(want);
  }, kept);

  // The first tab, still open, saves an edit: the sessions the other tab saved meanwhile stay.
  await shared.getByRole("tab", { name: "Request" }).click();
  await shared.getByTestId("request-path").fill("/edited-in-the-first-tab");
  await shared.waitForFunction(() => (localStorage.getItem("pwp-sessions") ?? "").includes("/edited-in-the-first-tab"));
  const stored = await shared.evaluate(() => JSON.parse(localStorage.getItem("pwp-sessions")).entries.map((e) => e.plugin?.name));
  assert.ok(stored.includes("go-http-auth") && stored.includes("rust-basic-auth.wasm"), stored.join(", "));

  assert.deepEqual(errors, []);
  await context.close();
});
