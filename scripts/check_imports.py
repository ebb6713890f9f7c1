#!/usr/bin/env python3
"""The import rules of DESIGN's "Architecture" section, checked over `src/`.

Builds the graph of top-level modules (an edge `a -> b` when a file of module `a` names
`crate::b`, in a `use` or a path) and fails on:
  1. `unsafe` outside `sys`, or a file other than `sys` without `#![forbid(unsafe_code)]`;
  3. a leaf importing anything from the crate; a subsystem importing a composition module
     (so no subsystem imports `config`); `config` imported by anything but `server` and `cli`;
     a composition module importing one above it;
  4. a cycle among the top-level modules.
Rules 2 (only `exec` starts processes) and 5 (`Admitted` has no public constructor) are left to
clippy's `disallowed_methods` and to the type system.

Usage: check_imports.py [SRC_DIR]   (default: src). Exit status 1 on any violation.
"""

import os
import re
import sys

# `testdir` is the unit tests' scratch-directory helper (compiled only for tests).
LEAVES = {"error", "scope", "codec", "sync", "log", "sys", "secfile", "testdir"}
SUBSYSTEMS = {"audit", "output", "exec", "auth", "tools", "targets", "policy"}
# Composition, bottom-up: each may import only those before it (and any leaf or subsystem).
COMPOSITION = ["config", "server", "protocol", "transport", "cli"]
ROOT_FILES = {"lib", "main"}
CONFIG_IMPORTERS = {"server", "cli"}

PATH = re.compile(r"\bcrate::(\{[^}]*\}|[a-z_][a-z0-9_]*)")
UNSAFE = re.compile(r"\bunsafe\s*(\{|fn\b|impl\b|extern\b)")


# One left-to-right pass, so that a quote inside a comment or a `//` inside a string is seen in
# its context: line and block comments, raw strings (`r#"..."#`, not the `r"` that ends an
# identifier), byte and plain strings, and character literals such as '"'.
TOKENS = re.compile(
    r"//[^\n]*"
    r"|/\*.*?\*/"
    r"|(?<![A-Za-z0-9_])b?r(?P<h>#*)\"(?:.|\n)*?\"(?P=h)"
    r"|(?<![A-Za-z0-9_])b?\"(?:\\.|[^\"\\])*\""
    r"|'(?:\\.|[^'\\])'",
    re.S,
)


def strip(text):
    """Drop comments and string literals, so that prose naming `crate::x` or `unsafe` does not
    count (a rough lexer: enough for this code base, and it errs towards reporting)."""
    return TOKENS.sub(lambda m: '""' if m.group(0).endswith(("\"", "#")) else " ", text)


def module_of(rel):
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def targets(code):
    for m in PATH.finditer(code):
        group = m.group(1)
        if group.startswith("{"):
            # `crate::{a, b::c, d::{e}}`: the first segment of each top-level item.
            depth, item, items = 0, "", []
            for ch in group[1:-1] + ",":
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                if ch == "," and depth == 0:
                    items.append(item.strip())
                    item = ""
                else:
                    item += ch
            for it in items:
                name = re.match(r"[a-z_][a-z0-9_]*", it)
                if name:
                    yield name.group(0)
        else:
            yield group


def scan(src):
    edges = {}  # (from, to) -> first file
    problems = []
    modules = set()
    for dirpath, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, src)
            mod = module_of(rel)
            modules.add(mod)
            with open(path, encoding="utf-8") as fh:
                raw = fh.read()
            code = strip(raw)
            if mod != "sys" and mod not in ROOT_FILES:
                if not re.search(r"^#!\[forbid\(unsafe_code\)\]", raw, re.M):
                    problems.append(f"rule 1: {rel} lacks #![forbid(unsafe_code)]")
                if UNSAFE.search(code):
                    problems.append(f"rule 1: {rel} contains `unsafe` (only sys may)")
            for t in targets(code):
                if t == "VERSION" or t == mod:
                    continue
                edges.setdefault((mod, t), rel)
    return modules, edges, problems


def rank(m):
    return COMPOSITION.index(m) if m in COMPOSITION else None


def check(src):
    modules, edges, problems = scan(src)
    for (a, b), where in sorted(edges.items()):
        if b not in modules:
            continue  # a macro or a re-exported item at the crate root, not a module
        edge = f"{a} -> {b} ({where})"
        if a in ROOT_FILES:
            continue
        if a in LEAVES:
            problems.append(f"rule 3: leaf {edge}: leaves import nothing from the crate")
        elif b == "config" and a not in CONFIG_IMPORTERS:
            problems.append(f"rule 3: {edge}: only server and cli import config")
        elif a in SUBSYSTEMS and b in COMPOSITION:
            problems.append(f"rule 3: subsystem {edge} imports a composition module")
        elif rank(a) is not None and rank(b) is not None and rank(b) > rank(a):
            problems.append(f"rule 3: {edge} points up ({' < '.join(COMPOSITION)})")
    for m in sorted(modules - LEAVES - SUBSYSTEMS - set(COMPOSITION) - ROOT_FILES):
        problems.append(f"module `{m}` has no layer in scripts/check_imports.py; add it")
    # Rule 4: cycles, by depth-first search over the module graph.
    graph = {}
    for (a, b) in edges:
        if b in modules and a not in ROOT_FILES:
            graph.setdefault(a, set()).add(b)
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cyc = stack[stack.index(m):] + [m]
                detail = ", ".join(f"{x} -> {y} ({edges[(x, y)]})" for x, y in zip(cyc, cyc[1:]))
                cycles.append(f"rule 4: import cycle {' -> '.join(cyc)}: {detail}")
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    problems.extend(cycles)
    return modules, graph, problems


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    modules, graph, problems = check(src)
    for p in problems:
        print(f"check-imports: {p}")
    if problems:
        print(f"check-imports: FAILED: {len(problems)} problem(s)")
        return 1
    n = sum(len(v) for v in graph.values())
    print(f"check-imports: OK: {len(modules)} modules, {n} edges, no cycle, no forbidden edge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
