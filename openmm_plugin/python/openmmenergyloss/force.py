"""EnergyLossForce: the C++ force (openmmenergyloss._core) with its Python
half: the keyword constructor, positions and parameters in OpenMM units,
typed recovery from openmm.Force, copying and pickling."""
import math

import numpy as np
import openmm
from openmm import unit

from . import _core, _core_ext
from ._units import in_unit, integer, positions_nm, values_in_unit

__all__ = ["EnergyLossForce", "COEFFICIENT_MODES", "EDGE_MODES"]

# The modes of common/'s C++ list (energyloss::coefficient_mode_names), and
# the plugin's own: k from the System's force field.
COEFFICIENT_MODES = tuple(_core.coefficient_mode_names()) + ("forcefield",)
EDGE_MODES = ("complete", "cutoff", "sparse", "bonds")

# The dimension of k0 and eps for each mode (k is energy / length^2), so a
# Quantity is converted to kJ/mol and nm, never read as a bare number.
_ENERGY, _NM = unit.kilojoule_per_mole, unit.nanometer
_K0_UNIT = {"exp": _ENERGY / _NM**2, "constant": _ENERGY / _NM**2, "inv": _ENERGY / _NM,
            "inv2": _ENERGY, "lj": _ENERGY, "morse": _ENERGY}
_EPS_UNIT = {"inv": _NM, "inv2": _NM**2}
_K_UNIT = _ENERGY / _NM**2

# Which coeff and edges modes use each optional keyword; any other use is
# refused by name (it would be silently ignored), as the LAMMPS front end does.
_K_OF_R_MODES = tuple(mode for mode in _K0_UNIT)
_COEFF_KEYWORDS = {"k0": _K_OF_R_MODES, "per_atom": _K_OF_R_MODES,
                   "length_scale": ("exp", "morse"), "eps": tuple(_EPS_UNIT)}
_EDGE_KEYWORDS = {"cutoff": ("complete", "cutoff"), "degree": ("sparse",),
                  "seed": ("sparse",), "symmetrize": ("sparse",)}


def _number(value, wanted, name):
    """A plain number, or a Quantity converted to `wanted`; ValueError naming
    `name` for another unit or a non-number."""
    return in_unit(value, wanted, name, expected="a number")


def _listed(names):
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _refuse_unused(coeff, edges, keywords):
    """ValueError naming the first given keyword (not None) that this coeff
    and edges do not use."""
    edges_mode = edges if isinstance(edges, str) else None
    edges_text = f"edges={edges!r}" if edges_mode else "an explicit edge list"
    for name, value in keywords.items():
        if value is None:
            continue
        if name in _COEFF_KEYWORDS and coeff not in _COEFF_KEYWORDS[name]:
            raise ValueError(f"keyword '{name}' applies to coeff "
                             f"{_listed(_COEFF_KEYWORDS[name])}, not {coeff!r}")
        if name in _EDGE_KEYWORDS and edges_mode not in _EDGE_KEYWORDS[name]:
            raise ValueError(f"keyword '{name}' applies to edges "
                             f"{_listed(_EDGE_KEYWORDS[name])}, not {edges_text}")
        if name == "system" and edges_mode != "bonds" and coeff != "forcefield":
            raise ValueError(f"keyword 'system' applies to edges='bonds' and "
                             f"coeff='forcefield', not coeff={coeff!r} with {edges_text}")


def _edge_pairs(edges):
    """An edge list as [(i, j), ...]; a clear error for what users pass by mistake,
    such as the (edges, weights) tuple of energyloss.graphs.sparse_rigid_edges."""
    if (isinstance(edges, tuple) and len(edges) == 2
            and all(hasattr(part, "shape") for part in edges) and np.ndim(edges[0]) == 2):
        raise TypeError("edges: got a tuple of (edges, weights), as sparse_rigid_edges returns; "
                        "pass its first entry (edges=result[0]), or edges='sparse'")
    pairs, first = [], {}
    for position, pair in enumerate(edges):
        if np.ndim(pair) != 1 or len(pair) != 2:
            raise ValueError(f"edges: expected a list of (i, j) pairs, got an entry {pair!r}")
        i, j = integer(pair[0], "edges"), integer(pair[1], "edges")
        # A pair listed twice would be restrained twice (double k), as in
        # LAMMPS's `edges file`, where it is an error too.
        earlier = first.setdefault((min(i, j), max(i, j)), position)
        if earlier != position:
            raise ValueError(f"edges: pair ({i}, {j}) at position {position} is listed twice "
                             f"(in either order): ({pairs[earlier][0]}, {pairs[earlier][1]}) "
                             f"is at position {earlier}")
        pairs.append((i, j))
    if not pairs:
        raise ValueError("edges: the list of pairs is empty (a restraint with no pairs)")
    return pairs


