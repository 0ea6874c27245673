"""Numbers and positions in OpenMM's units (nm, kJ/mol, ps, K) from plain
numbers, arrays, lists of Vec3 or Quantities. Every function raises
ValueError naming the argument when the value has the wrong unit or is not a
number. A Quantity is always converted to the unit the argument needs
(never to "MD units" in general, which would read 5 K as a 5 nm cutoff)."""
import operator

import numpy as np
from openmm import unit

__all__ = ["in_unit", "values_in_unit", "integer", "positions_nm"]


def _strip_unit(value, convert, complaint):
    """convert(value) for a Quantity, ValueError(complaint(value)) when its unit
    does not fit; anything else as it is."""
    if not unit.is_quantity(value):
        return value
    try:
        return convert(value)
    except TypeError as error:
        raise ValueError(complaint(value)) from error


def _float(value, name, expected):
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected {expected}, got {value!r}") from error


def _nm(value, name):
    """A length Quantity (or a sequence of them) in nm; anything else as it is."""
    return _strip_unit(value, lambda q: q.value_in_unit(unit.nanometer),
                       lambda q: f"{name}: {q.unit} is not a length unit")


def values_in_unit(value, wanted, name):
    """`value` (a number or a sequence, or a Quantity of either) in `wanted`
    units, unconverted to float; plain values pass as they are."""
    return _strip_unit(value, lambda q: q.value_in_unit(wanted),
                       lambda q: f"{name}: {q} is not convertible to {wanted}")


def in_unit(value, wanted, name, expected=None):
    """`value` as a float in `wanted` units from a compatible Quantity; plain
    numbers pass (unit.dimensionless: a plain number or a unitless ratio).
    `expected` words the complaint about a non-number (default: a number or
    a Quantity in `wanted`)."""
    return _float(values_in_unit(value, wanted, name), name,
                  expected or f"a number or a Quantity in {wanted}")


INT32 = (-2**31, 2**31 - 1)  # the C++ int fields' range, as (minimum, maximum)


def integer(value, name, minimum=INT32[0], maximum=INT32[1]):
    """`value` as an int: an integer (Python or numpy; not a bool or a float,
    which would be truncated silently) in [minimum, maximum] (default: the
    C++ int range; None: unbounded), so SWIG never raises its OverflowError."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)  # ints, numpy and torch integers; not 2.5
    except TypeError as error:
        raise ValueError(f"{name}: expected an integer, got {value!r}") from error
    if minimum is not None and number < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name}: must be <= {maximum}, got {number}")
    return number


def positions_nm(positions, name="reference_positions"):
    """An N x 3 float array in nm (N >= 1, all finite) from an array, a list of
    Vec3 or a Quantity of either; plain numbers are taken as nm."""
    positions = _nm(positions, name)
    if not isinstance(positions, np.ndarray):
        positions = [list(_nm(row, name)) for row in positions]
    array = np.asarray(positions, dtype=float)
    if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected an N x 3 array of positions, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or infinite coordinates")
    return array
