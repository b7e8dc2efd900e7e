"""The pairing read two ways: how the adjoints of ``y = W x`` are read off ``<y_bar, y_dot>``.

:func:`draw_pairing_readoff` expands the pairing of the matrix-vector product with SymPy and lays
its terms out on the ``I x J`` grid of ``W``, one panel per tangent:

* left, the terms ``y_bar_i W_ij x_dot_j``: summed along row ``i`` they give
  ``y_bar_i (W x_dot)_i``, the forward way ``<y_bar, W x_dot>``; summed down column ``j`` they give
  ``(W^T y_bar)_j x_dot_j``, so the coefficient of ``x_dot_j`` is ``x_bar_j = (W^T y_bar)_j``;
* right, the terms ``y_bar_i x_j W_dot_ij``: each tangent entry ``W_dot_ij`` stands in exactly one
  term, so ``W_bar_ij = y_bar_i x_j``, the outer product ``y_bar x^T``.

Needs SymPy and Matplotlib.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from matplotlib.patches import Rectangle

from convgrad.symbolic import linearise_arrays, pairing, symbol_array

__all__ = ["draw_pairing_readoff", "pairing_terms"]

#: one light colour per column (the tangent entry x_dot_j), Okabe-Ito tints
_COLUMN_TINTS = ("#CFE3F2", "#F9E3B8", "#C7EBDD", "#F1DCE8", "#D9EEFA", "#F6D2BE")
_W_TINT = "#EEEEEE"


def pairing_terms(rows: int = 2, cols: int = 3) -> dict[str, np.ndarray]:
    """The expanded pairing ``<y_bar, y_dot>`` of ``y = W x``, its terms placed on ``W``'s grid.

    Parameters
    ----------
    rows, cols : the shape ``(I, J)`` of ``W``

    Returns
    -------
    dict of object arrays
        ``"W", "x", "ybar", "xdot", "Wdot"``: the symbol arrays, shapes ``(I, J)``, ``(J,)``,
        ``(I,)``, ``(J,)``, ``(I, J)``;
        ``"terms_x"``, ``"terms_W"``: ``(I, J)``, the term of the pairing that contains ``y_bar_i``
        and ``x_dot_j`` (respectively ``W_dot_ij``);
        ``"xbar"`` ``(J,)`` and ``"Wbar"`` ``(I, J)``: the coefficients of ``x_dot_j`` and
        ``W_dot_ij`` in the pairing, the adjoints read off.
    """
    if not (isinstance(rows, int) and isinstance(cols, int)) or rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be positive integers, got rows={rows!r}, cols={cols!r}")
    W, x = symbol_array("W", (rows, cols)), symbol_array("x", (cols,))
    ybar = symbol_array(r"\bar{y}", (rows,))
    Wdot, xdot = symbol_array(r"\dot{W}", W.shape), symbol_array(r"\dot{x}", x.shape)
    ydot = linearise_arrays(lambda W, x: W @ x, (W, x), (Wdot, xdot))
    P = sp.expand(pairing(ybar, ydot))
    terms_x = np.zeros((rows, cols), dtype=object)
    terms_W = np.zeros((rows, cols), dtype=object)
    for term in sp.Add.make_args(P):
        (i,) = [i for i in range(rows) if term.has(ybar[i])]
        in_x = [j for j in range(cols) if term.has(xdot[j])]
        in_W = [(a, b) for a, b in np.ndindex(rows, cols) if term.has(Wdot[a, b])]
        if len(in_x) + len(in_W) != 1:
            raise AssertionError(f"the term {term} does not hold exactly one tangent entry")
        if in_x:
            terms_x[i, in_x[0]] += term
        else:
            terms_W[in_W[0]] += term
    xbar = np.array([sp.expand(sp.diff(P, d)) for d in xdot], dtype=object)
    Wbar = np.array([[sp.expand(sp.diff(P, d)) for d in row] for row in Wdot], dtype=object)
    return {"W": W, "x": x, "ybar": ybar, "xdot": xdot, "Wdot": Wdot,
            "terms_x": terms_x, "terms_W": terms_W, "xbar": xbar, "Wbar": Wbar}


def _tex(*factors) -> str:
    return "$" + r"\,".join(sp.latex(f) for f in factors) + "$"


def _grid(ax: plt.Axes, rows: int, cols: int, tints, texts, *, top, left, title, xlabel, right=0.05):
    for i, j in np.ndindex(rows, cols):
        ax.add_patch(Rectangle((j, i), 1, 1, facecolor=tints[j], edgecolor="white", linewidth=3))
        ax.text(j + 0.5, i + 0.5, texts[i][j], ha="center", va="center", fontsize=12)
    for j in range(cols):
        ax.text(j + 0.5, -0.18, top[j], ha="center", va="bottom", fontsize=12)
    for i in range(rows):
        ax.text(-0.08, i + 0.5, left[i], ha="right", va="center", fontsize=12)
    ax.set_xlim(-0.75, cols + right)
    ax.set_ylim(rows + 1.25, -0.75)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)


def draw_pairing_readoff(rows: int = 2, cols: int = 3) -> tuple[plt.Figure, dict[str, np.ndarray]]:
    """The terms of ``<y_bar, y_dot>`` for ``y = W x`` on ``W``'s grid, and the adjoints they give.

    Left panel: the terms with ``x_dot`` (cell ``(i, j)`` holds ``y_bar_i W_ij x_dot_j``, one colour
    per column); under each column its sum, ``x_bar_j x_dot_j`` with ``x_bar_j = (W^T y_bar)_j``.
    Right panel: the terms with ``W_dot``, ``y_bar_i x_j W_dot_ij``; under them
    ``W_bar = y_bar x^T``.

    Parameters
    ----------
    rows, cols : the shape ``(I, J)`` of ``W`` (small: the terms are written into the cells)

    Returns
    -------
    fig, terms : the figure and :func:`pairing_terms` ``(rows, cols)``, whose ``xbar`` equals
        ``W.T @ ybar`` and ``Wbar`` equals ``np.outer(ybar, x)``
    """
    t = pairing_terms(rows, cols)
    W, x, ybar, xdot, Wdot = t["W"], t["x"], t["ybar"], t["xdot"], t["Wdot"]
    fig, (ax_x, ax_w) = plt.subplots(1, 2, figsize=(8.4, 3.7),
                                     width_ratios=[cols + 2.1, cols + 0.8])
    tints = [_COLUMN_TINTS[j % len(_COLUMN_TINTS)] for j in range(cols)]
    _grid(ax_x, rows, cols, tints,
          [[_tex(ybar[i], W[i, j], xdot[j]) for j in range(cols)] for i in range(rows)],
          top=[_tex(xdot[j]) for j in range(cols)], left=[_tex(ybar[i]) for i in range(rows)],
          title=r"terms with $\dot x$: $\langle \bar y, W\dot x\rangle$",
          xlabel=r"rows sum to $\langle \bar y, W\dot x\rangle$, columns to "
                 r"$\langle \bar x, \dot x\rangle$: the same number", right=1.35)
    for i in range(rows):
        ax_x.text(cols + 0.08, i + 0.5, rf"$\to\ \bar y_{{{i}}}\,(W\dot x)_{{{i}}}$", ha="left",
                  va="center", fontsize=12)
    for j in range(cols):
        ax_x.add_patch(Rectangle((j + 0.06, rows + 0.25), 0.88, 0.8, facecolor=tints[j],
                                 edgecolor="0.3", linewidth=1))
        ax_x.text(j + 0.5, rows + 0.65, _tex(_xbar(j), xdot[j]), ha="center", va="center",
                  fontsize=13)
    ax_x.text(-0.08, rows + 0.65, r"$\downarrow$ sum", ha="right", va="center", fontsize=12)
    _grid(ax_w, rows, cols, [_W_TINT] * cols,
          [[_tex(ybar[i], x[j], Wdot[i, j]) for j in range(cols)] for i in range(rows)],
          top=[_tex(x[j]) for j in range(cols)], left=[_tex(ybar[i]) for i in range(rows)],
          title=r"terms with $\dot W$: $\langle \bar y, \dot W x\rangle$",
          xlabel=r"one term per $\dot W_{ij}$: its coefficient is $\bar W_{ij}$")
    ax_w.text(cols / 2, rows + 0.65,
              r"$\bar W_{ij} = \bar y_i\, x_j$, so $\bar W = \bar y\, x^{\mathsf{T}}$",
              ha="center", va="center", fontsize=13)
    fig.suptitle(r"Reading the adjoints of $y = Wx$ off $\langle \bar y, \dot y\rangle$: "
                 r"$\bar x_j = \Sigma_i\, W_{ij}\bar y_i$, so $\bar x = W^{\mathsf{T}}\bar y$",
                 fontsize=13)
    return fig, t


def _xbar(j: int) -> sp.Symbol:
    """The symbol ``x_bar_j`` as the figure writes it."""
    return sp.Symbol(rf"\bar{{x}}_{{{j}}}")