def _flat_positions(positions):
    """Positions as the flat nm list [x0, y0, z0, x1, ...] the C++ side takes."""
    return positions_nm(positions).ravel().tolist()


def _coefficient_spec(coeff, k0, per_atom, length_scale, eps):
    """The C++ CoefficientSpec of mode `coeff`: the force's nm preset with the
    given k0, per_atom, length_scale and eps (None keeps the preset's)."""
    # The paper's preset (made for angstrom) in nm: length_scale 0.1 nm, ...
    spec = _core.EnergyLossForce.presetCoefficients(_core.parse_coefficient_mode(coeff))
    if k0 is not None:
        spec.k0 = _number(k0, _K0_UNIT[coeff], "k0")
    if per_atom is not None:
        spec.per_atom = bool(per_atom)
    if length_scale is not None:
        spec.length_scale = _number(length_scale, _NM, "length_scale")
    if eps is not None:
        spec.eps = _number(eps, _EPS_UNIT[coeff], "eps")
    return spec


def _cutoff_limit(edges, cutoff):
    """The pair rule's cutoff in nm (infinite for 'complete')."""
    if edges == "cutoff" and cutoff is None:
        raise ValueError("edges='cutoff' needs cutoff (a length)")
    if cutoff is None:
        return math.inf
    limit = _number(cutoff, _NM, "cutoff")
    if not limit > 0:  # nan too; inf is the complete graph
        raise ValueError(f"cutoff must be positive, got {limit:g} nm (keyword cutoff)")
    return limit


def _require_rule_pairs(reference, limit):
    """ValueError unless two reference positions are closer than `limit` nm:
    a pair rule without pairs restrains nothing (LAMMPS refuses it too).
    Row by row, stopping at the first pair found."""
    if len(reference) < 2:
        raise ValueError(f"reference_positions: {len(reference)} particle gives no pairs "
                         "to restrain")
    nearest = math.inf
    for i in range(len(reference) - 1):
        nearest = min(nearest, float(np.linalg.norm(reference[i + 1:] - reference[i],
                                                    axis=1).min()))
        if nearest < limit:
            return
    raise ValueError(f"cutoff: {limit:g} nm gives no pairs: no two reference positions are "
                     f"closer than that (the nearest are {nearest:.6g} nm apart)")


def _add_explicit_edges(force, edges, k):
    """coeff='explicit': the given pairs with one k, or one k per pair."""
    pairs = _edge_pairs(edges)
    if k is None:
        raise ValueError("coeff='explicit' needs k: one spring constant or one per edge")
    values = values_in_unit(k, _K_UNIT, "k")
    ks = ([_number(value, _K_UNIT, "k") for value in values] if np.ndim(values)
          else [_number(values, _K_UNIT, "k")] * len(pairs))
    if len(ks) != len(pairs):
        raise ValueError(f"k: {len(ks)} spring constants for {len(pairs)} edges")
    for (i, j), value in zip(pairs, ks):
        force.addEdge(i, j, value)


