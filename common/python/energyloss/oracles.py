"""Energy oracles, force-field-derived coefficients and generators.

An oracle maps configurations ``[B, N, 3]`` to energies ``[B]`` and forces
``[B, N, 3]`` in its engine's units (``oracle.units`` is ``(length, energy)``,
e.g. ``("nm", "kJ/mol")`` for OpenMM). Oracles are Torch custom classes
(``torch.classes.energyloss.Oracle``), so a PyTorch training loop can call them
and ``oracle_energy`` makes them differentiable. The compiled code lives in
``libenergyloss_oracles_torch.so`` next to ``libenergyloss_torch.so``; it is
loaded on import (``ENERGYLOSS_ORACLES_LIBRARY`` overrides its path).
"""
import functools
import math
import numbers
import os

import torch

from . import _library
from ._library import ops

__all__ = [
    "Oracle", "OpenMMOracle", "LammpsOracle", "MMFFOracle", "LennardJonesOracle", "MorseOracle",
    "HarmonicBondOracle", "oracle_energy", "true_energy_loss", "force_field_coefficients",
    "openmm_pair_coefficients", "force_field_hessian", "hessian_fitted_springs",
    "spring_network_hessian", "project_out_rigid_modes", "nnls", "shell_balanced_coefficients",
    "modified_seminario", "seminario_pair_springs",
    "Generator", "load_generator",
]


def _load_oracles_library():
    path = os.environ.get("ENERGYLOSS_ORACLES_LIBRARY")
    if not path:
        torch_library = os.environ.get("ENERGYLOSS_TORCH_LIBRARY")
        if not torch_library:
            from . import _paths

            torch_library = _paths.TORCH_LIBRARY
        path = os.path.join(os.path.dirname(torch_library), "libenergyloss_oracles_torch.so")
    if not os.path.exists(path):
        raise ImportError(
            f"energyloss.oracles: {path} not found; build with -DENERGYLOSS_BUILD_ORACLES=ON "
            "or set ENERGYLOSS_ORACLES_LIBRARY to libenergyloss_oracles_torch.so")
    torch.ops.load_library(path)


_library.load()
_load_oracles_library()


def _value_errors(method):
    """Torch surfaces energyloss::Error (bad input) from custom-class methods
    as RuntimeError (from ops as ValueError): make both ValueError. Only for
    methods that fail on bad input alone (the Generator's): evaluate goes
    through the oracle_evaluate op, so that failures of the engine
    (energyloss::RuntimeError) stay RuntimeError. (The Generator handle's
    sample raises c10::ValueError itself, so called directly it agrees with
    Generator.sample; this is the guard for what else may come.)"""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except RuntimeError as error:
            if str(error).startswith("energyloss: "):
                raise ValueError(str(error)) from None
            raise

    return wrapper


def _handle(oracle):
    """The torch.classes.energyloss.Oracle behind an Oracle (or the object itself)."""
    return oracle.handle if isinstance(oracle, Oracle) else oracle


class Oracle:
    """An energy oracle: ``evaluate(positions) -> (energies, forces)``.

    ``positions`` is ``[B, N, 3]`` or ``[N, 3]`` (float32/float64, CPU) in the
    oracle's length unit; results have the same dtype and batch shape.
    ``handle`` is the underlying ``torch.classes.energyloss.Oracle`` (what
    TorchScript code and the ``torch.ops.energyloss`` ops take).

    The oracle classes below pickle as their constructor arguments, so an
    oracle can be handed to worker processes (``torch.multiprocessing.spawn``,
    a DataLoader's workers, DistributedDataParallel ranks): each process
    builds its own engine from them (files are read again there). An Oracle
    made from a bare handle does not pickle.
    """

    # (constructor arguments) of the subclasses, for pickling; None: not picklable.
    _arguments = None

    def __init__(self, handle):
        self.handle = handle

    def __reduce__(self):
        if self._arguments is None:
            raise TypeError("energyloss: an Oracle made from a bare handle cannot be pickled; "
                            "construct it in each process (or use one of the oracle classes, "
                            "which pickle as their constructor arguments)")
        return (type(self), self._arguments)

    def evaluate(self, positions, errors="raise"):
        """(energies [B], forces [B, N, 3]) in the oracle's units; no autograd.

        ``errors``: the policy for a batch entry the engine cannot evaluate
        (a NaN coordinate, overlapping atoms giving an infinite or NaN energy
        or force, atoms lost outside a non-periodic box):

        - ``"raise"`` (default): ValueError naming the entry; nothing returned.
        - ``"mask"``: returns (energies, forces, valid) with ``valid`` a bool
          ``[B]``; a failed entry has energy +inf and zero forces (never 0 or
          another entry's values), the others what "raise" would give.

        Bad arguments (shape, dtype) raise ValueError under either policy; a
        failure of the engine itself (e.g. a LAMMPS worker process that was
        killed) raises RuntimeError."""
        _check_errors(errors)
        if errors == "mask":
            return ops.oracle_evaluate_masked(self.handle, positions)
        return ops.oracle_evaluate(self.handle, positions)

    def energy(self, positions, errors="raise"):
        """Differentiable energies; see ``oracle_energy``."""
        return oracle_energy(self, positions, errors)

    @property
    def units(self):
        """(length unit, energy unit), e.g. ("nm", "kJ/mol")."""
        return tuple(self.handle.units())

    @property
    def n_atoms(self):
        return self.handle.atoms()

    @property
    def elements(self):
        """Element symbols or type names per atom ([] when unknown)."""
        return list(self.handle.elements())

    def __repr__(self):
        return f"<energyloss oracle: {self.handle.describe()}>"


