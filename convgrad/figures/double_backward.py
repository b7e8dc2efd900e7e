"""The figure of the second-order chapter: every derivative of a convolution's backward pass is one
of the layer's three maps, with a cotangent in an operand's place.

:func:`identify_derivatives` computes it: on arrays of symbols it differentiates the three
scalars of the double backward,

* ``T(y_bar, x, w) = <y_bar, conv(x, w)>`` (whose gradients are the backward pass itself),
* ``<u, x_bar>`` with ``x_bar = conv_grad_input(y_bar, w)``,
* ``<V, w_bar>`` with ``w_bar = conv_grad_weight(y_bar, x)``,

by every entry of ``y_bar``, ``x`` and ``w``, and names the map each gradient equals, exactly,
among ``conv``, ``conv_grad_input`` and ``conv_grad_weight`` applied to any two of
``y_bar, x, w, u, V`` of the right shapes. :func:`draw_double_backward` draws the 3 x 3 grid
in the book's colours (green: output-shaped, blue: input-shaped, orange: weight-shaped).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.offsetbox import AnchoredOffsetbox, HPacker, TextArea, VPacker
from matplotlib.patches import FancyBboxPatch

from ..functional import conv, conv_grad_input, conv_grad_weight
from ..geometry import conv_output_shape
from .diagrams import INPUT, OUTPUT

__all__ = ["ROWS", "SLOTS", "draw_double_backward", "identify_derivatives", "star_form"]

#: the scalars differentiated: the backward pass's T, then the two vector-Jacobian products
ROWS = ("T", "u", "V")
#: the arguments differentiated by
SLOTS = ("ybar", "x", "w")
#: map -> the operand pairs it can take (first operand, second operand), by shape
_CANDIDATES = {
    "conv": [("x", "w"), ("x", "V"), ("u", "w"), ("u", "V")],
    "conv_grad_input": [("ybar", "w"), ("ybar", "V")],
    "conv_grad_weight": [("ybar", "x"), ("ybar", "u")],
}
_TEX = {"ybar": r"\bar{y}", "x": "x", "w": "w", "u": "u", "V": "V"}
_KERNEL = "#fdf0dc"           # diagrams' "other tap": weight-shaped
_COTANGENT = "#D55E00"        # Okabe-Ito vermillion: the cotangent in an operand's place

Term = tuple[str, str, str]   # (map, first operand, second operand)


def _symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    import sympy as sp

    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(f"{name}_{'_'.join(map(str, idx))}")
    return out


def identify_derivatives(
    x_shape: tuple[int, ...] = (1, 2, 6), w_shape: tuple[int, ...] = (2, 2, 2), **opts
) -> dict[tuple[str, str], Term | None]:
    """Differentiate the double backward's three scalars on symbols and name each gradient's map.

    Parameters
    ----------
    x_shape, w_shape : tuple of int
        The layer's input and weight shapes (any layout and rank :func:`convgrad.conv` takes).
    **opts
        The keyword options of :func:`convgrad.conv` (stride, padding, dilation, groups, layout).

    Returns
    -------
    dict
        ``{(row, slot): (map, a, b)}`` for ``row`` in :data:`ROWS` and ``slot`` in :data:`SLOTS`:
        the gradient of the row's scalar with respect to ``slot`` equals ``map(a, b)`` (with the
        output shape the slot needs), e.g. ``("u", "w"): ("conv_grad_weight", "ybar", "u")``;
        ``None`` where the gradient is identically 0 (the scalar does not depend on ``slot``).

    Raises
    ------
    AssertionError
        If some gradient is none of the candidate maps (it never is).
    """
    import sympy as sp

    y_shape = conv_output_shape(x_shape, w_shape, **opts)
    arrays = {"ybar": _symbols("ybar", y_shape), "x": _symbols("x", x_shape), "w": _symbols("w", w_shape),
              "u": _symbols("u", x_shape), "V": _symbols("V", w_shape)}
    a = arrays
    scalars = {
        "T": (a["ybar"] * conv(a["x"], a["w"], **opts)).sum(),
        "u": (a["u"] * conv_grad_input(a["ybar"], a["w"], x_shape, **opts)).sum(),
        "V": (a["V"] * conv_grad_weight(a["ybar"], a["x"], w_shape, **opts)).sum(),
    }
    maps = {
        "conv": lambda p, q: conv(p, q, **opts),
        "conv_grad_input": lambda p, q: conv_grad_input(p, q, x_shape, **opts),
        "conv_grad_weight": lambda p, q: conv_grad_weight(p, q, w_shape, **opts),
    }
    result_of = {"conv": "ybar", "conv_grad_input": "x", "conv_grad_weight": "w"}
    grid: dict[tuple[str, str], Term | None] = {}
    for row, scalar in scalars.items():
        scalar = sp.expand(scalar)
        for slot in SLOTS:
            grad = np.array([sp.diff(scalar, e) for e in arrays[slot].flat], dtype=object)
            if all(g == 0 for g in grad):
                grid[row, slot] = None
                continue
            found = [(name, p, q) for name, pairs in _CANDIDATES.items() if result_of[name] == slot
                     for p, q in pairs
                     if all(sp.expand(g - e) == 0
                            for g, e in zip(grad, maps[name](arrays[p], arrays[q]).flat))]
            if len(found) != 1:
                raise AssertionError(f"the gradient of {row} in {slot} is not one of the layer's maps "
                                     f"(matches: {found})")
            grid[row, slot] = found[0]
    return grid


def star_form(term: Term) -> tuple[str, str, str]:
    """``(left operand, operator, right operand)`` of a map in the notation's operand order.

    ``conv(x, w)`` is ``w ⋆ x`` (the kernel slides over the input), ``conv_grad_input(y_bar, w)``
    the full convolution ``y_bar ∗ w``, ``conv_grad_weight(y_bar, x)`` is ``y_bar ⋆ x``.
    """
    name, p, q = term
    if name == "conv":
        return q, r"\star", p
    if name == "conv_grad_input":
        return p, "*", q
    if name == "conv_grad_weight":
        return p, r"\star", q
    raise ValueError(f"unknown map {name!r}")


_ROW_LABELS = {
    "T": (r"first order", r"$\langle \bar{y}, y\rangle = T(\bar{y}, x, w)$"),
    "u": (r"derivative of $\bar{x}$", r"$\langle u, \bar{x}\rangle = T(\bar{y}, u, w)$"),
    "V": (r"derivative of $\bar{w}$", r"$\langle V, \bar{w}\rangle = T(\bar{y}, x, V)$"),
}
_SLOT_LABELS = {"ybar": r"gradient in $\bar{y}$", "x": r"gradient in $x$", "w": r"gradient in $w$"}
_SLOT_FILL = {"ybar": OUTPUT, "x": INPUT, "w": _KERNEL}
_NOT_DEPENDING = {"u": r"0: $\bar{x}$ has no $x$", "V": r"0: $\bar{w}$ has no $w$"}
_CALL_NAMES = {"conv": "conv", "conv_grad_input": "conv_grad_input", "conv_grad_weight": "conv_grad_weight"}


def draw_double_backward(
    grid: dict[tuple[str, str], Term | None], *, title: str
) -> plt.Figure:
    """Draw :func:`identify_derivatives`' grid: rows the scalars, columns the slot differentiated.

    Each cell shows the gradient in the notation's operand order (``w ⋆ u``) and as the package
    call (``conv(u, w)``); the cotangents ``u`` and ``V`` are drawn in vermillion. Cells of one
    column share the colour of the array shape they produce.
    """
    fig, ax = plt.subplots(figsize=(10.0, 5.0))
    ax.set_xlim(-1.12, 3.01)
    ax.set_ylim(-0.05 - len(ROWS), 0.75)
    ax.axis("off")
    width, height = 0.97, 0.86
    for j, slot in enumerate(SLOTS):
        ax.text(j + 0.5, 0.3, _SLOT_LABELS[slot], ha="center", va="center", fontsize=14)
    for i, row in enumerate(ROWS):
        y0 = -(i + 1)
        top, bottom = _ROW_LABELS[row]
        ax.text(-0.05, y0 + 0.64, top, ha="right", va="center", fontsize=13)
        ax.text(-0.05, y0 + 0.30, bottom, ha="right", va="center", fontsize=14)
        for j, slot in enumerate(SLOTS):
            term = grid[row, slot]
            x0 = j + (1 - width) / 2
            yb = y0 + (1 - height) / 2
            if term is None:
                ax.add_patch(_cell((x0, yb), width, height, facecolor="white", edgecolor="0.6",
                                   linestyle="--"))
                ax.text(j + 0.5, y0 + 0.5, _NOT_DEPENDING[row], ha="center", va="center", fontsize=13,
                        color="0.35")
                continue
            ax.add_patch(_cell((x0, yb), width, height, facecolor=_SLOT_FILL[slot], edgecolor="0.45"))
            left, op, right = star_form(term)
            pieces = [TextArea(f"${_TEX[left]}$", textprops=_operand_props(left, 22)),
                      TextArea(f"${op}$", textprops=dict(fontsize=27)),
                      TextArea(f"${_TEX[right]}$", textprops=_operand_props(right, 22))]
            name, p, q = term
            call = [TextArea(f"{_CALL_NAMES[name]}(", textprops=dict(family="monospace", fontsize=11)),
                    TextArea("dy" if p == "ybar" else p, textprops=_call_props(p)),
                    TextArea(", ", textprops=dict(family="monospace", fontsize=11)),
                    TextArea(q, textprops=_call_props(q)),
                    TextArea(")", textprops=dict(family="monospace", fontsize=11))]
            box = VPacker(children=[HPacker(children=pieces, align="center", pad=0, sep=7),
                                    HPacker(children=call, align="baseline", pad=0, sep=0)],
                          align="center", pad=0, sep=9)
            ax.add_artist(AnchoredOffsetbox(loc="center", child=box, frameon=False,
                                            bbox_to_anchor=(j + 0.5, y0 + 0.5),
                                            bbox_transform=ax.transData, pad=0, borderpad=0))
    ax.text(0.9, -len(ROWS) - 0.02,
            "vermillion: the cotangent u (shape of x) or V (shape of w) in an operand's place;\n"
            "each column is one map of the layer, whatever the stride, padding, dilation and groups",
            ha="center", va="top", fontsize=12, color="0.2")
    ax.set_title(title, fontsize=14)
    return fig


def _cell(corner: tuple[float, float], width: float, height: float, **style) -> FancyBboxPatch:
    return FancyBboxPatch(corner, width, height, boxstyle="round,pad=0,rounding_size=0.06", **style)


def _operand_props(name: str, size: float) -> dict:
    return dict(fontsize=size, color=_COTANGENT if name in ("u", "V") else "black")


def _call_props(name: str) -> dict:
    return dict(family="monospace", fontsize=11,
                color=_COTANGENT if name in ("u", "V") else "black",
                fontweight="bold" if name in ("u", "V") else "normal")
