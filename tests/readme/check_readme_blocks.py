#!/usr/bin/python3
"""Run the code blocks of a README as written, so README and code cannot drift apart.

Usage: check_readme_blocks.py README.md --source-dir SRC --build-dir BUILD [--run-in FOLDER] [--list]

Every fenced block (```lang ... ```) must name its language. Blocks in
``python``, ``sh``/``bash`` and ``lammps`` run, in the order they appear, in
one scratch folder that stands in for the README's own folder (or --run-in,
relative to SRC, for READMEs whose commands start at the repository root): it
mirrors the
source tree through symbolic links (``build`` points at BUILD; ``.git``,
``results`` and other ``build*`` folders are left out), so relative paths
resolve as they do for a reader who runs the block in that folder after a
build, and what a block writes stays in the scratch tree, where later blocks
of the same README see it (files carry over, Python names do not: each
block is its own process). How each language runs:

* ``python``: this interpreter (``sys.executable``) on the block;
* ``sh``, ``bash``: ``bash -e -o pipefail`` on the block;
* ``lammps``: the block is a deck; BUILD/bin/lmp_energyloss runs it, or
  Debian's stock ``lmp`` when the deck loads the styles itself (it sets
  ``energyloss_library``).

Other languages (``text`` for syntax and output, ``cpp``, ``cmake``, ...) are
not run. A block that cannot run here is marked on the line just before its
fence with ``<!-- readme-test: skip (reason) -->``; the reason is printed
and the skips are counted. A marker that does not precede a block, an
unknown marker, a fence without a language, an unclosed fence and an
indented (4-space) code block outside lists are errors. The environment is
the caller's (ctest sets PYTHONPATH to BUILD/python). Exit status 0 when every
runnable block exits 0 within --timeout seconds; otherwise 1, after printing
the failing block's place in the README and its output.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional

RUNNABLE = {"python", "sh", "bash", "lammps"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>.*)$")
MARKER = re.compile(r"^\s*<!--\s*readme-test:(?P<body>.*?)-->\s*$")
SKIP = re.compile(r"^\s*skip\s*\((?P<reason>.+)\)\s*$")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s")


class ReadmeError(Exception):
    """A README that breaks the block conventions above; the message names the line."""


@dataclass
class Block:
    language: str  # the fence's info string, first word, lower case
    line: int  # 1-based line of the opening fence
    code: str  # the block's text, de-indented by the fence's indentation
    skip: Optional[str]  # the skip marker's reason, or None


def parse_blocks(text: str, name: str = "README") -> List[Block]:
    """The fenced blocks of a Markdown text, with their skip markers.

    Raises ReadmeError (naming `name` and the line) for a fence without a
    language, an unclosed fence, a marker that is not a skip with a reason or
    is not followed by a block, and an indented code block outside a list.
    """
    lines = text.splitlines()
    blocks: List[Block] = []
    pending = None  # (line, reason) of a skip marker waiting for its block
    previous = ""  # the last non-blank line outside blocks
    blank_before = True
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = FENCE.match(line)
        marker = MARKER.match(line)
        if marker:
            skip = SKIP.match(marker.group("body"))
            if not skip:
                raise ReadmeError(f"{name}:{i + 1}: readme-test marker must read "
                                  f"'<!-- readme-test: skip (reason) -->', got {line.strip()!r}")
            pending = (i + 1, skip.group("reason").strip())
        elif opening:
            indent, fence = opening.group("indent"), opening.group("fence")
            info = opening.group("info").strip()
            if not info:
                raise ReadmeError(f"{name}:{i + 1}: code fence without a language "
                                  "(use e.g. ```python, ```sh, ```lammps, ```cpp or ```text)")
            closing = re.compile(r"^ {0,%d}%s%s*\s*$" % (len(indent), re.escape(fence[0]) * len(fence),
                                                        re.escape(fence[0])))
            end = i + 1
            while end < len(lines) and not closing.match(lines[end]):
                end += 1
            if end == len(lines):
                raise ReadmeError(f"{name}:{i + 1}: code fence is never closed")
            body = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in lines[i + 1:end]]
            blocks.append(Block(info.split()[0].lower(), i + 1, "\n".join(body) + "\n",
                                pending[1] if pending else None))
            pending = None
            previous, blank_before = line, False
            i = end + 1
            continue
        elif line.strip():
            if pending:
                raise ReadmeError(f"{name}:{pending[0]}: readme-test marker not followed by a code block")
            if (line.startswith("    ") and blank_before and not previous.startswith((" ", "|"))
                    and not LIST_ITEM.match(previous)):
                raise ReadmeError(f"{name}:{i + 1}: indented code block; use a fenced block "
                                  "with a language so the README test sees it")
            previous = line
        blank_before = not line.strip()
        i += 1
    if pending:
        raise ReadmeError(f"{name}:{pending[0]}: readme-test marker not followed by a code block")
    return blocks


def mirror(source_dir: str, build_dir: str, folder: str, scratch: str) -> str:
    """A stand-in for source_dir/folder under scratch (symbolic links to the
    source tree, real folders along the way to `folder`); returns its path."""
    root = os.path.join(scratch, "tree")
    os.makedirs(root)
    os.symlink(os.path.abspath(build_dir), os.path.join(root, "build"))
    here_source, here = os.path.abspath(source_dir), root
    parts = [p for p in os.path.normpath(folder).split(os.sep) if p not in ("", ".")]
    for depth, part in enumerate([None] + parts):
        if part is not None:
            here_source, here = os.path.join(here_source, part), os.path.join(here, part)
            os.unlink(here)
            os.mkdir(here)
        for entry in sorted(os.listdir(here_source)):
            if depth == 0 and (entry in (".git", "results") or entry.startswith("build")):
                continue
            os.symlink(os.path.join(here_source, entry), os.path.join(here, entry))
    return here


def command_for(block: Block, path: str, build_dir: str) -> List[str]:
    if block.language == "python":
        return [sys.executable, path]
    if block.language in ("sh", "bash"):
        return ["bash", "-e", "-o", "pipefail", path]
    if re.search(r"^\s*variable\s+energyloss_library\b", block.code, re.MULTILINE):
        return [shutil.which("lmp") or "lmp", "-in", path, "-log", "none"]
    return [os.path.join(build_dir, "bin", "lmp_energyloss"), "-in", path, "-log", "none"]


def run_blocks(readme: str, source_dir: str, build_dir: str, timeout: float,
               run_in: Optional[str] = None) -> int:
    name = os.path.relpath(os.path.abspath(readme), os.path.abspath(source_dir))
    with open(readme, encoding="utf-8") as handle:
        blocks = parse_blocks(handle.read(), name)
    extension = {"python": "py", "sh": "sh", "bash": "sh", "lammps": "lmp"}
    ran = skipped = 0
    with tempfile.TemporaryDirectory(prefix="readme-") as scratch:
        cwd = mirror(source_dir, build_dir, os.path.dirname(name) if run_in is None else run_in, scratch)
        for number, block in enumerate(blocks, 1):
            where = f"{name}:{block.line} ({block.language})"
            if block.skip is not None:
                print(f"{where}: skipped: {block.skip}")
                skipped += 1
                continue
            if block.language not in RUNNABLE:
                continue
            path = os.path.join(scratch, f"block{number}.{extension[block.language]}")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(block.code)
            start = time.monotonic()
            try:
                result = subprocess.run(command_for(block, path, build_dir), cwd=cwd, timeout=timeout,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                status = result.returncode
                output = result.stdout
            except subprocess.TimeoutExpired as expired:
                status = f"timeout after {timeout:g} s"
                output = expired.output.decode() if isinstance(expired.output, bytes) else (expired.output or "")
            seconds = time.monotonic() - start
            if status != 0:
                print(f"{where}: FAILED ({status}, {seconds:.1f} s)\n--- block ---\n{block.code}"
                      f"--- output (last 60 lines) ---")
                print("\n".join(output.splitlines()[-60:]))
                return 1
            print(f"{where}: ok ({seconds:.1f} s)")
            ran += 1
    print(f"{name}: {ran} blocks ran, {skipped} skipped (marked)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("readme", help="the Markdown file")
    parser.add_argument("--source-dir", required=True, help="the repository root")
    parser.add_argument("--build-dir", required=True, help="the build tree (its bin/, lib/, python/)")
    parser.add_argument("--run-in", default=None,
                        help="folder the blocks run in, relative to the source root (default: the README's)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per block (default 120)")
    parser.add_argument("--list", action="store_true", help="list the blocks and markers, run nothing")
    args = parser.parse_args(argv)
    try:
        if args.list:
            with open(args.readme, encoding="utf-8") as handle:
                for block in parse_blocks(handle.read(), args.readme):
                    state = f"skip ({block.skip})" if block.skip is not None else (
                        "run" if block.language in RUNNABLE else "not run")
                    print(f"{args.readme}:{block.line} {block.language}: {state}")
            return 0
        return run_blocks(args.readme, args.source_dir, args.build_dir, args.timeout, args.run_in)
    except ReadmeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
