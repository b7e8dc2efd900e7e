"""Figures of the chapter on channels and batch: which slices of the input, the output gradient
and the kernels meet in each gradient.

* :func:`draw_channel_pairing`: the kernel gradient as a multiplication table, input channels
  along the top, output-gradient channels down the side, one correlation in every cell.
* :func:`draw_input_gradient_sum`: one channel of the input gradient as the sum over kernels of
  full convolutions.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _image(ax: plt.Axes, a: np.ndarray, vmax: float) -> plt.Artist:
    im = ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def _vmax(a: np.ndarray) -> float:
    v = float(np.abs(a).max())
    return v if v > 0 else 1.0


def draw_channel_pairing(x: np.ndarray, dz: np.ndarray, dk: np.ndarray) -> plt.Figure:
    """The kernel gradient as a table: cell ``(f, c)`` is ``dk[f, :, :, c] = x[:, :, c] ⋆ dz[:, :, f]``.

    Parameters
    ----------
    x : array ``(H, W, C)``, one input sample; its channels head the columns
    dz : array ``(H_o, W_o, F)``, the output gradient of that sample; its channels head the rows
    dk : array ``(F, k_h, k_w, C)``, the kernel gradient, one colour scale for all cells
    """
    if x.ndim != 3 or dz.ndim != 3 or dk.ndim != 4:
        raise ValueError(f"need x (H, W, C), dz (Ho, Wo, F), dk (F, kh, kw, C); got {x.shape}, "
                         f"{dz.shape}, {dk.shape}")
    f_count, c_count = dk.shape[0], dk.shape[-1]
    if x.shape[-1] != c_count or dz.shape[-1] != f_count:
        raise ValueError(f"channel counts disagree: x {x.shape}, dz {dz.shape}, dk {dk.shape}")
    fig = plt.figure(figsize=(1.75 * (c_count + 1) + 1.0, 1.55 * (f_count + 1) + 0.6))
    grid = fig.add_gridspec(f_count + 1, c_count + 1)
    corner = fig.add_subplot(grid[0, 0])
    corner.axis("off")
    corner.text(0.5, 0.5, "cell (f, c):\n" r"$X_c \star \bar Z_f$", ha="center", va="center",
                fontsize=11, transform=corner.transAxes)
    vx, vz, vk = _vmax(x), _vmax(dz), _vmax(dk)
    for c in range(c_count):
        ax = fig.add_subplot(grid[0, c + 1])
        _image(ax, x[:, :, c], vx)
        ax.set_title(f"input channel c={c}\n{x.shape[0]}×{x.shape[1]}", fontsize=10)
    for f in range(f_count):
        ax = fig.add_subplot(grid[f + 1, 0])
        _image(ax, dz[:, :, f], vz)
        ax.set_ylabel(f"gradient\nchannel f={f}", fontsize=10)
        if f == f_count - 1:
            ax.set_xlabel(f"{dz.shape[0]}×{dz.shape[1]}", fontsize=10)
    for f in range(f_count):
        for c in range(c_count):
            ax = fig.add_subplot(grid[f + 1, c + 1])
            im = _image(ax, dk[f, :, :, c], vk)
            for spine in ax.spines.values():
                spine.set_edgecolor("0.3")
            if f == f_count - 1:
                ax.set_xlabel(f"dK[f, :, :, {c}]  ({dk.shape[1]}×{dk.shape[2]})", fontsize=9)
    fig.colorbar(im, ax=fig.axes, shrink=0.5, label="kernel-gradient value")
    fig.suptitle(f"Each of the {f_count} gradient channels meets each of the {c_count} input channels "
                 f"once:\n{f_count}×{c_count} correlations, each "
                 f"{dk.shape[1]}×{dk.shape[2]}, nothing broadcast", fontsize=12)
    return fig


def draw_input_gradient_sum(dz: np.ndarray, k: np.ndarray, parts: np.ndarray, dx_c: np.ndarray,
                            c: int) -> plt.Figure:
    """One input-gradient channel as a sum over kernels: ``dx_c = sum_f dz[:, :, f] * k[f, :, :, c]``.

    Row ``f`` shows gradient channel ``dz[:, :, f]``, kernel slice ``k[f, :, :, c]`` and their full
    convolution ``parts[f]``; the sum of the parts is drawn large on the right.

    Parameters
    ----------
    dz : array ``(H_o, W_o, F)``, the output gradient of one sample
    k : array ``(F, k_h, k_w, C)``, the kernels
    parts : array ``(F, H, W)``, the full convolutions ``dz[:, :, f] * k[f, :, :, c]``
    dx_c : array ``(H, W)``, their sum
    c : the input channel
    """
    f_count = dz.shape[-1]
    if parts.shape[0] != f_count or k.shape[0] != f_count:
        raise ValueError(f"need one part and one kernel per gradient channel: dz {dz.shape}, "
                         f"k {k.shape}, parts {parts.shape}")
    fig = plt.figure(figsize=(8.0, 1.45 * f_count + 1.0))
    grid = fig.add_gridspec(f_count, 5, width_ratios=[1, 1, 1, 0.35, 2.6])
    vz, vk = _vmax(dz), _vmax(k[..., c])
    # one colour scale for the parts and their sum, so that the sum's larger values show; the
    # 99th percentile keeps a single extreme pixel from washing out the rest (it saturates)
    vp = float(np.percentile(np.abs(np.concatenate([parts.ravel(), dx_c.ravel()])), 99)) or 1.0
    titles = (f"$\\bar Z_f$\n{dz.shape[0]}×{dz.shape[1]}",
              f"$K[f,:,:,{c}]$\n{k.shape[1]}×{k.shape[2]}",
              f"$\\bar Z_f \\ast K[f,:,:,{c}]$\n{parts.shape[1]}×{parts.shape[2]}, full")
    for f in range(f_count):
        row = [fig.add_subplot(grid[f, j]) for j in range(3)]
        _image(row[0], dz[:, :, f], vz)
        _image(row[1], k[f, :, :, c], vk)
        _image(row[2], parts[f], vp)
        row[0].set_ylabel(f"kernel f={f}", fontsize=10)
        if f == 0:
            for ax, title in zip(row, titles):
                ax.set_title(title, fontsize=10)
        if f < f_count - 1:
            row[2].text(0.5, -0.1, "+", transform=row[2].transAxes, ha="center", va="center",
                        fontsize=14, fontweight="bold")
    eq = fig.add_subplot(grid[:, 3])
    eq.axis("off")
    eq.text(0.5, 0.5, "=", ha="center", va="center", fontsize=20, transform=eq.transAxes)
    total = fig.add_subplot(grid[:, 4])
    im = _image(total, dx_c, vp)
    total.set_title(f"$\\bar X[:,:,{c}] = \\sum_f \\bar Z_f \\ast K[f,:,:,{c}]$\n"
                    f"{dx_c.shape[0]}×{dx_c.shape[1]}", fontsize=10)
    fig.colorbar(im, ax=total, location="bottom", shrink=0.9, label="value (third column and sum)")
    fig.suptitle(f"Input channel c={c} of the gradient: a sum over the {f_count} kernels",
                 fontsize=12)
    return fig
