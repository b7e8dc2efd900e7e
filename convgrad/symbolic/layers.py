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
* :func:`cross_entropy_derivation`: one sample's ``l = log sum_q e^{z_q} - z_t`` gives
  ``z_bar_j = l_bar (softmax(z)_j - [j = t])``;
* :func:`batch_mean_derivation`: the mean over the batch ``L = (1/N) sum_n l_n`` gives
  ``l_bar_n = L_bar / N``; together, ``z_bar[n, j] = L_bar (softmax(z_n)_j - [j = t_n]) / N``,
  the gradient of :class:`convgrad.nn.SoftmaxCrossEntropy`.

Needs SymPy.
"""

from __future__ import annotations

import dataclasses

import sympy as sp
from sympy.tensor.indexed import Indexed

from .brackets import Iverson
from .readoff import Derivation, Read, derive
from .steps import Steps

__all__ = ["batch_mean_derivation", "cross_entropy_derivation", "dense_derivation",
           "maxpool_derivation", "relu_derivation"]


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


def cross_entropy_derivation() -> Derivation:
    """Softmax cross-entropy of one sample: logits ``z (J,)``, label ``t``, ``l = log sum_q e^{z_q} - z_t``.

    The adjoint comes out as ``z_bar_j = l_bar (e^{z_j} / sum_q e^{z_q} - delta(j, t))``, that is
    ``l_bar (softmax(z)_j - [j = t])``. From the tangent on, the steps write the softmax
    ``e^{z_j} / sum_q e^{z_q}`` as ``p_j`` (``symbols["p"]``); ``adjoints["z"]`` keeps it written
    out. The batch's loss is the mean of ``l`` over the samples (:func:`batch_mean_derivation`).
    """
    j, q = _int("j q")
    J = _size("J")  # noqa: N806
    t = sp.Symbol("t", integer=True, nonnegative=True)
    z, zdot, p = _bases("z", r"\dot{z}", "p")
    ell, ellbar, elldot = sp.Symbol("ℓ"), sp.Symbol(r"\bar{ℓ}"), sp.Symbol(r"\dot{ℓ}")
    forward = sp.log(sp.Sum(sp.exp(z[q]), (q, 0, J - 1))) - z[t]
    der = derive(output=ell, forward=forward, tangents={z: zdot}, output_dot=elldot, cotangent=ellbar,
                 ranges=[], reads={"z": Read(z[j], {j: (0, J - 1)})},
                 symbols=dict(j=j, q=q, J=J, t=t, z=z, p=p, ell=ell, ellbar=ellbar),
                 shapes={z: (J,)})
    steps = {name: Steps([seq[0], *(dataclasses.replace(st, rhs=_as_softmax(st.rhs, z, p))
                                    for st in seq[1:])])
             for name, seq in der.steps.items()}
    der = dataclasses.replace(der, steps=steps)
    return _with_captions(der, {0: r", for a sample with label $t$",
                                1: r"; $p_j = e^{z_j} / \sum_q e^{z_q}$ is the softmax"})


def batch_mean_derivation() -> Derivation:
    """The mean over the batch, ``L = (1/N) sum_n l_n``: ``l_bar_n = L_bar / N`` for every sample.

    The loss of a batch as :class:`convgrad.nn.SoftmaxCrossEntropy` computes it: every sample's
    gradient is divided by ``N`` (a sum over the batch would give ``l_bar_n = L_bar``).
    """
    n, m = _int("n m")
    N = _size("N")  # noqa: N806
    ell, elldot = _bases("ℓ", r"\dot{ℓ}")
    L, Lbar, Ldot = sp.Symbol("L"), sp.Symbol(r"\bar{L}"), sp.Symbol(r"\dot{L}")  # noqa: N806
    return derive(output=L, forward=sp.Sum(ell[n], (n, 0, N - 1)) / N, tangents={ell: elldot},
                  output_dot=Ldot, cotangent=Lbar, ranges=[],
                  reads={"ell": Read(ell[m], {m: (0, N - 1)})},
                  symbols=dict(n=n, m=m, N=N, ell=ell, L=L, Lbar=Lbar), shapes={ell: (N,)})


def _as_softmax(expr: sp.Expr, z: sp.IndexedBase, p: sp.IndexedBase) -> sp.Expr:
    """``expr`` with every ``e^{z_b} / sum_q e^{z_q}`` written ``p_b`` (the softmax of ``z``)."""
    norm = sp.Symbol("D")   # a placeholder for the normaliser sum_q e^{z_q}

    def is_normaliser(e: sp.Basic) -> bool:
        if not (isinstance(e, sp.Sum) and len(e.limits) == 1 and isinstance(e.function, sp.exp)):
            return False
        arg = e.function.args[0]
        return isinstance(arg, Indexed) and arg.base == z and arg.indices == (e.limits[0][0],)

    def is_exp_z(e: sp.Basic) -> bool:
        return isinstance(e, sp.exp) and isinstance(e.args[0], Indexed) and e.args[0].base == z

    def pull_norm(e: sp.Basic) -> sp.Basic:      # D out of a sum (it does not depend on q)
        if isinstance(e, sp.Sum) and norm in sp.Mul.make_args(e.function):
            return norm * sp.Sum(e.function / norm, *e.limits)
        return e

    out = expr.replace(is_normaliser, lambda e: norm)
    out = out.replace(is_exp_z, lambda e: p[e.args[0].indices] * norm)
    out = out.replace(lambda e: isinstance(e, sp.Sum), pull_norm)
    if out.has(norm):
        raise ValueError(f"a softmax normaliser is left in {out}")
    return out