def _engine_op(name, engine, option):
    if not hasattr(ops, name):
        raise RuntimeError(
            f"energyloss: this build has no {engine} oracle; rebuild with "
            f"-D{option}=ON (and {engine} installed)")
    return getattr(ops, name)


class OpenMMOracle(Oracle):
    """OpenMM oracle from a serialized System XML (nm, kJ/mol).

    Args:
        system_xml_path: file written by ``openmm.XmlSerializer.serialize(system)``.
        platform: "Reference", "CPU", ... (Context engine); properties: platform
            properties, or for the native engine ``{"Precision": "double" | "single"}``.
        workers: Contexts (Context engine) or OpenMP threads (native engine)
            evaluating batch entries in parallel.
        engine: "context" (default): OpenMM Contexts on ``platform``.
            "native": energyloss's own batched kernels for HarmonicBond/Angle,
            PeriodicTorsion, RBTorsion, CMAPTorsion, NonbondedForce (NoCutoff,
            CutoffNonPeriodic), GBSAOBCForce and the CustomGBForce of
            openmm.app's implicit/obc1.xml and obc2.xml; equal to the Reference
            platform to ~1e-14 in double, tens of times faster than a Python
            loop over a Context; any other force, a periodic box or virtual
            sites raise ValueError naming them. "auto": native when it supports
            every force, else context with a line on stderr naming what it lacks.
    """

    def __init__(self, system_xml_path, platform="CPU", workers=2, properties=None,
                 engine="context"):
        op = _engine_op("openmm_oracle", "OpenMM", "ENERGYLOSS_WITH_OPENMM")
        properties = {str(k): str(v) for k, v in (properties or {}).items()}
        super().__init__(op(str(system_xml_path), platform, properties, int(workers),
                            str(engine)))
        # For force_field_coefficients(..., method="analytic").
        self.system_xml_path = os.path.abspath(str(system_xml_path))
        self._arguments = (self.system_xml_path, platform, int(workers), properties, str(engine))

    def energy_terms(self, positions):
        """Energy per force term, ``{name: energies}`` with energies ``[B]`` (or
        scalars for ``[N, 3]``) in kJ/mol and float64, for the native engine
        only (ValueError otherwise). Names: "bond", "angle", "torsion"
        (periodic and Ryckaert-Bellemans), "cmap", "nonbonded", "gb"; the terms
        sum to the energy. Positions are checked as in ``evaluate``."""
        terms, names = ops.openmm_energy_terms(self.handle, positions)
        return {name: terms[..., k] for k, name in enumerate(names)}


class LammpsOracle(Oracle):
    """LAMMPS oracle from an input deck (units as the deck's ``units`` style).

    Args:
        deck_path: LAMMPS input defining atoms, force field and units.
        variables: ``-var NAME VALUE`` style variables, ``{name: value}``.
        workers: LAMMPS worker processes evaluating batch entries in parallel.
    """

    def __init__(self, deck_path, variables=None, workers=2):
        op = _engine_op("lammps_oracle", "LAMMPS", "ENERGYLOSS_WITH_LAMMPS")
        variables = {str(k): str(v) for k, v in (variables or {}).items()}
        super().__init__(op(str(deck_path), variables, int(workers)))
        self._arguments = (os.path.abspath(str(deck_path)), variables, int(workers))


