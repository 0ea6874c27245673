"""seed_atoms on candidates it must not keep or cannot place, against
independent expectations (numpy energies, the samples themselves, the exact
error texts):

  nan_first     candidate 1 has two coincident atoms, so lj/cut + buck gives
                inf + (-inf) = NaN; it is reported, skipped, and the candidate
                with the lowest finite energy (numpy) is kept and its pe printed
  all_inf       every candidate overlaps (lj/cut: inf): an error naming the
                candidate count and the file
  no_force_field, pair_zero
                select energy with nothing that contributes energy: an error
  hybrid_zero, overlay_zero
                `pair_style hybrid zero` / `hybrid/overlay zero` pass the
                style-name check but every energy is 0: the run-time error
  out_of_range  lj/cut with every candidate's atoms farther apart than the
                cutoff (numpy: every energy exactly 0): the same error
  one_nonzero   the same but candidate 2 has a pair in range: no error,
                candidate 2 (numpy's lowest) kept
  fix_energy_only
                a fix with fix_modify energy yes is a force field: accepted,
                the lowest reported energy kept
  images_in     samples ~500 box lengths away in a periodic box: the unwrapped
                dump equals the sample, the image flags are its box counts
  images_over   ~520 box lengths (image flags hold 511): an error naming the
                atom, the candidate and the limit
  images_far    candidate 1 1e20 away: the same error, promptly (placing it
                used to hang in a one-box-length-per-step remap loop)

Usage: check_seed_atoms_guards.py WORKDIR LMP [CASE...]
"""
import os
import re
import subprocess
import sys

import numpy as np
import torch

BOX_LO, BOX_HI = -30.0, 30.0  # periodic cases, angstrom
CUTOFF, EPSILON, SIGMA = 8.5, 0.238, 3.405
BUCK_A, BUCK_RHO, BUCK_C = 100.0, 0.3, 50.0
CANDIDATES = 3


class FixedGenerator(torch.nn.Module):
    """Returns the first n of its stored samples (any seed)."""
    n_atoms: int
    length_unit: str

    def __init__(self, samples):
        super().__init__()
        self.n_atoms = samples.shape[1]
        self.length_unit = "angstrom"
        self.register_buffer("samples", torch.tensor(samples, dtype=torch.float64))

    @torch.jit.export
    def sample(self, n: int, seed: int) -> torch.Tensor:
        return self.samples[:n].clone()


def cluster(rng, atoms=8):
    """A loose cluster: atoms on a 4 angstrom cubic grid, jiggled."""
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], float)
    return 4.0 * grid[:atoms] + rng.normal(scale=0.3, size=(atoms, 3))


def pair_energy(positions, with_buck):
    energy = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(len(positions)):
            r = np.linalg.norm(positions[i + 1:] - positions[i], axis=1)
            r = r[r < CUTOFF]
            energy += np.sum(4 * EPSILON * ((SIGMA / r) ** 12 - (SIGMA / r) ** 6))
            if with_buck:
                energy += np.sum(BUCK_A * np.exp(-r / BUCK_RHO) - BUCK_C / r ** 6)
    return energy


def deck(boundary, lines, atoms):
    region = f"{BOX_LO} {BOX_HI} " * 3
    return "\n".join([
        "units real", "atom_style atomic", f"boundary {boundary}",
        f"region box block {region}", "create_box 1 box",
        f"create_atoms 1 random {atoms} 4711 NULL", "mass 1 39.948", *lines, ""])


