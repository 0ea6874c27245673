"""The README checker itself: it finds the blocks, honours and counts skip
markers, refuses what it cannot check, and fails on a block that fails."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_readme_blocks as checker  # noqa: E402


def test_blocks_languages_and_markers():
    text = ("# T\n\n```python\nprint(1)\n```\n\n<!-- readme-test: skip (needs a GPU) -->\n"
            "```sh\nnvidia-smi\n```\n\n- item\n\n  ```text\n  a\n  ```\n")
    blocks = checker.parse_blocks(text)
    assert [(b.language, b.line, b.skip) for b in blocks] == [
        ("python", 3, None), ("sh", 8, "needs a GPU"), ("text", 14, None)]
    assert blocks[0].code == "print(1)\n"
    assert blocks[2].code == "a\n"  # de-indented by the fence's indentation


@pytest.mark.parametrize("text, message", [
    ("```\nx\n```\n", "code fence without a language"),
    ("```python\nx\n", "code fence is never closed"),
    ("<!-- readme-test: skip -->\n```sh\nx\n```\n", "must read"),
    ("<!-- readme-test: skip (why) -->\n\nSome prose.\n", "not followed by a code block"),
    ("Text.\n\n    indented = code\n", "indented code block"),
])
def test_bad_markdown_is_refused_naming_the_line(text, message):
    with pytest.raises(checker.ReadmeError, match=message):
        checker.parse_blocks(text, "R.md")


def test_indented_list_continuations_are_not_code():
    checker.parse_blocks("- item\n\n    continued paragraph\n\n| a |\n\n    | b |\n")


def test_cpp_blocks_become_one_translation_unit_with_line_directives():
    text = "```cpp\n#include <vector>\nstd::vector<int> v(3);\n```\n"
    source = checker.cpp_source(checker.parse_blocks(text), "R.md")
    assert source.index("#include <vector>") < source.index("void block_1()")
    assert '#line 3 "R.md"\nstd::vector<int> v(3);' in source
    assert "block_1();" in source.split("int main()")[1]
    marked = "<!-- readme-test: skip (fragment) -->\n" + text
    assert checker.cpp_source(checker.parse_blocks(marked), "R.md") is None


def write_tree(tmp_path, readme):
    source, build = tmp_path / "src", tmp_path / "build"
    source.mkdir(parents=True)
    build.mkdir()
    (source / "data.txt").write_text("42\n")
    (source / "README.md").write_text(readme)
    return str(source / "README.md"), str(source), str(build)


def test_blocks_run_in_order_in_a_mirror_and_pass(tmp_path, capsys):
    readme, source, build = write_tree(tmp_path, (
        "```sh\ncat data.txt > copy.txt\n```\n\n"
        "```python\nassert open('copy.txt').read() == '42\\n'\n```\n\n"
        "<!-- readme-test: skip (never runs) -->\n```sh\nexit 1\n```\n\n```text\nnot run\n```\n"))
    assert checker.run_blocks(readme, source, build, timeout=60) == 0
    assert "2 blocks ran, 1 skipped" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(source, "copy.txt"))  # written in the scratch mirror


def test_a_failing_block_fails_the_check_naming_its_line(tmp_path, capsys):
    readme, source, build = write_tree(tmp_path, "```python\nprint('fine')\n```\n\n```python\nundefined_name\n```\n")
    assert checker.run_blocks(readme, source, build, timeout=60) == 1
    out = capsys.readouterr().out
    assert "README.md:5 (python): FAILED" in out and "NameError" in out


def test_unmarked_blocks_that_nothing_runs_are_refused(tmp_path):
    readme, source, build = write_tree(tmp_path, "```cmake\nproject(x)\n```\n")
    with pytest.raises(checker.ReadmeError, match="neither run nor marked"):
        checker.run_blocks(readme, source, build, timeout=60)
    readme, source, build = write_tree(tmp_path / "cpp", "```cpp\nint x = 0;\n```\n")
    with pytest.raises(checker.ReadmeError, match="compiles no C.. for this README"):
        checker.run_blocks(readme, source, build, timeout=60)