class MMFFOracle(Oracle):
    """RDKit MMFF94 or MMFF94s oracle for one molecule (angstrom, kcal/mol).

    Args:
        molecule: path of an MDL .mol / .sdf file (its first record), or a mol
            block string (anything containing a newline), e.g.
            ``Chem.MolToMolBlock(Chem.AddHs(mol, addCoords=True))``. Every
            hydrogen must be an atom of the record; atom order is the record's.
        variant: "MMFF94" or "MMFF94s".
        workers: threads evaluating batch entries, one RDKit ForceField each.

    Energies and gradients equal RDKit's ``MMFFGetMoleculeForceField(mol,
    MMFFGetMoleculeProperties(mol, mmffVariant=variant),
    ignoreInterfragInteractions=False)`` (for a single molecule the
    default ``ignoreInterfragInteractions=True`` gives the same). ``elements``
    are the atoms' symbols.
    """

    def __init__(self, molecule, variant="MMFF94", workers=1):
        op = _engine_op("rdkit_mmff_oracle", "RDKit MMFF", "ENERGYLOSS_WITH_RDKIT")
        super().__init__(op(str(molecule), str(variant), int(workers)))
        # A path pickles as an absolute path (unpickling may run elsewhere);
        # a mol block (it has a newline) as itself.
        molecule = str(molecule)
        self._arguments = (molecule if "\n" in molecule else os.path.abspath(molecule),
                           str(variant), int(workers))


def _atom_count(oracle, n_atoms):
    """n_atoms as an int; a value that is not an integer (2.5, True) raises
    ValueError naming the oracle, where int() would silently round it."""
    if isinstance(n_atoms, bool) or not isinstance(n_atoms, numbers.Integral):
        raise ValueError(f"energyloss: {oracle}: n_atoms must be an integer, got {n_atoms!r}")
    return int(n_atoms)


class LennardJonesOracle(Oracle):
    """4 epsilon ((sigma/r)^12 - (sigma/r)^6) over all pairs; with a cutoff the
    potential is truncated there and shifted to 0. ``units`` are labels."""

    def __init__(self, n_atoms, epsilon=1.0, sigma=1.0, cutoff=None, units=("lj", "lj")):
        n_atoms = _atom_count("LennardJonesOracle", n_atoms)
        super().__init__(ops.lennard_jones_oracle(
            int(n_atoms), float(epsilon), float(sigma),
            None if cutoff is None else float(cutoff), units[0], units[1]))
        self._arguments = (int(n_atoms), float(epsilon), float(sigma),
                           None if cutoff is None else float(cutoff), tuple(units))


class MorseOracle(Oracle):
    """D ((1 - exp(-a (r - r0)))^2 - 1) over all pairs (minimum -D at r0)."""

    def __init__(self, n_atoms, D, a, r0, cutoff=None, units=("lj", "lj")):
        n_atoms = _atom_count("MorseOracle", n_atoms)
        super().__init__(ops.morse_oracle(
            int(n_atoms), float(D), float(a), float(r0),
            None if cutoff is None else float(cutoff), units[0], units[1]))
        self._arguments = (int(n_atoms), float(D), float(a), float(r0),
                           None if cutoff is None else float(cutoff), tuple(units))


class HarmonicBondOracle(Oracle):
    """Sum over bonds of k/2 (r - r0)^2 (OpenMM's convention).

    Args:
        bonds: int ``[E, 2]``; k, r0: ``[E]``; n_atoms: system size.
    """

    def __init__(self, bonds, k, r0, n_atoms, units=("lj", "lj")):
        n_atoms = _atom_count("HarmonicBondOracle", n_atoms)
        bonds = torch.as_tensor(bonds, dtype=torch.long)
        k = torch.as_tensor(k, dtype=torch.float64)
        r0 = torch.as_tensor(r0, dtype=torch.float64)
        super().__init__(ops.harmonic_bond_oracle(bonds, k, r0, int(n_atoms), units[0], units[1]))
        self._arguments = (bonds, k, r0, int(n_atoms), tuple(units))


def _check_errors(errors):
    if errors not in ("raise", "mask"):
        raise ValueError(f"errors: expected 'raise' or 'mask', got {errors!r}")


def oracle_energy(oracle, positions, errors="raise"):
    """Energies ``[B]`` (or a scalar for ``[N, 3]``) whose gradient with respect
    to ``positions`` is -forces, in the oracle's energy / length units.
    Second derivatives (``create_graph=True``) raise.

    ``errors="raise"`` (default): an entry the engine cannot evaluate raises
    ValueError naming it. ``errors="mask"``: returns ``(energies, valid)``;
    failed entries (``valid`` False) have energy +inf and zero gradient, even
    when the incoming gradient is inf or NaN, so e.g.
    ``energies[valid].mean().backward()`` trains on the other entries."""
    _check_errors(errors)
    if errors == "mask":
        return ops.oracle_energy_masked(_handle(oracle), positions)
    return ops.oracle_energy(_handle(oracle), positions)


def true_energy_loss(oracle, pred, ref, temperature, reduction="mean"):
    """The paper's "true energy" objective ``(E(pred) - E(ref)) / T`` per system,
    reduced with "none" (per-sample energies, an evaluation metric), "sum" or
    "mean". Differentiable with respect to ``pred``; ``T`` in energy units.
    ``pred`` and ``ref`` share shape and dtype (float32 or float64); mixing
    them raises ValueError naming both."""
    return ops.true_energy_loss(_handle(oracle), pred, ref, float(temperature), reduction)