def _add_force_field_edges(force, edges, cutoff, degree, seed, symmetrize, system):
    """coeff='forcefield': explicit edges whose k is the force field's
    curvature along the pair at the reference (bonds, angles' 1-3 pairs,
    Lennard-Jones, Coulomb; torsions and GB terms contribute nothing)."""
    if not hasattr(_core, "_forceFieldCoefficients"):
        raise RuntimeError("openmmenergyloss was built without energyloss's OpenMM oracles: "
                           "coeff='forcefield' is unavailable")
    if system is None:
        raise ValueError("coeff='forcefield' needs system (whose force field gives k)")
    flat = force._getReferenceFlat()
    reference = np.asarray(flat).reshape(-1, 3)
    weights = None
    mode = edges if isinstance(edges, str) else None
    if mode in ("complete", "cutoff"):
        limit = _cutoff_limit(edges, cutoff)
        _require_rule_pairs(reference, limit)
        i, j = np.triu_indices(len(reference), 1)
        keep = np.linalg.norm(reference[i] - reference[j], axis=1) < limit
        pairs = list(zip(i[keep].tolist(), j[keep].tolist()))
    elif mode in ("bonds", "sparse"):
        # The same graph with unit k gives the edges (and symmetrisation weights).
        graph = EnergyLossForce(reference, coeff="constant", k0=1.0, per_atom=False, edges=edges,
                                degree=degree, seed=seed, symmetrize=symmetrize,
                                system=system if mode == "bonds" else None)
        parameters = [graph.getEdgeParameters(e) for e in range(graph.getNumEdges())]
        pairs = [(i, j) for i, j, _, _ in parameters]
        weights = [w for _, _, w, _ in parameters]
    else:
        pairs = _edge_pairs(edges)
    ks = _core._forceFieldCoefficients(system, flat, [index for pair in pairs for index in pair])
    for e, ((i, j), k) in enumerate(zip(pairs, ks)):
        force.addEdge(i, j, k * (1.0 if weights is None else weights[e]))


def _add_edges(force, coeff, k0, edges, cutoff, k, per_atom, length_scale, eps, degree, seed,
               symmetrize, system):
    """The edges of EnergyLossForce's keyword constructor (see its docstring)."""
    if coeff not in COEFFICIENT_MODES:
        raise ValueError(f"coeff: unknown coefficient mode {coeff!r}; expected one of "
                         f"{', '.join(COEFFICIENT_MODES)}")
    if isinstance(edges, str) and edges not in EDGE_MODES:
        raise ValueError(f"edges: unknown edge mode {edges!r}; expected 'complete', 'cutoff', "
                         "'sparse', 'bonds' or a list of (i, j) pairs")
    if coeff == "explicit" and isinstance(edges, str):
        raise ValueError("coeff='explicit' needs edges given as a list of (i, j) pairs and k")
    if coeff != "explicit" and k is not None:
        raise ValueError(f"k is only used with coeff='explicit' (coeff is {coeff!r})")
    _refuse_unused(coeff, edges, dict(k0=k0, per_atom=per_atom, length_scale=length_scale,
                                      eps=eps, cutoff=cutoff, degree=degree, seed=seed,
                                      symmetrize=symmetrize, system=system))
    if coeff == "explicit":
        _add_explicit_edges(force, edges, k)
        return
    if coeff == "forcefield":
        _add_force_field_edges(force, edges, cutoff, degree, seed, symmetrize, system)
        return
    mode = edges if isinstance(edges, str) else None  # (an array == "bonds" is elementwise)
    spec = _coefficient_spec(coeff, k0, per_atom, length_scale, eps)
    if mode in ("complete", "cutoff"):
        limit = _cutoff_limit(edges, cutoff)
        force.setPairsWithinCutoff(spec, limit)
        _require_rule_pairs(np.asarray(force._getReferenceFlat()).reshape(-1, 3), limit)
    elif mode == "sparse":
        options = _core.SparseRigidOptions()  # None keeps common/'s default
        if degree is not None:  # C++'s 0 (2 x dim) is what leaving degree out gives
            options.degree = integer(degree, "degree", minimum=1)
        if seed is not None:
            options.seed = integer(seed, "seed", minimum=0, maximum=2**64 - 1)
        if symmetrize is not None:
            options.symmetrize = bool(symmetrize)
        force.addSparseRigidEdges(spec, options)
    elif mode == "bonds":
        if system is None:
            raise ValueError("edges='bonds' needs system (whose HarmonicBondForce gives the bonds)")
        force.addBondEdges(system, spec)
    else:
        for i, j in _edge_pairs(edges):
            force.addEdge(i, j, spec)


