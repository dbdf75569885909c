#!/usr/bin/env python3
"""Writes the command index of docs/cli.md from `strates --help`, walked to every depth:
each command with its one-line abstract, between the `commands:begin` and `commands:end`
markers. tests/python/test_cli_reference.py checks the file holds what this would write.

    python3 scripts/cli_reference.py [--bin .build/debug/strates]
"""
import argparse
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "cli.md"
BEGIN, END = "<!-- commands:begin -->", "<!-- commands:end -->"


def subcommands(binary, path):
    """(name, abstract) for each subcommand `strates PATH --help` lists."""
    text = subprocess.run([binary, *path, "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    if "SUBCOMMANDS:" not in text:
        return []
    block = text.split("SUBCOMMANDS:", 1)[1].split("\n\n", 1)[0]
    found = []
    for line in block.splitlines():
        entry = re.match(r"^  ([a-z][a-z0-9-]*)(?: \(default\))?\s+(.*)$", line)
        if entry:
            found.append([entry.group(1), entry.group(2).strip()])
        elif found and line.strip():
            found[-1][1] += " " + line.strip()
    return found


def index(binary):
    """The markdown list of every command, depth first."""
    lines = []

    def walk(path, depth):
        for name, abstract in subcommands(binary, path):
            command = (*path, name)
            lines.append(f"{'  ' * depth}- `strates {' '.join(command)}`: {abstract}")
            walk(command, depth + 1)

    walk((), 0)
    return "\n".join(lines) + "\n"


def written():
    text = REFERENCE.read_text()
    return text.split(BEGIN, 1)[1].split(END, 1)[0].lstrip("\n") if BEGIN in text else None


def write(binary):
    text = REFERENCE.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    REFERENCE.write_text(head + BEGIN + "\n" + index(binary) + END + tail)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build" / "debug" / "strates"))
    write(parser.parse_args().bin)
    print(f"wrote the command index of {REFERENCE.relative_to(ROOT)}")