def force_field_coefficients(oracle, ref, edges, step=1e-4, floor=None, method="auto",
                             return_details=False, low_mode_power=0.0, kT=None):
    """Force-field-derived k_ij for ``pair_energy_loss(..., coeff="explicit",
    edges=edges, edge_weights=k)`` at ``ref`` ``[N, 3]`` on ``edges`` ``[E, 2]``.

    Units: with ``kT=None`` (default) k is in the oracle's energy / length^2
    (``oracle.units``), exactly as the method gives it. With ``kT`` (the
    thermal energy in the oracle's energy unit, finite and > 0, e.g.
    0.0083144626 * 300 for kJ/mol at 300 K) k is divided by it, so k is in
    kT / length^2 and the pair loss is an energy in kT, the unit of
    ``true_energy_term`` (the paper's E / T). Nothing else is rescaled; a
    different total stiffness (e.g. the exp preset's) is the caller's
    explicit choice (``shell_balanced_coefficients``).

    ``method``:

    - "finite_difference" (any oracle): the per-pair projection
      k_ij = -u^T H_ij u, the curvature of the energy along each edge's
      distance, from central differences of the forces with ``step`` in the
      oracle's length unit.
    - "analytic": the same curvature in closed form for the Lennard-Jones,
      Morse and harmonic-bond oracles, and for ``OpenMMOracle`` through
      ``openmm_pair_coefficients`` (the System's bond, angle and nonbonded
      terms only).
    - "auto": analytic for the pair oracles, finite differences otherwise.
    - "hessian_fit" (any oracle): the non-negative springs whose network
      Hessian best matches the force field's full Hessian with rigid-body
      modes projected out (``force_field_hessian`` then
      ``hessian_fitted_springs``). Negative pair curvatures are absorbed by
      the fit (some k are exactly 0), never floored, so ``floor`` must be
      None. ``low_mode_power`` > 0 weights the fit toward the soft modes
      (see ``hessian_fitted_springs``).

    For the per-pair methods, curvatures below ``floor`` (default 1e-6 x the
    largest curvature; in the oracle's units, applied before dividing by
    ``kT``) are raised to it, keeping every spring positive.

    Returns k ``[E]`` (ref's dtype), or with ``return_details`` also a dict:
    per-pair methods: the raw ``curvature``, the ``floor`` applied and how
    many edges were ``floored`` (for an ``OpenMMOracle`` with "analytic",
    the dict of ``openmm_pair_coefficients``); "hessian_fit": the dict of
    ``hessian_fitted_springs`` plus the ``hessian`` ``[3N, 3N]``. The details
    stay in the oracle's units; with ``kT`` they also hold ``"kT"``.
    A bad ``kT`` raises ValueError naming it.
    """
    if kT is not None:
        try:
            kT_value = float(kT)
        except (TypeError, ValueError):
            kT_value = math.nan
        if not (math.isfinite(kT_value) and kT_value > 0):
            raise ValueError(f"energyloss: kT: expected a finite number > 0 (the thermal energy "
                             f"in the oracle's energy unit) or None, got {kT!r}")
    k, details = _force_field_coefficients(oracle, ref, edges, step, floor, method,
                                           low_mode_power)
    if kT is not None:
        k = k / kT_value
        details["kT"] = kT_value
    return (k, details) if return_details else k


def _force_field_coefficients(oracle, ref, edges, step, floor, method, low_mode_power):
    """(k in the oracle's units, details) of force_field_coefficients."""
    if method == "hessian_fit":
        if floor is not None:
            raise ValueError("energyloss: method 'hessian_fit' applies no floor (its springs are "
                             "non-negative by construction); pass floor=None")
        hessian = force_field_hessian(oracle, ref, step=step)
        k, details = hessian_fitted_springs(hessian, ref, edges, return_details=True,
                                            low_mode_power=low_mode_power)
        details["hessian"] = hessian
        return k, details
    if low_mode_power:
        raise ValueError("energyloss: low_mode_power applies to method 'hessian_fit' only")
    if method == "analytic" and isinstance(oracle, OpenMMOracle):
        return openmm_pair_coefficients(oracle.system_xml_path, ref, edges, floor=floor,
                                        return_details=True)
    edges = torch.as_tensor(edges, dtype=torch.long)
    k, curvature, floored, floor_value = ops.force_field_coefficients(
        _handle(oracle), ref, edges, float(step), None if floor is None else float(floor), method)
    return k, {"curvature": curvature, "floor": floor_value, "floored": floored}


def _floating(tensor):
    tensor = torch.as_tensor(tensor)
    return tensor if tensor.is_floating_point() else tensor.to(torch.float64)