class EnergyLossForce(_core.EnergyLossForce):
    """EnergyLossForce(reference_positions, coeff="exp", k0=None, edges="complete", ...)

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
        in angstrom. Plain numbers are in OpenMM's units (nm, kJ/mol); every
        number also accepts a Quantity, converted to its own unit (cutoff and
        length_scale nm, eps nm or nm^2, k0 and k as the mode's k): a Quantity
        of another dimension (5 K as a cutoff) raises ValueError.
        length_scale applies to exp and morse only, eps to inv and inv2 only.
        "explicit" (k given per edge) or "forcefield" (k = the curvature of
        system's force field along each pair; explicit edges).
        COEFFICIENT_MODES lists them all.
    edges: "complete" (all pairs, walked without storing them; a cutoff
        makes it "cutoff"), "cutoff" (pairs closer than cutoff in the
        reference), "sparse" (a random globally rigid graph: degree, seed >= 0,
        symmetrize), "bonds" (the bonds of system's HarmonicBondForce) or a
        list of (i, j) pairs, each pair once (in either order). A rule or list
        that gives no pairs raises ValueError.
    k: with coeff="explicit", one spring constant or one per edge.
    scale_name, default_scale: the global parameter s (default
        "energyloss_scale") and its default value (1).
    periodic: apply periodic boundary conditions (particles are made whole
        along the reference's nearest-neighbour spanning tree first). Not
        needed for OpenMM's own wrapping (enforcePeriodicBox): the force
        reports its edges and a spanning forest of the complete/cutoff rule
        as bonded pairs, so what it couples is one molecule, wrapped whole.
        Needed for positions wrapped particle by particle (other programs).
        The reference must be whole (one image of the structure, not wrapped
        particle by particle) with every tree edge within half a box: the
        first evaluation in a box (and any evaluation after the box or the
        reference changes) raises, naming the pair, when one is longer.

    A keyword the chosen coeff and edges do not use (length_scale with
    "constant", seed with "complete", cutoff with a list, system without
    "bonds" or "forcefield", ...) raises ValueError naming it, rather than
    being ignored.

    Bad arguments raise ValueError (TypeError for the wrong kind of object)
    naming the argument. From system.getForce(i) or XmlSerializer, recover
    the typed force with EnergyLossForce.fromForce(force).
    """

    def __init__(self, reference_positions, coeff="exp", k0=None, edges="complete", *,
                 cutoff=None, k=None, per_atom=None, length_scale=None, eps=None, degree=None,
                 seed=None, symmetrize=None, system=None, scale_name=None, default_scale=1.0,
                 periodic=False):
        _core_ext.EnergyLossForce_swiginit(
            self, _core_ext.new_EnergyLossForce(_flat_positions(reference_positions)))
        self.setUsesPeriodicBoundaryConditions(bool(periodic))
        if scale_name is not None:  # else the C++ default, "energyloss_scale"
            self.setScaleParameterName(scale_name)
        self.setDefaultScale(_number(default_scale, unit.dimensionless, "default_scale"))
        _add_edges(self, coeff, k0, edges, cutoff, k, per_atom, length_scale, eps, degree, seed,
                   symmetrize, system)

    def getReferencePositions(self):
        """The reference positions as a Quantity (list of Vec3, nm)."""
        flat = self._getReferenceFlat()
        return unit.Quantity([openmm.Vec3(*flat[i:i + 3]) for i in range(0, len(flat), 3)],
                             unit.nanometer)

    def setReferencePositions(self, positions):
        """New reference positions (same particle count); push to a Context with
        updateParametersInContext."""
        self._setReferenceFlat(_flat_positions(positions))

    @staticmethod
    def fromForce(force):
        """The EnergyLossForce behind an openmm.Force (from System.getForce,
        XmlSerializer.deserialize, ...). Takes over ownership when `force` owns
        its C++ object; otherwise a view valid while the owner (e.g. the System)
        lives. TypeError for any other force."""
        if isinstance(force, EnergyLossForce):
            return force
        if not _core.EnergyLossForce.isInstance(force):
            raise TypeError(f"{type(force).__name__} is not an EnergyLossForce")
        if force.thisown:
            return _core.EnergyLossForce._takeOwnership(force)
        return _core.EnergyLossForce._view(force)

    def __copy__(self):
        return EnergyLossForce.fromForce(openmm.XmlSerializer.clone(self))

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __getstate__(self):
        return openmm.XmlSerializer.serialize(self)

    def __setstate__(self, state):
        self.this = EnergyLossForce.fromForce(openmm.XmlSerializer.deserialize(state)).this


# Forces the C++ side hands back (_takeOwnership, _view) come as this class.
_core_ext.EnergyLossForce_swigregister(EnergyLossForce)