def run(workdir, lmp, name, samples, lines, boundary="s s s", timeout=120):
    os.makedirs(workdir, exist_ok=True)
    generator = os.path.join(workdir, f"{name}.pt")
    torch.jit.save(torch.jit.script(FixedGenerator(samples)), generator)
    script = os.path.join(workdir, f"in.{name}")
    with open(script, "w") as handle:
        handle.write(deck(boundary, [line.format(generator=generator, out=workdir)
                                     for line in lines], samples.shape[1]))
    try:
        done = subprocess.run([lmp, "-in", script, "-log", "none"], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return generator, None
    return generator, done.stdout + done.stderr


LJ = ["pair_style lj/cut 8.5", f"pair_coeff 1 1 {EPSILON} {SIGMA}"]
SEED = "seed_atoms all {generator} candidates 3"


def reported_energies(output):
    return {int(k): (float(e), skipped) for k, e, skipped in re.findall(
        r"seed_atoms: candidate (\d+) of \d+: potential energy (\S+)( \(not finite: skipped\))?",
        output)}


def kept_candidate(output):
    kept = re.findall(r"set to candidate (\d+) of", output)
    return int(kept[0]) if len(kept) == 1 else None


def expect_error(output, pattern):
    if output is None:
        return ["did not finish within the timeout (hangs)"]
    if not re.search(pattern, output):
        return [f"expected an error matching {pattern!r}:\n{output}"]
    return []


def case_nan_first(workdir, lmp, rng):
    samples = np.stack([cluster(rng) for _ in range(CANDIDATES)])
    samples[0, 1] = samples[0, 0]
    lines = ["pair_style hybrid/overlay lj/cut 8.5 buck 8.5",
             f"pair_coeff 1 1 lj/cut {EPSILON} {SIGMA}",
             f"pair_coeff 1 1 buck {BUCK_A} {BUCK_RHO} {BUCK_C}", SEED,
             'print "ENERGYLOSS pe $(pe:%.17g)"']
    _, output = run(workdir, lmp, "nan_first", samples, lines)
    energies = np.array([pair_energy(s, True) for s in samples])
    failures = []
    if not np.isnan(energies[0]) or not np.all(np.isfinite(energies[1:])):
        failures.append(f"numpy energies {energies}: candidate 1 should be the only NaN")
    reported = reported_energies(output)
    if sorted(reported) != [1, 2, 3]:
        return failures + [f"expected a line per candidate:\n{output}"]
    if not (np.isnan(reported[1][0]) and reported[1][1]):
        failures.append(f"candidate 1 reported {reported[1]}, expected NaN and skipped")
    for k in (2, 3):
        if reported[k][1] or not np.isclose(reported[k][0], energies[k - 1], rtol=1e-9):
            failures.append(f"candidate {k}: reported {reported[k]}, numpy {energies[k - 1]!r}")
    lowest = int(np.nanargmin(energies)) + 1
    if kept_candidate(output) != lowest:
        failures.append(f"kept candidate {kept_candidate(output)}, lowest finite is {lowest}")
    printed = re.findall(r"^ENERGYLOSS pe (\S+)$", output, re.MULTILINE)
    if not printed or not np.isclose(float(printed[0]), energies[lowest - 1], rtol=1e-9):
        failures.append(f"pe after seeding {printed}, numpy {energies[lowest - 1]!r}")
    return failures


def case_all_inf(workdir, lmp, rng):
    samples = np.stack([cluster(rng) for _ in range(CANDIDATES)])
    samples[:, 1] = samples[:, 0]
    generator, output = run(workdir, lmp, "all_inf", samples, LJ + [SEED])
    if any(np.isfinite(pair_energy(s, False)) for s in samples):
        return ["numpy: some candidate has a finite energy"]
    return expect_error(output, r"ERROR: seed_atoms: none of the 3 candidates from "
                        + re.escape(f"'{generator}'") + " has a finite energy")


NO_FORCE_FIELD = r"ERROR: seed_atoms: select energy needs a force field"


def case_no_force_field(workdir, lmp, rng):
    samples = np.stack([cluster(rng) for _ in range(CANDIDATES)])
    failures = expect_error(run(workdir, lmp, "no_force_field", samples, [SEED])[1],
                            NO_FORCE_FIELD)
    # select first evaluates nothing: no force field needed.
    _, output = run(workdir, lmp, "no_force_field_first", samples, [SEED + " select first"])
    if output is None or "ERROR" in output or kept_candidate(output) != 1:
        failures.append(f"select first without a force field:\n{output}")
    return failures


def case_pair_zero(workdir, lmp, rng):
    samples = np.stack([cluster(rng) for _ in range(CANDIDATES)])
    lines = ["pair_style zero 8.0", "pair_coeff * *", SEED]
    return expect_error(run(workdir, lmp, "pair_zero", samples, lines)[1], NO_FORCE_FIELD)


ALL_ZERO = (r"ERROR: seed_atoms: select energy cannot choose: every one of the 3 candidates "
            r"from '[^']*' has potential energy 0 \(is a force field defined\?\)")


def case_hybrid_zero(workdir, lmp, rng):
    samples = np.stack([cluster(rng) for _ in range(CANDIDATES)])
    lines = ["pair_style hybrid zero 8.0", "pair_coeff * * zero", SEED]
    return expect_error(run(workdir, lmp, "hybrid_zero", samples, lines)[1], ALL_ZERO)


def case_overlay_zero(workdir, lmp, rng):
    samples = np.stack([cluster(rng) for _ in range(CANDIDATES)])
    lines = ["pair_style hybrid/overlay zero 8.0", "pair_coeff * * zero", SEED]
    return expect_error(run(workdir, lmp, "overlay_zero", samples, lines)[1], ALL_ZERO)


def spread(rng):
    """The cluster on a 10 angstrom grid: every pair beyond the 8.5 cutoff."""
    return 2.5 * cluster(rng)


def case_out_of_range(workdir, lmp, rng):
    samples = np.stack([spread(rng) for _ in range(CANDIDATES)])
    energies = [pair_energy(s, False) for s in samples]
    if any(e != 0.0 for e in energies):
        return [f"numpy energies {energies}: expected every one exactly 0"]
    return expect_error(run(workdir, lmp, "out_of_range", samples, LJ + [SEED])[1], ALL_ZERO)


def case_one_nonzero(workdir, lmp, rng):
    samples = np.stack([spread(rng) for _ in range(CANDIDATES)])
    samples[1, 1] = samples[1, 0] + [4.0, 0.0, 0.0]  # one pair near the LJ minimum
    energies = np.array([pair_energy(s, False) for s in samples])
    _, output = run(workdir, lmp, "one_nonzero", samples, LJ + [SEED])
    if list(energies != 0.0) != [False, True, False]:
        return [f"numpy energies {energies}: expected only candidate 2 nonzero"]
    if output is None or "ERROR" in output or kept_candidate(output) != 2:
        return [f"energies {energies}: expected candidate 2 kept:\n{output}"]
    reported = reported_energies(output)
    if not np.isclose(reported[2][0], energies[1], rtol=1e-9):
        return [f"candidate 2 reported {reported[2]}, numpy {energies[1]!r}"]
    return []


def case_fix_energy_only(workdir, lmp, rng):
    samples = np.stack([cluster(rng) for _ in range(CANDIDATES)])
    lines = ["fix hold all energyloss coeff constant 1.0", "fix_modify hold energy yes", SEED]
    _, output = run(workdir, lmp, "fix_energy_only", samples, lines)
    reported = reported_energies(output or "")
    if sorted(reported) != [1, 2, 3] or "ERROR" in output:
        return [f"a fix with fix_modify energy yes should count as a force field:\n{output}"]
    energies = [reported[k][0] for k in (1, 2, 3)]
    if np.ptp(energies) <= 0 or kept_candidate(output) != int(np.argmin(energies)) + 1:
        return [f"energies {energies}, kept {kept_candidate(output)}"]
    return []


def far_samples(rng, box_lengths):
    """Candidate 1 as a cluster near the box, candidate 2 shifted by box_lengths boxes in x
    (atom 3 also -box_lengths in z)."""
    near = cluster(rng) + BOX_LO + 10.0
    far = near.copy()
    far[:, 0] += box_lengths * (BOX_HI - BOX_LO)
    far[2, 2] -= box_lengths * (BOX_HI - BOX_LO)
    return np.stack([near, far])


PERIODIC_SEED = ["pair_style zero 8.0", "pair_coeff * *",
                 "seed_atoms all {generator} candidates 2 select first"]


def case_images_in(workdir, lmp, rng):
    samples = far_samples(rng, 500)[::-1].copy()  # the far one first, so it is kept
    dump = ["write_dump all custom {out}/images_in.dump id xu yu zu ix iy iz "
            "modify sort id format float %.17g"]
    _, output = run(workdir, lmp, "images_in", samples, PERIODIC_SEED + dump, "p p p")
    if output is None or "ERROR" in output:
        return [f"seeding 500 box lengths away failed:\n{output}"]
    rows = np.loadtxt(os.path.join(workdir, "images_in.dump"), skiprows=9)
    failures = []
    if not np.allclose(rows[:, 1:4], samples[0], rtol=0, atol=1e-9):
        failures.append(f"unwrapped {rows[:, 1:4]} differ from the sample {samples[0]} by up to "
                        f"{np.abs(rows[:, 1:4] - samples[0]).max()}")
    images = np.floor((samples[0] - BOX_LO) / (BOX_HI - BOX_LO))
    if not np.array_equal(rows[:, 4:7], images) or images.max() < 500:
        failures.append(f"image flags {rows[:, 4:7]}, expected {images}")
    return failures


def case_images_over(workdir, lmp, rng):
    samples = far_samples(rng, 520)
    output = run(workdir, lmp, "images_over", samples, PERIODIC_SEED, "p p p")[1]
    return expect_error(output, r"ERROR: seed_atoms: candidate 2 puts atom 1 at \([^)]*\), "
                        r"520 periodic box lengths away in x; image flags hold at most 511 "
                        r"per dimension")


def case_images_far(workdir, lmp, rng):
    samples = far_samples(rng, 0)[::-1].copy()  # placed first (select first): a loop would hang
    samples[0, 3, 1] = 1e20
    output = run(workdir, lmp, "images_far", samples, PERIODIC_SEED, "p p p", timeout=30)[1]
    return expect_error(output, r"ERROR: seed_atoms: candidate 1 puts atom 4 at \([^)]*\), "
                        r"1\.66667e\+18 periodic box lengths away in y; image flags hold at most "
                        r"511 per dimension")


CASES = {name[5:]: function for name, function in globals().items() if name.startswith("case_")}


def main():
    workdir, lmp, names = sys.argv[1], sys.argv[2], sys.argv[3:] or list(CASES)
    failures = []
    for name in names:
        rng = np.random.default_rng(7)
        failures += [f"{name}: {problem}" for problem in CASES[name](workdir, lmp, rng)]
    if failures:
        sys.exit("\n".join(failures))
    print(f"{len(names)} seed_atoms guard cases agree")


if __name__ == "__main__":
    main()