def _index_tensor(indices, name, width):
    """An integer [E, width] tensor as int64; floating-point indices are an error."""
    indices = torch.as_tensor(indices)
    if indices.is_floating_point() or indices.is_complex():
        raise ValueError(f"energyloss: {name}: expected integer atom indices [E, {width}], got "
                         f"{indices.dtype}")
    return indices.to(torch.long)


def force_field_hessian(oracle, ref, step=1e-4, chunk=256):
    """The oracle's Hessian d^2E/dx dx ``[3N, 3N]`` (index 3 * atom +
    component) at ``ref`` ``[N, 3]``, in energy / length^2 of the oracle's
    units: central differences of the forces with ``step`` (oracle length
    unit), symmetrised; 6N evaluations, ``chunk`` configurations per call.
    ref's dtype (float32 or float64; computed in float64)."""
    return ops.force_field_hessian(_handle(oracle), _floating(ref), float(step), int(chunk))


def hessian_fitted_springs(hessian, ref, edges, max_iterations=0, tolerance=0.0,
                           return_details=False, low_mode_power=0.0, low_mode_floor=1e-3):
    """Non-negative springs k ``[E]`` on ``edges`` ``[E, 2]`` whose network
    Hessian sum_e k_e a_e a_e^T (a_e = (e_i - e_j) x u_e, u_e the reference
    unit vector of the edge) best matches ``hessian`` ``[3N, 3N]`` at ``ref``
    ``[N, 3]`` in the Frobenius norm, after projecting the 6 rigid-body modes
    (3 translations, 3 rotations about the centroid) out of the Hessian:
    min_{k >= 0} ||sum_e k_e h_e - P H P||_F, solved exactly by Lawson-Hanson
    active-set NNLS (Bro & De Jong's cross-product form; ``max_iterations``
    <= 0 means 3E, ``tolerance`` <= 0 an automatic one). Units are the
    Hessian's (energy / length^2); nothing is rescaled. The Hessian may come
    from any source (``force_field_hessian``, a quantum-chemistry code, ...).

    ``low_mode_power`` p > 0 weights the fit toward low-frequency modes:
    with P H P = sum_m lambda_m v_m v_m^T over the internal modes it
    minimises ||W (K - P H P) W||_F, W = sum_m s_m v_m v_m^T,
    s_m = (max(|lambda_m|, low_mode_floor * lambda_med) / lambda_med)^(-p/2)
    (lambda_med the median |lambda|). p = 0 (default) is the plain Frobenius
    fit, dominated by the stiff bond modes; p = 1 gives every mode's relative
    error the same weight (||T^-1/2 K T^-1/2 - I||_F for positive T).

    The pair energy loss with these k, sum_e 1/2 k_e (d_e - r_e)^2, has the
    Hessian sum_e k_e h_e at the reference, so for small internal
    displacements dx it matches the force field's 1/2 dx^T H dx up to the
    fit's residual. Dense: memory O(E^2), so complete graphs suit molecules
    of up to a few dozen atoms.

    Returns k (hessian's dtype), or with ``return_details`` also a dict:
    ``relative_residual`` (||K - PHP||_F / ||PHP||_F),
    ``weighted_relative_residual`` (the same with W on both sides), ``target_norm``
    (||PHP||_F), ``zero_springs`` (edges with k = 0), ``iterations`` and
    ``converged`` of the NNLS. Bad shapes, NaN, repeated or degenerate edges
    and a Hessian that is not symmetric (as in ``modified_seminario``)
    raise ValueError.
    """
    edges = _index_tensor(edges, "edges", 2)
    (k, residual, weighted_residual, target_norm, zeros, iterations,
     converged) = ops.hessian_fitted_springs(_floating(hessian), _floating(ref), edges,
                                             int(max_iterations), float(tolerance),
                                             float(low_mode_power), float(low_mode_floor))
    if return_details:
        return k, {"relative_residual": residual, "weighted_relative_residual": weighted_residual,
                   "target_norm": target_norm, "zero_springs": zeros, "iterations": iterations,
                   "converged": converged}
    return k


def spring_network_hessian(ref, edges, k):
    """sum_e k_e a_e a_e^T ``[3N, 3N]``: the Hessian at ``ref`` ``[N, 3]`` of
    the pair energy loss with springs k ``[E]`` on ``edges`` ``[E, 2]``."""
    return ops.spring_network_hessian(_floating(ref), _index_tensor(edges, "edges", 2),
                                      _floating(k))


def project_out_rigid_modes(hessian, ref):
    """P H P ``[3N, 3N]``, P = I - Q Q^T with Q an orthonormal basis of the
    rigid-body displacements of ``ref`` ``[N, 3]`` (6 modes; 5 if linear).
    A Hessian that is not symmetric (as in ``modified_seminario``) or not
    finite raises ValueError naming the entry."""
    return ops.project_out_rigid_modes(_floating(hessian), _floating(ref))


