// The published scenario JSON Schema accepts every scenario in the repository and refuses
// malformed ones (no browser needed).

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Ajv2020 from "ajv/dist/2020.js";
import { root } from "../lib.mjs";

const schema = JSON.parse(readFileSync(join(root, "schema", "scenario.schema.json"), "utf8"));
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);

function scenarioFiles() {
  const out = [];
  for (const dir of readdirSync(join(root, "examples"), { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(join(root, "examples", dir.name))) {
      if (/^scenario.*\.json$/.test(f)) out.push(join(root, "examples", dir.name, f));
    }
  }
  return out;
}

test("every scenario in the repository validates against the published schema", () => {
  const files = scenarioFiles();
  assert.ok(files.length >= 14, `found only ${files.length} scenarios`);
  for (const file of files) {
    const ok = validate(JSON.parse(readFileSync(file, "utf8")));
    assert.ok(ok, `${file}: ${JSON.stringify(validate.errors, null, 1)}`);
  }
});

test("the schema refuses misspelled fields, wrong types and bad header expectations", () => {
  assert.equal(validate({}), true, "the empty scenario is the default one");
  const timeline = {
    events: [{ tick: {} }, { tick: { count: 2 } }, { advance_ms: 5000 }, { request: { path: "/b", response: { status: 201 } } }],
    mocks: { http: [{ cluster: "auth", delay_ms: 300 }] },
  };
  assert.equal(validate(timeline), true, JSON.stringify(validate.errors));
  for (const bad of [
    { requst: {} },
    { request: { method: 7 } },
    { request: { headers: [["only-a-name"]] } },
    { expect: { client_response: { stauts: 200 } } },
    { expect: { upstream_request: { headers: { "x-a": [1] } } } },
    { settings: { profile: "nginx" } },
    { events: [{ sleep: 5 }] },
    { events: [{ tick: {}, advance_ms: 5 }] },
    { events: [{ advance_ms: "5 s" }] },
    { events: [{ request: { pth: "/a" } }] },
    { mocks: { http: [{ cluster: "auth", delay_ms: -1 }] } },
  ]) {
    assert.equal(validate(bad), false, `should refuse ${JSON.stringify(bad)}`);
  }
});

test("the schema describes version 2: lenient, foreign-function mocks, versions 1 and 2", () => {
  assert.equal(schema.properties.version.default, 2);
  for (const good of [
    { version: 1 },
    { version: 2, settings: { lenient: true, strict: true } },
    { mocks: { foreign: [{ name: "get_token", result: "t" }, { name: "compress", status: "InternalFailure" }, { name: "b", result: { base64: "/wA=" } }] } },
  ]) {
    assert.equal(validate(good), true, `${JSON.stringify(good)}: ${JSON.stringify(validate.errors)}`);
  }
  for (const bad of [
    { version: 3 },
    { settings: { lenient: "yes" } },
    { mocks: { foreign: [{ name: "f", status: "Nope" }] } },
    { mocks: { foreign: [{ name: "f", reslt: "x" }] } },
  ]) {
    assert.equal(validate(bad), false, `should refuse ${JSON.stringify(bad)}`);
  }
});
