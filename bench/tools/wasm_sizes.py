#!/usr/bin/env python3
"""Where the bytes of a wasm module go: code size per crate, from the name section.

    python3 bench/tools/wasm_sizes.py app.wasm [--top N] [--functions N]

Needs a module with a name section: the wasm-bindgen output before wasm-opt
(target/wasm-bindgen/release/pwp-app_bg.wasm after `trunk build --release`), or one
optimised with `wasm-opt -Oz -g`. Function names are the demangled Rust paths that
wasm-bindgen writes. A function counts for the first crate named in its path that is not
core/alloc/std (so `core::ptr::drop_in_place<wasmi::Store<..>>` counts for wasmi), or for
core/alloc/std when no other crate is named.
"""
import re
import sys
from collections import defaultdict, namedtuple

STD = {"core", "alloc", "std", "compiler_builtins", "hashbrown", "__rustc"}


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def sections(b):
    assert b[:4] == b"\0asm", "not a wasm module"
    i = 8
    while i < len(b):
        sid = b[i]
        size, j = leb(b, i + 1)
        yield sid, b[j:j + size], j - i + size
        i = j + size


Module = namedtuple("Module", "imported names bodies entries data sections")


def read(b):
    """The parts of `b` the tools look at: imported function count, {function index: name},
    code bodies, each body's entry size (with its size field), the data section, and the
    size of each section."""
    imported = 0
    entries = []
    bodies = []
    names = {}
    data = b""
    sec_sizes = defaultdict(int)
    for sid, body, total in sections(b):
        name = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                12: "datacount", 13: "tag"}.get(sid, str(sid))
        if sid == 0:
            n, k = leb(body, 0)
            cname = body[k:k + n].decode("utf-8", "replace")
            name = f"custom:{cname}"
            if cname == "name":
                p = k + n
                while p < len(body):
                    sub = body[p]
                    ln, p = leb(body, p + 1)
                    end = p + ln
                    if sub == 1:
                        cnt, q = leb(body, p)
                        for _ in range(cnt):
                            idx, q = leb(body, q)
                            sl, q = leb(body, q)
                            names[idx] = body[q:q + sl].decode("utf-8", "replace")
                            q += sl
                    p = end
        elif sid == 2:
            cnt, q = leb(body, 0)
            for _ in range(cnt):
                for _s in range(2):
                    sl, q = leb(body, q)
                    q += sl
                kind = body[q]
                q += 1
                if kind == 0:
                    _, q = leb(body, q)
                    imported += 1
                elif kind in (1, 2):
                    q += kind == 1  # a table's element type
                    flags = body[q]
                    q += 1
                    _, q = leb(body, q)
                    if flags & 1:
                        _, q = leb(body, q)
                elif kind == 3:
                    q += 2
                else:
                    q += 1
        elif sid == 10:
            cnt, q = leb(body, 0)
            for _ in range(cnt):
                sz, q2 = leb(body, q)
                bodies.append(body[q2:q2 + sz])
                entries.append(q2 - q + sz)
                q = q2 + sz
        elif sid == 11:
            data = body
        sec_sizes[name] += total
    return Module(imported, names, bodies, entries, data, sec_sizes)


def parse(b):
    """({function index: code size with its size field}, names, {section: size})."""
    m = read(b)
    sizes = {m.imported + k: size for k, size in enumerate(m.entries)}
    return sizes, m.names, m.sections


CRATE = re.compile(r"(?<![:\w])([A-Za-z_][A-Za-z0-9_]*)::")


def crate_of(name):
    found = CRATE.findall(name)
    for c in found:
        if c not in STD and not c[0].isupper():
            return c
    return found[0] if found else "(unnamed)"


def main():
    args = sys.argv[1:]
    top = 40
    nfun = 0
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    if "--functions" in args:
        i = args.index("--functions")
        nfun = int(args[i + 1])
        del args[i:i + 2]
    b = open(args[0], "rb").read()
    sizes, names, secs = parse(b)
    total = len(b)
    print(f"{args[0]}: {total:,} bytes; {len(sizes)} functions, {len(names)} named")
    print("\nsections:")
    for k, v in sorted(secs.items(), key=lambda kv: -kv[1]):
        print(f"  {v:>10,}  {100 * v / total:5.1f}%  {k}")
    per = defaultdict(int)
    count = defaultdict(int)
    for idx, sz in sizes.items():
        c = crate_of(names.get(idx, "(unnamed)"))
        per[c] += sz
        count[c] += 1
    code_total = sum(sizes.values())
    print(f"\ncode by crate (code section {code_total:,} bytes):")
    for c, v in sorted(per.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {v:>10,}  {100 * v / code_total:5.1f}%  {count[c]:>5} fns  {c}")
    if nfun:
        print(f"\nlargest {nfun} functions:")
        for idx, sz in sorted(sizes.items(), key=lambda kv: -kv[1])[:nfun]:
            print(f"  {sz:>8,}  {names.get(idx, '?')[:150]}")


if __name__ == "__main__":
    main()
