"""General-size derivations of Part I of the book, beyond the two in :mod:`.derivations`.

Each function writes a forward map as an index expression, linearises it, forms the pairing
``<y_bar, y>`` and reads every adjoint off it with :func:`convgrad.symbolic.adjoint_from_pairing`.
Nothing is assumed about the sizes: they are positive integer symbols.

* :func:`matvec_derivation`: ``y_i = sum_j W_ij x_j`` (the warm-up: ``x_bar = W^T y_bar``,
  ``W_bar = y_bar x^T``).
* :func:`quadratic_form_derivation`: ``q = sum_{i,j} x_i W_ij x_j`` (a bilinear map with the same
  variable in both slots: the two adjoints add).
* :func:`convolution1d_derivation`: a *true* convolution ``z_n = sum_j a_j x_{n-j}`` (its adjoint
  in ``x`` is a correlation with the same ``a``).
* :func:`conv2d_nhwc_derivation`: the layer of the book's seed question in its own layout,
  ``Z[n,a,b,f] = B[f] + sum_{i,j,c} K[f,i,j,c] X[n,a+i,b+j,c]``, with all three adjoints.
"""

from __future__ import annotations

import sympy as sp

from .derivations import Derivation
from .toolkit import adjoint_from_pairing, linearise


def _int(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, integer=True)


def _size(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, integer=True, positive=True)


def matvec_derivation() -> Derivation:
    """``y_i = sum_j W_ij x_j`` for ``i < I``, ``j < J``: tangent and both adjoints.

    The adjoints come out as ``x_bar_j = sum_i y_bar_i W_ij`` (``W^T y_bar``, shape ``(J,)``) and
    ``W_bar_ij = y_bar_i x_j`` (the outer product ``y_bar x^T``, shape ``(I, J)``).
    """
    i, j = _int("i j")
    I, J = _size("I J")  # noqa: E741
    W, x, y = sp.IndexedBase("W"), sp.IndexedBase("x"), sp.IndexedBase("y")
    ybar = sp.IndexedBase(r"\bar{y}")
    Wdot, xdot, ydot = sp.IndexedBase(r"\dot{W}"), sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{y}")
    forward = sp.Sum(W[i, j] * x[j], (j, 0, J - 1))
    tangent = linearise(forward, {W: Wdot, x: xdot})
    pair = sp.Sum(ybar[i] * forward, (i, 0, I - 1))
    xbar = adjoint_from_pairing(pair, x[j], known={j: (0, J - 1)})
    Wbar = adjoint_from_pairing(pair, W[i, j], known={i: (0, I - 1), j: (0, J - 1)})
    return Derivation(
        symbols=dict(i=i, j=j, I=I, J=J, W=W, x=x, y=y, ybar=ybar, Wdot=Wdot, xdot=xdot, ydot=ydot),
        forward=sp.Eq(y[i], forward),
        tangent=sp.Eq(ydot[i], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[j], xbar),
                  "W": sp.Eq(sp.IndexedBase(r"\bar{W}")[i, j], Wbar)},
    )


def quadratic_form_derivation() -> Derivation:
    """``q = sum_{i,j} x_i W_ij x_j`` (``i, j < I``): the bilinear ``B(u, v) = u^T W v`` at ``u = v = x``.

    The adjoint comes out as two sums, one from each slot of ``B``:
    ``x_bar_m = q_bar (sum_i x_i W_im + sum_j W_mj x_j) = q_bar ((W^T + W) x)_m``.
    """
    i, j, m = _int("i j m")
    I = _size("I")  # noqa: E741
    W, x = sp.IndexedBase("W"), sp.IndexedBase("x")
    xdot = sp.IndexedBase(r"\dot{x}")
    q, qbar, qdot = sp.Symbol("q"), sp.Symbol(r"\bar{q}"), sp.Symbol(r"\dot{q}")
    forward = sp.Sum(x[i] * W[i, j] * x[j], (i, 0, I - 1), (j, 0, I - 1))
    tangent = linearise(forward, {x: xdot})
    pair = qbar * forward
    xbar = adjoint_from_pairing(pair, x[m], known={m: (0, I - 1)})
    return Derivation(
        symbols=dict(i=i, j=j, m=m, I=I, W=W, x=x, xdot=xdot, q=q, qbar=qbar, qdot=qdot),
        forward=sp.Eq(q, forward),
        tangent=sp.Eq(qdot, tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[m], xbar)},
    )


