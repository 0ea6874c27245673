/* The Python side of openmmenergyloss: unit handling, the keyword
   constructor of EnergyLossForce, copying and pickling, and registering our
   kernel libraries with OpenMM when the module is imported. */

%pythoncode %{
import math as _math
import os as _os

import numpy as _np
import openmm as _mm
from openmm import unit as _unit

_COEFFICIENT_MODES = ("exp", "inv", "inv2", "constant", "lj", "morse", "explicit", "forcefield")


def _edge_pairs(edges):
    """An edge list as [(i, j), ...]; a clear error for what users pass by mistake,
    such as the (edges, weights) tuple of energyloss.graphs.sparse_rigid_edges."""
    if (isinstance(edges, tuple) and len(edges) == 2
            and all(hasattr(part, "shape") for part in edges) and _np.ndim(edges[0]) == 2):
        raise TypeError("edges: got a tuple of (edges, weights), as sparse_rigid_edges returns; "
                        "pass its first entry (edges=result[0]), or edges='sparse'")
    pairs = []
    for pair in edges:
        if _np.ndim(pair) != 1 or len(pair) != 2:
            raise ValueError(f"edges: expected a list of (i, j) pairs, got an entry {pair!r}")
        pairs.append((int(pair[0]), int(pair[1])))
    return pairs


def _md_value(value, name):
    """A number in OpenMM's MD units (nm, kJ/mol, ps); plain numbers pass."""
    if _unit.is_quantity(value):
        try:
            value = value.value_in_unit_system(_unit.md_unit_system)
        except TypeError as error:
            raise ValueError(f"{name}: cannot express {value} in OpenMM's MD units") from error
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected a number, got {value!r}") from error


def _positions_nm(positions, name="reference_positions"):
    """An N x 3 float array in nm from an array, a list of Vec3 or a Quantity of either."""
    if _unit.is_quantity(positions):
        try:
            positions = positions.value_in_unit(_unit.nanometer)
        except TypeError as error:
            raise ValueError(f"{name}: {positions.unit} is not a length unit") from error
    if not isinstance(positions, _np.ndarray):
        rows = []
        for row in positions:
            if _unit.is_quantity(row):
                try:
                    row = row.value_in_unit(_unit.nanometer)
                except TypeError as error:
                    raise ValueError(f"{name}: {row.unit} is not a length unit") from error
            rows.append(list(row))
        positions = rows
    array = _np.asarray(positions, dtype=float)
    if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected an N x 3 array of positions, got shape {array.shape}")
    if not _np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or infinite coordinates")
    return array


def _flat_positions(positions):
    return _positions_nm(positions).ravel().tolist()


def _coefficient_spec(coeff, k0, per_atom, length_scale, eps):
    if coeff not in _COEFFICIENT_MODES:
        raise ValueError(f"coeff: unknown coefficient mode {coeff!r}; expected one of "
                         f"{', '.join(_COEFFICIENT_MODES)}")
    # The paper's preset (made for angstrom) in nm: length_scale 0.1 nm, ...
    spec = EnergyLossForce.presetCoefficients(parse_coefficient_mode(coeff))
    # A Quantity must have the dimension the mode gives k0 and eps (k is
    # energy / length^2): converted to nm and kJ/mol, never read as a bare number.
    energy, nm = _unit.kilojoule_per_mole, _unit.nanometer
    k0_unit = {"exp": energy / nm**2, "constant": energy / nm**2, "inv": energy / nm,
               "inv2": energy, "lj": energy, "morse": energy}.get(coeff)
    eps_unit = {"inv": nm, "inv2": nm**2}.get(coeff)
    if k0 is not None:
        spec.k0 = (_in_unit(k0, k0_unit, "k0") if k0_unit is not None and _unit.is_quantity(k0)
                   else _md_value(k0, "k0"))
    if per_atom is not None:
        spec.per_atom = bool(per_atom)
    if length_scale is not None:
        spec.length_scale = (_in_unit(length_scale, nm, "length_scale")
                             if _unit.is_quantity(length_scale) else _md_value(length_scale, "length_scale"))
    if eps is not None:
        spec.eps = (_in_unit(eps, eps_unit, "eps") if eps_unit is not None and _unit.is_quantity(eps)
                    else _md_value(eps, "eps"))
    return spec


def _configure(force, coeff="exp", k0=None, edges="complete", *, cutoff=None, k=None,
               per_atom=None, length_scale=None, eps=None, degree=0, seed=0, symmetrize=False,
               system=None, scale_name=None, default_scale=1.0, periodic=False):
    """Adds the edges of EnergyLossForce's keyword constructor (see its docstring)."""
    force.setUsesPeriodicBoundaryConditions(bool(periodic))
    if scale_name is not None:  # else the C++ default, "energyloss_scale"
        force.setScaleParameterName(scale_name)
    force.setDefaultScale(_md_value(default_scale, "default_scale"))
    named = isinstance(edges, str)
    if named and edges not in ("complete", "cutoff", "sparse", "bonds"):
        raise ValueError(f"edges: unknown edge mode {edges!r}; expected 'complete', 'cutoff', "
                         "'sparse', 'bonds' or a list of (i, j) pairs")
    if coeff == "explicit":
        if named:
            raise ValueError("coeff='explicit' needs edges given as a list of (i, j) pairs and k")
        pairs = _edge_pairs(edges)
        if k is None:
            raise ValueError("coeff='explicit' needs k: one spring constant or one per edge")
        values = k.value_in_unit_system(_unit.md_unit_system) if _unit.is_quantity(k) else k
        ks = ([_md_value(value, "k") for value in values] if _np.ndim(values)
              else [_md_value(values, "k")] * len(pairs))
        if len(ks) != len(pairs):
            raise ValueError(f"k: {len(ks)} spring constants for {len(pairs)} edges")
        for (i, j), value in zip(pairs, ks):
            force.addEdge(i, j, value)
        return
    if k is not None:
        raise ValueError(f"k is only used with coeff='explicit' (coeff is {coeff!r})")
    if coeff == "forcefield":
        _add_force_field_edges(force, edges, cutoff, degree, seed, symmetrize, system)
        return
    spec = _coefficient_spec(coeff, k0, per_atom, length_scale, eps)
    if edges == "complete" or edges == "cutoff":
        if edges == "cutoff" and cutoff is None:
            raise ValueError("edges='cutoff' needs cutoff (a length)")
        limit = _math.inf if cutoff is None else _md_value(cutoff, "cutoff")
        force.setPairsWithinCutoff(spec, limit)
    elif edges == "sparse":
        options = SparseRigidOptions()
        options.degree = int(degree)
        options.seed = int(seed)
        options.symmetrize = bool(symmetrize)
        force.addSparseRigidEdges(spec, options)
    elif edges == "bonds":
        if system is None:
            raise ValueError("edges='bonds' needs system (whose HarmonicBondForce gives the bonds)")
        force.addBondEdges(system, spec)
    else:
        for i, j in _edge_pairs(edges):
            force.addEdge(i, j, spec)


class SeedResult:
    """What seed() measured: every candidate's potential energy as drawn
    (`energies`) and after minimisation (`minimized_energies`, None when not
    minimising), the index of the chosen candidate and the energy the Context
    now has. Energies are Quantities in kJ/mol; NaN marks a candidate the
    force field could not evaluate."""

    def __init__(self, report, minimized):
        self.energies = _unit.Quantity(list(report.energies), _unit.kilojoule_per_mole)
        self.minimized_energies = (_unit.Quantity(list(report.minimizedEnergies),
                                                  _unit.kilojoule_per_mole) if minimized else None)
        self.chosen = int(report.chosen)
        self.energy = _unit.Quantity(report.chosenEnergy, _unit.kilojoule_per_mole)

    def __repr__(self):
        count = len(self.energies)
        return f"SeedResult(chosen={self.chosen}, energy={self.energy}, candidates={count})"


def _in_unit(value, wanted, name):
    """A number in `wanted` units from a compatible Quantity, or a plain number."""
    if _unit.is_quantity(value):
        try:
            return float(value.value_in_unit(wanted))
        except TypeError as error:
            raise ValueError(f"{name}: {value} is not convertible to {wanted}") from error
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected a number or a Quantity in {wanted}, got {value!r}") \
            from error


def seed(simulation_or_context, generator, candidates=8, minimize=True,
         temperature=300 * _unit.kelvin, *, sample_seed=0,
         tolerance=10 * _unit.kilojoule_per_mole / _unit.nanometer, max_iterations=0,
         velocity_seed=0, atom_map=None):
    """Seeds a Simulation's (or a Context's) positions and velocities from a
    generator file (the energyloss generator protocol: TorchScript with
    n_atoms, length_unit and sample(n, seed)).

    Draws `candidates` structures (seed `sample_seed`), converts them to nm,
    places generator atom a on particle a (or atom_map[a]; virtual sites are
    built from the candidate's atoms, and a map onto one raises), scores each
    with the Context's force field, minimises it first when `minimize`
    (LocalEnergyMinimizer with `tolerance` and `max_iterations`, 0 = no cap),
    keeps the lowest-energy one and draws velocities at `temperature`
    (0 K: at rest; seed `velocity_seed`). Returns a SeedResult. Mismatched atom
    counts, bad maps, NaN samples and reduced-unit generators raise
    ValueError and leave the Context unchanged."""
    if not _HAVE_SEEDER:
        raise RuntimeError("openmmenergyloss was built without LibTorch: seed() is unavailable")
    context = getattr(simulation_or_context, "context", simulation_or_context)
    if not isinstance(context, _mm.Context):
        raise TypeError(f"seed: expected an openmm.app.Simulation or openmm.Context, got "
                        f"{type(simulation_or_context).__name__}")
    options = SeedOptions()
    options.candidates = int(candidates)
    options.sampleSeed = int(sample_seed)
    options.minimize = bool(minimize)
    options.tolerance = _in_unit(tolerance, _unit.kilojoule_per_mole / _unit.nanometer,
                                 "tolerance")
    options.maxIterations = int(max_iterations)
    options.temperature = _in_unit(temperature, _unit.kelvin, "temperature")
    options.velocitySeed = int(velocity_seed)
    if atom_map is not None:
        options.particleMap = IntVector([int(index) for index in atom_map])
    report = GeneratorSeeder(_os.fspath(generator)).seed(context, options)
    return SeedResult(report, options.minimize)


def _add_force_field_edges(force, edges, cutoff, degree, seed, symmetrize, system):
    """coeff='forcefield': explicit edges whose k is the force field's
    curvature along the pair at the reference (bonds, angles' 1-3 pairs,
    Lennard-Jones, Coulomb; torsions and GB terms contribute nothing)."""
    if not _HAVE_FORCEFIELD:
        raise RuntimeError("openmmenergyloss was built without energyloss's OpenMM oracles: "
                           "coeff='forcefield' is unavailable")
    if system is None:
        raise ValueError("coeff='forcefield' needs system (whose force field gives k)")
    flat = force._getReferenceFlat()
    reference = _np.asarray(flat).reshape(-1, 3)
    n = len(reference)
    weights = None
    if edges == "complete" or edges == "cutoff":
        if edges == "cutoff" and cutoff is None:
            raise ValueError("edges='cutoff' needs cutoff (a length)")
        limit = _math.inf if cutoff is None else _md_value(cutoff, "cutoff")
        i, j = _np.triu_indices(n, 1)
        keep = _np.linalg.norm(reference[i] - reference[j], axis=1) < limit
        pairs = list(zip(i[keep].tolist(), j[keep].tolist()))
    elif edges in ("bonds", "sparse"):
        # The same graph with unit k gives the edges (and symmetrisation weights).
        graph = EnergyLossForce(reference, coeff="constant", k0=1.0, per_atom=False, edges=edges,
                                degree=degree, seed=seed, symmetrize=symmetrize, system=system)
        parameters = [graph.getEdgeParameters(e) for e in range(graph.getNumEdges())]
        pairs = [(i, j) for i, j, _, _ in parameters]
        weights = [w for _, _, w, _ in parameters]
    else:
        pairs = _edge_pairs(edges)
    ks = _forceFieldCoefficients(system, flat, [index for pair in pairs for index in pair])
    for e, ((i, j), k) in enumerate(zip(pairs, ks)):
        force.addEdge(i, j, k * (1.0 if weights is None else weights[e]))


def _load_kernel_plugins():
    """Registers our Reference and CPU kernels with OpenMM. (OPENMM_PLUGIN_DIR
    is left alone: setting it replaces OpenMM's own plugin folder.)"""
    folder = _os.environ.get("ENERGYLOSS_OPENMM_PLUGIN_DIR",
                             _os.path.join(_os.path.dirname(_os.path.abspath(__file__)),
                                           "openmmenergyloss_plugins"))
    libraries = sorted(name for name in (_os.listdir(folder) if _os.path.isdir(folder) else [])
                       if name.startswith("libenergyloss_openmm_") and name.endswith(".so"))
    if not libraries:
        raise ImportError(f"openmmenergyloss: no kernel libraries (libenergyloss_openmm_*.so) "
                          f"in {folder}")
    for name in libraries:
        _mm.Platform.loadPluginLibrary(_os.path.join(folder, name))


_load_kernel_plugins()
%}