def nnls(A, b, max_iterations=0, tolerance=0.0):
    """argmin_{x >= 0} ||A x - b||_2 for A ``[M, N]``, b ``[M]`` (the solver
    behind ``hessian_fitted_springs``; works on A^T A, so meant for moderately
    conditioned problems). Returns (x ``[N]``, iterations, converged)."""
    return ops.nnls(_floating(A), _floating(b), int(max_iterations), float(tolerance))


def shell_balanced_coefficients(ref, bonds, edges, k, totals=None, shells=4, n_atoms=None,
                                return_details=False):
    """Springs with a given total stiffness per graph-distance shell,
    distributed within each shell in proportion to ``k`` ``[E]`` (e.g. from
    ``force_field_coefficients``; finite, >= 0) on ``edges`` ``[E, 2]``.

    Shells come from the molecular graph ``bonds`` ``[M, 2]``: with S shells,
    an edge at d bonds' distance is in shell d for d < S and in shell S for
    d >= S or across disconnected fragments. Within shell s,
    k_e -> T_s k_e / sum_{f in s} k_f, so each shell sums to its total T_s
    and ratios within a shell are the input's. ``totals``: a list of S
    totals (units of the result), or None for the exp preset's own totals on
    the same edges, sum over the shell of (24 / N) exp(-r_e) with r_e the
    distance in ``ref`` ``[N, 3]`` (the preset assumes angstrom), with
    ``shells`` shells. ``ref`` may be None when ``totals`` is given (then
    pass ``n_atoms``). A shell whose input k are all 0 gets its total split
    evenly (listed in ``details["uniform_shells"]``); nothing else is
    rescaled.

    Returns k ``[E]`` (k's dtype), or with ``return_details`` also a dict:
    ``shell`` ``[E]`` (1..S), ``target`` ``[S]``, ``input_total`` ``[S]``
    (per-shell sums of the input k), ``uniform_shells``. Bad input raises
    ValueError.
    """
    k = _floating(k)
    if ref is not None:
        ref = _floating(ref)
    result_k, shell, target, input_total, uniform = ops.shell_balanced_coefficients(
        ref, _index_tensor(bonds, "bonds", 2), _index_tensor(edges, "edges", 2), k,
        None if totals is None else [float(t) for t in totals], int(shells),
        -1 if n_atoms is None else int(n_atoms))
    if return_details:
        return result_k, {"shell": shell, "target": target, "input_total": input_total,
                          "uniform_shells": list(uniform)}
    return result_k


def modified_seminario(hessian, ref, bonds, angles=None):
    """Bond and angle force constants by the modified Seminario method
    (Seminario, IJQC 60, 1271 (1996); Allen, Payne & Cole, JCTC 14, 274
    (2018)) from ``hessian`` ``[3N, 3N]`` at ``ref`` ``[N, 3]``, e.g.
    ``force_field_hessian(oracle, ref)`` or a quantum-chemistry Hessian.

    ``bonds`` ``[M, 2]``; ``angles`` ``[A, 3]`` (centre in the middle, both
    arms bonds), or None for every angle of the bond graph. With K_AB = -H_AB and its
    eigenpairs (lambda_i, v_i): bond k = 1/2 (sum_i lambda_i |u_AB . v_i| over
    the AB and BA blocks); angle 1/k = f_A / (R_AB^2 S_A) + f_C / (R_CB^2 S_C)
    with S_A = sum_i lambda_i |u_PA . v_i| (u_PA in the plane ABC, normal to
    AB) and f_A = 1 + the mean of (u_PA . u_PA')^2 over the other angles on
    bond B-A (the "modified" part). Linear angles average u_PA around the
    axis. Units: the Hessian's energy / length^2 for bonds, energy / rad^2
    for angles, each the k of E = 1/2 k (q - q0)^2 (OpenMM's convention;
    AMBER files list k / 2). No vibrational scaling is applied.

    A Seminario constant is an approximation: exact for a harmonic bond at
    its minimum; for an isolated harmonic angle term at its minimum it gives
    k_theta (1 - cos theta) / 2 for equal bond lengths (the Hessian's A-B
    block alone cannot see the whole bend).

    ``hessian`` must be symmetric: an entry pair with |H_ij - H_ji| above
    1e-5 x the largest |entry| (``kHessianAsymmetry`` in
    hessian_coefficients.h) is refused, naming (i, j) and both values;
    rounding differences below that (float32 input) are averaged out. Pass
    (H + H^T) / 2 yourself if a larger asymmetry is numerical noise. Each
    bond is listed once in either order, each angle once ((A, B, C) and
    (C, B, A) are one angle): a repeated one is refused naming both rows and
    their atoms.

    Returns a dict: ``bond_k`` ``[M]``, ``bond_length`` ``[M]``, ``angles``
    ``[A, 3]``, ``angle_k`` ``[A]``, ``angle_theta`` ``[A]`` (rad). Bad
    input (shapes, non-integer or out-of-range indices, an asymmetric
    Hessian, a bond or angle listed twice, an angle whose arms are not
    bonds, non-finite values, bonded atoms on top of each other) raises
    ValueError naming the argument.
    """
    bond_k, bond_length, triples, angle_k, angle_theta = ops.modified_seminario(
        _floating(hessian), _floating(ref), _index_tensor(bonds, "bonds", 2),
        None if angles is None else _index_tensor(angles, "angles", 3))
    return {"bond_k": bond_k, "bond_length": bond_length, "angles": triples,
            "angle_k": angle_k, "angle_theta": angle_theta}


