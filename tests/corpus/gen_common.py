"""TorchScript generators, good and broken, written into a test's tmp dir."""
from typing import List

import torch

from broken_generators import NoAtoms, NoUnit
from lammps_common import positions


class Good(torch.nn.Module):
    """The 32-atom LJ box of lammps_common (or n atoms in nm), plus tiny noise."""
    n_atoms: int
    length_unit: str

    def __init__(self, n_atoms: int = 32, unit: str = "lj"):
        super().__init__()
        self.n_atoms = n_atoms
        self.length_unit = unit
        self.base = torch.tensor(positions(n_atoms), dtype=torch.float64)

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        g = torch.arange(n * self.n_atoms * 3, dtype=torch.float64).reshape(n, self.n_atoms, 3)
        return self.base.unsqueeze(0) + 1e-3 * torch.sin(g + float(seed))


class NoSample(Good):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class NoSampleAtAll(torch.nn.Module):
    n_atoms: int
    length_unit: str

    def __init__(self):
        super().__init__()
        self.n_atoms = 32
        self.length_unit = "lj"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class AtomsAsFloat(torch.nn.Module):
    n_atoms: float
    length_unit: str

    def __init__(self):
        super().__init__()
        self.n_atoms = 32.0
        self.length_unit = "lj"

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, 32, 3)


class UnitAsInt(torch.nn.Module):
    n_atoms: int
    length_unit: int

    def __init__(self):
        super().__init__()
        self.n_atoms = 32
        self.length_unit = 1

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, 32, 3)


class ZeroAtoms(Good):
    def __init__(self):
        super().__init__()
        self.n_atoms = 0


class NegativeAtoms(Good):
    def __init__(self):
        super().__init__()
        self.n_atoms = -4


class BadUnit(Good):
    def __init__(self):
        super().__init__(32, "furlong")


class WrongShape(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms + 1, 3, dtype=torch.float64)


class TwoD(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 2, dtype=torch.float64)


class WrongBatch(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n + 1, self.n_atoms, 3, dtype=torch.float64)


class IntDtype(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 3, dtype=torch.int64)


class BoolDtype(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 3, dtype=torch.bool)


class ComplexDtype(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 3, dtype=torch.complex64)


class NaNOut(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        out = torch.zeros(n, self.n_atoms, 3, dtype=torch.float64)
        out[n - 1, 2, 1] = float("nan")
        return out


class InfOut(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        out = torch.zeros(n, self.n_atoms, 3, dtype=torch.float64)
        out[0, 0, 0] = float("inf")
        return out


class Raises(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        if n > 0:
            raise RuntimeError("generator exploded on purpose")
        return torch.zeros(n, self.n_atoms, 3, dtype=torch.float64)


class IndexError_(Good):
    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.zeros(n, self.n_atoms, 3, dtype=torch.float64)[:, :, torch.tensor([5])]


class ReturnsTuple(torch.nn.Module):
    n_atoms: int
    length_unit: str

    def __init__(self):
        super().__init__()
        self.n_atoms = 32
        self.length_unit = "lj"

    @torch.jit.export
    def sample(self, n: int, seed: int):
        x = torch.zeros(n, 32, 3, dtype=torch.float64)
        return x, x


class WrongSignature(Good):
    @torch.jit.export
    def sample(self, n: int) -> torch.Tensor:  # type: ignore[override]
        return torch.zeros(n, self.n_atoms, 3, dtype=torch.float64)


class BadElements(Good):
    elements: List[str]

    def __init__(self):
        super().__init__()
        self.elements = ["Ar", "Ar"]


class BadElementName(Good):
    elements: List[str]

    def __init__(self):
        super().__init__()
        self.elements = ["Xx"] * 32


# name -> (module factory or bytes for a non-TorchScript file, message regex)
BROKEN = {
    "no-n-atoms": (lambda: NoAtoms(32, "lj"), r"missing attribute n_atoms"),
    "no-length-unit": (lambda: NoUnit(32), r"missing attribute length_unit"),
    "no-sample": (NoSampleAtAll, r"missing method sample"),
    "n-atoms-float": (AtomsAsFloat, r"n_atoms"),
    "length-unit-int": (UnitAsInt, r"length_unit"),
    "zero-atoms": (ZeroAtoms, r"n_atoms"),
    "negative-atoms": (NegativeAtoms, r"n_atoms"),
    "bad-unit": (BadUnit, r"length_unit must be.*furlong|furlong"),
    "wrong-shape": (WrongShape, r"returned shape \[\d+, 33, 3\], expected \[\d+, 32, 3\]"),
    "two-d": (TwoD, r"returned shape \[\d+, 32, 2\], expected \[\d+, 32, 3\]"),
    "wrong-batch": (WrongBatch, r"returned shape \[\d+, 32, 3\], expected"),
    "int-dtype": (IntDtype, r"dtype|Long|floating"),
    "bool-dtype": (BoolDtype, r"dtype|Bool|floating"),
    "complex-dtype": (ComplexDtype, r"dtype|Complex|floating"),
    "nan": (NaNOut, r"non-finite value at \[\d+, 2, 1\]"),
    "inf": (InfOut, r"non-finite value at \[0, 0, 0\]"),
    "raises": (Raises, r"generator exploded on purpose"),
    "index-error": (IndexError_, r"index 5 is out of bounds|out of bounds|sample"),
    "returns-tuple": (ReturnsTuple, r"sample.*(tuple|Tensor)|(tuple|Tensor).*sample"),
    "wrong-signature": (WrongSignature, r"sample"),
    "bad-elements": (BadElements, r"elements has 2 entries but n_atoms is 32"),
    "not-torchscript": (b"this is not a zip archive\n", r"not a TorchScript module"),
    "empty-file": (b"", r"not a TorchScript module|empty"),
    "pickle-not-script": (None, r"not a TorchScript module"),
}


def write(directory, name, unit="lj"):
    """Writes BROKEN[name] (or 'good') to directory/name.pt with length_unit
    `unit` (unless the case is about the unit); returns the path."""
    path = f"{directory}/{name}.pt"
    if name == "good":
        torch.jit.script(Good(32, unit)).save(path)
        return path
    make = BROKEN[name][0]
    if make is None:  # torch.save of a plain module: a zip, but not TorchScript
        torch.save({"n_atoms": 32}, path)
    elif isinstance(make, bytes):
        with open(path, "wb") as handle:
            handle.write(make)
    else:
        module = make()
        if name not in ("bad-unit", "length-unit-int", "no-length-unit"):
            module.length_unit = unit
        torch.jit.script(module).save(path)
    return path
