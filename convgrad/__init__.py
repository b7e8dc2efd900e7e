"""convgrad: N-D convolution forward and backward in NumPy, exact, general and verified.

The public API is flat::

    conv, conv_backward, conv_grad_input, conv_grad_weight, conv_grad_bias,
    conv_transpose, conv_output_shape

plus the submodules :mod:`convgrad.check` (dot-product test, finite differences),
:mod:`convgrad.general` (``conv_general``, the one general convolution every map is a call of)
and :mod:`convgrad.rules` (its two transpose rules: the gradients as convolutions with the
operands' roles swapped), and, imported on demand: :mod:`convgrad.second_order` (double
backward), :mod:`convgrad.nn` (the layers the book's capstone trains with),
:mod:`convgrad.pitfalls` (deliberately wrong gradient code, kept to show which check catches
it), :mod:`convgrad.symbolic` (SymPy derivations; needs SymPy) and :mod:`convgrad.figures` (the
book's figures; needs Matplotlib).
"""

from . import check, general, rules
from .functional import conv, conv_backward, conv_grad_bias, conv_grad_input, conv_grad_weight
from .geometry import conv_output_shape
from .transpose import conv_transpose

__version__ = "0.1.0"

__all__ = [
    "check",
    "conv",
    "conv_backward",
    "conv_grad_bias",
    "conv_grad_input",
    "conv_grad_weight",
    "conv_output_shape",
    "conv_transpose",
    "general",
    "rules",
]
