#!/usr/bin/env python3
"""Writes the settings table of docs/CONFIGURATION.md from config/default.toml: every key,
its default and the comment above it. `--check` fails when the doc is not current.
(tests/config_reference.rs checks that default.toml and the settings structs agree.)"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "CONFIGURATION.md")
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def rows():
    section, comment, out = "", [], []
    with open(os.path.join(ROOT, "config", "default.toml"), encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("[") and line.endswith("]"):
                section, comment = line[1:-1], []
            elif line.startswith("#"):
                comment.append(line.lstrip("#").strip())
            elif "=" in line and section:
                key, value = (part.strip() for part in line.split("=", 1))
                text = " ".join(comment).replace("|", "\\|")
                out.append(f"| `{section}.{key}` | `{value}` | {text} |")
                comment = []
            else:
                comment = []
    return out


def table():
    return "\n".join(
        [START, "| setting | default | what it does |", "|---|---|---|", *rows(), END]
    )


def main():
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: table(), doc, flags=re.S)
    if "--check" in sys.argv:
        if new != doc:
            sys.exit("docs/CONFIGURATION.md is not current with config/default.toml: run `make config-doc`")
        print("docs/CONFIGURATION.md is current")
        return
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(new)


if __name__ == "__main__":
    main()
