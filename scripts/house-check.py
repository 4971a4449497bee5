#!/usr/bin/env python3
"""The house targets of issue 21, checked over the Swift sources.

    python3 scripts/house-check.py                 # Sources and Tests
    python3 scripts/house-check.py Sources/KVM     # one directory (or file)

Lists every Swift file over 300 lines, every function over 60 lines (counted from the line
of its `func`, `init`, `deinit` or `subscript` keyword to the line of its closing brace, both
included; a nested function counts inside its outer one too), and every `@unchecked Sendable`
in code with whether it carries a reason (see `has_reason`).
Strings and comments are masked before anything is matched, so a brace in a string or a
`func` in a comment does not count. Exits 1 if any target is missed:
files <= 300 lines, functions <= 60 lines, at most 15 `@unchecked Sendable` in Sources, each
with a reason (in Tests they are listed, not judged).
"""
import os
import re
import sys

FILE_LIMIT = 300
FUNCTION_LIMIT = 60
UNCHECKED_LIMIT = 15

MODIFIERS = (r"(?:@\w+(?:\([^)]*\))?|public|private(?:\(set\))?|fileprivate(?:\(set\))?|"
             r"internal(?:\(set\))?|package|open|static|class|final|override|mutating|"
             r"nonmutating|convenience|required|nonisolated(?:\(unsafe\))?|dynamic|"
             r"consuming|borrowing|indirect|lazy|weak|unowned)")
DECLARATION = re.compile(r"^[ \t]*(?:" + MODIFIERS + r"[ \t]+)*(func|init[?!]?|deinit|subscript)\b")
NEXT_MEMBER = re.compile(r"^[ \t]*(?:}|(?:" + MODIFIERS + r"[ \t]+)*"
                         r"(?:func|var|let|init|deinit|case|typealias|associatedtype|subscript|"
                         r"struct|class|enum|protocol|extension)\b)")
NAME = re.compile(r"(?:func[ \t]+([^\s(]+?)(?=[\s(<]|$)|(init[?!]?|deinit|subscript))")


def mask(text):
    """The text with every string literal and comment replaced by spaces (newlines kept)."""
    out = list(text)
    n = len(text)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    def skip_string(i):
        """i at the first `#` or `"` of a string; returns the index after its end."""
        hashes = 0
        while text[i] == "#":
            hashes += 1
            i += 1
        multi = text.startswith('"""', i)
        i += 3 if multi else 1
        close = ('"""' if multi else '"') + "#" * hashes
        escape = "\\" + "#" * hashes
        while i < n:
            if text.startswith(escape, i):
                j = i + len(escape)
                if j < n and text[j] == "(":
                    i = skip_code(j + 1, ")")
                else:
                    i = j + 1
                continue
            if text.startswith(close, i):
                return i + len(close)
            if not multi and text[i] == "\n":
                return i  # an unterminated line: give up on this literal
            i += 1
        return n

    def skip_code(i, until):
        """Scans code (inside an interpolation) to its closing `until`; returns the index after."""
        depth = 0
        while i < n:
            c = text[i]
            if c == '"' or (c == "#" and re.match(r'#+"', text[i:i + 8])):
                i = skip_string(i)
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0 and until == ")":
                    return i + 1
                depth -= 1
            i += 1
        return n

    i = 0
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c == '"' or (c == "#" and re.match(r'#+"', text[i:i + 8])):
            j = skip_string(i)
            blank(i, j)
            i = j
        else:
            i += 1
    return "".join(out)


def functions(code):
    """(first line, last line, name) of every function with a body; lines are 1-based."""
    lines = code.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    found = []
    for number, line in enumerate(lines):
        m = DECLARATION.match(line)
        if not m:
            continue
        name_match = NAME.search(line, m.start(1))
        name = name_match.group(1) or name_match.group(2)
        i = starts[number] + m.end(1)
        depth = 0
        body = None
        while i < len(code):
            c = code[i]
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == "{" and depth == 0:
                body = i
                break
            elif c == "}" and depth == 0:
                break
            elif c == "\n":
                rest = code[i + 1:code.find("\n", i + 1) if code.find("\n", i + 1) >= 0 else len(code)]
                if depth == 0 and NEXT_MEMBER.match(rest):
                    break
            i += 1
        if body is None:
            continue  # a requirement in a protocol: no body
        depth, i = 0, body
        while i < len(code):
            if code[i] == "{":
                depth += 1
            elif code[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        last = code.count("\n", 0, i) + 1
        found.append((number + 1, last, name))
    return found


def has_reason(lines, k):
    """Whether the `@unchecked Sendable` on line k says why it is sound: a comment on its line,
    a comment just below it that begins `// @unchecked`, or a comment block just above it
    (doc comment included) that names `@unchecked`."""
    if "//" in lines[k]:
        return True
    if k + 1 < len(lines) and lines[k + 1].strip().startswith("// @unchecked"):
        return True
    j = k - 1
    while j >= 0 and lines[j].strip().startswith("@"):
        j -= 1  # attributes between the comment and the declaration
    block = []
    while j >= 0 and lines[j].strip().startswith("//"):
        block.append(lines[j])
        j -= 1
    return any("@unchecked" in line for line in block)


def swift_files(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in sorted(files):
                if f.endswith(".swift"):
                    yield os.path.join(root, f)


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    paths = argv or ["Sources", "Tests"]
    long_files, long_functions, unchecked = [], [], []
    for path in swift_files(paths):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        count = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if count > FILE_LIMIT:
            long_files.append((count, path))
        code = mask(text)
        for first, last, name in functions(code):
            if last - first + 1 > FUNCTION_LIMIT:
                long_functions.append((last - first + 1, path, first, name))
        raw_lines, code_lines = text.split("\n"), code.split("\n")
        for k, line in enumerate(code_lines):
            if "@unchecked Sendable" in line or re.search(r"@unchecked\s+Sendable", line):
                unchecked.append((path, k + 1, has_reason(raw_lines, k)))

    print(f"== files over {FILE_LIMIT} lines: {len(long_files)}")
    for count, path in sorted(long_files, reverse=True):
        print(f"{path}: {count} lines")
    print(f"== functions over {FUNCTION_LIMIT} lines: {len(long_functions)}")
    for count, path, first, name in sorted(long_functions, reverse=True):
        print(f"{path}:{first}: {name} is {count} lines")
    in_sources = [u for u in unchecked if u[0].startswith("Sources/")]
    print(f"== @unchecked Sendable: {len(unchecked)} ({len(in_sources)} in Sources, "
          f"at most {UNCHECKED_LIMIT}); in Sources without a reason: {sum(1 for u in in_sources if not u[2])}")
    per_target = {}
    for path, _, _ in unchecked:
        target = "/".join(path.split("/")[:2])
        per_target[target] = per_target.get(target, 0) + 1
    for target in sorted(per_target):
        print(f"  {target}: {per_target[target]}")
    for path, line, reason in unchecked:
        print(f"{path}:{line}: {'reason given' if reason else 'NO REASON'}")
    missed = (long_files or long_functions or len(in_sources) > UNCHECKED_LIMIT
              or any(not r for _, _, r in in_sources))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
