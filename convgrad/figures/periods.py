"""Figures of the Fourier chapter: which products a circular correlation of period ``L`` makes, against
the layer's. Needs Matplotlib.

The layer's valid correlation ``y_o = sum_k w_k x_{o+k}`` and its two gradients are three ways to sum
one set of products ``y_bar_o w_k x_m`` with ``m = o + k`` (a row ``o`` of the grid of pairs
``(o, m)`` gives ``y_o``, a column ``m`` gives ``x_bar_m``, a diagonal ``k = m - o`` gives
``w_bar_k``). A correlation computed with FFTs of period ``L`` takes ``m`` modulo ``L``: when
``L`` is shorter than the input, some pairs wrap around to the start of the signal, and all three
maps go wrong in the same cells.

:func:`period_pairs` computes both sets of pairs as matrices: the layer's by :func:`convgrad.conv`
of unit inputs with a kernel whose taps are labelled ``1, ..., K``, the circular one by NumPy's real
FFT of period ``L`` (the product ``conj(w_hat) x_hat``); :func:`draw_period_pairs` draws them in the
colours of :mod:`convgrad.figures.diagrams`.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..functional import conv
from .diagrams import EDGE, FONT, INPUT, NO_GRADIENT, PADDING, TAP

Pair = tuple[int, int]


@dataclass(frozen=True)
class PeriodPairs:
    """The products of the layer and of a circular correlation of period ``period``.

    Attributes
    ----------
    signal, taps, period : ``M``, ``K``, ``L``
    layer : array ``(O, M)``, ``k + 1`` where output ``o`` reads ``x_m`` with tap ``k``, else 0
    circular : array ``(O, M)``, the same for the circular correlation (outputs ``o < O``)
    wrapped : ``{(o, m): k}``, pairs the circular correlation makes and the layer does not
    missed : ``{(o, m): k}``, pairs the layer makes and the circular correlation does not
    """

    signal: int
    taps: int
    period: int
    layer: np.ndarray
    circular: np.ndarray
    wrapped: dict[Pair, int]
    missed: dict[Pair, int]

    @property
    def agree(self) -> int:
        """How many of the ``O`` outputs the circular correlation gets right."""
        return int(np.all(self.layer == self.circular, axis=1).sum())


def circular_correlation(w: np.ndarray, x: np.ndarray, period: int) -> np.ndarray:
    """``(w ⋆ x)_o = sum_k w_k x_{(o+k) mod L}`` by real FFTs of period ``L``: ``conj(w_hat) x_hat``.

    ``x`` is cut to ``L`` samples or padded with zeros to ``L`` (as ``np.fft.rfft(x, L)`` does).
    """
    return np.fft.irfft(np.conj(np.fft.rfft(w, period)) * np.fft.rfft(x, period), period)


def period_pairs(signal: int = 16, taps: int = 5, period: int = 13) -> PeriodPairs:
    """The pairs ``(o, m)`` of the layer and of the circular correlation of period ``period``."""
    for name, value in (("signal", signal), ("taps", taps), ("period", period)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    outputs = signal - taps + 1
    if outputs < 1 or period < max(outputs, taps):
        raise ValueError(f"need taps <= signal and period >= max(outputs, taps), got signal={signal}, "
                         f"taps={taps}, period={period} ({outputs} outputs)")
    labels = np.arange(1.0, taps + 1)
    units = np.eye(signal)
    layer = conv(units[:, None, :], labels[None, None, :])[:, 0, :].T  # (O, M)
    circ = np.stack([circular_correlation(labels, u, period)[:outputs] for u in units], axis=1)
    layer, circ = np.rint(layer).astype(int), np.rint(circ).astype(int)
    wrapped = {(int(o), int(m)): int(circ[o, m]) - 1
               for o, m in zip(*np.nonzero((circ != 0) & (layer == 0)))}
    missed = {(int(o), int(m)): int(layer[o, m]) - 1
              for o, m in zip(*np.nonzero((layer != 0) & (circ == 0)))}
    return PeriodPairs(signal, taps, period, layer, circ, wrapped, missed)


def draw_period_pairs(signal: int = 16, taps: int = 5, period: int = 13, *,
                      title: str | None = None) -> tuple[plt.Figure, PeriodPairs]:
    """The grid of pairs ``(o, m)``: the layer's (orange, labelled with the tap ``k = m - o``),
    those a circular correlation of period ``L`` makes instead (red) and those it loses (hatched).

    Returns
    -------
    fig, pairs : the Figure and the :class:`PeriodPairs` it draws
    """
    pp = period_pairs(signal, taps, period)
    outputs = signal - taps + 1
    fig, ax = plt.subplots(figsize=(8.6, 7.0))
    for o in range(outputs):
        for m in range(signal):
            k_layer, k_circ = pp.layer[o, m] - 1, pp.circular[o, m] - 1
            face, hatch, text, colour = (INPUT if m < period else PADDING), None, None, "black"
            if (o, m) in pp.missed:
                face, hatch, text = PADDING, "//", str(k_layer)
            elif (o, m) in pp.wrapped:
                face, text, colour = NO_GRADIENT, str(k_circ), "white"
            elif k_layer >= 0:
                face, text = TAP, str(k_layer)
            ax.add_patch(Rectangle((m - 0.5, o - 0.5), 1, 1, facecolor=face, edgecolor=EDGE,
                                   hatch=hatch, lw=0.8))
            if text is not None:
                bbox = dict(facecolor=face, edgecolor="none", pad=1.0) if hatch else None
                ax.text(m, o, text, ha="center", va="center", fontsize=FONT, color=colour,
                        fontweight="bold" if colour == "white" else "normal", bbox=bbox)
    if period < signal:
        ax.axvline(period - 0.5, color="black", lw=2.0, ls="--")
    ax.set_xlim(-0.5, signal - 0.5)
    ax.set_ylim(outputs - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(signal))
    ax.set_yticks(range(outputs))
    ax.tick_params(length=0, labelsize=FONT)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel("input index m  (a column: the products that make x̄_m)", fontsize=FONT)
    ax.set_ylabel("output index o  (a row: the products that make y_o)", fontsize=FONT)
    handles = [Patch(facecolor=TAP, edgecolor=EDGE, label="product ȳ_o w_k x_m of the layer, k = m − o "
                     "(a diagonal makes w̄_k)"),
               Patch(facecolor=NO_GRADIENT, edgecolor=EDGE,
                     label=f"made by period {period} instead (wrapped): x_m used in place of "
                           f"x_(m+{period})"),
               Patch(facecolor=PADDING, edgecolor=EDGE, hatch="//",
                     label=f"product of the layer lost by period {period}"),
               Patch(facecolor=PADDING, edgecolor=EDGE,
                     label=f"x_m beyond the period (m ≥ {period}, right of the dashed line)")]
    if period >= signal:
        handles = handles[:1]
    handles.append(Line2D([], [], color="none", label=f"outputs right: {pp.agree} of {outputs}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=1, fontsize=FONT, frameon=False)
    ax.set_title(title or (f"Signal M = {signal}, kernel K = {taps}, {outputs} outputs; "
                           f"FFTs of period L = {period}\nsum over m taken mod L: "
                           f"{len(pp.wrapped)} products wrap around, in all three maps at once"),
                 fontsize=12)
    return fig, pp