def seminario_pair_springs(ref, bonds, bond_k, angles, angle_k, max_theta=math.radians(170.0),
                           return_details=False):
    """Pair springs on the 1-2 and 1-3 pairs of a molecule from bond and
    angle force constants, e.g. ``modified_seminario``'s: the sparse edge set
    and k for ``pair_energy_loss(..., coeff="explicit", edges=pairs,
    edge_weights=k)``.

    Each bond (1-2 pair) gets its ``bond_k``. Each angle A-B-C becomes a
    distance spring on its 1-3 pair A-C,

        k_13 = k_theta r_AC^2 / (r_AB r_CB sin theta)^2,

    with r and theta from ``ref``: at fixed bond lengths the law of cosines
    gives dr_AC/dtheta = r_AB r_CB sin theta / r_AC, so for small bends
    1/2 k_13 dr_AC^2 = 1/2 k_theta dtheta^2 to first order (the harmonic
    limit; a Urey-Bradley 1-3 term, Urey & Bradley, Phys. Rev. 38, 1969
    (1931), with its constant chosen to carry the whole bend). Springs on one
    pair add up: a 1-3 pair shared by several angles (four-membered rings)
    gets the sum of their springs, and a 1-3 pair that is also a bond
    (three-membered rings) gets the bond's k plus the angles'. A 1-3 spring
    also stiffens the two bonds' stretches a little (dr_AC/dr_AB =
    (r_AB - r_CB cos theta) / r_AC); the bond springs are not reduced for it.
    A distance cannot see the bend of a linear angle (dr_AC/dtheta -> 0, and
    k_13 -> infinity): angles with theta > ``max_theta`` (rad, default 170
    degrees) or theta < pi - ``max_theta`` get no spring and are listed in
    the details; their pair stays out of the result unless it is a bond or
    another angle's 1-3 pair.

    ``ref`` ``[N, 3]`` (length unit L); ``bonds`` ``[M, 2]`` integer atom
    pairs, each once; ``bond_k`` ``[M]`` in energy / L^2; ``angles``
    ``[A, 3]`` (A, centre B, C; both arms A-B and C-B must be bonds) and
    ``angle_k`` ``[A]`` in energy / rad^2, both k in the convention
    E = 1/2 k (q - q0)^2 (``modified_seminario``'s ``bond_k``, ``angles``
    and ``angle_k``). The result is in energy / L^2; nothing is rescaled
    (divide by kT for kT / L^2). Signs are the input's: non-negative
    constants give non-negative springs.

    Returns (pairs ``[P, 2]`` int64 with i < j, in lexicographic order;
    k ``[P]`` in ref's floating dtype, computed in float64), or with
    ``return_details`` also a dict: ``bond_pair`` ``[P]`` and ``angle_pair``
    ``[P]`` (bool: the pair is a bond / the 1-3 pair of a kept angle),
    ``angle_spring`` ``[A]`` (each angle's k_13, 0 where dropped), ``theta``
    ``[A]`` (rad), ``dropped`` ``[A]`` (bool: nearly collinear, no spring).
    Bad input (shapes, non-integer or out-of-range indices, a bond or angle
    listed twice, in either order, an angle whose arms are not bonds,
    non-finite values, atoms on top of each other, ``max_theta`` outside
    (pi/2, pi)) raises ValueError naming the argument. The computation is C++ (seminario_pair_springs in
    energyloss/oracles/seminario_coefficients.h), on CPU tensors.
    """
    try:
        max_theta = float(max_theta)
    except (TypeError, ValueError):
        max_theta = math.nan  # refused by name in C++
    pairs, k, bond_pair, angle_pair, angle_spring, theta, dropped = ops.seminario_pair_springs(
        _floating(ref), _pair_springs_indices(bonds, "bonds", 2), _floating(bond_k),
        _pair_springs_indices(angles, "angles", 3), _floating(angle_k), max_theta)
    if not return_details:
        return pairs, k
    return pairs, k, {"bond_pair": bond_pair, "angle_pair": angle_pair,
                      "angle_spring": angle_spring, "theta": theta, "dropped": dropped}


