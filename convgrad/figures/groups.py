"""The matrix of a grouped 1-D convolution layer: which entries are weights, coloured by group.

Ordering the input entries as (channel ``c``, position ``m``) and the output entries as (channel
``f``, position ``o``), the matrix of ``x -> conv(x, w, groups=G)`` is an ``F x C`` grid of
Toeplitz blocks, and only the ``G`` diagonal group blocks hold weights. The picture is computed
by :func:`convgrad.conv` applied to every unit input (:func:`layer_matrix_groups`). Needs
Matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from ..functional import conv
from ..geometry import check_groups
from .diagrams import _GROUP_COLOURS, EDGE, FONT

__all__ = ["draw_layer_matrices", "layer_matrix_groups"]


def layer_matrix_groups(in_channels: int, out_channels: int, groups: int, in_size: int,
                        kernel: int) -> np.ndarray:
    """Which entries of the layer's matrix are weights, and of which group.

    The matrix ``A`` of ``x -> conv(x, w, groups=G)`` for a 1-D input ``(1, C, M)`` and a weight of
    ones ``(F, C/G, K)``, stride 1, no padding, built column by column from :func:`convgrad.conv`
    of the unit inputs. Every entry of ``A`` is a single weight or a structural zero.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``F``, both divisible by ``groups``.
    groups : int
        ``G``.
    in_size, kernel : int
        ``M`` and ``K`` with ``1 <= K <= M``; the output has ``O = M - K + 1`` positions.

    Returns
    -------
    int array ``(F*O, C*M)``
        ``1 + g`` where the entry is a weight of group ``g`` (the group of its row's output
        channel), 0 where it is not a weight.

    Raises
    ------
    ValueError
        If ``groups`` does not divide both channel counts, or the sizes are not positive with
        ``kernel <= in_size``.
    """
    groups = check_groups(groups)
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("in_size", in_size), ("kernel", kernel)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels}")
    if kernel > in_size:
        raise ValueError(f"kernel={kernel} is longer than in_size={in_size}")
    units = np.eye(in_channels * in_size).reshape(-1, in_channels, in_size)   # one unit input each
    y = conv(units, np.ones((out_channels, in_channels // groups, kernel)), groups=groups)
    a = y.reshape(len(units), -1).T                                           # (F*O, C*M)
    out_size = in_size - kernel + 1
    row_group = np.arange(out_channels * out_size) // (out_size * out_channels // groups)
    return np.where(a != 0, 1 + row_group[:, None], 0)


def draw_layer_matrices(in_channels: int = 4, out_channels: int = 4, groups: Sequence[int] = (1, 2, 4),
                        *, in_size: int = 5, kernel: int = 2,
                        title: str | None = None) -> tuple[plt.Figure, dict[int, np.ndarray]]:
    """The layer's matrix for several group counts side by side: weights coloured by group, thin
    grey lines between channels, thick black lines between groups.

    Returns
    -------
    fig, labels : ``{G: int array (F*O, C*M)}`` from :func:`layer_matrix_groups`

    Example: ``fig, labels = draw_layer_matrices(4, 4, (1, 2, 4))``; ``labels[4]`` has 4 blocks.
    """
    labels = {g: layer_matrix_groups(in_channels, out_channels, g, in_size, kernel) for g in groups}
    out_size = in_size - kernel + 1
    fig, axes = plt.subplots(1, len(labels), figsize=(10.0, 4.6), squeeze=False)
    cmap = ListedColormap(["white", *(_GROUP_COLOURS[i % len(_GROUP_COLOURS)] for i in range(max(groups)))])
    for ax, (g, lab) in zip(axes[0], labels.items()):
        ax.imshow(lab, cmap=cmap, vmin=-0.5, vmax=max(groups) + 0.5, interpolation="nearest")
        for c in range(1, in_channels):
            ax.axvline(c * in_size - 0.5, color=EDGE, lw=0.8)
        for f in range(1, out_channels):
            ax.axhline(f * out_size - 0.5, color=EDGE, lw=0.8)
        for j in range(1, g):
            ax.axvline(j * in_channels // g * in_size - 0.5, color="black", lw=2.0)
            ax.axhline(j * out_channels // g * out_size - 0.5, color="black", lw=2.0)
        ax.set_xticks([c * in_size + (in_size - 1) / 2 for c in range(in_channels)],
                      [f"c={c}" for c in range(in_channels)])
        ax.set_yticks([f * out_size + (out_size - 1) / 2 for f in range(out_channels)],
                      [f"f={f}" for f in range(out_channels)])
        ax.tick_params(length=0, labelsize=FONT)
        name = "dense" if g == 1 else ("depthwise" if g == in_channels == out_channels else "grouped")
        ax.set_title(f"G = {g} ({name})\n{int((lab > 0).sum())} weight entries", fontsize=11)
        ax.set_xlabel("input entry (c, m)", fontsize=FONT)
        ax.set_ylabel("output entry (f, o)", fontsize=FONT)
    fig.suptitle(title or f"Matrix of a 1-D layer, C = {in_channels}, F = {out_channels}, input "
                 f"length {in_size}, kernel {kernel}:\nweights only in the G diagonal group blocks, "
                 f"a Toeplitz band per channel pair", fontsize=12)
    handles = [Patch(facecolor="white", edgecolor=EDGE, label="not a weight (0)")]
    handles += [Patch(facecolor=_GROUP_COLOURS[i % len(_GROUP_COLOURS)], edgecolor=EDGE,
                      label=f"weight of group {i}") for i in range(max(groups))]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5), fontsize=FONT,
               frameon=False, handlelength=1.6, columnspacing=1.4)
    return fig, labels
