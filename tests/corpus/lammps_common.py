"""A 32-atom LJ box for the LAMMPS corpus kinds; `deck(line)` puts one command
after it (and `after` after that)."""
import itertools

BOX = 3.3591924
HEAD = """units lj
atom_style atomic
atom_modify map array
lattice fcc 0.8442
region box block 0 2 0 2 0 2
create_box 1 box
create_atoms 1 box
mass 1 1.0
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
"""


def deck(line, setup="", after=""):
    return HEAD + setup + "\n" + line + "\n" + after + "\n"


def positions(n=32):
    grid = [i * BOX / 4 + 0.1 for i in range(4)]
    return list(itertools.islice(itertools.product(grid, grid, grid), n))


def xyz_text(n_header=32, n_lines=32, edit=None):
    lines = [f"{n_header}", "reference"]
    lines += [f"A {x:.6f} {y:.6f} {z:.6f}" for x, y, z in positions(n_lines)]
    if edit:
        lines = edit(lines)
    return "\n".join(lines) + "\n"


def data_text(n_header=32, n_lines=32, edit=None):
    lines = ["reference", "", f"{n_header} atoms", "1 atom types", "",
             f"0.0 {BOX} xlo xhi", f"0.0 {BOX} ylo yhi", f"0.0 {BOX} zlo zhi", "",
             "Atoms # atomic", ""]
    lines += [f"{i + 1} 1 {x:.6f} {y:.6f} {z:.6f} 0 0 0"
              for i, (x, y, z) in enumerate(positions(n_lines))]
    if edit:
        lines = edit(lines)
    return "\n".join(lines) + "\n"
