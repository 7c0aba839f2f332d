// Export: every format from a loaded example, the Kubernetes kinds validated against the
// published CRD schemas (schema/crds, copied from upstream), Copy and Download, the ABI
// warning, and Higress match rules edited, previewed and run.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { before, test } from "node:test";
import Ajv from "ajv";
import { parse, parseAllDocuments } from "yaml";
import { distDir, open, pickExample, root, screenshot, useApp } from "../lib.mjs";

const schemasDir = resolve(root, "schema/crds");

/** `${apiVersion}/${kind}` → a validate function for the openAPIV3Schema of that version. */
const validators = new Map();

before(async () => {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  for (const file of ["istio-extensions-crds.yaml", "higress-wasmplugin-crd.yaml"]) {
    const text = await readFile(join(schemasDir, file), "utf8");
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJS();
      if (crd?.kind !== "CustomResourceDefinition") continue;
      for (const version of crd.spec.versions) {
        const key = `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
        validators.set(key, ajv.compile(strictSchema(version.schema.openAPIV3Schema)));
      }
    }
  }
  assert.ok(validators.has("extensions.istio.io/v1alpha1/WasmPlugin"), [...validators.keys()].join(", "));
  assert.ok(validators.has("extensions.istio.io/v1alpha1/TrafficExtension"));
  assert.ok(validators.has("extensions.higress.io/v1alpha1/WasmPlugin"));
});

const app = useApp();

/**
 * The CRD schema as `kubectl apply --validate=strict` reads it: unknown fields are errors
 * (except where the schema preserves them), and the top level also has apiVersion, kind and
 * metadata.
 */
function strictSchema(schema) {
  const walk = (s) => {
    if (Array.isArray(s)) return s.map(walk);
    if (!s || typeof s !== "object") return s;
    const out = {};
    for (const [k, v] of Object.entries(s)) out[k] = k === "enum" ? v : walk(v);
    if (out.properties && out.additionalProperties === undefined && !out["x-kubernetes-preserve-unknown-fields"]) {
      out.additionalProperties = false;
    }
    return out;
  };
  const strict = walk(schema);
  strict.properties = {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: {
      type: "object",
      required: ["name"],
      properties: { name: { type: "string" }, namespace: { type: "string" } },
      additionalProperties: false,
    },
    ...strict.properties,
  };
  strict.required = [...new Set([...(strict.required ?? []), "apiVersion", "kind", "metadata"])];
  return strict;
}

/** Validates a parsed manifest against its CRD; fails with ajv's messages. */
function assertValid(manifest, label) {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const validate = validators.get(key);
  assert.ok(validate, `${label}: no CRD schema for ${key}`);
  const ok = validate(manifest);
  assert.ok(ok, `${label} does not validate against ${key}:\n${JSON.stringify(validate.errors, null, 2)}`);
}

/** The plugin configuration of an example's main scenario. */
async function exampleConfig(example) {
  const file = join(distDir, "examples", `${example}.scenario.json`);
  return JSON.parse(await readFile(file, "utf8")).settings.config;
}

async function sha256Of(example) {
  return createHash("sha256")
    .update(await readFile(join(distDir, "examples", `${example}.wasm`)))
    .digest("hex");
}

/** Chooses a format and returns the output once it shows that format. */
async function exportAs(page, format, startsWith) {
  await page.getByTestId("export-format").selectOption(format);
  await page.waitForFunction(
    (prefix) => document.querySelector('[data-testid="export-output"]')?.textContent?.includes(prefix),
    startsWith,
  );
  return page.getByTestId("export-output").textContent();
}

const warnings = (page) => page.getByTestId("export-warnings").textContent();

test("every format exports from an example; the Kubernetes kinds validate against their CRDs", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(app.server.url).origin });
  await pickExample(page, "rust-basic-auth");
  const sha = await sha256Of("rust-basic-auth");
  const config = await exampleConfig("rust-basic-auth");

  await page.getByTestId("export-open").click();
  await page.getByTestId("export-dialog").waitFor();
  // Filled from the session: the example's name and its root id.
  assert.equal(await page.getByTestId("export-name").inputValue(), "rust-basic-auth");
  assert.equal(await page.getByTestId("export-plugin-name").inputValue(), "");

  // Istio WasmPlugin, with an https:// URL so that the module's sha256 goes into the spec.
  let text = await exportAs(page, "istio", "kind: WasmPlugin");
  assert.match(await warnings(page), /placeholder/, "no image yet: a placeholder with a warning");
  await page.getByTestId("export-image").fill("https://plugins.example.com/rust-basic-auth.wasm");
  await page.getByTestId("export-namespace").fill("istio-ingress");
  await page.getByTestId("export-phase").selectOption("AUTHN");
  await page.getByTestId("export-priority").fill("100");
  await page.getByTestId("export-fail-strategy").selectOption("FAIL_OPEN");
  await page.getByTestId("export-attach").selectOption("selector");
  await page.getByTestId("export-selector").fill("istio=ingressgateway");
  await page.getByTestId("export-add-env").click();
  await page.locator('[data-testid="export-env"] input[type="text"]').first().fill("TRUST_DOMAIN");
  await page.locator('[data-testid="export-env"] input[type="text"]').nth(1).fill("cluster.local");
  await page.waitForFunction(() => document.querySelector('[data-testid="export-output"]').textContent.includes("TRUST_DOMAIN"));
  text = await page.getByTestId("export-output").textContent();
  assert.ok(text.includes(`sha256: ${sha}`), `the Istio output carries the plugin's sha256 ${sha}:\n${text}`);
  let manifest = parse(text);
  assert.equal(manifest.spec.sha256, sha);
  assert.equal(manifest.metadata.namespace, "istio-ingress");
  assert.deepEqual(manifest.spec.selector, { matchLabels: { istio: "ingressgateway" } });
  assert.equal(manifest.spec.phase, "AUTHN");
  assert.equal(manifest.spec.priority, 100);
  assert.equal(manifest.spec.failStrategy, "FAIL_OPEN");
  assert.deepEqual(manifest.spec.pluginConfig, config);
  assert.deepEqual(manifest.spec.vmConfig.env, [{ name: "TRUST_DOMAIN", value: "cluster.local" }]);
  assertValid(manifest, "Istio WasmPlugin");
  assert.doesNotMatch(await warnings(page), /error:/);

  // Copy: the Clipboard API gets exactly the output.
  await page.getByTestId("export-copy").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="export-status"]').textContent.startsWith("Copied"));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text);

  // Istio TrafficExtension, switching to Gateway API targets.
  await page.getByTestId("export-attach").selectOption("targets");
  await page.getByTestId("export-add-target").click();
  await page.locator('[data-testid="export-target"] input').fill("public-gw");
  text = await exportAs(page, "traffic-extension", "kind: TrafficExtension");
  await page.waitForFunction(() => document.querySelector('[data-testid="export-output"]').textContent.includes("public-gw"));
  text = await page.getByTestId("export-output").textContent();
  manifest = parse(text);
  assert.deepEqual(manifest.spec.targetRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public-gw" }]);
  assert.equal(manifest.spec.selector, undefined);
  assert.equal(manifest.spec.wasm.sha256, sha);
  assertValid(manifest, "Istio TrafficExtension");

  // Higress WasmPlugin: its own namespace, no selector.
  await page.getByTestId("export-namespace").fill("");
  text = await exportAs(page, "higress", "extensions.higress.io/v1alpha1");
  manifest = parse(text);
  assert.equal(manifest.metadata.namespace, "higress-system");
  assert.deepEqual(manifest.spec.defaultConfig, config);
  assertValid(manifest, "Higress WasmPlugin");
  assert.doesNotMatch(await warnings(page), /ABI 0\.2\.100|error:/);

  // Envoy http_filters: the wasm filter, then the router; the configuration as a JSON string.
  text = await exportAs(page, "envoy", "http_filters:");
  manifest = parse(text);
  assert.deepEqual(manifest.http_filters.map((f) => f.name), ["envoy.filters.http.wasm", "envoy.filters.http.router"]);
  assert.deepEqual(JSON.parse(manifest.http_filters[0].typed_config.config.configuration.value), config);

  // Dockerfile: FROM scratch, COPY the module as plugin.wasm.
  text = await exportAs(page, "dockerfile", "FROM scratch");
  assert.match(text, /^FROM scratch$/m);
  assert.match(text, /^COPY rust-basic-auth\.wasm \.?\/?plugin\.wasm$/m);
  assert.ok(text.includes(sha), "the Dockerfile names the module's sha256");

  // Download: a file with the format's name and exactly the output.
  for (const [format, file] of [
    ["istio", "wasmplugin.yaml"],
    ["traffic-extension", "trafficextension.yaml"],
    ["higress", "higress-wasmplugin.yaml"],
    ["envoy", "envoy-http-filters.yaml"],
    ["dockerfile", "Dockerfile"],
  ]) {
    await page.getByTestId("export-format").selectOption(format);
    const shown = await page.getByTestId("export-output").textContent();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-download").click()]);
    assert.equal(download.suggestedFilename(), file);
    assert.equal(await readFile(await download.path(), "utf8"), shown, `${file} holds the output`);
  }
  await screenshot(page, "export-dockerfile");

  // Escape closes the dialog; the form keeps what was typed.
  await page.keyboard.press("Escape");
  await page.getByTestId("export-dialog").waitFor({ state: "detached" });
  await page.getByTestId("export-open").click();
  assert.equal(await page.getByTestId("export-image").inputValue(), "https://plugins.example.com/rust-basic-auth.wasm");
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("Copy falls back when the Clipboard API is missing", async () => {
  const context = await app.browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined, configurable: true });
  });
  const page = await context.newPage();
  await page.goto(app.server.url);
  await pickExample(page, "rust-basic-auth");
  await page.getByTestId("export-open").click();
  const text = await exportAs(page, "dockerfile", "FROM scratch");
  await page.evaluate(() => {
    window.__copied = null;
    document.addEventListener("copy", (e) => {
      window.__copied = document.getSelection().toString() || document.activeElement?.value;
    });
  });
  await page.getByTestId("export-copy").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="export-status"]').textContent !== "Copying…");
  const status = await page.getByTestId("export-status").textContent();
  if (status.startsWith("Copied")) {
    // execCommand("copy") copied the selected text of a hidden textarea.
    assert.equal(await page.evaluate(() => window.__copied), text);
  } else {
    // Not even that: the output is selected for the user to copy by hand.
    assert.match(status, /press Ctrl\+C/);
    assert.equal(await page.evaluate(() => document.getSelection().toString()), text);
  }
  await context.close();
});

