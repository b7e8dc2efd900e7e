"""The pairing figure of y = W x: its terms and read-off adjoints against the matrix formulas."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402

from convgrad.figures.pairing import draw_pairing_readoff, pairing_terms  # noqa: E402


@pytest.mark.parametrize("rows, cols", [(1, 1), (2, 3), (3, 2)])
def test_terms_and_adjoints(rows, cols):
    t = pairing_terms(rows, cols)
    W, x, ybar, xdot, Wdot = t["W"], t["x"], t["ybar"], t["xdot"], t["Wdot"]
    for i, j in np.ndindex(rows, cols):
        assert sp.expand(t["terms_x"][i, j] - ybar[i] * W[i, j] * xdot[j]) == 0
        assert sp.expand(t["terms_W"][i, j] - ybar[i] * x[j] * Wdot[i, j]) == 0
    for j in range(cols):
        assert sp.expand(t["xbar"][j] - sum(W[i, j] * ybar[i] for i in range(rows))) == 0
    for i, j in np.ndindex(rows, cols):
        assert sp.expand(t["Wbar"][i, j] - ybar[i] * x[j]) == 0
    # rows of the x-terms sum to y_bar_i (W x_dot)_i, columns to x_bar_j x_dot_j
    Wxdot = [sum(W[i, j] * xdot[j] for j in range(cols)) for i in range(rows)]
    for i in range(rows):
        assert sp.expand(sum(t["terms_x"][i]) - ybar[i] * Wxdot[i]) == 0
    for j in range(cols):
        assert sp.expand(sum(t["terms_x"][:, j]) - t["xbar"][j] * xdot[j]) == 0


def test_figure_writes_every_term():
    fig, t = draw_pairing_readoff(2, 3)
    try:
        texts = [a.get_text() for a in fig.findobj(matplotlib.text.Text)]
        assert r"${\bar{y}}_{1}\,{W}_{1,2}\,{\dot{x}}_{2}$" in texts
        assert r"${\bar{y}}_{0}\,{x}_{2}\,{\dot{W}}_{0,2}$" in texts
        assert sum(s.startswith(r"$\bar{x}_{") for s in texts) == 3
        assert all(ax.get_title() and ax.get_xlabel() for ax in fig.axes)
        assert t["xbar"].shape == (3,) and t["Wbar"].shape == (2, 3)
    finally:
        plt.close(fig)


@pytest.mark.parametrize("rows, cols", [(0, 3), (2, -1), (2.0, 3)])
def test_bad_sizes(rows, cols):
    with pytest.raises(ValueError, match="rows and cols"):
        pairing_terms(rows, cols)