%extend EnergyLossPlugin::EnergyLossForce {
%pythoncode %{
__doc__ = """EnergyLossForce(reference_positions, coeff="exp", k0=None, edges="complete", ...)

    E = s * sum over edges of 1/2 k_ij (|x_i - x_j| - r0_ij)^2, with r0 from
    reference_positions (N x 3 array, list of Vec3, or a Quantity of either;
    nm when unitless) and s the Context parameter scale_name.

    coeff: "exp", "inv", "inv2", "constant", "lj", "morse" (k = k(r0): exp
        k0 exp(-r0/length_scale), inv k0/(r0+eps), inv2 k0/(r0^2+eps),
        constant k0, lj k0/r0^2, morse 2 k0/length_scale^2). Unless given, k0,
        length_scale and eps are the paper's presets, which are made for
        angstrom, converted to nm: exp 2400/N kJ/mol/nm^2 with length_scale
        0.1 nm, inv 37/N kJ/mol/nm with eps 1e-6 nm, inv2 9/N kJ/mol with
        eps 1e-7 nm^2, constant 100 kJ/mol/nm^2, lj 72 kJ/mol, morse 1 kJ/mol
        with length_scale 0.1 nm (N: particle count; per_atom=False keeps
        k0 whole), so the energy in kJ/mol equals the paper's loss computed
        in angstrom. Plain numbers are in OpenMM's units (nm, kJ/mol); k0,
        length_scale and eps also accept Quantities.
        "explicit" (k given per edge) or "forcefield" (k = the curvature of
        system's force field along each pair; explicit edges).
    edges: "complete" (all pairs, walked without storing them), "cutoff"
        (pairs closer than cutoff in the reference), "sparse" (a random
        globally rigid graph: degree, seed, symmetrize), "bonds" (the bonds of
        system's HarmonicBondForce) or a list of (i, j) pairs.
    k: with coeff="explicit", one spring constant or one per edge.
    scale_name, default_scale: the global parameter s (default
        "energyloss_scale") and its default value (1).
    periodic: apply periodic boundary conditions (particles are made whole
        along the reference's nearest-neighbour spanning tree first). Not
        needed for OpenMM's own wrapping (enforcePeriodicBox): the force
        reports its edges and a spanning forest of the complete/cutoff rule
        as bonded pairs, so what it couples is one molecule, wrapped whole.
        Needed for positions wrapped particle by particle (other programs).

    From system.getForce(i) or XmlSerializer, recover the typed force with
    EnergyLossForce.fromForce(force).
    """

def getReferencePositions(self):
    """The reference positions as a Quantity (list of Vec3, nm)."""
    flat = self._getReferenceFlat()
    return _unit.Quantity([_mm.Vec3(*flat[i:i + 3]) for i in range(0, len(flat), 3)],
                          _unit.nanometer)

def setReferencePositions(self, positions):
    """New reference positions (same particle count); push to a Context with
    updateParametersInContext."""
    self._setReferenceFlat(_flat_positions(positions))

@staticmethod
def fromForce(force):
    """The EnergyLossForce behind an openmm.Force (from System.getForce,
    XmlSerializer.deserialize, ...). Takes over ownership when `force` owns
    its C++ object; otherwise a view valid while the owner (e.g. the System)
    lives."""
    if isinstance(force, EnergyLossForce):
        return force
    if not EnergyLossForce.isInstance(force):
        raise TypeError(f"{type(force).__name__} is not an EnergyLossForce")
    if force.thisown:
        return EnergyLossForce._takeOwnership(force)
    return EnergyLossForce._view(force)

def __copy__(self):
    return EnergyLossForce.fromForce(_mm.XmlSerializer.clone(self))

def __deepcopy__(self, memo):
    return self.__copy__()

def __getstate__(self):
    return _mm.XmlSerializer.serialize(self)

def __setstate__(self, state):
    self.this = EnergyLossForce.fromForce(_mm.XmlSerializer.deserialize(state)).this
%}
}
