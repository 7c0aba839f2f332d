// A build made with `trunk build [--release] --public-url /pwp/sub/` works when hosted under
// that sub-path, and finds its examples there (not at /examples/).
// scripts/test.sh builds it (a dev build) into e2e/artifacts/dist-subpath before the browser tests.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { artifactsDir, launch, open, serve } from "../lib.mjs";

const dist = join(artifactsDir, "dist-subpath");
const prefix = "/pwp/sub/";

test(
  "a sub-path build loads its assets and examples from the sub-path",
  { skip: !existsSync(join(dist, "index.html")) && `no ${dist}: built by scripts/test.sh` },
  async () => {
    const server = await serve(dist, { prefix });
    const browser = await launch();
    try {
      const { page, errors } = await open(browser, server.url);
      await page.getByRole("heading", { name: "Proxy-Wasm Playground" }).waitFor();
      await page.waitForFunction(
        () => !document.querySelector('[data-testid="example-select"] option')?.textContent?.startsWith("Loading"),
      );
      assert.ok(server.requests.includes(`${prefix}examples/index.json`), `requests: ${server.requests}`);
      assert.ok(
        server.requests.every((path) => path.startsWith(prefix)),
        `every request stays under ${prefix}: ${server.requests}`,
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
