#!/usr/bin/env python3
"""The documentation stands alone and its links resolve.

  scripts/docs_check.py          checks README.md and docs/*.md: every relative link names a
                                 file that exists and, with `#anchor`, a heading in it; no
                                 link leaves the repository except to http(s) addresses;
                                 no placeholder example values in docs/API.md
  scripts/docs_check.py --tour   prints the README's tour (the sh block between the
                                 `tour:start` and `tour:end` markers), for e2e to run
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    text = heading.strip().lstrip("#").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def outside_code(text):
    """The text with fenced code blocks and inline code blanked out."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path):
    found = set()
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    counts = {}
    for line in text.splitlines():
        if line.startswith("#"):
            s = slug(line)
            n = counts.get(s, 0)
            found.add(s if n == 0 else f"{s}-{n}")
            counts[s] = n + 1
    return found


def check():
    problems = []
    files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for path in files:
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if "../shared" in text or re.search(r"API\.md §", text):
            problems.append(f"{rel}: points outside the repository (../shared, API.md §)")
        for target in LINK.findall(outside_code(text)):
            if re.match(r"^(https?|mailto):", target):
                continue
            file_part, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not resolved.startswith(ROOT):
                problems.append(f"{rel}: {target} leaves the repository")
                continue
            if not os.path.exists(resolved):
                problems.append(f"{rel}: {target} does not exist")
                continue
            if anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                problems.append(f"{rel}: {target}: no such heading")
    return problems


def tour():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"<!-- tour:start -->\s*```sh\n(.*?)```\s*<!-- tour:end -->", text, re.S)
    if not block:
        sys.exit("README.md has no tour between <!-- tour:start --> and <!-- tour:end -->")
    print(block.group(1), end="")


if __name__ == "__main__":
    if sys.argv[1:] == ["--tour"]:
        tour()
    else:
        found = check()
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            sys.exit(1)
        print("docs: every link resolves")
