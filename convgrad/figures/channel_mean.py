"""The wrong im2col recipe next to the true kernel gradient: its every channel is the channel mean.

* :func:`draw_channel_mean`: for one kernel ``f``, the true gradient's slices ``w̄[f, :, :, c]``,
  the recipe's slice, and per kernel tap the ``C`` true values with the recipe's value at their
  mean.

The arrays come from the caller (``convgrad.conv_grad_weight`` and
``convgrad.pitfalls.channel_mean_recipe``); the figure returns the channel means it computed so a
notebook can assert that the recipe sits on them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

#: One colour per input channel (Okabe-Ito blue, vermilion, green, purple, ...).
CHANNEL_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


def draw_channel_mean(
    true: np.ndarray,
    recipe: np.ndarray,
    *,
    kernel: int = 0,
    recipe_label: str = "recipe",
    title: str | None = None,
) -> tuple[plt.Figure, np.ndarray]:
    """The true kernel gradient of one kernel, channel by channel, and the recipe on their mean.

    Parameters
    ----------
    true, recipe : arrays ``(F, kh, kw, C)`` (channels last), the same shape
        The true kernel gradient and the recipe's answer (scaled by the caller if needed, e.g.
        multiplied by ``N`` to undo the recipe's division by the batch size).
    kernel : int
        The kernel ``f`` to draw.
    recipe_label : str
        Name of the recipe's array in titles and the legend.
    title : str, optional
        The figure's title.

    Returns
    -------
    fig : matplotlib Figure
        Top row: one heat map per channel ``c`` of ``true[f, :, :, c]`` and one of
        ``recipe[f, :, :, 0]``, with their values written in the cells. Bottom: for each of the
        ``kh*kw`` taps, the ``C`` true values (one colour per channel) and the recipe's value
        (black bar).
    means : array ``(kh, kw)``
        ``true[f].mean(axis=-1)``, the channel mean the recipe is compared with.
    """
    true, recipe = np.asarray(true, dtype=float), np.asarray(recipe, dtype=float)
    if true.ndim != 4 or true.shape != recipe.shape:
        raise ValueError(f"true and recipe must be arrays (F, kh, kw, C) of one shape, got "
                         f"true.shape={true.shape}, recipe.shape={recipe.shape}")
    if not 0 <= kernel < true.shape[0]:
        raise ValueError(f"kernel must be in [0, {true.shape[0]}), got kernel={kernel}")
    _, kh, kw, channels = true.shape
    if channels > len(CHANNEL_COLOURS):
        raise ValueError(f"at most {len(CHANNEL_COLOURS)} channels can be drawn, got C={channels}")
    t, r = true[kernel], recipe[kernel]
    means = t.mean(axis=-1)
    vmax = float(max(np.abs(t).max(), np.abs(r).max())) or 1.0

    fig = plt.figure(figsize=(8.6, 6.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.05])
    maps = top.subplots(1, channels + 1)
    panels = [(t[..., c], f"true, c = {c}", CHANNEL_COLOURS[c]) for c in range(channels)]
    panels.append((r[..., 0], f"{recipe_label}, every c", "black"))
    for ax, (a, name, colour) in zip(maps, panels):
        im = ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=10,
                    color="white" if abs(v) > 0.6 * vmax else "black")
        ax.set_title(name, fontsize=11, color=colour)
        ax.set_xticks(range(kw))
        ax.set_yticks(range(kh))
        ax.set_xlabel("tap column b")
        for side in ax.spines.values():
            side.set_edgecolor(colour)
            side.set_linewidth(2.0)
    maps[0].set_ylabel("tap row a")
    top.colorbar(im, ax=maps, shrink=0.8, label="gradient entry")
    top.suptitle(title or f"Kernel f = {kernel}: the true gradient per input channel, and the {recipe_label}",
                 fontsize=12)

    ax = bottom.subplots()
    taps = [(a, b) for a in range(kh) for b in range(kw)]
    pos = np.arange(len(taps))
    offsets = (np.arange(channels) - (channels - 1) / 2) * 0.12
    for c in range(channels):
        ax.plot(pos + offsets[c], [t[a, b, c] for a, b in taps], "o", ms=7, color=CHANNEL_COLOURS[c],
                label=f"true, c = {c}")
    ax.hlines([r[a, b, 0] for a, b in taps], pos - 0.3, pos + 0.3, color="black", lw=2.5,
              label=f"{recipe_label} (= channel mean)")
    for p, (a, b) in zip(pos, taps):
        ax.vlines(p, t[a, b].min(), t[a, b].max(), color="0.7", lw=1, zorder=0)
    ax.axhline(0, color="0.85", lw=1, zorder=0)
    ax.set_xticks(pos, [f"{a},{b}" for a, b in taps])
    ax.set_xlabel("kernel tap (a, b)")
    ax.set_ylabel("gradient entry")
    ax.set_title("per tap: the recipe's bar sits at the mean of the channels' dots", fontsize=11)
    bottom.legend(loc="outside right upper", fontsize=10, frameon=False)
    return fig, means
