"""Figures of the Performance page, drawn from the benchmark's saved results (``python -m benchmarks``)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

#: Where the benchmark's results are looked for: next to the notebook (run from ``book/``), from
#: the repository root, and next to the package of this checkout (any working directory).
BENCHMARK_PLACES = (
    Path("data"), Path("book") / "data", Path(__file__).resolve().parents[2] / "book" / "data",
)


def load_benchmark(name: str = "benchmark.json") -> dict:
    """The benchmark's saved results (``python -m benchmarks --json book/data/benchmark.json``).

    Found relative to the working directory (``book/`` or the repository root) or to this
    checkout's package, so the Performance page runs from any folder.
    """
    for place in BENCHMARK_PLACES:
        if (place / name).is_file():
            return json.loads((place / name).read_text())
    looked = ", ".join(str(p / name) for p in BENCHMARK_PLACES)
    raise FileNotFoundError(
        f"no benchmark results found (looked in {looked}); write them with "
        f"`python -m benchmarks --json book/data/benchmark.json`"
    )

COLOURS = {"auto": "tab:blue", "direct": "tab:cyan", "im2col": "tab:red", "fft": "tab:purple",
           "torch": "tab:gray", "numpy-gemm": "tab:green"}


def draw_ratios(cases: list[str], ratios: dict[str, list[float | None]], title: str) -> plt.Figure:
    """Horizontal bars of time ratios to PyTorch (log scale; left of 1 is faster than PyTorch).

    Parameters
    ----------
    cases : layer names, one row each
    ratios : method -> one ratio per case (``None`` where not measured)
    title : the figure's title
    """
    fig, ax = plt.subplots(figsize=(9.0, 0.55 * len(cases) + 1.6))
    height = 0.8 / len(ratios)
    pos = np.arange(len(cases))
    for i, (method, values) in enumerate(ratios.items()):
        v = np.array([np.nan if r is None else r for r in values], dtype=float)
        ax.barh(pos + (i - (len(ratios) - 1) / 2) * height, v, height, label=method,
                color=COLOURS.get(method))
    ax.axvline(1.0, color="black", lw=1.2)
    ax.set_xscale("log")
    ax.set_yticks(pos, cases)
    ax.invert_yaxis()
    ax.set_xlabel("time / PyTorch time (median of paired ratios, log scale; < 1 is faster)")
    ax.set_ylabel("layer")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, title="method")
    return fig


def draw_gflops(cases: list[str], gflops: dict[str, list[float | None]], peak: float | None,
                title: str) -> plt.Figure:
    """Grouped bars of GFLOP/s per layer, with the square matrix product's rate as a line.

    Parameters
    ----------
    cases : layer names
    gflops : label -> GFLOP/s per case (``None`` where not measured)
    peak : GFLOP/s of a large square ``matmul`` on the same machine, or ``None``
    title : the figure's title
    """
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    width = 0.8 / len(gflops)
    pos = np.arange(len(cases))
    for i, (label, values) in enumerate(gflops.items()):
        v = np.array([np.nan if g is None else g for g in values], dtype=float)
        ax.bar(pos + (i - (len(gflops) - 1) / 2) * width, v, width, label=label, color=COLOURS.get(label))
    if peak is not None:
        ax.axhline(peak, color="black", ls="--", lw=1.2, label="square matmul (NumPy)")
    ax.set_xticks(pos, cases, rotation=20)
    ax.set_xlabel("layer")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    return fig


def draw_headline(cases: list[str], auto: list[float | None], gemm: list[float | None],
                  title: str) -> plt.Figure:
    """The Performance page's result: per layer, ``auto``'s time relative to PyTorch's (bars)
    and that of NumPy's bare matrix product of the same operations (diamonds), on a log scale
    with PyTorch at 1.

    Parameters
    ----------
    cases : layer names, one row each
    auto, gemm : time ratios to PyTorch per case (``None`` where not measured)
    title : the figure's title
    """
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    fig, ax = plt.subplots(figsize=(8.0, 0.5 * len(cases) + 1.8))
    pos = np.arange(len(cases))
    a = np.array([np.nan if r is None else r for r in auto], dtype=float)
    g = np.array([np.nan if r is None else r for r in gemm], dtype=float)
    for faster, colour, label in ((True, COLOURS["auto"], "convgrad 'auto', faster"),
                                  (False, "tab:orange", "convgrad 'auto', slower")):
        keep = (a <= 1.0) == faster
        ax.barh(pos[keep], a[keep], 0.6, color=colour, label=label)
    ax.scatter(g, pos, marker="D", color="black", zorder=3, s=28,
               label="NumPy's matmul of the same work")
    ax.axvline(1.0, color="black", lw=1.2)
    ax.text(1.0, -0.9, " PyTorch CPU", va="center", fontsize=9)
    ax.set_xscale("log")
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)
             if np.nanmin([*a, *g]) / 1.5 <= t <= np.nanmax([*a, *g]) * 1.5]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_yticks(pos, cases)
    ax.set_ylim(len(cases) - 0.4, -1.3)
    ax.set_xlabel("time / PyTorch's time (median of paired ratios; log scale, < 1 is faster)")
    ax.set_ylabel("layer")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=9)
    return fig
