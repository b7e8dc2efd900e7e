"""The derivations the book builds on, carried out with :mod:`convgrad.symbolic.toolkit`."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .toolkit import adjoint_from_pairing, linearise


@dataclass
class Derivation:
    """The symbols, the forward map, its tangent, the pairing and the adjoints of one derivation."""

    symbols: dict[str, sp.Basic]
    forward: sp.Eq
    tangent: sp.Eq
    pairing: sp.Expr
    adjoints: dict[str, sp.Eq]


def conv1d_derivation() -> Derivation:
    """``z_n = sum_k c_k x_{n+k}`` for ``n < N``, ``k < K``, ``m < M = N + K - 1``: tangent and adjoints.

    The adjoints come out as ``x_bar_m = sum_n z_bar_n c_{m-n} [0 <= m-n <= K-1]`` (a full
    convolution) and ``c_bar_k = sum_n z_bar_n x_{n+k}`` (a valid correlation).
    """
    n, k, m = sp.symbols("n k m", integer=True)
    N, K = sp.symbols("N K", integer=True, positive=True)
    x, c, zbar = sp.IndexedBase("x"), sp.IndexedBase("c"), sp.IndexedBase(r"\bar{z}")
    z = sp.IndexedBase("z")
    xdot, cdot, zdot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{c}"), sp.IndexedBase(r"\dot{z}")
    forward = sp.Sum(c[k] * x[n + k], (k, 0, K - 1))
    tangent = linearise(forward, {x: xdot, c: cdot})
    pair = sp.Sum(zbar[n] * forward, (n, 0, N - 1))
    M = N + K - 1
    xbar = adjoint_from_pairing(pair, x[m], eliminate=[k], known={m: (0, M - 1)})
    cbar = adjoint_from_pairing(pair, c[k], known={k: (0, K - 1)})
    return Derivation(
        symbols=dict(n=n, k=k, m=m, N=N, K=K, M=M, x=x, c=c, z=z, zbar=zbar, xdot=xdot,
                     cdot=cdot, zdot=zdot),
        forward=sp.Eq(z[n], forward),
        tangent=sp.Eq(zdot[n], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[m], xbar),
                  "c": sp.Eq(sp.IndexedBase(r"\bar{c}")[k], cbar)},
    )


def conv_multichannel_derivation() -> Derivation:
    """``y[n,f,o] = sum_{c,k} w[f,c,k] x[n,c,o+k]`` with batch ``n``, channels ``c``, kernels ``f``.

    The adjoints come out as ``x_bar[n,c,m] = sum_{f,o} y_bar[n,f,o] w[f,c,m-o] [0 <= m-o <= K-1]``
    and ``w_bar[f,c,k] = sum_{n,o} y_bar[n,f,o] x[n,c,o+k]``: one full convolution per (kernel,
    input channel) pair summed over kernels, and one valid correlation per pair summed over the
    batch.
    """
    n, c, f, o, k, m = sp.symbols("n c f o k m", integer=True)
    N, C, F, O, K = sp.symbols("N C F O K", integer=True, positive=True)  # noqa: E741
    x, w, y = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("y")
    ybar = sp.IndexedBase(r"\bar{y}")
    xdot, wdot, ydot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{w}"), sp.IndexedBase(r"\dot{y}")
    forward = sp.Sum(w[f, c, k] * x[n, c, o + k], (c, 0, C - 1), (k, 0, K - 1))
    tangent = linearise(forward, {x: xdot, w: wdot})
    pair = sp.Sum(ybar[n, f, o] * forward, (n, 0, N - 1), (f, 0, F - 1), (o, 0, O - 1))
    M = O + K - 1
    xbar = adjoint_from_pairing(pair, x[n, c, m], eliminate=[k],
                                known={n: (0, N - 1), c: (0, C - 1), m: (0, M - 1)})
    wbar = adjoint_from_pairing(pair, w[f, c, k], known={f: (0, F - 1), c: (0, C - 1), k: (0, K - 1)})
    return Derivation(
        symbols=dict(n=n, c=c, f=f, o=o, k=k, m=m, N=N, C=C, F=F, O=O, K=K, M=M, x=x, w=w, y=y,
                     ybar=ybar, xdot=xdot, wdot=wdot, ydot=ydot),
        forward=sp.Eq(y[n, f, o], forward),
        tangent=sp.Eq(ydot[n, f, o], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[n, c, m], xbar),
                  "w": sp.Eq(sp.IndexedBase(r"\bar{w}")[f, c, k], wbar)},
    )
