#!/usr/bin/python3
"""Write a generator that follows the energyloss generator protocol, without training.

The generator returns a reference structure plus independent Gaussian noise of
a given scale on every coordinate. It is a TorchScript module with

    n_atoms: int, length_unit: str ("nm" | "angstrom"), elements: List[str],
    sample(n: int, seed: int) -> Tensor[n, n_atoms, 3]

and the same (n, seed) always gives the same samples: the noise comes from
torch.ops.energyloss.seeded_normal (counter-based Philox4x32-10, independent of
torch's global RNG state), so the saved file needs the energyloss op library
wherever it is loaded (``import energyloss`` in Python; energyloss::Generator,
openmmenergyloss.seed and LAMMPS seed_atoms load it themselves).

Usage (Debian's python3-torch, hence /usr/bin/python3, with the energyloss
package importable, e.g. PYTHONPATH=build/python):
    make_generator.py REFERENCE --noise 0.01 --output gen.pt [--length-unit nm]

REFERENCE is an .xyz file (angstrom), a .pdb file (angstrom) or a .npy array
[N, 3] (then --length-unit is required). --length-unit converts an .xyz/.pdb
structure to nm when asked; --noise is in the output's length unit.
"""
import argparse
import sys
from typing import List

import torch

try:  # registers torch.ops.energyloss.seeded_normal, which sample() calls
    import energyloss  # noqa: F401
except ImportError as error:
    sys.exit(f"make_generator.py needs the energyloss Python package ({error}); "
             "build the project and set PYTHONPATH=<build>/python")


class NoisyReference(torch.nn.Module):
    """Reference structure plus Gaussian noise; see the module docstring."""

    n_atoms: int
    length_unit: str
    elements: List[str]
    noise: float

    def __init__(self, reference: torch.Tensor, noise: float, length_unit: str,
                 elements: List[str]):
        super().__init__()
        self.register_buffer("reference", reference.to(torch.float64))
        self.n_atoms = int(reference.shape[0])
        self.length_unit = length_unit
        self.elements = elements
        self.noise = float(noise)

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        gaussian = torch.ops.energyloss.seeded_normal([n, self.n_atoms, 3], seed, torch.float64)
        return self.reference.unsqueeze(0) + self.noise * gaussian


def read_xyz(path):
    with open(path) as handle:
        lines = handle.read().splitlines()
    count = int(lines[0].split()[0])
    elements, coordinates = [], []
    for line in lines[2:2 + count]:
        fields = line.split()
        elements.append(fields[0])
        coordinates.append([float(value) for value in fields[1:4]])
    if len(coordinates) != count:
        raise ValueError(f"{path}: header says {count} atoms, found {len(coordinates)}")
    return torch.tensor(coordinates, dtype=torch.float64), elements


def read_pdb(path):
    elements, coordinates = [], []
    with open(path) as handle:
        for line in handle:
            if line.startswith(("ATOM", "HETATM")):
                coordinates.append([float(line[30:38]), float(line[38:46]), float(line[46:54])])
                symbol = line[76:78].strip() if len(line) >= 78 else ""
                elements.append(symbol or line[12:16].strip().lstrip("0123456789")[:1])
            elif line.startswith("ENDMDL"):
                break
    if not coordinates:
        raise ValueError(f"{path}: no ATOM or HETATM records")
    return torch.tensor(coordinates, dtype=torch.float64), elements


def read_reference(path, length_unit):
    """(positions [N, 3], elements, unit) from an .xyz, .pdb or .npy file."""
    if path.endswith(".npy"):
        import numpy

        if length_unit is None:
            raise ValueError("--length-unit is required for .npy references")
        positions = torch.from_numpy(numpy.load(path)).to(torch.float64)
        if positions.dim() != 2 or positions.shape[1] != 3:
            raise ValueError(f"{path}: expected an array [N, 3], got {list(positions.shape)}")
        return positions, [], length_unit
    reader = read_xyz if path.endswith(".xyz") else read_pdb if path.endswith(".pdb") else None
    if reader is None:
        raise ValueError(f"{path}: expected an .xyz, .pdb or .npy file")
    positions, elements = reader(path)
    unit = length_unit or "angstrom"
    return positions.to(torch.float64) * (0.1 if unit == "nm" else 1.0), elements, unit


def make_generator(reference, noise, length_unit, elements=()):
    """The scripted generator module (call torch.jit.save on it)."""
    if length_unit not in ("nm", "angstrom"):
        raise ValueError(f"length unit must be 'nm' or 'angstrom', got {length_unit!r}")
    return torch.jit.script(NoisyReference(reference, noise, length_unit, list(elements)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference", help=".xyz, .pdb (angstrom) or .npy [N, 3] file")
    parser.add_argument("--noise", type=float, default=0.01,
                        help="standard deviation per coordinate, in the output unit")
    parser.add_argument("--length-unit", choices=("nm", "angstrom"), default=None)
    parser.add_argument("--output", default="gen.pt")
    args = parser.parse_args(argv)
    positions, elements, unit = read_reference(args.reference, args.length_unit)
    module = make_generator(positions, args.noise, unit, elements)
    module.save(args.output)
    print(f"wrote {args.output}: {positions.shape[0]} atoms, {unit}, noise {args.noise}")


if __name__ == "__main__":
    sys.exit(main())
