"""Figures of the chapter on convolution as matrix multiplication (im2col, col2im, memory)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def draw_memory(names: list[str], columns_mib: list[float], offsets_mib: list[float],
                input_mib: list[float]) -> plt.Figure:
    """Grouped bars (log scale): the full column matrix, the kernel-offset method's buffers and the
    input itself, per layer.

    Parameters
    ----------
    names : layer names
    columns_mib, offsets_mib, input_mib : MiB per layer
    """
    fig, ax = plt.subplots(figsize=(9.0, 4.0))
    pos = np.arange(len(names))
    width = 0.27
    ax.bar(pos - width, columns_mib, width, label="full column matrix (im2col)", color="tab:red")
    ax.bar(pos, offsets_mib, width, label="kernel-offset buffers (direct)", color="tab:blue")
    ax.bar(pos + width, input_mib, width, label="input x", color="tab:gray")
    ax.set_yscale("log")
    ax.set_xticks(pos, names)
    ax.set_xlabel("layer (float32)")
    ax.set_ylabel("memory (MiB, log scale)")
    ax.set_title("Extra memory of the two GEMM formulations, against the input's size")
    ax.set_ylim(top=max(columns_mib) * 8)
    ax.legend(loc="upper left", ncols=3, fontsize=9)
    return fig
