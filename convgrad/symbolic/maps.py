"""Derivations of the basic maps: matrix-vector, quadratic form, 1-D convolution and correlation,
channels and batch, and the seed's NHWC layer, for general sizes.

Each function writes a forward map as an index expression and carries out
:func:`convgrad.symbolic.readoff.derive`: tangent, pairing, and every adjoint read off it, with
the steps. The sizes are positive integer symbols; nothing else is assumed about them.

* :func:`matvec_derivation`: ``y_i = sum_j W_ij x_j`` (``x_bar = W^T y_bar``, ``W_bar = y_bar x^T``);
* :func:`quadratic_form_derivation`: ``q = sum_{i,j} x_i W_ij x_j`` (the same variable in both
  slots of a bilinear map: the two adjoints add);
* :func:`convolution1d_derivation`: a *true* convolution ``z_n = sum_j a_j x_{n-j}`` (its adjoint
  in ``x`` is a correlation with the same ``a``);
* :func:`conv1d_derivation`: the layer's correlation ``z_n = sum_k c_k x_{n+k}`` (adjoints: a full
  convolution and a valid correlation);
* :func:`conv_multichannel_derivation`: batch, input channels and kernels,
  ``y[n,f,o] = sum_{c,k} w[f,c,k] x[n,c,o+k]``;
* :func:`conv2d_nhwc_derivation`: the layer of the book's seed question in its own layout,
  ``Z[n,a,b,f] = B[f] + sum_{i,j,c} K[f,i,j,c] X[n,a+i,b+j,c]``, with all three adjoints.

Needs SymPy.
"""

from __future__ import annotations

import sympy as sp

from .readoff import Derivation, Read, derive

__all__ = [
    "conv1d_derivation",
    "conv2d_nhwc_derivation",
    "conv_multichannel_derivation",
    "convolution1d_derivation",
    "matvec_derivation",
    "quadratic_form_derivation",
]


def _int(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, integer=True)


def _size(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, integer=True, positive=True)


def _bases(*names: str) -> tuple[sp.IndexedBase, ...]:
    return tuple(sp.IndexedBase(name) for name in names)


def matvec_derivation() -> Derivation:
    """``y_i = sum_j W_ij x_j`` for ``i < I``, ``j < J``: tangent and both adjoints.

    The adjoints come out as ``x_bar_j = sum_i y_bar_i W_ij`` (``W^T y_bar``, shape ``(J,)``) and
    ``W_bar_ij = y_bar_i x_j`` (the outer product ``y_bar x^T``, shape ``(I, J)``).
    """
    i, j = _int("i j")
    I, J = _size("I J")  # noqa: E741
    W, x, y, ybar = _bases("W", "x", "y", r"\bar{y}")
    Wdot, xdot, ydot = _bases(r"\dot{W}", r"\dot{x}", r"\dot{y}")
    return derive(
        output=y[i], forward=sp.Sum(W[i, j] * x[j], (j, 0, J - 1)), tangents={W: Wdot, x: xdot},
        output_dot=ydot, cotangent=ybar, ranges=[(i, 0, I - 1)],
        reads={"x": Read(x[j], {j: (0, J - 1)}), "W": Read(W[i, j], {i: (0, I - 1), j: (0, J - 1)})},
        symbols=dict(i=i, j=j, I=I, J=J, W=W, x=x, y=y, ybar=ybar, Wdot=Wdot, xdot=xdot, ydot=ydot),
        shapes={W: (I, J), x: (J,), y: (I,)},
    )


