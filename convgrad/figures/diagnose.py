"""Figures of the chapter "Check your own implementation": what :func:`convgrad.diagnose.diagnose`
finds, case by case, for every wrong recipe of :mod:`convgrad.pitfalls`."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..diagnose import Report

#: What a cell of the grid shows: not run, passes, fails under another name, fails and names it.
OUTCOMES = ("not run", "passes (the recipe is right, or undefined, here)", "fails, named otherwise",
            "fails, and the mistake is named")
COLOURS = ("white", "#e6e6e6", "#f4a261", "#b2182b")


def outcome_grid(reports: Mapping[str, Report]) -> np.ndarray:
    """``codes[i, j]``: the index in :data:`OUTCOMES` of case ``j`` in the ``i``-th report.

    A report's key is the name of the mistake its backward pass makes; "named" means the report
    names it in that case (first, or as giving the same values).
    """
    rows = []
    for name, report in reports.items():
        row = []
        for r in report.cases:
            named = {m.name for c in r.checks for m in (c.mistake, *c.also) if m is not None}
            row.append(0 if not r.ran else 1 if r.passed else 3 if name in named else 2)
        rows.append(row)
    return np.array(rows)


def draw_case_grid(reports: Mapping[str, Report], *, groups: Mapping[str, str] | None = None,
                   title: str) -> plt.Figure:
    """One row per wrong recipe, one column per case of the ladder, coloured by the outcome.

    Parameters
    ----------
    reports : ``{mistake name: report}``, the report of a backward pass that makes that mistake
    groups : ``{mistake name: group}``, optional
        E.g. the gradient each mistake is in; consecutive rows of one group are bracketed and
        labelled on the right.
    title : str
    """
    codes = outcome_grid(reports)
    cases = next(iter(reports.values())).cases
    fig, ax = plt.subplots(figsize=(8.0, 0.26 * len(reports) + 2.6), layout="constrained")
    ax.imshow(codes, cmap=ListedColormap(COLOURS), vmin=-0.5, vmax=len(COLOURS) - 0.5,
              aspect="auto", interpolation="nearest")
    for i, row in enumerate(codes):
        failing = np.flatnonzero(row >= 2)
        if failing.size:
            ax.plot(failing[0], i, marker="o", ms=4.5, color="white", mec="black", mew=0.6)
    ax.set_xticks(range(len(cases)), [f"{r.index} {r.case.name}" for r in cases], rotation=55,
                  ha="right", rotation_mode="anchor", fontsize=9)
    ax.set_yticks(range(len(reports)), list(reports), fontsize=9)
    ax.set_xticks(np.arange(len(cases)) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(reports)) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1.2)
    ax.tick_params(which="minor", length=0)
    if groups:
        _label_groups(ax, [groups[n] for n in reports], len(cases))
    ax.set_xlabel("case of the ladder, simplest first")
    ax.set_ylabel("backward pass with one wrong recipe")
    ax.set_title(title)
    used = sorted(set(codes.ravel()))
    handles = [Patch(facecolor=COLOURS[k], edgecolor="grey", label=OUTCOMES[k]) for k in used]
    handles.append(Line2D([], [], ls="", marker="o", ms=5, color="white", mec="black", mew=0.6,
                          label="the simplest failing case"))
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    return fig


def _label_groups(ax: plt.Axes, group_of_row: list[str], columns: int) -> None:
    """A black line between rows of different groups, and each group's name right of its rows."""
    start = 0
    for i in range(1, len(group_of_row) + 1):
        if i == len(group_of_row) or group_of_row[i] != group_of_row[start]:
            if i < len(group_of_row):
                ax.axhline(i - 0.5, color="black", lw=1.5)
            ax.text(columns - 0.3, (start + i - 1) / 2, group_of_row[start], ha="left", va="center",
                    fontsize=11, fontweight="bold")
            start = i