def _pair_springs_indices(indices, name, width):
    """seminario_pair_springs' atom indices as int64 (an empty list is [0, width])."""
    tensor = torch.as_tensor(indices)
    if tensor.numel() == 0:
        return tensor.to(torch.long).reshape(0, width)
    return _index_tensor(tensor, name, width)


def openmm_pair_coefficients(system_xml_path, ref, edges, floor=None, return_details=False):
    """Force-field-derived k_ij read analytically off a serialized OpenMM
    System (``openmm.XmlSerializer``; see ``examples/openmm/make_system.py``)
    at ``ref`` ``[N, 3]`` in nm, for ``edges`` ``[E, 2]``, in kJ/mol/nm^2:
    the sum over the System's terms of d^2 E / d r_ij^2 along each edge.

    Covered: HarmonicBondForce (the bond's k), HarmonicAngleForce (on the 1-3
    pair of each angle, with both bond lengths held fixed), and
    NonbondedForce's Lennard-Jones and Coulomb pair terms (exceptions
    included; reaction field for the cutoff methods, Ewald/PME taken as bare
    Coulomb). Other forces (torsions, GB implicit solvent, custom forces)
    contribute nothing and are listed in ``details["ignored"]``. The angle
    term is the rigid-bond curvature, so it differs by design from
    ``force_field_coefficients(..., method="finite_difference")``; bond and
    nonbonded terms agree with it. Totals below ``floor`` (default 1e-6 x
    the largest total) are raised to it.

    Returns k ``[E]`` (ref's dtype), or with ``return_details`` also a dict:
    the raw total ``curvature``, its split ``bond``, ``angle``,
    ``lennard_jones``, ``coulomb`` (each ``[E]``), the ``floor`` applied, how
    many edges were ``floored`` and the ``ignored`` forces and
    approximations (one line each). Bad input raises ValueError.
    """
    op = _engine_op("openmm_pair_coefficients", "OpenMM", "ENERGYLOSS_WITH_OPENMM")
    ref = torch.as_tensor(ref)
    if not ref.is_floating_point():
        ref = ref.to(torch.float64)
    edges = torch.as_tensor(edges, dtype=torch.long)
    (k, curvature, bond, angle, lennard_jones, coulomb, floored, floor_value,
     ignored) = op(str(system_xml_path), ref, edges, None if floor is None else float(floor))
    if return_details:
        return k, {"curvature": curvature, "bond": bond, "angle": angle,
                   "lennard_jones": lennard_jones, "coulomb": coulomb, "floor": floor_value,
                   "floored": floored, "ignored": list(ignored)}
    return k


class Generator:
    """A TorchScript generator following the energyloss protocol, validated on
    load (``n_atoms``, ``length_unit``, optional ``elements``, and
    ``sample(n, seed) -> [n, n_atoms, 3]``, finite). Errors are ValueError
    naming the path: a missing file ("file not found"), a directory, a file
    that cannot be read or is empty, one that is not a TorchScript module
    (a torch.save file is named as such), then what the module lacks.
    ``examples/generators/make_generator.py`` writes one without training.
    The file is opened and checked in C++ (energyloss/generator.h)."""

    @_value_errors
    def __init__(self, path):
        self.handle = torch.classes.energyloss.Generator(os.fsdecode(path))

    @property
    def n_atoms(self):
        return self.handle.atoms()

    @property
    def length_unit(self):
        return self.handle.length_unit()

    @property
    def elements(self):
        return list(self.handle.elements())

    @_value_errors
    def sample(self, n, seed=0, length_unit=None):
        """``[n, n_atoms, 3]`` float64 in ``length_unit`` (default: the
        generator's own): "nm", "angstrom", or a LAMMPS unit style ("real",
        "metal", "si", "cgs", "micro", "nano", "electron"; "lj" only for "lj"
        generators). A count or seed that is not an integer (2.5, True)
        raises ValueError naming the argument; a count below 1 raises
        ValueError "energyloss: Generator.sample: n must be at least 1, got
        0" from the C++ check, which ``handle.sample`` raises too."""
        for name, value in (("n", n), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(
                    f"energyloss: Generator.sample: {name} must be an integer, got {value!r}")
        return self.handle.sample(int(n), int(seed), length_unit or "")

    def __repr__(self):
        return (f"<energyloss generator {self.handle.path()}: {self.n_atoms} atoms, "
                f"{self.length_unit}>")


def load_generator(path):
    """``Generator(path)``."""
    return Generator(path)
