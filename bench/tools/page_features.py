#!/usr/bin/env python3
"""Where the page's wasm goes by feature, with each group's brotli size.

    RUSTFLAGS="--cfg erase_components -C symbol-mangling-version=v0" \
        cargo build --release -p pwp-app --target wasm32-unknown-unknown
    wasm-bindgen --target web --keep-debug --out-dir OUT .../release/pwp-app.wasm
    python3 bench/tools/page_features.py OUT/pwp-app_bg.wasm

The v0 mangling keeps generic arguments in the names, so a serde function says which
deserializer it was instantiated for (`ContentDeserializer` for the worker's internally tagged
messages, `Value` for `Scenario::from_value`, `StrRead` for text). The module is before
wasm-opt, so sizes are ~5-10 % above the release file; each group is compressed on its own
(`brotli -q 11`, the CLI), so the shares are estimates, not exact parts of the release size.
"""
import re
import subprocess
import sys
from collections import defaultdict

from wasm_sizes import read


def feature(name):
    n = re.sub(r"\[[0-9a-f]{16}\]", "", name)
    if "yaml" in n:
        return "YAML (libyaml_rs, yaml_serde)"
    if "serde" in n:
        if "Content" in n or "content::" in n:
            return "serde: worker messages (FromWorker is internally tagged: Content)"
        if "serde_json::value::Value>" in n or "value::de::" in n or \
                "serde_json::value::Value as serde_core::de::Deserializer" in n:
            return "serde: from a Value (Scenario::from_value: links, sessions, files)"
        if "StrRead" in n or "SliceRead" in n:
            return "serde: from text (envelopes, editors' JSON fields, stored sessions)"
        if "ser::" in n or "Serialize" in n:
            return "serde: serializers"
        return "serde: visitors, errors"
    if "pwp_model::export" in n:
        return "exports (pwp_model::export)"
    if re.match(r"^<?(miniz_oxide|sha2|base64)", n):
        return "share links: miniz_oxide, sha2, base64"
    if n.startswith("pwp_app") or n.startswith("<pwp_app"):
        return "the app's components and logic (pwp_app)"
    if re.match(r"^<*(pwp_model|pwp_proto)", n):
        return "model and proto logic"
    if re.match(r"^<*(wasm_bindgen|js_sys|web_sys|wasm_bindgen_futures)", n):
        return "bindings (wasm_bindgen, js_sys, web_sys)"
    if re.match(r"^<*(core|alloc|std|dlmalloc|hashbrown|indexmap|__rustc|f64|u\d+|i\d+|str|char"
                r"|usize|isize|zmij|ryu)\b", n) and not re.search(r"tachys|reactive_graph|leptos", n):
        return "core, alloc, std, allocator"
    return "Leptos (tachys, reactive_graph, leptos) for the app's views"


def brotli(b):
    return len(subprocess.run(["brotli", "-q", "11", "-c"], input=b, capture_output=True,
                              check=True).stdout)


def main():
    b = open(sys.argv[1], "rb").read()
    m = read(b)
    imported, names, bodies, data = m.imported, m.names, m.bodies, m.data
    groups = defaultdict(list)
    for i, body in enumerate(bodies):
        groups[feature(names.get(imported + i, "?"))].append(body)
    groups["data (strings, tables)"].append(data)
    rows = []
    for name, parts in groups.items():
        blob = b"".join(parts)
        rows.append((brotli(blob), len(blob), name))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    print("| part | raw | brotli -q 11 (alone) | share |")
    print("| --- | ---: | ---: | ---: |")
    for br, raw, name in rows:
        print(f"| {name} | {raw:,} | {br:,} | {100 * br / total:.0f} % |")
    print(f"| **sum** | {sum(r[1] for r in rows):,} | {total:,} | |")


if __name__ == "__main__":
    main()
