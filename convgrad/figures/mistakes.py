"""Figures of the classic mistakes of a hand-written convolution backward pass (chapter "mistakes").

* :func:`catches`: each mistake of :mod:`convgrad.pitfalls` put in front of the check that catches
  it, once on data that exercise it and once on its blind spot;
* :func:`draw_catches`: those errors on a logarithmic axis, with each check's tolerance;
* :func:`draw_flip`: which kernel tap carries each output's gradient back to one input cell, with
  the flip and without it;
* :func:`draw_remainder`: the input rows a stride leaves without gradient, at the end (right) and
  at the front (the mistake);
* :func:`draw_same_padding`: ``padding="same"`` with an even kernel, the extra row at the end
  (right) and at the start (the mistake).

The diagrams use the visual language of :mod:`convgrad.figures.diagrams` (light blue input,
hatched grey padding, orange taps, green outputs, red crossed: no gradient). Everything drawn is
computed by convgrad or by the wrong recipe itself, and returned for a notebook to assert on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .. import pitfalls
from ..check import adjoint_test, gradcheck
from ..functional import conv, conv_grad_input
from ..geometry import conv_geometry, conv_output_shape
from .diagrams import EDGE, INPUT_STRONG, NO_GRADIENT, ROLES
from .tolerances import snap_log

# --- the checks --------------------------------------------------------------------------------


def input_grad_error(grad_input: Callable[[np.ndarray], np.ndarray], w: np.ndarray, x_shape: Sequence[int],
                     **options) -> float:
    """Dot-product test of ``grad_input(dy)`` as the input gradient of ``x -> conv(x, w, **options)``.

    About 1e-16 when ``grad_input`` is the adjoint (:func:`convgrad.check.adjoint_test`).
    """
    y_shape = conv_output_shape(tuple(x_shape), w.shape, **options)
    return adjoint_test(lambda x: conv(x, w, **options), grad_input, tuple(x_shape), y_shape)


def weight_grad_error(grad_weight: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                      w_shape: Sequence[int], **options) -> float:
    """Dot-product test of ``grad_weight(dy)`` as the weight gradient of ``w -> conv(x, w, **options)``."""
    y_shape = conv_output_shape(x.shape, tuple(w_shape), **options)
    return adjoint_test(lambda w: conv(x, w, **options), grad_weight, tuple(w_shape), y_shape)


@dataclass(frozen=True)
class Catch:
    """One mistake in front of the check that catches it.

    Attributes
    ----------
    mistake : str
        A few words that name it.
    check : str
        ``"dot-product test"`` or ``"finite differences"``.
    blind_spot : str
        The test data on which the mistake gives the right answer.
    error : float
        The check's error on data that exercise the mistake.
    blind_error : float or None
        The check's error on the blind-spot data (rounding only: the mistake is right there);
        ``None`` when the blind spot is not a choice of data.
    """

    mistake: str
    check: str
    blind_spot: str
    error: float
    blind_error: float | None


def catches(*, seed: int = 13) -> list[Catch]:
    """Every classic mistake of the chapter, checked on data that exercise it and on its blind spot.

    The dot-product test for the input and weight gradients (a linear map and its adjoint), finite
    differences (:func:`convgrad.check.gradcheck`) for the batch reduction, whose wrong gradient is
    a multiple of the right one and passes the dot-product test's pairing only by accident.
    """
    rng = np.random.default_rng(seed)
    x_shape = (2, 3, 8, 7)
    w = rng.standard_normal((4, 3, 3, 2))
    w_flip_symmetric = w + w[..., ::-1, ::-1]
    rows = []

    def add(mistake, check, blind_spot, error, blind_error):
        rows.append(Catch(mistake, check, blind_spot, float(error),
                          None if blind_error is None else float(blind_error)))

    forgot = pitfalls.grad_input_forgot_flip
    add("kernel not flipped", "dot-product test", "kernel symmetric under the flip",
        input_grad_error(partial(forgot, w=w), w, x_shape),
        input_grad_error(partial(forgot, w=w_flip_symmetric), w_flip_symmetric, x_shape))

    square = rng.standard_normal((3, 3, 3, 3))                       # C = F = 3
    not_swapped = pitfalls.grad_input_channels_not_swapped
    channel_symmetric = square + square.transpose(1, 0, 2, 3)
    add("channels not swapped", "dot-product test", "kernel symmetric in (f, c)",
        input_grad_error(partial(not_swapped, w=square, x_shape=x_shape), square, x_shape),
        input_grad_error(partial(not_swapped, w=channel_symmetric, x_shape=x_shape), channel_symmetric,
                         x_shape))

    crop = pitfalls.grad_input_wrong_crop
    add("crop one row late", "dot-product test", "layers without padding (no crop runs)",
        input_grad_error(partial(crop, w=w, x_shape=x_shape, padding=1, shift=1), w, x_shape, padding=1),
        None)

    same = pitfalls.grad_input_same_extra_first
    even, odd = rng.standard_normal((4, 3, 4, 4)), rng.standard_normal((4, 3, 3, 3))
    add("'same': extra row first", "dot-product test", "odd kernel, stride 1",
        input_grad_error(partial(same, w=even, x_shape=x_shape), even, x_shape, padding="same"),
        input_grad_error(partial(same, w=odd, x_shape=x_shape), odd, x_shape, padding="same"))

    w3 = rng.standard_normal((4, 3, 3, 3))
    first = pitfalls.grad_input_remainder_first
    add("stride remainder first", "dot-product test", "no remainder: (n - k) % s = 0",
        input_grad_error(partial(first, w=w3, x_shape=(2, 3, 8, 8), stride=2), w3, (2, 3, 8, 8), stride=2),
        input_grad_error(partial(first, w=w3, x_shape=(2, 3, 9, 9), stride=2), w3, (2, 3, 9, 9), stride=2))

    over = pitfalls.grad_input_overdilated
    add("s zeros, not s - 1", "dot-product test", "a single output position",
        input_grad_error(partial(over, w=w3, x_shape=(2, 3, 9, 9), stride=2), w3, (2, 3, 9, 9), stride=2),
        input_grad_error(partial(over, w=w3, x_shape=(2, 3, 4, 4), stride=2), w3, (2, 3, 4, 4), stride=2))

    x_g, w_g = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    w_1 = rng.standard_normal((6, 4, 3, 2))
    ignoring = pitfalls.grad_input_ignoring_groups
    add("groups ignored in dx", "dot-product test", "groups = 1",
        input_grad_error(partial(ignoring, w=w_g, x_shape=x_g.shape, groups=2), w_g, x_g.shape, groups=2),
        input_grad_error(partial(ignoring, w=w_1, x_shape=x_g.shape, groups=1), w_1, x_g.shape))
    group0 = pitfalls.grad_weight_first_group
    add("group 0's inputs in dw", "dot-product test", "groups = 1",
        weight_grad_error(partial(group0, x=x_g, w_shape=w_g.shape, groups=2), x_g, w_g.shape, groups=2),
        weight_grad_error(partial(group0, x=x_g, w_shape=w_1.shape, groups=1), x_g, w_1.shape))

    x_b, w_b = rng.standard_normal((4, 3, 6, 6)), rng.standard_normal((2, 3, 3, 3))

    def by_batch(dy, x, w):
        return None, pitfalls.grad_weight_divided_by_batch(dy, x, w.shape)

    add("dw divided by N", "finite differences", "a batch of one",
        gradcheck(conv, by_batch, (x_b, w_b)), gradcheck(conv, by_batch, (x_b[:1], w_b)))
    return rows


def draw_catches(rows: Sequence[Catch], *, tolerances: Mapping[str, float], rounding: Mapping[str, float],
                 title: str, floor: float = 1e-18) -> plt.Figure:
    """Each mistake's check error on data that exercise it, against the check's tolerance, and its
    blind spot, where the check sees rounding only.

    Parameters
    ----------
    rows : the :class:`Catch` list of :func:`catches`
    tolerances : ``{check: tolerance}``
        Each row is shaded from its check's tolerance up (caught) and marked there (dashed).
    rounding : ``{check: bound}``
        What rounding alone gives for each check; a row's blind spot is drawn as a grey bar up to
        it. A ``ValueError`` names the row if its blind-spot error exceeds the bound. (Rounding
        errors change with the BLAS kernel; a bar up to a bound keeps the figure the same on
        every machine.)
    title : str
    floor : float
        Left end of the axis; errors below it (0 included) are drawn there.
    """
    if not rows:
        raise ValueError("rows must hold at least one Catch")
    for r in rows:
        for name, table in (("tolerances", tolerances), ("rounding", rounding)):
            if r.check not in table:
                raise ValueError(f"{name} has no entry for the check {r.check!r} of {r.mistake!r}")
        if r.blind_error is not None and r.blind_error > rounding[r.check]:
            raise ValueError(f"{r.mistake!r}: blind-spot error {r.blind_error:.1e} is above the rounding "
                             f"bound {rounding[r.check]:.0e} of the {r.check}")
    fig, ax = plt.subplots(figsize=(8.0, 1.5 + 0.5 * len(rows)), layout="constrained")
    for i, r in enumerate(rows):
        tol = tolerances[r.check]
        ax.add_patch(Rectangle((tol, i - 0.42), 10 - tol, 0.84, facecolor=NO_GRADIENT, alpha=0.08, lw=0))
        ax.plot([tol, tol], [i - 0.42, i + 0.42], color="0.3", ls="--", lw=1.2)
        if r.blind_error is not None:
            ax.plot([floor, rounding[r.check]], [i, i], color="0.55", lw=5, solid_capstyle="butt")
    ax.plot(snap_log([r.error for r in rows], floor=floor), range(len(rows)), "o", ms=8, color=NO_GRADIENT,
            zorder=3, label="data that exercise the mistake")
    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.55", lw=5, label="its blind spot: rounding only"),
                Line2D([], [], color="0.3", ls="--", lw=1.2, label="the check's tolerance")]
    ax.set_yticks(range(len(rows)), [f"{r.mistake}\n({r.check})" for r in rows], fontsize=10)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xscale("log")
    ax.set_xlim(floor, 10)
    ax.set_xlabel("error of the check (relative)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False, fontsize=10)
    return fig


# --- index diagrams ----------------------------------------------------------------------------


def _strip_cell(ax: plt.Axes, x: float, y: float, role: str, text: str | None = None, *,
                colour: str | None = None, text_colour: str = "black") -> None:
    face, hatch, _ = ROLES[role]
    ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=colour or face, edgecolor=EDGE, hatch=hatch,
                           lw=0.8, zorder=1))
    if text is not None:
        bbox = dict(facecolor=face, edgecolor="none", pad=1.0) if hatch else None
        ax.text(x, y, text, ha="center", va="center", fontsize=10, color=text_colour, bbox=bbox, zorder=3)


def _strip_axes(ax: plt.Axes, x_range: tuple[float, float], y_range: tuple[float, float], title: str) -> None:
    ax.set_xlim(*x_range)
    ax.set_ylim(*y_range)
    ax.set_aspect("equal")
    ax.set_yticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=11)


def draw_flip(n: int = 5, kernel: int = 3, cell: int = 2) -> tuple[plt.Figure, dict[str, dict[int, int]]]:
    """The outputs that send gradient to input cell ``cell`` of a 1-D layer, and the tap each uses.

    Top: the input gradient ``conv_grad_input`` (a full convolution: ``ȳ[o]`` meets ``w[m - o]``).
    Bottom: :func:`convgrad.pitfalls.grad_input_forgot_flip` (a full correlation: the mirrored tap
    ``w[K - 1 - (m - o)]``). Computed by feeding a one-hot ``ȳ`` at each output through both, with
    the kernel ``w[t] = t + 1`` so that the value that arrives names the tap.

    Returns
    -------
    fig : matplotlib Figure
    taps : ``{"right": {o: t}, "forgot": {o: t}}`` for the outputs ``o`` that reach the cell
    """
    if not (kernel >= 2 and n >= kernel and 0 <= cell < n):
        raise ValueError(f"need kernel >= 2, n >= kernel and 0 <= cell < n, got n={n}, kernel={kernel}, "
                         f"cell={cell}")
    outs = n - kernel + 1
    labelled = np.arange(1.0, kernel + 1).reshape(1, 1, kernel)
    taps: dict[str, dict[int, int]] = {"right": {}, "forgot": {}}
    for o in range(outs):
        dy = np.zeros((1, 1, outs))
        dy[0, 0, o] = 1.0
        for name, dx in (("right", conv_grad_input(dy, labelled, (1, 1, n))),
                         ("forgot", pitfalls.grad_input_forgot_flip(dy, labelled))):
            value = int(round(dx[0, 0, cell]))
            if value:
                taps[name][o] = value - 1
    colours = ("#CC79A7", "#D55E00", "#7f3c8d", "#56B4E9", "#1a1a1a", "#808000")
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.9), layout="constrained")
    titles = {"right": "conv_grad_input: ȳ[o] meets w[m - o]",
              "forgot": "flip forgotten: w[K - 1 - (m - o)]"}
    spread = 1.9                                  # outputs drawn apart, so that the labels fit
    centre = (outs - 1) / 2
    x_out = {o: (n - 1) / 2 + (o - centre) * spread for o in range(outs)}
    lo = min(min(x_out.values()), 0) - 0.6
    hi = max(max(x_out.values()), n - 1) + 0.6
    for ax, name in zip(axes, ("right", "forgot")):
        for o in range(outs):
            reach = o in taps[name]
            _strip_cell(ax, x_out[o], 3.0, "chosen output" if reach else "output", f"ȳ[{o}]",
                        text_colour="white" if reach else "black")
        for m in range(n):
            chosen = m == cell
            _strip_cell(ax, m, 0, "input", f"x̄[{m}]", colour=INPUT_STRONG if chosen else None,
                        text_colour="white" if chosen else "black")
        for o, t in taps[name].items():
            colour = colours[t % len(colours)]
            ax.annotate("", xy=(cell, 0.5), xytext=(x_out[o], 2.5),
                        arrowprops=dict(arrowstyle="-|>", color=colour, lw=2.2, shrinkA=0, shrinkB=2))
            xm, ym = x_out[o] + 0.4 * (cell - x_out[o]), 2.5 - 0.4 * 2.0
            ax.text(xm, ym, f"w[{t}]", ha="center", va="center", fontsize=11, color=colour, fontweight="bold",
                    bbox=dict(facecolor="white", edgecolor=colour, boxstyle="round,pad=0.2"))
        terms = " + ".join(f"ȳ[{o}]·w[{t}]" for o, t in sorted(taps[name].items()))
        ax.text((n - 1) / 2, -1.0, f"x̄[{cell}] = {terms}", ha="center", va="center", fontsize=10.5)
        _strip_axes(ax, (lo, hi), (-1.5, 3.6), titles[name])
        ax.set_xticks([])
    fig.suptitle(f"Which tap carries each output's gradient to x̄[{cell}] ({n} inputs, kernel of {kernel})",
                 fontsize=12)
    return fig, taps


def draw_remainder(n: int = 8, kernel: int = 3, stride: int = 2) -> tuple[plt.Figure, dict[str, list[int]]]:
    """How many outputs send gradient to each input row of a strided 1-D layer, right and shifted.

    Top: ``conv_grad_input`` of an all-ones ``ȳ`` and kernel (the count of windows that read each
    row; unread rows get exactly 0, at the end). Bottom: the same through
    :func:`convgrad.pitfalls.grad_input_remainder_first`, which puts the unread rows at the front.

    Returns
    -------
    fig : matplotlib Figure
    zeros : ``{"right": rows, "remainder first": rows}``, the rows whose gradient is 0
    """
    geom = conv_geometry((1, 1, n), (1, 1, kernel), stride=stride)
    ones_dy, ones_w = np.ones((1, 1, *geom.out_size)), np.ones((1, 1, kernel))
    counts = {"right": conv_grad_input(ones_dy, ones_w, (1, 1, n), stride=stride)[0, 0],
              "remainder first": pitfalls.grad_input_remainder_first(ones_dy, ones_w, (1, 1, n),
                                                                     stride=stride)[0, 0]}
    zeros = {name: [int(m) for m in np.flatnonzero(c == 0)] for name, c in counts.items()}
    fig, axes = plt.subplots(2, 1, figsize=(7.6, 3.4), layout="constrained")
    titles = {"right": "conv_grad_input: the unread rows are the last ones",
              "remainder first": "remainder first (wrong): zeros at the front, every row shifted"}
    for ax, (name, c) in zip(axes, counts.items()):
        for m, v in enumerate(c):
            v = int(round(v))
            if v == 0:
                _strip_cell(ax, m, 0, "no gradient", "0", text_colour="white")
            else:
                _strip_cell(ax, m, 0, "input", str(v))
        _strip_axes(ax, (-0.6, n - 0.4), (-0.6, 0.6), titles[name])
        ax.set_xticks(range(n))
        ax.set_xlabel("input row m")
    handles = [Patch(facecolor=ROLES["input"][0], edgecolor=EDGE,
                     label="x̄ of all-ones ȳ and w (right: outputs that read the row)"),
               Patch(facecolor=NO_GRADIENT, edgecolor=EDGE, hatch="x", label="gradient 0")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False, fontsize=10)
    fig.suptitle(f"Stride {stride}, kernel {kernel}, {n} input rows: "
                 f"{geom.out_size[0]} outputs, {len(zeros['right'])} row(s) left over", fontsize=12)
    return fig, zeros


def draw_same_padding(n: int = 4, kernel: int = 4) -> tuple[plt.Figure, dict[str, tuple[int, int]]]:
    """``padding="same"`` at stride 1: where the padding goes, and the window of the first output.

    Top: the padding convgrad resolves (``conv_geometry(..., padding="same")``, the extra row at
    the end, as PyTorch and TensorFlow do). Bottom: the sides swapped, what
    :func:`convgrad.pitfalls.grad_input_same_extra_first` assumes.

    Returns
    -------
    fig : matplotlib Figure
    pads : ``{"right": (lo, hi), "extra first": (hi, lo)}``
    """
    lo, hi = conv_geometry((1, 1, n), (1, 1, kernel), padding="same").padding[0]
    pads = {"right": (lo, hi), "extra first": (hi, lo)}
    fig, axes = plt.subplots(2, 1, figsize=(7.6, 3.6), layout="constrained")
    titles = {"right": f"convgrad, PyTorch, TensorFlow: padding {pads['right']}, the extra at the end",
              "extra first": f"extra first (wrong): padding {pads['extra first']}"}
    for ax, (name, (a, b)) in zip(axes, pads.items()):
        for j in range(-a, n + b):
            if 0 <= j < n:
                _strip_cell(ax, j, 0, "input", f"x[{j}]")
            else:
                _strip_cell(ax, j, 0, "padding", "0")
        ax.add_patch(Rectangle((-a - 0.5, -0.5), kernel, 1, fill=False, edgecolor="black", lw=2.6, zorder=4))
        ax.text(-a + (kernel - 1) / 2, 0.75, "window of y[0]", ha="center", va="bottom", fontsize=10)
        _strip_axes(ax, (-max(lo, hi) - 0.6, n + max(lo, hi) - 0.4), (-0.6, 1.3), titles[name])
        ax.set_xticks(range(-a, n + b))
        ax.set_xlabel("padded position (input index)")
    fig.suptitle(f"padding='same', kernel {kernel}, {n} inputs: total padding {lo + hi} (odd)", fontsize=12)
    return fig, pads
