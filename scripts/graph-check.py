#!/usr/bin/env python3
"""The target graph, checked three ways against Package.swift (issue 21's "dependencies one
way, documented in docs/architecture.md, and Package.swift's comment matching it").

    python3 scripts/graph-check.py

1. Every Swift file imports only targets its target declares (so the declared graph is the
   real one). It does not count a product such as NIOCore: only Ringside's own targets.
2. docs/architecture.md's table (layer, target, imports) lists every library and executable
   target with exactly its declared Ringside dependencies, and each dependency sits on a lower
   layer. Its arrow list (`A -> B, C`: B and C import A) names every target that is imported
   once, with exactly its importers, and its main path follows real edges.
3. Package.swift's layer comment puts every target on the layer the table gives it.
Prints each difference on one line; exits 1 if there is any.
"""
import os
import re
import sys

EXTERNAL = {"swift-nio", "swift-nio-ssl", "swift-argument-parser"}


def declared_targets(package):
    """{target: [Ringside dependencies]} for the library and executable targets; test targets
    and TestSupport are left out."""
    body = package[package.index("targets: ["):]
    starts = list(re.finditer(r"\.(target|executableTarget|testTarget)\(\s*name: \"(\w+)\"", body))
    targets = {}
    for i, m in enumerate(starts):
        kind, name = m.groups()
        if kind == "testTarget" or name == "TestSupport":
            continue
        chunk = body[m.end():starts[i + 1].start() if i + 1 < len(starts) else len(body)]
        listed = re.search(r"dependencies: \[(.*?)\]\s*[,)]", chunk, re.S)
        names = re.findall(r"\.product\(name: \"\w+\"|\"([\w-]+)\"", listed.group(1)) if listed else []
        targets[name] = [n for n in names if n and n not in EXTERNAL]
    return targets


def import_problems(targets):
    problems = []
    for name, deps in targets.items():
        folder = os.path.join("Sources", name)
        for root, _, files in os.walk(folder):
            for f in sorted(files):
                if not f.endswith(".swift"):
                    continue
                path = os.path.join(root, f)
                with open(path, encoding="utf-8") as src:
                    for line in src:
                        m = re.match(r"\s*(?:@testable\s+|@_implementationOnly\s+|(?:public|internal|package)\s+)?import\s+(\w+)", line)
                        if m and m.group(1) in targets and m.group(1) not in deps and m.group(1) != name:
                            problems.append(f"{path}: imports {m.group(1)}, which {name} does not declare in Package.swift")
    return problems


def code_blocks(text):
    return re.findall(r"```\n(.*?)```", text, re.S)


def doc_table(block, known):
    """{target: (layer, {imports})} from the table: the target in columns 7-22, the imports from
    column 23 on (a comment after three spaces ignored), continued on lines blank up to column 23."""
    rows, layer, current = {}, None, None
    for line in block.splitlines()[1:]:
        head, rest = line[:23], line[23:]
        m = re.match(r"\s*(\d+)?\s+(\w+)\s*$", head)
        if m and m.group(2):
            if m.group(1):
                layer = int(m.group(1))
            current = m.group(2)
            rows[current] = (layer, set())
        elif head.strip() or current is None:
            continue
        listed = re.split(r"\s{3,}", rest.strip())[0]
        if listed.startswith("("):
            continue
        rows[current][1].update(w for w in re.findall(r"[\w-]+", listed) if w in known)
    return rows


def table_problems(targets, rows):
    problems = []
    for name in targets:
        if name not in rows:
            problems.append(f"docs/architecture.md: {name} is missing from the target table")
    for name, (layer, imports) in rows.items():
        if name not in targets:
            problems.append(f"docs/architecture.md: the table lists {name}, which Package.swift does not declare")
            continue
        declared = set(targets[name])
        for extra in sorted(imports - declared):
            problems.append(f"docs/architecture.md: {name} is said to import {extra}; Package.swift does not declare it")
        for missing in sorted(declared - imports):
            problems.append(f"docs/architecture.md: {name} imports {missing}, which the table does not list")
        for dep in sorted(declared):
            if dep in rows and rows[dep][0] is not None and layer is not None and rows[dep][0] >= layer:
                problems.append(f"docs/architecture.md: {name} (layer {layer}) imports {dep} (layer {rows[dep][0]}): not a lower layer")
    return problems


def arrow_problems(targets, block):
    importers = {}
    for name, deps in targets.items():
        for dep in deps:
            importers.setdefault(dep, set()).add(name)
    problems, seen = [], set()
    lines = [line for line in block.splitlines() if "->" in line or (line.startswith(" ") and line.strip())]
    merged = []
    for line in lines:
        if "->" in line:
            merged.append(line)
        elif merged:
            merged[-1] += " " + line.strip()
    for k, line in enumerate(merged):
        parts = [re.findall(r"[\w-]+", p) for p in line.split("->")]
        if k == 0:  # the main path: one target per step, each step a real edge
            for a, b in zip(parts, parts[1:]):
                if b[0] not in importers.get(a[0], set()):
                    problems.append(f"docs/architecture.md: the main path has {a[0]} -> {b[0]}, but {b[0]} does not import {a[0]}")
            continue
        if len(parts) != 2 or len(parts[0]) != 1:
            problems.append(f"docs/architecture.md: cannot read the arrow line '{line.strip()}'")
            continue
        name, listed = parts[0][0], set(parts[1])
        seen.add(name)
        if listed != importers.get(name, set()):
            want = ", ".join(sorted(importers.get(name, set())))
            problems.append(f"docs/architecture.md: {name} -> {', '.join(sorted(listed))}; Package.swift says {want}")
    for name in sorted(set(importers) - seen):
        problems.append(f"docs/architecture.md: the arrow list has no line for {name} (imported by {', '.join(sorted(importers[name]))})")
    return problems


def comment_problems(package, rows):
    problems = []
    for line in package.splitlines():
        m = re.match(r"//\s+(\d+)\s+(.*)", line)
        if not m:
            continue
        layer = int(m.group(1))
        for word in re.findall(r"\b\w+\b", re.sub(r"\([^)]*\)", "", m.group(2))):
            if word in rows and rows[word][0] != layer:
                problems.append(f"Package.swift: its comment puts {word} on layer {layer}; docs/architecture.md on {rows[word][0]}")
    named = {w for line in package.splitlines() if re.match(r"//\s+\d+\s", line)
             for w in re.findall(r"\b\w+\b", re.sub(r"\([^)]*\)", "", line))}
    for name in sorted(set(rows) - named):
        problems.append(f"Package.swift: its layer comment does not name {name}")
    return problems


def main():
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    package = open("Package.swift", encoding="utf-8").read()
    doc = open("docs/architecture.md", encoding="utf-8").read()
    targets = declared_targets(package)
    section = doc[doc.index("## The target graph"):]
    table, arrows = code_blocks(section)[:2]
    rows = doc_table(table, set(targets))
    problems = (import_problems(targets) + table_problems(targets, rows) + arrow_problems(targets, arrows)
                + comment_problems(package, rows))
    print(f"== target graph: {len(targets)} targets, {sum(len(d) for d in targets.values())} edges; "
          f"{len(problems)} difference(s) between the sources, Package.swift and docs/architecture.md")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
