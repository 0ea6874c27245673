"""Numbers and positions in OpenMM's MD units (nm, kJ/mol, ps, K) from plain
numbers, arrays, lists of Vec3 or Quantities. Every function raises
ValueError naming the argument when the value has the wrong unit or is not a
number."""
import numpy as np
from openmm import unit

__all__ = ["md_value", "in_unit", "positions_nm"]


def md_value(value, name):
    """`value` as a float in OpenMM's MD unit system; plain numbers pass as they are."""
    if unit.is_quantity(value):
        try:
            value = value.value_in_unit_system(unit.md_unit_system)
        except TypeError as error:
            raise ValueError(f"{name}: cannot express {value} in OpenMM's MD units") from error
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected a number, got {value!r}") from error


def in_unit(value, wanted, name):
    """`value` as a float in `wanted` units from a compatible Quantity; plain numbers pass."""
    if unit.is_quantity(value):
        try:
            return float(value.value_in_unit(wanted))
        except TypeError as error:
            raise ValueError(f"{name}: {value} is not convertible to {wanted}") from error
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected a number or a Quantity in {wanted}, got {value!r}") \
            from error


def _row_nm(row, name):
    """One position (a Vec3, a sequence or a Quantity of either) as a list in nm."""
    if unit.is_quantity(row):
        try:
            row = row.value_in_unit(unit.nanometer)
        except TypeError as error:
            raise ValueError(f"{name}: {row.unit} is not a length unit") from error
    return list(row)


def positions_nm(positions, name="reference_positions"):
    """An N x 3 float array in nm (N >= 1, all finite) from an array, a list of
    Vec3 or a Quantity of either; plain numbers are taken as nm."""
    if unit.is_quantity(positions):
        try:
            positions = positions.value_in_unit(unit.nanometer)
        except TypeError as error:
            raise ValueError(f"{name}: {positions.unit} is not a length unit") from error
    if not isinstance(positions, np.ndarray):
        positions = [_row_nm(row, name) for row in positions]
    array = np.asarray(positions, dtype=float)
    if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected an N x 3 array of positions, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or infinite coordinates")
    return array
