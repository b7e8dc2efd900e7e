"""The other layers of a small CNN, derived by the book's method: ReLU, max-pooling, a dense layer
and softmax cross-entropy (the layers of :mod:`convgrad.nn`).

Each function returns a :class:`~convgrad.symbolic.readoff.Derivation` whose ``steps`` show the
forward map, its tangent, the pairing and the read-off:

* :func:`relu_derivation`: ``y_i = max(x_i, 0)`` gives ``x_bar_i = y_bar_i [x_i > 0]``;
* :func:`maxpool_derivation`: ``y_o = x_{a(o)}`` with ``a(o)`` the cell holding the maximum of
  window ``o`` gives ``x_bar_m = sum_o y_bar_o delta(m, a(o))`` (each ``y_bar_o`` routed to its
  window's maximum);
* :func:`dense_derivation`: ``y[n, j] = sum_i x[n, i] W[i, j] + b[j]`` (``nn.Dense``'s layout)
  gives ``x_bar = y_bar W^T``, ``W_bar = x^T y_bar`` and ``b_bar[j] = sum_n y_bar[n, j]``, both
  parameter gradients summed over the batch;
* :func:`softmax_cross_entropy_derivation`: the mean over the batch
  ``L = (1/N) sum_n (log sum_q exp z[n, q] - z[n, t_n])`` gives
  ``z_bar[n, j] = L_bar (softmax(z_n)_j - [j = t_n]) / N``.

Needs SymPy.
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from .brackets import Iverson
from .readoff import Derivation, Read, derive
from .steps import Steps

__all__ = ["dense_derivation", "maxpool_derivation", "relu_derivation",
           "softmax_cross_entropy_derivation"]


def _int(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, integer=True)


def _size(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, integer=True, positive=True)


def _bases(*names: str) -> tuple[sp.IndexedBase, ...]:
    return tuple(sp.IndexedBase(n) for n in names)


def _with_captions(der: Derivation, captions: dict[int, str]) -> Derivation:
    """``der`` with the captions of some steps (0-based positions) extended in every adjoint."""
    steps = {name: Steps([dataclasses.replace(s, caption=s.caption + captions.get(i, ""))
                          for i, s in enumerate(seq)]) for name, seq in der.steps.items()}
    return dataclasses.replace(der, steps=steps)


def relu_derivation() -> Derivation:
    """``y_i = max(x_i, 0)`` entrywise (one flat index ``i < I``, any shape): ``x_bar_i = y_bar_i [x_i > 0]``.

    SymPy differentiates ``max`` into the step function, written here as the bracket ``[x_i > 0]``.
    At ``x_i = 0`` the maximum has no derivative (its one-sided slopes are 0 and 1); the bracket
    takes 0 there, which is the choice :class:`convgrad.nn.ReLU` makes.
    """
    i, m = _int("i m")
    I = _size("I")  # noqa: N806
    x, y, ybar, xdot, ydot = _bases("x", "y", r"\bar{y}", r"\dot{x}", r"\dot{y}")
    der = derive(output=y[i], forward=sp.Max(x[i], 0), tangents={x: xdot}, output_dot=ydot,
                 cotangent=ybar, ranges=[(i, 0, I - 1)], reads={"x": Read(x[m], {m: (0, I - 1)})},
                 symbols=dict(i=i, m=m, I=I, x=x, y=y, ybar=ybar, xdot=xdot, ydot=ydot),
                 shapes={x: (I,), y: (I,)})

    def bracket(e: sp.Basic) -> sp.Basic:
        return e.replace(sp.Heaviside, lambda a, *_: Iverson(sp.StrictGreaterThan(a, 0)))

    steps = {name: Steps([dataclasses.replace(s, rhs=bracket(s.rhs)) for s in seq])
             for name, seq in der.steps.items()}
    der = dataclasses.replace(
        der, tangent=sp.Eq(der.tangent.lhs, bracket(der.tangent.rhs)),
        pairing_tangent=bracket(der.pairing_tangent), steps=steps,
        adjoints={k: sp.Eq(v.lhs, bracket(v.rhs)) for k, v in der.adjoints.items()})
    return _with_captions(der, {1: r"; the derivative of $\max(x_i, 0)$, a step, is the bracket $[x_i > 0]$"})


def maxpool_derivation() -> Derivation:
    """Max-pooling over windows ``o < O`` of an input of ``M`` cells (one channel of one image,
    flattened): ``y_o = x_{a(o)}``, ``a(o)`` the cell holding window ``o``'s maximum.

    Where each maximum is unique a small enough tangent does not move it, so ``a(o)`` is constant
    and the layer is, locally, linear in ``x``: ``y_dot_o = x_dot_{a(o)}``. The read-off is
    ``x_bar_m = sum_o y_bar_o delta(m, a(o))``: each output gradient is routed to the cell that was
    its window's maximum, and a cell that was no window's maximum gets 0. (Where two cells of a
    window tie, the maximum has no derivative; any split of ``y_bar_o`` among the tied cells is a
    subgradient, and :class:`convgrad.nn.MaxPool2d` sends all of it to the first.)
    """
    o, m = _int("o m")
    O, M = _size("O M")  # noqa: N806
    x, y, ybar, xdot, ydot = _bases("x", "y", r"\bar{y}", r"\dot{x}", r"\dot{y}")
    a = sp.Function("a")
    der = derive(output=y[o], forward=x[a(o)], tangents={x: xdot}, output_dot=ydot, cotangent=ybar,
                 ranges=[(o, 0, O - 1)], reads={"x": Read(x[m], {m: (0, M - 1)})},
                 symbols=dict(o=o, m=m, O=O, M=M, x=x, y=y, ybar=ybar, xdot=xdot, ydot=ydot, a=a),
                 shapes={x: (M,), y: (O,)})
    return _with_captions(der, {0: r", where $a(o)$ is the cell holding the maximum of window $o$",
                                1: r" ($a(o)$ does not move when the maximum is unique)"})


def dense_derivation() -> Derivation:
    """A dense layer in :class:`convgrad.nn.Dense`'s layout: ``y[n, j] = sum_i x[n, i] W[i, j] + b[j]``.

    ``x (N, I)``, ``W (I, J)``, ``b (J,)``, ``y (N, J)``. The adjoints come out as
    ``x_bar[n, i] = sum_j W[i, j] y_bar[n, j]`` (``y_bar W^T``), ``W_bar[i, j] = sum_n x[n, i]
    y_bar[n, j]`` (``x^T y_bar``, summed over the batch) and ``b_bar[j] = sum_n y_bar[n, j]``.
    """
    n, i, j = _int("n i j")
    N, I, J = _size("N I J")  # noqa: N806
    x, W, b, y, ybar = _bases("x", "W", "b", "y", r"\bar{y}")  # noqa: N806
    xdot, Wdot, bdot, ydot = _bases(r"\dot{x}", r"\dot{W}", r"\dot{b}", r"\dot{y}")  # noqa: N806
    return derive(
        output=y[n, j], forward=sp.Sum(x[n, i] * W[i, j], (i, 0, I - 1)) + b[j],
        tangents={x: xdot, W: Wdot, b: bdot}, output_dot=ydot, cotangent=ybar,
        ranges=[(n, 0, N - 1), (j, 0, J - 1)],
        reads={"x": Read(x[n, i], {n: (0, N - 1), i: (0, I - 1)}),
               "W": Read(W[i, j], {i: (0, I - 1), j: (0, J - 1)}),
               "b": Read(b[j], {j: (0, J - 1)})},
        symbols=dict(n=n, i=i, j=j, N=N, I=I, J=J, x=x, W=W, b=b, y=y, ybar=ybar),
        shapes={x: (N, I), W: (I, J), b: (J,), y: (N, J)},
    )


def softmax_cross_entropy_derivation() -> Derivation:
    """Softmax cross-entropy, **mean over the batch**, of logits ``z (N, J)`` and labels ``t (N,)``.

    ``L = (1/N) sum_n (log sum_q exp z[n, q] - z[n, t_n])``. The adjoint comes out as
    ``z_bar[n, j] = L_bar exp z[n, j] / (N sum_q exp z[n, q]) - L_bar delta(j, t_n) / N``, that is
    ``L_bar (softmax(z_n)_j - [j = t_n]) / N``; the ``1/N`` is the mean's.
    """
    n, j, q = _int("n j q")
    N, J = _size("N J")  # noqa: N806
    z, zdot, t = _bases("z", r"\dot{z}", "t")
    L, Lbar, Ldot = sp.Symbol("L"), sp.Symbol(r"\bar{L}"), sp.Symbol(r"\dot{L}")  # noqa: N806
    forward = sp.Sum(sp.log(sp.Sum(sp.exp(z[n, q]), (q, 0, J - 1))) - z[n, t[n]], (n, 0, N - 1)) / N
    return derive(output=L, forward=forward, tangents={z: zdot}, output_dot=Ldot, cotangent=Lbar,
                  ranges=[], reads={"z": Read(z[n, j], {n: (0, N - 1), j: (0, J - 1)})},
                  symbols=dict(n=n, j=j, q=q, N=N, J=J, z=z, t=t, L=L, Lbar=Lbar),
                  shapes={z: (N, J), t: (N,)})