def convolution1d_derivation() -> Derivation:
    """A true convolution, valid part: ``z_n = sum_j a_j x_{n-j}`` for ``K-1 <= n <= N+K-2``.

    ``x`` lives on ``0 <= m <= M-1`` with ``M = N + K - 1``, ``a`` on ``0 <= j <= K-1``, and ``z``
    keeps the ``N`` outputs whose window lies inside ``x`` (NumPy's ``np.convolve(x, a, "valid")``,
    indexed as in the full convolution). The adjoint in ``x`` comes out as
    ``x_bar_m = sum_n z_bar_n a_{n-m} [0 <= n-m <= K-1]``: a correlation with the same ``a``, no
    flip (``np.correlate(z_bar, a, "full")``).
    """
    n, j, m = _int("n j m")
    N, K = _size("N K")
    x, a, z = sp.IndexedBase("x"), sp.IndexedBase("a"), sp.IndexedBase("z")
    zbar = sp.IndexedBase(r"\bar{z}")
    xdot, adot, zdot = sp.IndexedBase(r"\dot{x}"), sp.IndexedBase(r"\dot{a}"), sp.IndexedBase(r"\dot{z}")
    M = N + K - 1
    forward = sp.Sum(a[j] * x[n - j], (j, 0, K - 1))
    tangent = linearise(forward, {x: xdot, a: adot})
    pair = sp.Sum(zbar[n] * forward, (n, K - 1, M - 1))
    xbar = adjoint_from_pairing(pair, x[m], eliminate=[j], known={m: (0, M - 1)})
    abar = adjoint_from_pairing(pair, a[j], known={j: (0, K - 1)})
    return Derivation(
        symbols=dict(n=n, j=j, m=m, N=N, K=K, M=M, x=x, a=a, z=z, zbar=zbar, xdot=xdot, adot=adot,
                     zdot=zdot),
        forward=sp.Eq(z[n], forward),
        tangent=sp.Eq(zdot[n], tangent),
        pairing=pair,
        adjoints={"x": sp.Eq(sp.IndexedBase(r"\bar{x}")[m], xbar),
                  "a": sp.Eq(sp.IndexedBase(r"\bar{a}")[j], abar)},
    )


def conv2d_nhwc_derivation() -> Derivation:
    """The seed's layer: ``Z[n,a,b,f] = B[f] + sum_{i,j,c} K[f,i,j,c] X[n,a+i,b+j,c]`` (NHWC).

    Batch ``n < N``, output rows ``a < H_o`` and columns ``b < W_o``, kernels ``f < F``, kernel
    offsets ``i < K_h``, ``j < K_w``, input channels ``c < C``; the input is
    ``(N, H_o + K_h - 1, W_o + K_w - 1, C)`` and the kernels ``(F, K_h, K_w, C)``, as in the
    question. The adjoints come out as

    * ``K_bar[f,i,j,c] = sum_{n,a,b} Z_bar[n,a,b,f] X[n,a+i,b+j,c]``,
    * ``X_bar[n,p,q,c] = sum_{a,b,f} Z_bar[n,a,b,f] K[f,p-a,q-b,c] [0 <= p-a <= K_h-1] [0 <= q-b <= K_w-1]``,
    * ``B_bar[f] = sum_{n,a,b} Z_bar[n,a,b,f]``.
    """
    n, a, b, f, i, j, c, p, q = _int("n a b f i j c p q")
    N, C, F, Kh, Kw, Ho, Wo = sp.symbols("N C F K_h K_w H_o W_o", integer=True, positive=True)
    X, K, B, Z = sp.IndexedBase("X"), sp.IndexedBase("K"), sp.IndexedBase("B"), sp.IndexedBase("Z")
    Zbar = sp.IndexedBase(r"\bar{Z}")
    Xdot, Kdot, Bdot = sp.IndexedBase(r"\dot{X}"), sp.IndexedBase(r"\dot{K}"), sp.IndexedBase(r"\dot{B}")
    Zdot = sp.IndexedBase(r"\dot{Z}")
    forward = B[f] + sp.Sum(K[f, i, j, c] * X[n, a + i, b + j, c], (i, 0, Kh - 1), (j, 0, Kw - 1),
                            (c, 0, C - 1))
    tangent = linearise(forward, {X: Xdot, K: Kdot, B: Bdot})
    pair = sp.Sum(Zbar[n, a, b, f] * forward, (n, 0, N - 1), (a, 0, Ho - 1), (b, 0, Wo - 1), (f, 0, F - 1))
    Kbar = adjoint_from_pairing(pair, K[f, i, j, c],
                                known={f: (0, F - 1), i: (0, Kh - 1), j: (0, Kw - 1), c: (0, C - 1)})
    Xbar = adjoint_from_pairing(pair, X[n, p, q, c], eliminate=[i, j],
                                known={n: (0, N - 1), c: (0, C - 1), p: (0, Ho + Kh - 2),
                                       q: (0, Wo + Kw - 2)})
    Bbar = adjoint_from_pairing(pair, B[f], known={f: (0, F - 1)})
    return Derivation(
        symbols=dict(n=n, a=a, b=b, f=f, i=i, j=j, c=c, p=p, q=q, N=N, C=C, F=F, K_h=Kh, K_w=Kw,
                     H_o=Ho, W_o=Wo, X=X, K=K, B=B, Z=Z, Zbar=Zbar, Xdot=Xdot, Kdot=Kdot, Bdot=Bdot,
                     Zdot=Zdot),
        forward=sp.Eq(Z[n, a, b, f], forward),
        tangent=sp.Eq(Zdot[n, a, b, f], tangent),
        pairing=pair,
        adjoints={"X": sp.Eq(sp.IndexedBase(r"\bar{X}")[n, p, q, c], Xbar),
                  "K": sp.Eq(sp.IndexedBase(r"\bar{K}")[f, i, j, c], Kbar),
                  "B": sp.Eq(sp.IndexedBase(r"\bar{B}")[f], Bbar)},
    )
