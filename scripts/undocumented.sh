#!/usr/bin/env bash
# Lists the public names (classes, structs, enums, concepts, free functions and member functions
# declared in include/tocsin, outside namespace detail) that no file in docs/ or README.md
# mentions. Exit 1 when some are missing. Used by the docs check in scripts/test.sh.
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
    for m in re.finditer(r"^\s*(?:template\s*<[^;{]*?>\s*)?(?:class|struct|enum class|enum|concept)\s+([A-Z][A-Za-z0-9_]*)\b(?!\s*;)", text, re.M):
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
