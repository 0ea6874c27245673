"""A generator path that is not a generator file gets a message naming the
path and what it is: a directory, a missing file, an unreadable file, an
empty file, a file that is not a TorchScript archive (a torch.save file said
so). The C++ loader (energyloss/generator.h) makes the checks, so the Python
Generator and torch.classes.energyloss.Generator say the same. Before,
Generator('/tmp') said 'file not found' (found by the new-user trial).

Generator.sample with a count below 1 raises ValueError with one message
from the Python wrapper and from the torch.classes handle (C++ raised
RuntimeError there before, the wrapper ValueError since 22458fb)."""
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

import energyloss


class Fixed(torch.nn.Module):
    """A protocol-following generator: n copies of a 2-atom reference."""
    n_atoms: int
    length_unit: str

    def __init__(self):
        super().__init__()
        self.n_atoms, self.length_unit = 2, "nm"

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 3) + torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0]])


@pytest.fixture
def valid(tmp_path):
    path = tmp_path / "fixed.pt"
    torch.jit.save(torch.jit.script(Fixed()), str(path))
    return path


def _both(path):
    """The messages of the Python Generator and of the torch.classes handle
    for `path`, each with its exception type."""
    outcomes = []
    for make in (energyloss.Generator, torch.classes.energyloss.Generator):
        with pytest.raises(Exception) as error:
            make(str(path))
        outcomes.append((error.type, str(error.value)))
    return outcomes


def _expect(path, what):
    message = f"energyloss: generator '{path}': {what}"
    for kind, text in _both(path):
        assert kind is ValueError
        assert re.match(re.escape(message), text), text


def test_a_directory_is_named_as_such(tmp_path, valid):
    _expect(tmp_path, "is a directory")
    with pytest.raises(ValueError, match="is a directory"):
        energyloss.Generator(tmp_path)  # a pathlib.Path too
    assert "file not found" not in _both(tmp_path)[0][1]


def test_a_missing_file_is_not_found(tmp_path):
    _expect(tmp_path / "absent.pt", "file not found")


def test_a_device_is_not_a_regular_file():
    _expect("/dev/null", "not a regular file")


def test_an_empty_file_is_not_a_torchscript_module(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    _expect(path, "not a TorchScript module: the file is empty")


def test_text_and_torch_save_files_are_not_torchscript_modules(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a zip archive\n")
    _expect(text, "not a TorchScript module (write it with torch.jit.save): ")
    pickled = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, str(pickled))  # a zip archive, without code
    _expect(pickled, "not a TorchScript module but a torch.save file")
    module = tmp_path / "module.pt"
    torch.save(Fixed(), str(module))
    _expect(module, "not a TorchScript module but a torch.save file")


UNREADABLE = """
import sys
import torch
import energyloss
for make in (energyloss.Generator, torch.classes.energyloss.Generator):
    try:
        make(sys.argv[1])
    except Exception as error:
        print(type(error).__name__, error)
"""


def test_an_unreadable_file_is_named(valid):
    os.chmod(valid, 0)
    try:
        command = [sys.executable, "-c", UNREADABLE, str(valid)]
        if os.geteuid() == 0:
            # root reads any file; drop the capabilities that let it.
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv: every file is readable")
            command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"] + command
        lines = subprocess.run(command, capture_output=True, text=True, check=True,
                               env=os.environ).stdout.splitlines()
    finally:
        os.chmod(valid, 0o644)
    expected = f"ValueError energyloss: generator '{valid}': cannot be read (Permission denied)"
    assert lines == [expected, expected]
    assert energyloss.Generator(valid).n_atoms == 2  # readable again: loads


@pytest.mark.parametrize("n", [0, -3])
def test_a_count_below_one_is_the_same_value_error_on_both_paths(valid, n):
    generator = energyloss.Generator(valid)
    expected = f"energyloss: Generator.sample: n must be at least 1, got {n}"
    with pytest.raises(ValueError) as wrapper:
        generator.sample(n, 0)
    with pytest.raises(ValueError) as handle:
        generator.handle.sample(n, 0, "")
    assert str(wrapper.value) == expected
    assert str(handle.value) == expected
    # Other bad input to the handle's sample is a ValueError too.
    with pytest.raises(ValueError, match="'furlong' is not a known length unit"):
        generator.handle.sample(1, 0, "furlong")
    assert generator.handle.sample(1, 0, "angstrom")[0, 1, 0].item() == pytest.approx(1.0)