def quadratic_form_derivation() -> Derivation:
    """``q = sum_{i,j} x_i W_ij x_j`` (``i, j < I``): the bilinear ``B(u, v) = u^T W v`` at ``u = v = x``.

    The adjoint comes out as two sums, one from each slot of ``B``:
    ``x_bar_m = q_bar (sum_i x_i W_im + sum_j W_mj x_j) = q_bar ((W^T + W) x)_m``.
    """
    i, j, m = _int("i j m")
    I = _size("I")  # noqa: E741
    W, x, xdot = _bases("W", "x", r"\dot{x}")
    q, qbar, qdot = sp.Symbol("q"), sp.Symbol(r"\bar{q}"), sp.Symbol(r"\dot{q}")
    return derive(
        output=q, forward=sp.Sum(x[i] * W[i, j] * x[j], (i, 0, I - 1), (j, 0, I - 1)),
        tangents={x: xdot}, output_dot=qdot, cotangent=qbar, ranges=[],
        reads={"x": Read(x[m], {m: (0, I - 1)})},
        symbols=dict(i=i, j=j, m=m, I=I, W=W, x=x, xdot=xdot, q=q, qbar=qbar, qdot=qdot),
        shapes={W: (I, I), x: (I,)},
    )


def convolution1d_derivation() -> Derivation:
    """A true convolution, valid part: ``z_n = sum_j a_j x_{n-j}`` for ``K-1 <= n <= N+K-2``.

    ``x`` lives on ``0 <= m <= M-1`` with ``M = N + K - 1``, ``a`` on ``0 <= j <= K-1``, and ``z``
    keeps the ``N`` outputs whose window lies inside ``x`` (NumPy's ``np.convolve(x, a, "valid")``,
    indexed as in the full convolution, so ``z`` and ``z_bar`` have ``M`` entries of which the
    first ``K - 1`` are not used). The adjoint in ``x`` comes out as
    ``x_bar_m = sum_n z_bar_n a_{n-m} [0 <= n-m <= K-1]``: a correlation with the same ``a``, no
    flip (``np.correlate(z_bar, a, "full")``).
    """
    n, j, m = _int("n j m")
    N, K = _size("N K")
    x, a, z, zbar = _bases("x", "a", "z", r"\bar{z}")
    xdot, adot, zdot = _bases(r"\dot{x}", r"\dot{a}", r"\dot{z}")
    M = N + K - 1
    return derive(
        output=z[n], forward=sp.Sum(a[j] * x[n - j], (j, 0, K - 1)), tangents={x: xdot, a: adot},
        output_dot=zdot, cotangent=zbar, ranges=[(n, K - 1, M - 1)],
        reads={"x": Read(x[m], {m: (0, M - 1)}, eliminate=[j]), "a": Read(a[j], {j: (0, K - 1)})},
        symbols=dict(n=n, j=j, m=m, N=N, K=K, M=M, x=x, a=a, z=z, zbar=zbar, xdot=xdot, adot=adot,
                     zdot=zdot),
        shapes={x: (M,), a: (K,), z: (M,)},
    )


def conv1d_derivation() -> Derivation:
    """``z_n = sum_k c_k x_{n+k}`` for ``n < N``, ``k < K``, ``m < M = N + K - 1``: tangent and adjoints.

    The adjoints come out as ``x_bar_m = sum_n z_bar_n c_{m-n} [0 <= m-n <= K-1]`` (a full
    convolution) and ``c_bar_k = sum_n z_bar_n x_{n+k}`` (a valid correlation).
    """
    n, k, m = _int("n k m")
    N, K = _size("N K")
    x, c, z, zbar = _bases("x", "c", "z", r"\bar{z}")
    xdot, cdot, zdot = _bases(r"\dot{x}", r"\dot{c}", r"\dot{z}")
    M = N + K - 1
    return derive(
        output=z[n], forward=sp.Sum(c[k] * x[n + k], (k, 0, K - 1)), tangents={x: xdot, c: cdot},
        output_dot=zdot, cotangent=zbar, ranges=[(n, 0, N - 1)],
        reads={"x": Read(x[m], {m: (0, M - 1)}, eliminate=[k]), "c": Read(c[k], {k: (0, K - 1)})},
        symbols=dict(n=n, k=k, m=m, N=N, K=K, M=M, x=x, c=c, z=z, zbar=zbar, xdot=xdot, cdot=cdot,
                     zdot=zdot),
        shapes={x: (M,), c: (K,), z: (N,)},
    )


