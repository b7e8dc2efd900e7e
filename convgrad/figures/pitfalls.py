"""Figures of Part III, getting gradients right: the wrong recipe, the classic mistakes, gradient
checking and second derivatives."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def draw_step_sweep(
    steps: np.ndarray,
    errors: dict[str, np.ndarray],
    *,
    title: str,
    models: dict[str, np.ndarray] | None = None,
    marks: dict[str, float] | None = None,
    ymax: float | None = None,
) -> plt.Figure:
    """Relative error of central differences against the step, on log-log axes.

    Parameters
    ----------
    steps : array of step sizes
    errors : ``{label: errors}``, measured, one curve each
    title : str
    models : ``{label: values}``, optional
        Model curves (dashed) over the same steps; a label starting with ``_`` stays out of the
        legend.
    marks : ``{label: step}``, optional
        Vertical lines, e.g. at a predicted optimal step.
    ymax : float, optional
        Upper limit of the error axis (relative errors above 1 say only "useless").
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, e in errors.items():
        ax.loglog(steps, np.maximum(e, 1e-17), "o-", label=label, ms=4)
    for label, m in (models or {}).items():
        ax.loglog(steps, m, "--", color="0.4", label=label)
    if ymax is not None:
        ax.set_ylim(top=ymax)
    for label, h in (marks or {}).items():
        ax.axvline(h, color="0.6", lw=1, ls=":")
        ax.text(h, ax.get_ylim()[0] * 3, " " + label, rotation=90, va="bottom", ha="right", fontsize=9,
                color="0.3")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of the slope")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best")
    return fig


def draw_taylor_test(steps: np.ndarray, remainders: dict[str, np.ndarray], *, title: str) -> plt.Figure:
    """Taylor remainders ``|L(x + h v) - L(x) - h <g, v>|`` against ``h`` with slope-1 and slope-2 guides."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, r in remainders.items():
        ax.loglog(steps, r, "o-", label=label, ms=4)
    first = min(r[0] for r in remainders.values())
    for order, style in [(1, ":"), (2, "--")]:
        guide = first * 0.3 * (steps / steps[0]) ** order
        ax.loglog(steps, guide, style, color="0.5", label=f"slope {order}")
    ax.set_xlabel("step h")
    ax.set_ylabel("Taylor remainder")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best")
    return fig


def draw_hessian(h: np.ndarray, split: int, *, title: str) -> plt.Figure:
    """A Hessian as a heat map with its blocks marked, and the eigenvalues of the whole and of one block.

    Parameters
    ----------
    h : array ``(P, P)``, symmetric
    split : int
        The first ``split`` variables form the first block (e.g. ``x``), the rest the second (``w``).
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.4), width_ratios=[1.1, 1])
    vmax = np.abs(h).max()
    im = ax0.imshow(h, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    for pos in (split - 0.5,):
        ax0.axhline(pos, color="k", lw=1)
        ax0.axvline(pos, color="k", lw=1)
    ax0.set_xlabel(f"variable (0..{split - 1}: x, {split}..{h.shape[0] - 1}: w)")
    ax0.set_ylabel("variable")
    ax0.set_title("Hessian of L in (x, w)")
    fig.colorbar(im, ax=ax0, shrink=0.8)
    full = np.linalg.eigvalsh(h)
    ww = np.linalg.eigvalsh(h[split:, split:])
    xx = np.linalg.eigvalsh(h[:split, :split])
    ax1.plot(range(len(full)), full, "o", ms=4, label="whole Hessian")
    ax1.plot(range(len(xx)), xx, "s", ms=4, label="x-x block")
    ax1.plot(range(len(ww)), ww, "^", ms=5, label="w-w block")
    ax1.axhline(0, color="0.5", lw=1)
    ax1.set_xlabel("eigenvalue index (ascending)")
    ax1.set_ylabel("eigenvalue")
    ax1.set_title("Eigenvalues")
    ax1.legend(loc="upper left")
    fig.suptitle(title)
    return fig
