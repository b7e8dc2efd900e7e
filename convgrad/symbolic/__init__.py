"""SymPy tools for deriving and checking convolution gradients (needs SymPy).

* :mod:`convgrad.symbolic.toolkit`: general-size index calculus (tangents by linearisation,
  adjoints read off the pairing with the Kronecker deltas summed out) and concrete-size symbol
  arrays fed through convgrad's own functions.
* :mod:`convgrad.symbolic.derivations`: the derivations the book builds on.
* :mod:`convgrad.symbolic.options`: the same with stride, dilation and padding as symbols (index
  map ``s*o + d*k - p_lo``), where solving a Kronecker delta leaves a divisibility bracket.
"""

from .derivations import Derivation, conv1d_derivation, conv_multichannel_derivation
from .options import (
    Divides,
    adjoint_lattice,
    conv1d_options_derivation,
    pad_derivation,
    sum_deltas_lattice,
)
from .toolkit import (
    Iverson,
    adjoint_from_pairing,
    instantiate,
    is_zero,
    linearise,
    linearise_arrays,
    matrix_of,
    pairing,
    sum_deltas,
    symbol_array,
)

__all__ = [
    "Derivation",
    "Divides",
    "Iverson",
    "adjoint_from_pairing",
    "adjoint_lattice",
    "conv1d_derivation",
    "conv1d_options_derivation",
    "conv_multichannel_derivation",
    "instantiate",
    "is_zero",
    "linearise",
    "linearise_arrays",
    "matrix_of",
    "pad_derivation",
    "pairing",
    "sum_deltas",
    "sum_deltas_lattice",
    "symbol_array",
]
