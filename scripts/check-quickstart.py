#!/usr/bin/env python3
"""Checks that README.md's Quickstart snippets are still cut from the examples they link to.

Every code block of the Quickstart section (except shell) must follow a line linking one file
under examples/, and each of its non-blank lines must appear, stripped, as a line of that file;
a line that is only an elision comment (``# …`` or ``// …``) is skipped. A ``rust`` block is a
complete program and must be its file exactly (cargo builds that file, so the README's program
compiles). Run by scripts/test.sh.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
readme = (root / "README.md").read_text()
section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
problems = []
checked = 0
source = None
lines = iter(section.splitlines())
for line in lines:
    links = re.findall(r"\]\((examples/[^)]+)\)", line)
    if links:
        source = links[-1]
    fence = re.match(r"```(\w+)", line)
    if not fence:
        continue
    block = []
    for inner in lines:
        if inner.startswith("```"):
            break
        block.append(inner)
    if fence.group(1) in ("sh", "bash", "console"):
        continue
    if source is None:
        problems.append(f"a {fence.group(1)} snippet names no examples/ file before it")
        continue
    text = (root / source).read_text()
    if fence.group(1) == "rust":
        if "\n".join(block) + "\n" != text:
            problems.append(f"{source}: the rust block is not the whole file, as it is")
        checked += 1
        source = None
        continue
    known = {l.strip() for l in text.splitlines()}
    for l in block:
        if l.strip() and l.strip() not in ("# …", "// …") and l.strip() not in known:
            problems.append(f"{source}: no line {l.strip()!r}")
    checked += 1
    source = None
if problems or checked == 0:
    print("README Quickstart snippets differ from the examples:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"README Quickstart: {checked} snippets match their examples")
