"""Figures of the capstone: training curves and learned filters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def draw_training_curves(histories: dict[str, dict[str, list[float]]]) -> plt.Figure:
    """Training loss and test accuracy per epoch, one line per run.

    Parameters
    ----------
    histories : ``{label: history}``, each as returned by :func:`convgrad.nn.fit`
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    for label, h in histories.items():
        epochs = np.arange(1, len(h["loss"]) + 1)
        ax0.plot(epochs, h["loss"], "o-", ms=4, label=label)
        ax1.plot(epochs, 100 * np.asarray(h["test_accuracy"]), "o-", ms=4, label=label)
    ax0.set_yscale("log")
    ax0.set_xlabel("epoch")
    ax0.set_ylabel("training loss (mean over the batch)")
    ax0.set_title("Softmax cross-entropy")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("test accuracy (%)")
    ax1.set_title("Held-out digits")
    for ax in (ax0, ax1):
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle("Training a CNN with convgrad's gradients (digits, Adam)")
    return fig


def draw_filters(w: np.ndarray, *, title: str, columns: int = 8) -> plt.Figure:
    """The spatial kernels ``w[f, 0]`` of a first convolutional layer ``w (F, 1, kh, kw)``, one panel each."""
    f_count = w.shape[0]
    rows = -(-f_count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns + 1.2, 1.3 * rows + 0.7), squeeze=False,
                             layout="constrained")
    vmax = np.abs(w).max()
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < f_count:
            im = ax.imshow(w[i, 0], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            ax.set_title(f"f={i}", fontsize=9)
        else:
            ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(title)
    return fig
