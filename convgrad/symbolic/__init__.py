"""SymPy tools for deriving and checking convolution gradients (needs SymPy).

Every derivation follows the book's method, tangent first, then the adjoint read off the pairing
``<z_bar, z_dot> = <x_bar, x_dot> + <c_bar, c_dot>``, and returns the steps it took:

.. code-block:: python

    der = conv1d_derivation()
    der.adjoints["x"]   # x_bar_m = sum_n z_bar_n c_{m-n} [0 <= m-n <= K-1]
    der.steps["x"]      # forward map, tangent, pairing, ..., read-off (LaTeX)
    der.check("x", lambda zbar, c: ..., sizes={"N": 4, "K": 3})  # exact

The modules, by concept:

* :mod:`convgrad.symbolic.brackets`: the Iverson bracket ``[P]``, the divisibility bracket
  ``[q | a]``, and the pruning of brackets that known ranges imply;
* :mod:`convgrad.symbolic.sums`: index sums as (summand, limits) data;
* :mod:`convgrad.symbolic.deltas`: Kronecker deltas summed out on the integer lattice (one
  solver, :func:`sum_deltas`, which records each delta it sums out);
* :mod:`convgrad.symbolic.readoff`: tangents (:func:`linearise`), adjoints read off the pairing
  (:func:`read_off`, :func:`adjoint_from_pairing`), and :class:`Derivation` with its steps and its
  check at concrete sizes;
* :mod:`convgrad.symbolic.steps`: the displayed steps (:class:`Step`, :class:`Steps`), rendered to
  fit the book's text column;
* :mod:`convgrad.symbolic.arrays`: concrete sizes, object arrays of symbols run through
  convgrad's own functions (:func:`symbol_array`, :func:`instantiate`, :func:`is_zero`, ...);
* derivations by what they derive: :mod:`convgrad.symbolic.maps` (matrix-vector, quadratic
  form, 1-D convolution and correlation, channels and batch, the NHWC layer),
  :mod:`convgrad.symbolic.options` (padding, stride, dilation, groups),
  :mod:`convgrad.symbolic.transposed`, :mod:`convgrad.symbolic.ndim`,
  :mod:`convgrad.symbolic.double_backward` (the gradients' own gradients) and
  :mod:`convgrad.symbolic.layers` (ReLU, max-pool, dense, softmax cross-entropy, batch mean).
"""

from .arrays import (
    Agreement,
    check_formula,
    instantiate,
    is_zero,
    linearise_arrays,
    matrix_of,
    pairing,
    symbol_array,
)
from .brackets import Divides, Iverson, as_brackets, as_deltas, between, implied, prune_brackets
from .deltas import Elimination, solve_delta, sum_deltas
from .double_backward import grad_input_map_derivation, grad_weight_map_derivation
from .layers import (
    batch_mean_derivation,
    cross_entropy_derivation,
    dense_derivation,
    maxpool_derivation,
    relu_derivation,
)
from .maps import (
    conv1d_derivation,
    conv2d_nhwc_derivation,
    conv_multichannel_derivation,
    convolution1d_derivation,
    matvec_derivation,
    quadratic_form_derivation,
)
from .ndim import axis_factors, nd_conv_derivation
from .options import conv1d_options_derivation, grouped_conv_derivation, pad_derivation
from .readoff import Derivation, Read, adjoint_from_pairing, derive, linearise, read_off
from .steps import Step, Steps, TeX
from .sums import flatten_sum, pull_sums, split_terms
from .transposed import transposed_conv_derivation

__all__ = [
    "Agreement",
    "Derivation",
    "Divides",
    "Elimination",
    "Iverson",
    "Read",
    "Step",
    "Steps",
    "TeX",
    "adjoint_from_pairing",
    "as_brackets",
    "as_deltas",
    "axis_factors",
    "batch_mean_derivation",
    "between",
    "check_formula",
    "conv1d_derivation",
    "conv1d_options_derivation",
    "conv2d_nhwc_derivation",
    "conv_multichannel_derivation",
    "convolution1d_derivation",
    "cross_entropy_derivation",
    "dense_derivation",
    "derive",
    "flatten_sum",
    "grad_input_map_derivation",
    "grad_weight_map_derivation",
    "grouped_conv_derivation",
    "implied",
    "instantiate",
    "is_zero",
    "linearise",
    "linearise_arrays",
    "matrix_of",
    "matvec_derivation",
    "maxpool_derivation",
    "nd_conv_derivation",
    "pad_derivation",
    "pairing",
    "prune_brackets",
    "pull_sums",
    "quadratic_form_derivation",
    "read_off",
    "relu_derivation",
    "solve_delta",
    "split_terms",
    "sum_deltas",
    "symbol_array",
    "transposed_conv_derivation",
]
