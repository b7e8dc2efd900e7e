"""SymPy tools for deriving and checking convolution gradients (needs SymPy).

* :mod:`convgrad.symbolic.toolkit`: general-size index calculus (tangents by linearisation,
  adjoints read off the pairing with the Kronecker deltas summed out) and concrete-size symbol
  arrays fed through convgrad's own functions.
* :mod:`convgrad.symbolic.derivations`: the derivations the book builds on.
"""

from .derivations import Derivation, conv1d_derivation, conv_multichannel_derivation
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
    "Iverson",
    "adjoint_from_pairing",
    "conv1d_derivation",
    "conv_multichannel_derivation",
    "instantiate",
    "is_zero",
    "linearise",
    "linearise_arrays",
    "matrix_of",
    "pairing",
    "sum_deltas",
    "symbol_array",
]