test("a Higress example: no ABI warning for Higress, the 0.2.100 warning for Istio; rules edited and run", async () => {
  const { page, errors } = await open(app.browser, app.server.url);
  await pickExample(page, "higress-request-block");
  assert.equal(await page.getByTestId("abi").textContent(), "0.2.100");
  const config = await exampleConfig("higress-request-block");
  await page.getByTestId("export-open").click();

  let text = await exportAs(page, "higress", "kind: WasmPlugin");
  assert.doesNotMatch(await warnings(page), /ABI/);
  const manifest = parse(text);
  assertValid(manifest, "Higress WasmPlugin");
  // The `_rules_` of the session's configuration became match rules.
  assert.equal(manifest.spec.matchRules.length, 3);
  assert.deepEqual(manifest.spec.matchRules[0].ingress, ["default/internal-api"]);
  assert.equal(manifest.spec.defaultConfig._rules_, undefined);
  assert.equal(await page.getByTestId("higress-rule").count(), 3);
  // …and the preview is exactly what the session's plugin received.
  assert.deepEqual(JSON.parse(await page.getByTestId("higress-preview").textContent()), config);

  await exportAs(page, "istio", "extensions.istio.io/v1alpha1");
  assert.match(await warnings(page), /ABI 0\.2\.100/);
  await exportAs(page, "envoy", "http_filters:");
  assert.match(await warnings(page), /ABI 0\.2\.100/);

  // Edit the rules: disable the route rule that blocks /internal, add a domain rule for the
  // session's authority that blocks /internal with another message.
  await exportAs(page, "higress", "kind: WasmPlugin");
  const first = page.getByTestId("higress-rule").first();
  await first.getByTestId("rule-disable").check();
  await page.getByTestId("higress-add-rule").click();
  const added = page.getByTestId("higress-rule").last();
  await added.getByTestId("rule-domain").fill("shop.local");
  await added.getByTestId("rule-config").fill('{"block_urls": ["/internal"], "blocked_message": "shop rule\\n"}');
  await page.waitForFunction(() => document.querySelector('[data-testid="higress-preview"]').textContent.includes("shop rule"));
  const preview = JSON.parse(await page.getByTestId("higress-preview").textContent());
  assert.equal(preview._rules_.length, 3, "the disabled rule is dropped, the new one added");
  assert.deepEqual(preview._rules_[2]._match_domain_, ["shop.local"]);
  text = await page.getByTestId("export-output").textContent();
  assert.match(text, /configDisable: true/);
  assert.match(text, /# The plugin receives: /);
  assertValid(parse(text), "Higress WasmPlugin with edited rules");
  await screenshot(page, "export-higress-rules");

  // Use the preview as the session's configuration and run: the new rule answers.
  await page.getByTestId("higress-use-config").click();
  await page.getByTestId("higress-applied").waitFor();
  // The session's configuration is now the preview: the Istio export passes it on as is.
  text = await exportAs(page, "istio", "kind: WasmPlugin");
  assert.deepEqual(parse(text).spec.pluginConfig, preview);
  await page.getByTestId("export-close").click();
  await page.getByTestId("run").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"]')?.textContent === "Finished", null, { timeout: 120_000 });
  // Before, the route rule answered "internal API is not exposed"; now the new domain rule does.
  assert.equal(await page.getByTestId("client-status").textContent(), "403");
  assert.match(await page.getByTestId("client-response").textContent(), /shop rule/);
  assert.deepEqual(errors, []);
  await page.context().close();
});
