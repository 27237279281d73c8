#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""README.md and docs/*.md point only at files of the repository.

Every Markdown link to a relative target must name a file that exists in the source tree, and no
link or `code` path may leave the tree (../). A clone has nothing outside it.

Usage: test-doc-links.py SOURCE_ROOT. TAP on stdout.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import Tap  # noqa: E402

LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")


def problems(path, root):
    with open(path) as f:
        text = f.read()
    here = os.path.dirname(path)
    found = []
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = os.path.normpath(os.path.join(here, target.split("#")[0]))
        if not file.startswith(root + os.sep) or not os.path.exists(file):
            found.append(f"link to {target}: no such file in the repository")
    for m in CODE.finditer(text):
        if m.group(1).startswith("../"):
            found.append(f"`{m.group(1)}`: outside the repository")
    return found


def main():
    root = os.path.realpath(sys.argv[1])
    t = Tap()
    docs = os.path.join(root, "docs")
    pages = [os.path.join(root, "README.md")] + sorted(
        os.path.join(docs, n) for n in os.listdir(docs) if n.endswith(".md"))
    for path in pages:
        bad = problems(path, root)
        t.ok(not bad, f"{os.path.relpath(path, root)}: links stay in the repository", "\n".join(bad))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