def conv_multichannel_derivation() -> Derivation:
    """``y[n,f,o] = sum_{c,k} w[f,c,k] x[n,c,o+k]`` with batch ``n``, channels ``c``, kernels ``f``.

    The adjoints come out as ``x_bar[n,c,m] = sum_{f,o} y_bar[n,f,o] w[f,c,m-o] [0 <= m-o <= K-1]``
    and ``w_bar[f,c,k] = sum_{n,o} y_bar[n,f,o] x[n,c,o+k]``: one full convolution per (kernel,
    input channel) pair summed over kernels, and one valid correlation per pair summed over the
    batch. Shapes: ``x (N, C, M)``, ``w (F, C, K)``, ``y (N, F, O)`` with ``M = O + K - 1``.
    """
    n, c, f, o, k, m = _int("n c f o k m")
    N, C, F, O, K = _size("N C F O K")  # noqa: E741
    x, w, y, ybar = _bases("x", "w", "y", r"\bar{y}")
    xdot, wdot, ydot = _bases(r"\dot{x}", r"\dot{w}", r"\dot{y}")
    M = O + K - 1
    return derive(
        output=y[n, f, o], forward=sp.Sum(w[f, c, k] * x[n, c, o + k], (c, 0, C - 1), (k, 0, K - 1)),
        tangents={x: xdot, w: wdot}, output_dot=ydot, cotangent=ybar,
        ranges=[(n, 0, N - 1), (f, 0, F - 1), (o, 0, O - 1)],
        reads={"x": Read(x[n, c, m], {n: (0, N - 1), c: (0, C - 1), m: (0, M - 1)}, eliminate=[k]),
               "w": Read(w[f, c, k], {f: (0, F - 1), c: (0, C - 1), k: (0, K - 1)})},
        symbols=dict(n=n, c=c, f=f, o=o, k=k, m=m, N=N, C=C, F=F, O=O, K=K, M=M, x=x, w=w, y=y,
                     ybar=ybar, xdot=xdot, wdot=wdot, ydot=ydot),
        shapes={x: (N, C, M), w: (F, C, K), y: (N, F, O)},
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
    X, K, B, Z, Zbar = _bases("X", "K", "B", "Z", r"\bar{Z}")
    Xdot, Kdot, Bdot, Zdot = _bases(r"\dot{X}", r"\dot{K}", r"\dot{B}", r"\dot{Z}")
    forward = B[f] + sp.Sum(K[f, i, j, c] * X[n, a + i, b + j, c], (i, 0, Kh - 1), (j, 0, Kw - 1),
                            (c, 0, C - 1))
    return derive(
        output=Z[n, a, b, f], forward=forward, tangents={X: Xdot, K: Kdot, B: Bdot}, output_dot=Zdot,
        cotangent=Zbar, ranges=[(n, 0, N - 1), (a, 0, Ho - 1), (b, 0, Wo - 1), (f, 0, F - 1)],
        reads={"X": Read(X[n, p, q, c], {n: (0, N - 1), c: (0, C - 1), p: (0, Ho + Kh - 2),
                                         q: (0, Wo + Kw - 2)}, eliminate=[i, j]),
               "K": Read(K[f, i, j, c], {f: (0, F - 1), i: (0, Kh - 1), j: (0, Kw - 1), c: (0, C - 1)}),
               "B": Read(B[f], {f: (0, F - 1)})},
        symbols=dict(n=n, a=a, b=b, f=f, i=i, j=j, c=c, p=p, q=q, N=N, C=C, F=F, K_h=Kh, K_w=Kw,
                     H_o=Ho, W_o=Wo, X=X, K=K, B=B, Z=Z, Zbar=Zbar, Xdot=Xdot, Kdot=Kdot, Bdot=Bdot,
                     Zdot=Zdot),
        shapes={X: (N, Ho + Kh - 1, Wo + Kw - 1, C), K: (F, Kh, Kw, C), B: (F,), Z: (N, Ho, Wo, F)},
    )
