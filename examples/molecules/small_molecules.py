#!/usr/bin/python3
"""Graph-conditioned conformer diffusion on Debian's chemical-structures-data
molecules, trained with different sample-space losses (paper section 6.2 at
CPU scale).

Pipeline:
  1. Data: the CML files of /usr/share/chemical-structures (bonds with
     orders; hydrogens added with RDKit where a file has none). Molecules of
     one fragment, at most --max-atoms atoms with H, at least 3 heavy atoms,
     elements H C N O F S Cl Br and MMFF94 parameters are kept; RDKit embeds
     --conformers conformers each (ETKDGv3, seeded) and MMFF94-optimises
     them. Molecules are split 80/20 into train and test (seeded). The data
     set is cached in the output folder.
  2. Model: a small non-equivariant graph network (atom-type embedding,
     noisy coordinates and the noise level as node features; messages over
     all atom pairs from raw coordinate differences, bond order and graph
     distance, summed separately over the bonds and averaged over all
     pairs), predicting eps, trained with random rotations (GDM-aug) on the
     sample prediction x0 with one of the losses, weighted by alpha^2/sigma^2.
  3. For every test molecule, conformers are sampled conditioned on its graph
     and scored: EDM-style atom and molecule stability, RDKit validity and
     identity, bond-length and bond-angle W1 to the test data, MMFF94
     energy above the molecule's data conformers before and after a short
     minimisation, and COV-R / MAT-R (heavy-atom Kabsch RMSD).

Losses: mse, kabsch, energy (exp coefficients, complete graph, masked),
energy-sparse (a globally rigid sparse graph per molecule), and pair energy
losses with springs from MMFF94 through energyloss.MMFFOracle, per
conformer, on the complete graph unless said otherwise:
  energy-ff     the per-pair curvature (force_field_coefficients, finite
                differences, floored);
  energy-hfit   the Hessian-fitted springs (method="hessian_fit");
  energy-shell  the exp preset's total per graph-distance shell, shared out
                in proportion to the per-pair curvature
                (shell_balanced_coefficients; always in the exp preset's
                units, its totals being exp's);
  energy-msem   modified Seminario springs on a sparse graph: the bond and
                angle constants of the MMFF94 Hessian (modified_seminario)
                as springs on the bonds and, per angle A-B-C, on the 1-3
                pair A-C with k_theta r_AC^2 / (r_AB r_CB sin theta)^2
                (seminario_pair_springs; shared 1-3 pairs summed, nearly
                linear angles, theta > 170 degrees, get none).
energy-ff, energy-hfit and energy-msem springs are in kT / angstrom^2 at
--temperature (--ff-units kT, the default) or rescaled to the exp preset's
total on the same edges (--ff-units exp-total, as in the first published
table; complete graph, or energy-msem's 1-2 and 1-3 pairs). A "+ff" suffix
(e.g. energy-hfit+ff) adds the force field's true-energy term
--ff-weight x (E_MMFF(x0_hat) - E_MMFF(x0)) / kT on the batch entries whose
noise level sigma is at most --ff-max-sigma (energyloss.ForceFieldEnergyLoss).

Validation (--validate-every K, default 500; 0 turns it off): every K steps
(and at steps 0 and the last) the model is scored on a fixed held-out set,
the test molecules' conformers at VALIDATION_TIMES noise levels, with
rotations and noise drawn once from VALIDATION_SEED, identical for every
loss, learning rate and seed: by the eps-MSE (the MSE loss's objective, one
common quantity for all losses) and by the run's own weighted loss.

Writes OUTPUT/runs.csv (one row per loss, data fraction and seed),
OUTPUT/summary.md, OUTPUT/small_molecules.png, OUTPUT/curves.csv (per run and
validation step: the mean training loss since the previous validation, the
validation eps-MSE and own loss) and OUTPUT/curves.png (validation eps-MSE
against step). --quick takes minutes.
"""

import argparse
import functools
import glob
import math
import os
import pickle
import sys
import time
import xml.etree.ElementTree as ElementTree

import numpy as np
import torch

