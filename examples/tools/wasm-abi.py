#!/usr/bin/env python3
"""List a WebAssembly module's imports and exports and name its proxy-wasm ABI.

Usage:
  wasm-abi.py PLUGIN.wasm              # human-readable listing
  wasm-abi.py --check ABI PLUGIN.wasm  # exit 1 unless the module exports
                                       # proxy_abi_version_<ABI> and _initialize;
                                       # prints "<abi> <n> imports <n> exports"

Standard library only; reads the import and export sections and skips the rest.
"""
import sys

KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def name(data, pos):
    n, pos = leb(data, pos)
    return data[pos:pos + n].decode("utf-8", "replace"), pos + n


def read_limits(data, pos):
    flags, pos = leb(data, pos)
    _, pos = leb(data, pos)
    if flags & 1:
        _, pos = leb(data, pos)
    return pos


def parse(data):
    if data[:4] != b"\0asm":
        raise ValueError("not a WebAssembly module")
    pos, types, imports, exports = 8, [], [], []
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = leb(data, pos)
        end = pos + size
        if section == 1:  # types
            count, p = leb(data, pos)
            for _ in range(count):
                p += 1  # 0x60
                np, p = leb(data, p)
                params = data[p:p + np]
                p += np
                nr, p = leb(data, p)
                results = data[p:p + nr]
                p += nr
                types.append((len(params), len(results)))
        elif section == 2:  # imports
            count, p = leb(data, pos)
            for _ in range(count):
                module, p = name(data, p)
                field, p = name(data, p)
                kind, p = data[p], p + 1
                sig = ""
                if kind == 0:
                    idx, p = leb(data, p)
                    sig = "(%d params, %d results)" % types[idx] if idx < len(types) else ""
                elif kind == 1:
                    p = read_limits(data, p + 1)
                elif kind == 2:
                    p = read_limits(data, p)
                elif kind == 3:
                    p += 2
                elif kind == 4:
                    p += 1
                    _, p = leb(data, p)
                imports.append((module, field, KINDS.get(kind, "?"), sig))
        elif section == 7:  # exports
            count, p = leb(data, pos)
            for _ in range(count):
                field, p = name(data, p)
                kind, p = data[p], p + 1
                _, p = leb(data, p)
                exports.append((field, KINDS.get(kind, "?")))
        pos = end
    return imports, exports


def abi_of(exports):
    markers = [f[len("proxy_abi_version_"):] for f, _ in exports if f.startswith("proxy_abi_version_")]
    return markers


def main(argv):
    check = None
    if len(argv) >= 2 and argv[0] == "--check":
        check, argv = argv[1], argv[2:]
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        imports, exports = parse(f.read())
    markers = abi_of(exports)
    names = {f for f, _ in exports}
    if check is not None:
        problems = []
        if markers != [check]:
            problems.append("ABI marker %s, expected proxy_abi_version_%s" % (markers or "none", check))
        if "_initialize" not in names:
            problems.append("no _initialize export")
        if problems:
            print("%s: %s" % (argv[0], "; ".join(problems)), file=sys.stderr)
            return 1
        print("%s %d imports %d exports" % (check, len(imports), len(exports)))
        return 0
    print("ABI: %s" % (", ".join(markers) or "none"))
    print("imports (%d):" % len(imports))
    for module, field, kind, sig in imports:
        print("  %s.%s %s %s" % (module, field, kind, sig))
    print("exports (%d):" % len(exports))
    for field, kind in exports:
        print("  %s %s" % (field, kind))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
