#!/usr/bin/python3
"""Run the code blocks of a README as written, so README and code cannot drift apart.

Usage: check_readme_blocks.py README.md --source-dir SRC --build-dir BUILD [--run-in FOLDER]
                                [--cpp-program EXE --cpp-source FILE]
       check_readme_blocks.py README.md --write-cpp FILE
       check_readme_blocks.py README.md --list

Every fenced block (```lang ... ```) must name its language. Blocks in
``python``, ``sh``/``bash`` and ``lammps`` run, in the order they appear, in
a scratch mirror of the source tree: symbolic links to SRC's files
(``build`` points at BUILD; ``.git``, ``results`` and other ``build*``
folders are left out), with real folders along the way to the README's
folder and to the folder the blocks start in (the README's, or --run-in,
relative to SRC, for READMEs whose commands start at the repository root).
Relative paths resolve as they do for a reader who runs the blocks there
after a build; what a block writes in those real folders stays in the
scratch tree, where later blocks of the same README see it (files carry
over, Python names do not: each block is its own process). How each
language runs:

* ``python``: this interpreter (``sys.executable``) on the block;
* ``sh``, ``bash``: ``bash -e -o pipefail`` on the block;
* ``lammps``: the block is a deck; BUILD/bin/lmp_energyloss runs it, or
  Debian's stock ``lmp`` when the deck loads the styles itself (it sets
  ``energyloss_library``).

``cpp`` blocks are compiled by the build: --write-cpp writes them into one
translation unit (each block's ``#include`` lines on top, the rest in a
function of its own with a ``#line`` into the README, so compiler errors name
README lines; main() calls the blocks in order), which CMake compiles and
links; the run then checks that --cpp-source is what the README gives now
(else the build is stale) and runs --cpp-program in the mirror after the
other blocks. ``text`` blocks (syntax, output) are not run.

A block that cannot run or compile here is marked on the line just before
its fence with ``<!-- readme-test: skip (reason) -->``; the reason is printed
and the skips are counted. Errors: any other block that nothing runs, a
marker that does not precede a block or is not a skip with a reason, a
fence without a language, an unclosed fence, and an indented (4-space) code
block outside lists. The environment is the caller's (ctest sets PYTHONPATH
to BUILD/python). Exit status 0 when every block exits 0 within --timeout
seconds; otherwise 1, after printing the failing block's place in the README
and its output.
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
NOT_RUN = {"text"}
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


def mirror(source_dir: str, build_dir: str, folders: List[str], scratch: str) -> str:
    """A stand-in for source_dir under scratch: symbolic links to the source
    tree, with real folders along the way to each of `folders` (relative to
    source_dir), so what blocks write there stays in scratch. Returns its root."""
    root = os.path.join(scratch, "tree")

    def populate(here_source, here, top):
        for entry in sorted(os.listdir(here_source)):
            if top and (entry in (".git", "results") or entry.startswith("build")):
                continue
            os.symlink(os.path.join(here_source, entry), os.path.join(here, entry))

    os.makedirs(root)
    populate(os.path.abspath(source_dir), root, True)
    os.symlink(os.path.abspath(build_dir), os.path.join(root, "build"))
    for folder in folders:
        here_source, here = os.path.abspath(source_dir), root
        for part in [p for p in os.path.normpath(folder).split(os.sep) if p not in ("", ".")]:
            here_source, here = os.path.join(here_source, part), os.path.join(here, part)
            if os.path.islink(here):
                os.unlink(here)
                os.mkdir(here)
                populate(here_source, here, False)
    return root


def command_for(block: Block, path: str, build_dir: str) -> List[str]:
    if block.language == "python":
        return [sys.executable, path]
    if block.language in ("sh", "bash"):
        return ["bash", "-e", "-o", "pipefail", path]
    if re.search(r"^\s*variable\s+energyloss_library\b", block.code, re.MULTILINE):
        return [shutil.which("lmp") or "lmp", "-in", path, "-log", "none"]
    return [os.path.join(build_dir, "bin", "lmp_energyloss"), "-in", path, "-log", "none"]


def cpp_source(blocks: List[Block], name: str) -> Optional[str]:
    """The translation unit of the unmarked ``cpp`` blocks (see the module
    docstring), or None when there are none."""
    cpp = [b for b in blocks if b.language == "cpp" and b.skip is None]
    if not cpp:
        return None
    includes, functions = [], []
    for block in cpp:
        body = []
        for offset, line in enumerate(block.code.splitlines(), 1):
            if line.startswith("#include"):
                if line not in includes:
                    includes.append(line)
            else:
                body.append((offset, line))
        first = body[0][0] if body else 1
        functions.append(f"void block_{block.line}() {{\n#line {block.line + first} \"{name}\"\n"
                         + "\n".join(line for _, line in body) + "\n}\n")
    return (f"// Generated by tests/readme/check_readme_blocks.py from {name}: its C++\n"
            "// blocks, each in a function of its own, called in order. Do not edit.\n"
            "// Examples compute values to show them: unused ones are fine here.\n"
            "#pragma GCC diagnostic ignored \"-Wunused-variable\"\n"
            + "\n".join(includes) + "\n\nnamespace {\n\n" + "\n".join(functions)
            + "\n}  // namespace\n\nint main() {\n"
            + "".join(f"  block_{b.line}();\n" for b in cpp) + "  return 0;\n}\n")


def write_cpp(readme: str, path: str) -> int:
    """Writes the README's C++ translation unit to path, leaving the file (and
    its time stamp) alone when it is unchanged."""
    with open(readme, encoding="utf-8") as handle:
        source = cpp_source(parse_blocks(handle.read(), readme), os.path.basename(readme))
    if source is None:
        raise ReadmeError(f"{readme}: no unmarked cpp blocks to compile")
    if not os.path.exists(path) or open(path, encoding="utf-8").read() != source:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(source)
    return 0


def check_languages(blocks: List[Block], name: str, cpp_program: Optional[str]) -> None:
    for block in blocks:
        if block.skip is not None or block.language in RUNNABLE | NOT_RUN:
            continue
        if block.language == "cpp":
            if cpp_program is None:
                raise ReadmeError(f"{name}:{block.line}: cpp block, but this test compiles no C++ "
                                  "for this README (CMake CPP_LIBRARIES) and it is not marked skip")
            continue
        raise ReadmeError(f"{name}:{block.line}: a {block.language} block is neither run nor "
                          "marked '<!-- readme-test: skip (reason) -->'")


def run_blocks(readme: str, source_dir: str, build_dir: str, timeout: float,
               run_in: Optional[str] = None, cpp_program: Optional[str] = None,
               cpp_source_path: Optional[str] = None) -> int:
    name = os.path.relpath(os.path.abspath(readme), os.path.abspath(source_dir))
    with open(readme, encoding="utf-8") as handle:
        blocks = parse_blocks(handle.read(), name)
    check_languages(blocks, name, cpp_program)
    source = cpp_source(blocks, os.path.basename(readme))
    if (source is None) != (cpp_program is None):
        raise ReadmeError(f"{name}: --cpp-program given but no unmarked cpp blocks" if source is None
                          else f"{name}: unmarked cpp blocks but no --cpp-program")
    if source is not None:
        with open(cpp_source_path, encoding="utf-8") as handle:
            if handle.read() != source:
                raise ReadmeError(f"{name}: its C++ blocks changed since {cpp_program} was built; "
                                  "rebuild (cmake --build) and run again")
        blocks.append(Block("cpp-program", 0, "", None))
    extension = {"python": "py", "sh": "sh", "bash": "sh", "lammps": "lmp"}
    ran = skipped = 0
    with tempfile.TemporaryDirectory(prefix="readme-") as scratch:
        folder = os.path.dirname(name)
        run_in = folder if run_in is None else run_in
        cwd = os.path.join(mirror(source_dir, build_dir, [folder, run_in], scratch), run_in)
        for number, block in enumerate(blocks, 1):
            where = f"{name}:{block.line} ({block.language})"
            if block.skip is not None:
                print(f"{where}: skipped: {block.skip}")
                skipped += 1
                continue
            if block.language == "cpp-program":
                where, command = f"{name} (cpp blocks, compiled: {os.path.basename(cpp_program)})", [cpp_program]
            elif block.language in RUNNABLE:
                path = os.path.join(scratch, f"block{number}.{extension[block.language]}")
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(block.code)
                command = command_for(block, path, build_dir)
            else:
                continue
            start = time.monotonic()
            try:
                result = subprocess.run(command, cwd=cwd, timeout=timeout,
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
    parser.add_argument("--source-dir", help="the repository root")
    parser.add_argument("--build-dir", help="the build tree (its bin/, lib/, python/)")
    parser.add_argument("--write-cpp", metavar="FILE", help="write the cpp blocks' translation unit, run nothing")
    parser.add_argument("--cpp-program", help="the build's program compiled from --cpp-source")
    parser.add_argument("--cpp-source", help="the translation unit --cpp-program was built from")
    parser.add_argument("--run-in", default=None,
                        help="folder the blocks run in, relative to the source root (default: the README's)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per block (default 300)")
    parser.add_argument("--list", action="store_true", help="list the blocks and markers, run nothing")
    args = parser.parse_args(argv)
    try:
        if args.write_cpp:
            return write_cpp(args.readme, args.write_cpp)
        if args.list:
            with open(args.readme, encoding="utf-8") as handle:
                for block in parse_blocks(handle.read(), args.readme):
                    state = (f"skip ({block.skip})" if block.skip is not None else "run"
                             if block.language in RUNNABLE else "compiled" if block.language == "cpp"
                             else "not run")
                    print(f"{args.readme}:{block.line} {block.language}: {state}")
            return 0
        if not args.source_dir or not args.build_dir:
            parser.error("running the blocks needs --source-dir and --build-dir")
        if (args.cpp_program is None) != (args.cpp_source is None):
            parser.error("--cpp-program and --cpp-source go together")
        return run_blocks(args.readme, args.source_dir, args.build_dir, args.timeout, args.run_in,
                          args.cpp_program, args.cpp_source)
    except ReadmeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
