#!/usr/bin/env bash
# Lists the public types (classes, structs, enums and concepts declared in include/tocsin,
# outside namespace detail and outside the private/protected part of a class) that no file in
# docs/ or README.md names. Functions are not checked. Exit 1 when some are missing. Not run by
# scripts/test.sh (yet).
#
#   bash scripts/undocumented.sh          # names missing from the docs
#   bash scripts/undocumented.sh --all    # every public name found, with its header
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python3 - "$@" <<'PY'
import re, sys, pathlib
show_all = "--all" in sys.argv
docs = "\n".join(p.read_text() for p in list(pathlib.Path("docs").glob("*.md")) + [pathlib.Path("README.md")])
names = {}
for h in sorted(pathlib.Path("include/tocsin").rglob("*.hpp")):
    if "detail" in h.parts:
        continue
    text = h.read_text()
    # Drop namespace detail { ... } blocks (brace matching).
    out, i = [], 0
    for m in re.finditer(r"namespace\s+detail\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    text = "".join(out)
    text = re.sub(r"//.*", "", text)
    # Access of each position: a type declared in the private or protected part of a class is
    # not public (statement-cache internals, a spy's state, the registry's bookkeeping).
    hidden = []  # (start, end) of private/protected stretches
    stack = []   # per open brace: [is_class_or_struct, access, start of the current stretch]
    for t in re.finditer(r"\b(class|struct)\s+[A-Za-z_][A-Za-z0-9_]*(?:\s*<[^;{]*?>)?(?:\s+final)?\s*(?::[^;{]*)?\{|\{|\}|\b(public|private|protected)\s*:", text):
        if t.group(1):
            stack.append([True, "private" if t.group(1) == "class" else "public", t.end()])
        elif t.group(0) == "{":
            stack.append([False, None, t.end()])
        elif t.group(0) == "}":
            if stack:
                top = stack.pop()
                if top[0] and top[1] != "public":
                    hidden.append((top[2], t.start()))
        elif stack and stack[-1][0]:
            if stack[-1][1] != "public":
                hidden.append((stack[-1][2], t.start()))
            stack[-1][1], stack[-1][2] = t.group(2), t.end()
    for m in re.finditer(r"^\s*(?:template\s*<[^;{]*?>\s*)?(?:class|struct|enum class|enum|concept)\s+([A-Z][A-Za-z0-9_]*)\b(?!\s*;)", text, re.M):
        if any(a <= m.start() < b for a, b in hidden):
            continue
        names.setdefault(m.group(1), str(h))
missing = sorted(n for n in names if not re.search(r"\b" + re.escape(n) + r"\b", docs))
if show_all:
    for n in sorted(names):
        print(f"{n:32} {names[n]}{'   (missing)' if n in missing else ''}")
else:
    for n in missing:
        print(f"{n:32} {names[n]}")
print(f"{len(missing)} of {len(names)} public types are not named in docs/ or README.md", file=sys.stderr)
sys.exit(1 if missing else 0)
PY
