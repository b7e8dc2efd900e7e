"""How large the errors of gradient checks are: rounding of a right gradient, and a wrong gradient.

* :func:`float32_rounding`: the relative error ``max|a - b| / max|b|`` of convgrad computed in
  float32 (``a``) against float64 (``b``), for the forward map and both gradients of a few layers;
* :func:`wrong_recipe_errors`: the same relative error for every wrong recipe of
  :data:`convgrad.pitfalls.CATALOGUE`, on the cases of :func:`convgrad.diagnose.ladder`;
* :func:`draw_error_scales`: measured errors, group by group, as bands that hold them, on one
  logarithmic axis, with the tolerances between them (:func:`decades`);
* :func:`snap_log`: values rounded to a thousandth of a decade, for plotting rounding errors.

The relative error is :func:`convgrad.diagnose.relative_error`, the measure ``diagnose`` and the
book use for comparing two arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import prod

import matplotlib.pyplot as plt
import numpy as np

from ..diagnose import ladder, relative_error
from ..functional import conv, conv_backward
from ..geometry import conv_output_shape
from ..pitfalls import CATALOGUE

# The float32 tolerance (convgrad.check.FLOAT32_RTOL) is measured on layers like LAYERS.

#: Layers of the sizes of small image networks: ``(x_shape, w_shape, options)``, channels first.
LAYERS: tuple[tuple[tuple[int, ...], tuple[int, ...], dict], ...] = (
    ((8, 3, 32, 32), (16, 3, 3, 3), {"padding": 1}),
    ((8, 32, 16, 16), (64, 32, 3, 3), {"padding": 1}),
    ((8, 64, 16, 16), (64, 64, 5, 5), {"stride": 2, "padding": 2}),
    ((2, 256, 7, 7), (256, 256, 3, 3), {"padding": 1}),
)


@dataclass(frozen=True)
class Rounding:
    """float32 against float64 for one layer.

    Attributes
    ----------
    x_shape, w_shape : tuple of int (channels first)
    options : dict, the keyword arguments of ``conv``
    terms : dict ``{"y", "dx", "dw"}`` -> int
        How many products each entry of ``y``, ``dx``, ``dw`` sums (at most): ``C/G * prod(kernel)``,
        ``F/G * prod(kernel)``, ``N * prod(out)``.
    errors : dict ``{"y", "dx", "dw"}`` -> float
        ``max|a - b| / max|b|`` with ``a`` computed in float32, ``b`` in float64.
    """

    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    options: dict = field(default_factory=dict)
    terms: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


def float32_rounding(layers: Sequence[tuple] = LAYERS, *, seed: int = 0) -> list[Rounding]:
    """convgrad's forward map and gradients in float32 against float64, layer by layer.

    For each layer draws a standard normal float64 ``x`` and ``dy`` and a weight ``w`` with
    standard deviation ``1/sqrt(fan_in)`` (``fan_in = C/G * prod(kernel)``, so that ``y`` has the
    size of ``x``), computes ``y, dx, dw`` once from these float64 arrays and once from their
    float32 copies, in float32, and measures the relative error of the float32 results.

    Parameters
    ----------
    layers : sequence of ``(x_shape, w_shape, options)``
    seed : int

    Returns
    -------
    list of :class:`Rounding`, one per layer
    """
    rng = np.random.default_rng(seed)
    rows = []
    for x_shape, w_shape, options in layers:
        x_shape, w_shape = tuple(x_shape), tuple(w_shape)
        fan_in = prod(w_shape[1:])
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal(w_shape) / np.sqrt(fan_in)
        y_shape = conv_output_shape(x_shape, w_shape, **options)
        dy = rng.standard_normal(y_shape)
        want = (conv(x, w, **options), *conv_backward(dy, x, w, **options)[:2])
        x32, w32, dy32 = (a.astype(np.float32) for a in (x, w, dy))
        got = (conv(x32, w32, **options), *conv_backward(dy32, x32, w32, **options)[:2])
        if any(a.dtype != np.float32 for a in got):
            raise AssertionError("convgrad did not keep float32")  # the comparison would be void
        groups = options.get("groups", 1)
        terms = {"y": fan_in, "dx": w_shape[0] // groups * prod(w_shape[2:]),
                 "dw": x_shape[0] * prod(y_shape[2:])}
        errors = {q: relative_error(a.astype(np.float64), b) for q, a, b in zip(("y", "dx", "dw"), got, want)}
        rows.append(Rounding(x_shape, w_shape, dict(options), terms, errors))
    return rows


def wrong_recipe_errors(*, seed: int = 0) -> dict[str, list[float]]:
    """The relative error of every wrong recipe of the catalogue where it is wrong.

    Runs each recipe of :data:`convgrad.pitfalls.CATALOGUE` on the random float64 inputs of every
    case of :func:`convgrad.diagnose.ladder` (2-D), wherever the recipe is defined and returns
    an array of the right shape (a wrong shape is caught before any value is compared), and
    measures ``max|recipe - right| / max|right|``. Cases on which a recipe happens to be right
    (error below 1e-8, its blind spots) are left out.

    Returns
    -------
    dict ``{mistake name: [error, ...]}``, in catalogue order
    """
    out: dict[str, list[float]] = {}
    for index, case in enumerate(ladder()):
        rng = np.random.default_rng([seed, index])
        geom = case.geometry()
        dy, x, w = (rng.standard_normal(s) for s in (geom.y_shape, geom.x_shape, geom.w_shape))
        right = dict(zip(("dx", "dw", "db"), conv_backward(dy, x, w, **case.options)))
        for mistake in CATALOGUE:
            got = mistake(dy, x, w, **case.options)
            want = right[mistake.quantity]
            if got is None or got.shape != want.shape:
                continue
            error = relative_error(got, want)
            if error > 1e-8:
                out.setdefault(mistake.name, []).append(error)
    return {m.name: out[m.name] for m in CATALOGUE if m.name in out}


def decades(errors: Sequence[float], *, floor: float = 1e-18) -> tuple[float, float]:
    """The powers of ten just below the smallest and just above the largest of ``errors``.

    Errors below ``floor`` (an exact 0 included) count as ``floor``. Rounding errors change in
    their last digits with the BLAS kernel; the decades they fall in do not (unless one sits on a
    power of ten), so a figure drawn from them is the same on every machine.
    """
    e = np.maximum(np.asarray(errors, dtype=float), floor)
    if e.size == 0:
        raise ValueError("errors must not be empty")
    return 10.0 ** np.floor(np.log10(e.min())), 10.0 ** np.ceil(np.log10(e.max()))


def snap_log(values: Sequence[float] | np.ndarray, decimals: int = 3, *, floor: float = 1e-17) -> np.ndarray:
    """``10 ** round(log10(values), decimals)``: positive values rounded to ``10**-decimals`` of a decade.

    For plotting rounding errors on log axes: 3 decimals is 0.2 %, far below a pixel, yet it
    absorbs the last-digit changes a different BLAS kernel makes, so the figure keeps its bytes.
    Values below ``floor`` (0 included) become ``floor``.
    """
    v = np.maximum(np.asarray(values, dtype=float), floor)
    return 10.0 ** np.round(np.log10(v), decimals)


def draw_error_scales(
    groups: Mapping[str, Sequence[float]],
    tolerances: Mapping[str, float],
    *,
    title: str,
    bands: Mapping[str, tuple[float, float]] | None = None,
    floor: float = 1e-18,
    colours: Mapping[str, str] | None = None,
) -> tuple[plt.Figure, dict[str, tuple[float, float]]]:
    """Measured errors, one band per group on a logarithmic axis, with tolerance lines.

    Each group is drawn as a band that holds all its errors: the one given in ``bands`` (checked)
    or the whole decades around them (:func:`decades`). Rounding errors change in their last
    digits, sometimes by a factor of two, with the BLAS kernel; a band given in ``bands``, with
    margin, keeps the figure the same on every machine, and the check keeps it honest.

    Parameters
    ----------
    groups : ``{label: errors}``, drawn top to bottom
    tolerances : ``{label: value}``, one dashed vertical line each
    title : str
    bands : ``{label: (low, high)}``, optional, for some or all groups
        A ``ValueError`` names the group if one of its errors (below ``floor`` counted as
        ``floor``) lies outside its band.
    floor : float
        Errors below it (an exact 0 included) count as ``floor`` (the axis label says so).
    colours : ``{label: colour}``, optional, for some or all groups

    Returns
    -------
    fig : matplotlib Figure
    drawn : ``{label: (low, high)}``, the bands drawn
    """
    if not groups:
        raise ValueError("groups must hold at least one group of errors")
    given = dict(bands or {})
    unknown = set(given) - set(groups)
    if unknown:
        raise ValueError(f"bands names groups that are not in groups: {sorted(unknown)}")
    colours = dict(colours or {})
    palette = ("#0072B2", "#007A5A", "#A86F00", "#C04F00", "#A8558A", "#3A8FBF")
    fig, ax = plt.subplots(figsize=(8.0, 1.4 + 0.62 * len(groups)), layout="constrained")
    drawn: dict[str, tuple[float, float]] = {}
    below = False
    for row, (label, errors) in enumerate(groups.items()):
        if len(errors) == 0:
            raise ValueError(f"group {label!r} is empty")
        e = np.maximum(np.asarray(errors, dtype=float), floor)
        below |= bool(np.any(np.asarray(errors, dtype=float) < floor))
        if label in given:
            lo, hi = (float(b) for b in given[label])
            if not (lo <= e.min() and e.max() <= hi):
                raise ValueError(f"group {label!r}: errors from {e.min():.2e} to {e.max():.2e} are not "
                                 f"all inside its band ({lo:.0e}, {hi:.0e})")
        else:
            lo, hi = decades(e, floor=floor)
        drawn[label] = (lo, hi)
        colour = colours.get(label, palette[row % len(palette)])
        ax.fill_betweenx([row - 0.1, row + 0.18], lo, hi, color=colour, alpha=0.8, lw=0)
        ax.text(floor / 5, row - 0.16, f"{label}: {_short(lo)} to {_short(hi)}", va="bottom", ha="left",
                fontsize=10, color=colour, fontweight="bold",
                bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.85))
    for label, value in tolerances.items():
        ax.axvline(value, color="0.3", ls="--", lw=1.2, zorder=0)
        ax.text(value, -0.62, label, ha="center", va="center", fontsize=10, color="0.2",
                bbox=dict(facecolor="white", edgecolor="none", pad=1.0))
    ax.set_xscale("log")
    ax.set_xlim(floor / 10, 1e2)
    ax.set_ylim(len(groups) - 0.6, -0.8)
    ax.set_yticks([])
    ax.set_xlabel("relative error" + (f" (0 counted as {_short(floor)})" if below else ""))
    ax.grid(True, axis="x", which="major", alpha=0.3)
    ax.set_title(title)
    return fig, drawn


def _short(v: float) -> str:
    """One significant digit: ``0.5``, ``3``, ``10`` or ``3e-7``."""
    if 0.1 <= v < 1000:
        return f"{float(f'{v:.1g}'):g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"