import energyloss
from energyloss.generative import Batch, GraphDenoiser, held_out_set, sample, train
from diffusion_common import (CURVE_COLUMNS, DEFAULT_LOSSES, FF_TERM, FF_UNITS, LOSSES,
                              VALIDATION_SEED, VALIDATION_TIMES, Validator, add_training_options,
                              angle_triples, bond_angles, bond_lengths, check_training_options,
                              coverage_matching, curve_rows, energy_term_loss, force_field_springs,
                              plot, plot_curves, print_row, rdkit_checks, rmsd_matrix,
                              sample_space_loss, seminario_springs, stability, summarise,
                              wasserstein, write_rows)

DATA_DIRECTORY = "/usr/share/chemical-structures"
ELEMENTS = ("H", "C", "N", "O", "F", "S", "Cl", "Br")
BOND_ORDERS = {"1": 1, "2": 2, "3": 3, "S": 1, "D": 2, "T": 3}
MAX_GRAPH_DISTANCE = 4  # graph distances 1, 2, 3 and ">= 4 or none" as pair features
PAIR_FEATURES = 4 + MAX_GRAPH_DISTANCE  # bond order one-hot (0-3), graph distance one-hot
SPLIT_SEED = 0
COVERAGE_THRESHOLD = 0.5  # angstrom, GEOM's threshold for QM9-size molecules
MINIMISER_ITERATIONS = 50
BOLTZMANN = 0.0019872043  # kcal/mol/K, MMFF94's energy unit
# How each force-field loss gets its springs from the MMFF94 oracle.
FF_METHODS = {"energy-ff": "finite_difference", "energy-hfit": "hessian_fit",
              "energy-shell": "shell", "energy-msem": "seminario"}
