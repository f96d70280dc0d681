#!/usr/bin/env python3
"""Lists import circles between the modules of a crate's src/ (file-level `use crate::`,
`self::`/`super::` and child-module paths). Prints nothing and exits 0 when there are none.

    python3 scripts/import-cycles.py crates/worker-api/src
"""
import glob
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "crates/worker-api/src"
files = {}
for f in glob.glob(os.path.join(root, "**/*.rs"), recursive=True):
    rel = os.path.relpath(f, root)[:-3]
    if rel.endswith("_tests"):
        continue
    rel = rel.replace("/mod", "")
    mod = "crate" if rel in ("lib", "main") else "crate::" + rel.replace("/", "::")
    files[mod] = re.sub(r"//.*", "", open(f).read())
mods = set(files)
edges = {m: set() for m in mods}
for m, s in files.items():
    body = re.sub(r"\b(pub )?mod \w+;", "", s)
    for path in re.findall(r"\b(crate(?:::\w+)+)", body):
        parts = path.split("::")
        for i in range(len(parts), 0, -1):
            cand = "::".join(parts[:i])
            if cand in mods:
                if cand != m:
                    edges[m].add(cand)
                break
    parent = "::".join(m.split("::")[:-1]) if m != "crate" else None
    for child in re.findall(r"\b(?:self::)?(\w+)::", body):
        cand = (m + "::" + child) if m != "crate" else "crate::" + child
        if cand in mods and cand != m:
            edges[m].add(cand)
    if parent and re.search(r"\bsuper::", body) and parent in mods:
        for name in re.findall(r"\bsuper::(\w+)", body):
            cand = parent + "::" + name
            edges[m].add(cand if cand in mods else parent)
cycles = set()


def dfs(n, stack):
    for x in sorted(edges[n]):
        if x in stack:
            c = stack[stack.index(x):]
            i = c.index(min(c))
            cycles.add(" -> ".join(c[i:] + c[:i] + [c[i]]))
        elif len(stack) < 12:
            dfs(x, stack + [x])


for m in sorted(mods):
    dfs(m, [m])
for c in sorted(cycles):
    print(c)
sys.exit(1 if cycles else 0)