METRICS = ("atom_stable", "molecule_stable", "valid", "identical", "bond_w1", "angle_w1",
           "energy_failed", "energy_excess", "energy_excess_minimised", "coverage", "matching",
           "loss_share", "train_seconds", "step_ms", "term_ms", "val_eps_mse", "val_loss")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--losses", nargs="+", default=list(DEFAULT_LOSSES), choices=LOSSES,
                        help=f"(default: {' '.join(DEFAULT_LOSSES)})")
    parser.add_argument("--ff-units", default="kT", choices=FF_UNITS,
                        help="energy-ff / energy-hfit / energy-msem springs in kT/A^2 (kT, "
                             "default) or rescaled to the exp preset's total (exp-total)")
    parser.add_argument("--temperature", type=float, default=298.15,
                        help="kelvin, for kT (298.15)")
    add_training_options(parser, lr=1e-3)
    parser.add_argument("--seeds", type=int, default=None, help="seeds per setting (3; quick 1)")
    parser.add_argument("--curve-seeds", type=int, default=None,
                        help="seeds for the fractions below 1 (as --seeds)")
    parser.add_argument("--fractions", type=float, nargs="+", default=None,
                        help="training-set fractions (0.25 0.5 1; quick 1)")
    parser.add_argument("--max-atoms", type=int, default=20, help="size limit, with H (20)")
    parser.add_argument("--molecules", type=int, default=None,
                        help="use at most this many molecules (all; quick 30)")
    parser.add_argument("--conformers", type=int, default=None, help="per molecule (5; quick 2)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (1500; quick 30)")
    parser.add_argument("--batch", type=int, default=32, help="conformers per step (32)")
    parser.add_argument("--width", type=int, default=64, help="hidden features (64)")
    parser.add_argument("--layers", type=int, default=4, help="message-passing layers (4)")
    parser.add_argument("--samples", type=int, default=1, help="samples per test conformer (1)")
    parser.add_argument("--sampling-steps", type=int, default=None,
                        help="ancestral sampling steps (50; quick 10)")
    parser.add_argument("--output", default="results/small_molecules")
    args = parser.parse_args(argv)
    defaults = dict(seeds=(1, 3), fractions=([1.0], [0.25, 0.5, 1.0]), molecules=(30, 0),
                    conformers=(2, 5), steps=(30, 1500), sampling_steps=(10, 50))
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.curve_seeds is None:
        args.curve_seeds = args.seeds
    for name in ("seeds", "curve_seeds", "conformers", "steps", "batch", "width", "layers",
                 "samples", "sampling_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.molecules < 0 or args.molecules == 1:
        parser.error("--molecules must be 0 (all) or at least 2")
    if args.max_atoms < 3:
        parser.error("--max-atoms must be at least 3")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        parser.error("--temperature must be a positive number of kelvin")
    check_training_options(parser, args)
    if any(not 0 < f <= 1 for f in args.fractions):
        parser.error("--fractions must lie in (0, 1]")
    return args


# ------------------------------------------------------------------- data


def read_cml(path):
    """An RDKit molecule with explicit hydrogens and stereo from the file's
    3D coordinates, or None when RDKit cannot sanitise it."""
    from rdkit import Chem
    root = ElementTree.parse(path).getroot()
    local = {element: element.tag.rsplit("}", 1)[-1] for element in root.iter()}
    atoms = [e for e in root.iter() if local[e] == "atom" and e.get("elementType")]
    bonds = [e for e in root.iter() if local[e] == "bond"]
    index = {atom.get("id"): i for i, atom in enumerate(atoms)}
    mol = Chem.RWMol()
    conformer = Chem.Conformer(len(atoms))
    for i, atom in enumerate(atoms):
        new_atom = Chem.Atom(atom.get("elementType"))
        new_atom.SetFormalCharge(int(atom.get("formalCharge", "0")))
        mol.AddAtom(new_atom)
        conformer.SetAtomPosition(i, [float(atom.get(axis, "0")) for axis in ("x3", "y3", "z3")])
    for bond in bonds:
        first, second = bond.get("atomRefs2").split()
        order = BOND_ORDERS.get(bond.get("order"))
        if order is None:
            return None
        mol.AddBond(index[first], index[second], Chem.BondType.values[order])
    mol.AddConformer(conformer)
    mol = mol.GetMol()
    try:
        Chem.SanitizeMol(mol)
    except Exception:  # RDKit raises several sanitisation exception types
        return None
    Chem.AssignStereochemistryFrom3D(mol)
    if not any(atom.GetSymbol() == "H" for atom in mol.GetAtoms()):
        mol = Chem.AddHs(mol, addCoords=True)
    return mol


def make_record(name, mol, conformers, seed):
    """The molecule's graph, its MMFF94-optimised ETKDG conformers
    (centred, angstrom) and the checks' references, or None when it is
    outside the data set's limits."""
    from rdkit import Chem
    from rdkit.Chem import AllChem
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    mol = Chem.Mol(mol)
    ids = list(AllChem.EmbedMultipleConfs(mol, numConfs=conformers, params=params))
    if len(ids) < conformers:
        return None
    results = AllChem.MMFFOptimizeMoleculeConfs(mol, mmffVariant="MMFF94", maxIters=2000)
    if any(not_converged for not_converged, _ in results):
        return None
    positions = np.array([mol.GetConformer(i).GetPositions() for i in ids])
    positions -= positions.mean(axis=1, keepdims=True)
    n = mol.GetNumAtoms()
    orders = np.zeros((n, n), dtype=np.int64)
    bond_types = {}
    for bond in mol.GetBonds():
        i, j = sorted((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
        orders[i, j] = orders[j, i] = int(bond.GetBondTypeAsDouble())
        bond_types[(i, j)] = bond.GetBondType()
    bonds = np.array(sorted(bond_types), dtype=np.int64)
    elements = [atom.GetSymbol() for atom in mol.GetAtoms()]
    Chem.AssignStereochemistryFrom3D(mol, confId=ids[0])
    return {"name": name, "elements": elements,
            "charges": [atom.GetFormalCharge() for atom in mol.GetAtoms()],
            "orders": orders, "bonds": bonds, "angles": angle_triples(bonds, n),
            "bond_types": bond_types, "smiles": Chem.MolToSmiles(mol),
            "heavy": np.array([i for i, e in enumerate(elements) if e != "H"]),
            "graph_distance": Chem.GetDistanceMatrix(mol).astype(np.int64),
            "molblock": Chem.MolToMolBlock(mol, confId=ids[0]), "conformers": positions}


def load_dataset(output, max_atoms, conformers, limit):
    """The usable molecules' records (the first ``limit`` by path, or all
    for 0); cached in ``output``."""
    cache = os.path.join(output, f"dataset_{max_atoms}atoms_{conformers}conformers_"
                                 f"{limit or 'all'}.pkl")
    if os.path.exists(cache):
        with open(cache, "rb") as handle:
            return pickle.load(handle)
    from rdkit import Chem, RDLogger
    from rdkit.Chem import AllChem
    RDLogger.DisableLog("rdApp.*")
    records = []
    paths = sorted(glob.glob(os.path.join(DATA_DIRECTORY, "**", "*.cml"), recursive=True))
    if not paths:
        sys.exit(f"small_molecules: no CML files under {DATA_DIRECTORY} "
                 "(install Debian's chemical-structures-data)")
    for seed, path in enumerate(paths):
        mol = read_cml(path)
        if (mol is None or mol.GetNumAtoms() > max_atoms or mol.GetNumHeavyAtoms() < 3
                or len(Chem.GetMolFrags(mol)) != 1
                or any(atom.GetSymbol() not in ELEMENTS for atom in mol.GetAtoms())
                or not AllChem.MMFFHasAllMoleculeParams(mol)):
            continue
        name = os.path.relpath(path, DATA_DIRECTORY)[:-len(".cml")]
        record = make_record(name, mol, conformers, seed)
        if record is not None:
            records.append(record)
        if len(records) == limit:
            break
    with open(cache, "wb") as handle:
        pickle.dump(records, handle)
    return records


class Padded:
    """Molecules as padded tensors: conformer positions (normalised), masks,
    atom types and the static pair features of the graph."""

    def __init__(self, records, data_scale):
        self.records = records
        atoms = max(len(r["elements"]) for r in records)
        self.molecule_of = torch.tensor([m for m, r in enumerate(records)
                                         for _ in range(len(r["conformers"]))])
        self.positions = torch.zeros(len(self.molecule_of), atoms, 3)
        self.mask = torch.zeros(len(records), atoms, dtype=torch.bool)
        self.types = torch.zeros(len(records), atoms, dtype=torch.long)
        self.pairs = torch.zeros(len(records), atoms, atoms, PAIR_FEATURES)
        row = 0
        for m, r in enumerate(records):
            n = len(r["elements"])
            count = len(r["conformers"])
            self.positions[row:row + count, :n] = torch.as_tensor(
                r["conformers"], dtype=torch.float32) / data_scale
            row += count
            self.mask[m, :n] = True
            self.types[m, :n] = torch.tensor([ELEMENTS.index(e) for e in r["elements"]])
            orders = torch.as_tensor(r["orders"])
            self.pairs[m, :n, :n, :4] = torch.nn.functional.one_hot(orders, 4).float()
            distance = torch.as_tensor(r["graph_distance"]).clamp(1, MAX_GRAPH_DISTANCE)
            self.pairs[m, :n, :n, 4:] = torch.nn.functional.one_hot(
                distance - 1, MAX_GRAPH_DISTANCE).float()


# ----------------------------------------------------------------- losses


def complete_pairs(n):
    return torch.combinations(torch.arange(n), 2)


def pad_edges(edge_lists, weight_lists):
    """Per-system edges [B, E, 2] (rows of -1 padding) and weights [B, E]."""
    longest = max(len(e) for e in edge_lists)
    edges = torch.full((len(edge_lists), longest, 2), -1, dtype=torch.long)
    weights = torch.zeros(len(edge_lists), longest)
    for b, (e, w) in enumerate(zip(edge_lists, weight_lists)):
        edges[b, :len(e)] = e
        weights[b, :len(w)] = w
    return edges, weights


def sparse_edges(data):
    """A globally rigid sparse graph per molecule, drawn on its first
    conformer; the same for each of its conformers."""
    edges, weights = [], []
    for r in data.records:
        e, w = energyloss.sparse_rigid_edges(torch.as_tensor(r["conformers"][0]), seed=0)
        edges.append(e)
        weights.append(w.float())
    edges, weights = pad_edges(edges, weights)
    return edges[data.molecule_of], weights[data.molecule_of]


def check_mmff_oracle(record):
    """Exits with a message when this energyloss build has no MMFF oracle."""
    try:
        energyloss.MMFFOracle(record["molblock"], variant="MMFF94", workers=1)
    except (AttributeError, RuntimeError) as error:
        sys.exit("small_molecules: the force-field losses need energyloss.MMFFOracle, the RDKit "
                 f"MMFF oracle, which this build does not provide ({error})")


def force_field_edges(data, oracles, method, units, kT, cache):
    """Complete-graph edges with MMFF94-derived springs per conformer
    (``oracles`` [molecule] and force_field_coefficients with ``method``, in
    kT/A^2, then ``force_field_springs(..., units)``; "shell": the exp
    preset's shell totals shared out by the finite-difference curvature;
    "seminario": sparse 1-2 and 1-3 edges, ``seminario_springs``); cached in
    ``cache``."""
    if os.path.exists(cache):
        return torch.load(cache)
    edges, weights = [], []
    dropped = angles = 0
    for r, oracle in zip(data.records, oracles):
        pairs = complete_pairs(len(r["elements"]))
        for conformer in r["conformers"]:
            reference = torch.as_tensor(conformer, dtype=torch.float64)
            if method == "seminario":
                pairs, k, details = seminario_springs(oracle, reference, r["bonds"])
                k = force_field_springs(k / kT, reference, pairs, units)
                dropped += int(details["dropped"].sum())
                angles += len(details["dropped"])
            elif method == "shell":
                k = energyloss.shell_balanced_coefficients(
                    reference, r["bonds"], pairs,
                    energyloss.force_field_coefficients(oracle, reference, pairs))
            else:
                k = force_field_springs(energyloss.force_field_coefficients(
                    oracle, reference, pairs, method=method, kT=kT), reference, pairs, units)
            edges.append(pairs)
            weights.append(k.float())
    if method == "seminario":
        print(f"energy-msem springs: {angles} angles, {dropped} nearly linear (no 1-3 spring), "
              f"{sum(int((w < 0).sum()) for w in weights)} negative springs", flush=True)
    result = pad_edges(edges, weights)
    torch.save(result, cache)
    return result


def data_energies(data, oracles):
    """MMFF94 energies (kcal/mol) [C] of every conformer, for the '+ff' term."""
    return torch.cat([oracles[m].evaluate(torch.as_tensor(r["conformers"]))[0]
                      for m, r in enumerate(data.records)])


class Trainer:
    """Draws batches of training conformers with their conditioning and the
    loss's per-system edges, cropped to the batch's largest molecule. A
    "+ff" loss adds the MMFF94 energy term through ``term`` (an
    energyloss.ForceFieldEnergyLoss, in angstrom and kcal/mol) with one
    oracle per molecule and the data conformers' ``energies``."""

    def __init__(self, data, conformers, loss_name, data_scale, edges, batch, term=None,
                 oracles=None, energies=None):
        self.data, self.conformers, self.batch = data, conformers, batch
        self.loss_name, self.data_scale, self.edges = loss_name, data_scale, edges
        self.term, self.oracles, self.energies = term, oracles, energies

    def draw_batch(self, generator):
        index = self.conformers[torch.randint(len(self.conformers), (self.batch,),
                                              generator=generator)]
        batch = conditioning(self.data, index, self.edges)
        batch.context["conformers"] = index
        return batch

    def loss(self, x0_hat, batch):
        context = batch.context
        if self.term is None:
            return sample_space_loss(self.loss_name, x0_hat, batch.x0, self.data_scale,
                                     batch.mask, context.get("edges"), context.get("weights"))
        index = context["conformers"]
        return self.term(x0_hat * self.data_scale, batch.x0 * self.data_scale, context["sigma"],
                         [self.oracles[m] for m in self.data.molecule_of[index].tolist()],
                         batch.mask, self.energies[index], edges=context.get("edges"),
                         weights=context.get("weights"))


def energy_term(loss_name, args):
    """The ForceFieldEnergyLoss of a "+ff" loss (None for the others): its
    pair part is the named pair loss on positions already in angstrom."""
    return energy_term_loss(loss_name, args.ff_weight, BOLTZMANN * args.temperature,
                            args.ff_max_sigma)


def conditioning(data, conformers, edges=None):
    """The Batch of these conformer indices: positions, mask, atom types,
    pair features (and the loss's edges and weights), cropped."""
    molecules = data.molecule_of[conformers]
    mask = data.mask[molecules]
    atoms = int(mask.sum(dim=1).max())
    context = {"types": data.types[molecules, :atoms],
               "pairs": data.pairs[molecules, :atoms, :atoms]}
    if edges is not None:
        context["edges"], context["weights"] = edges[0][conformers], edges[1][conformers]
    return Batch(data.positions[conformers, :atoms], mask[:, :atoms], context)


# ---------------------------------------------------------------- metrics


def mmff_energies(record, x, minimise):
    """MMFF94 energies (kcal/mol) of conformers [S, N, 3] after ``minimise``
    iterations of RDKit's minimiser (0: none); non-finite energies and
    failed minimisations (atoms on top of each other) are +inf, so they
    count against the median."""
    from rdkit import Chem
    from rdkit.Chem import AllChem
    mol = Chem.MolFromMolBlock(record["molblock"], removeHs=False)
    properties = AllChem.MMFFGetMoleculeProperties(mol, mmffVariant="MMFF94")
    conformer = mol.GetConformer()
    result = np.empty(len(x))
    for index, positions in enumerate(x):
        for atom, p in enumerate(positions):
            conformer.SetAtomPosition(atom, p.tolist())
        field = AllChem.MMFFGetMoleculeForceField(mol, properties)
        try:
            if minimise:
                field.Minimize(maxIts=minimise)
            energy = field.CalcEnergy()
        except RuntimeError:  # RDKit's line search fails on atoms on top of each other
            energy = math.inf
        result[index] = energy if math.isfinite(energy) else math.inf
    return result


def evaluate(samples, records):
    """Metrics of {test molecule index: samples [S, N, 3] in angstrom}
    against each molecule's data conformers, pooled over molecules."""
    lengths, data_lengths, angles, data_angles = [], [], [], []
    atom_stable = molecule_stable = atoms = 0.0
    valid, identical, excess, excess_minimised, coverage, matching = [], [], [], [], [], []
    for m, x in samples.items():
        r = records[m]
        data = r["conformers"]
        lengths.append(bond_lengths(x, r["bonds"]).ravel())
        data_lengths.append(bond_lengths(data, r["bonds"]).ravel())
        angles.append(bond_angles(x, r["angles"]).ravel())
        data_angles.append(bond_angles(data, r["angles"]).ravel())
        atom_fraction, molecule_fraction = stability(x, r["elements"], r["orders"])
        atom_stable += atom_fraction * len(x) * len(r["elements"])
        atoms += len(x) * len(r["elements"])
        molecule_stable += molecule_fraction * len(x)
        is_valid, is_identical = rdkit_checks(x, r["elements"], r["bond_types"], r["smiles"],
                                              r["charges"])
        valid.append(is_valid)
        identical.append(is_identical)
        for minimise, out in ((0, excess), (MINIMISER_ITERATIONS, excess_minimised)):
            out.append(mmff_energies(r, x, minimise) -
                       np.median(mmff_energies(r, data, minimise)))
        rmsd = rmsd_matrix(x[:, r["heavy"]], data[:, r["heavy"]])
        cov, mat = coverage_matching(rmsd, COVERAGE_THRESHOLD)
        coverage.append(cov)
        matching.append(mat)
    excess, excess_minimised = np.concatenate(excess), np.concatenate(excess_minimised)
    return {
        "atom_stable": atom_stable / atoms,
        "molecule_stable": molecule_stable / sum(len(x) for x in samples.values()),
        "valid": float(np.concatenate(valid).mean()),
        "identical": float(np.concatenate(identical).mean()),
        "bond_w1": wasserstein(np.concatenate(lengths), np.concatenate(data_lengths)),
        "angle_w1": wasserstein(np.concatenate(angles), np.concatenate(data_angles)),
        "energy_failed": float(np.mean(np.isinf(excess))),
        "energy_excess": float(np.median(excess)),
        "energy_excess_minimised": float(np.median(excess_minimised)),
        "coverage": float(np.mean(coverage)), "matching": float(np.mean(matching)),
    }


def generate(model, data, test_molecules, per_conformer, seed, clip, sampling_steps,
             data_scale, chunk=256):
    """{test molecule: samples [S, N, 3] angstrom}, S = per_conformer x its
    conformer count, conditioned on the molecule's graph."""
    conformers = torch.cat([torch.nonzero(data.molecule_of == m).flatten().repeat(per_conformer)
                            for m in test_molecules])
    samples = {m: [] for m in test_molecules}
    for start in range(0, len(conformers), chunk):
        index = conformers[start:start + chunk]
        batch = conditioning(data, index)
        x = sample(model, batch, seed + start, clip, sampling_steps)
        for m, positions, mask in zip(data.molecule_of[index].tolist(), x, batch.mask):
            samples[m].append(positions[mask].double().numpy() * data_scale)
    return {m: np.stack(x) for m, x in samples.items()}


# ------------------------------------------------------------------- main


def main(argv):
    args = parse_arguments(argv)
    os.makedirs(args.output, exist_ok=True)
    # One thread: these small layers gain little from two, and OpenMP threads
    # on a shared 2-core machine stall each other.
    torch.set_num_threads(1)
    start = time.perf_counter()
    records = load_dataset(args.output, args.max_atoms, args.conformers, args.molecules)
    if len(records) < 2:
        sys.exit(f"small_molecules: only {len(records)} molecules within --max-atoms "
                 f"{args.max_atoms}; need at least 2")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(records))
    test_count = max(1, len(records) // 5)
    test_molecules, train_molecules = sorted(order[:test_count]), order[test_count:]
    data_scale = float(np.sqrt(np.mean(np.concatenate(
        [records[m]["conformers"].reshape(-1) ** 2 for m in train_molecules]))))
    data = Padded(records, data_scale)
    print(f"data: {len(records)} molecules (<= {args.max_atoms} atoms), {len(train_molecules)} "
          f"train / {len(test_molecules)} test, {args.conformers} conformers each, "
          f"scale {data_scale:.3f} A, {time.perf_counter() - start:.0f} s", flush=True)
    reference = evaluate({m: records[m]["conformers"] for m in test_molecules}, records)
    print("test data itself: " + ", ".join(f"{k}={v:.4g}" for k, v in reference.items()),
          flush=True)

    oracles = energies = None
    if any(name in FF_METHODS or name.endswith(FF_TERM) for name in args.losses):
        check_mmff_oracle(records[0])
        oracles = [energyloss.MMFFOracle(r["molblock"], variant="MMFF94", workers=1)
                   for r in records]
    if any(name.endswith(FF_TERM) for name in args.losses):
        energies = data_energies(data, oracles)
    kT = BOLTZMANN * args.temperature

    def ff_edges(name):
        method = FF_METHODS[name]
        units = "exp-total" if method == "shell" else args.ff_units
        cache = os.path.join(args.output, f"mmff_{method}_{units}_{args.temperature:g}K_"
                                          f"{args.max_atoms}atoms_{args.conformers}conformers_"
                                          f"{args.molecules or 'all'}.pt")
        return force_field_edges(data, oracles, method, units, kT, cache)

    edges = {"energy-sparse": lambda: sparse_edges(data)}
    edges.update({name: functools.partial(ff_edges, name) for name in FF_METHODS})
    test_conformers = torch.nonzero(torch.isin(
        data.molecule_of, torch.as_tensor(test_molecules))).flatten()
    rows, curves = [], []
    for fraction in sorted(args.fractions, reverse=True):  # the full set's table first
        subset = train_molecules[:max(1, int(round(fraction * len(train_molecules))))]
        train_conformers = torch.nonzero(torch.isin(
            data.molecule_of, torch.as_tensor(subset))).flatten()
        for loss_name in args.losses:
            pair_name = loss_name[:-len(FF_TERM)] if loss_name.endswith(FF_TERM) else loss_name
            loss_edges = edges[pair_name]() if pair_name in edges else None
            count = args.seeds if fraction == 1 else args.curve_seeds
            for seed in range(args.first_seed, args.first_seed + count):
                begin = time.perf_counter()
                torch.manual_seed(seed)
                # Bond-order one-hot columns 1-3 mark the bonds.
                model = GraphDenoiser(num_types=len(ELEMENTS), pair_features=PAIR_FEATURES,
                                      bonded_features=[1, 2, 3], width=args.width,
                                      layers=args.layers)
                term = energy_term(loss_name, args)
                trainer = Trainer(data, train_conformers, loss_name, data_scale, loss_edges,
                                  args.batch, term, oracles, energies)
                validator = None
                if args.validate_every:
                    held_out = conditioning(data, test_conformers, loss_edges)
                    held_out.context["conformers"] = test_conformers
                    validator = Validator(held_out_set(held_out, VALIDATION_TIMES,
                                                       VALIDATION_SEED), trainer)
                loss_share, curve = train(model, trainer.draw_batch, trainer.loss, args.steps,
                                          seed, args.lr, validate=validator,
                                          validate_every=args.validate_every or 1)
                seconds = time.perf_counter() - begin - (validator.seconds if validator else 0)
                term_seconds = 0.0 if term is None else term.total_seconds
                samples = generate(model, data, test_molecules, args.samples, seed,
                                   clip=float(data.positions[train_conformers].abs().max()),
                                   sampling_steps=args.sampling_steps, data_scale=data_scale)
                last = validator.points[-1] if validator else (None, math.nan, math.nan)
                row = {"loss": loss_name, "fraction": fraction, "seed": seed, "lr": args.lr,
                       **evaluate(samples, records), "loss_share": loss_share,
                       "train_seconds": seconds, "step_ms": 1000 * seconds / args.steps,
                       "term_ms": 1000 * term_seconds / args.steps,
                       "val_eps_mse": last[1],
                       "val_loss": math.nan if last[2] is None else last[2]}
                rows.append(row)
                print_row(row)
                print(f"  (sampled and scored in {time.perf_counter() - begin - seconds:.0f} s)",
                      flush=True)
                write_rows(rows, os.path.join(args.output, "runs.csv"))  # kept if stopped
                if validator:
                    print(f"  (validated {len(validator.points)} times in "
                          f"{validator.seconds:.0f} s, not counted in train_seconds)", flush=True)
                    curves += curve_rows({"loss": loss_name, "fraction": fraction, "seed": seed,
                                          "lr": args.lr}, validator.points, curve)
                    write_rows(curves, os.path.join(args.output, "curves.csv"), CURVE_COLUMNS)
    summary = os.path.join(args.output, "summary.md")
    summarise(rows, summary, METRICS)
    with open(summary, "a") as out:
        out.write("\nTest data itself: " +
                  ", ".join(f"{k} {v:.3g}" for k, v in reference.items()) + "\n")
    plot(rows, os.path.join(args.output, "small_molecules.png"),
         [("molecule_stable", "molecule stability"), ("bond_w1", "bond-length W1 (Å)"),
          ("energy_excess_minimised", f"median MMFF energy above data after\n"
                                      f"{MINIMISER_ITERATIONS} minimiser steps (kcal/mol)"),
          ("matching", "MAT-R, heavy atoms (Å)")])
    if curves:
        plot_curves(curves, os.path.join(args.output, "curves.png"))
    print(f"wrote {args.output}/runs.csv, summary.md, small_molecules.png, "
          f"{'curves.csv, curves.png ' if curves else ''}"
          f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
