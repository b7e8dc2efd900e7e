"""The period figure (convgrad.figures.periods) marks the products ``y_bar_o w_k x_m`` of the
layer (``m = o + k``) and of a circular correlation of period ``L`` (``m = (o + k) mod L``),
computed here from those formulas; bad arguments are errors naming them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from convgrad.figures import use_book_style  # noqa: E402
from convgrad.figures.periods import circular_correlation, draw_period_pairs, period_pairs  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    use_book_style()
    yield
    plt.close("all")


@pytest.mark.parametrize("signal, taps, period", [(16, 5, 13), (16, 5, 16), (16, 5, 20), (9, 3, 7),
                                                  (10, 4, 8)])
def test_pairs_are_the_index_formulas(signal, taps, period):
    pp = period_pairs(signal, taps, period)
    outputs = signal - taps + 1
    layer, circ = np.zeros((outputs, signal), int), np.zeros((outputs, signal), int)
    for o in range(outputs):
        for k in range(taps):
            layer[o, o + k] = k + 1
            if (o + k) % period < signal:
                circ[o, (o + k) % period] = k + 1
    assert np.array_equal(pp.layer, layer) and np.array_equal(pp.circular, circ)
    assert pp.wrapped == {(o, m): circ[o, m] - 1 for o, m in zip(*np.nonzero(circ * (layer == 0)))}
    assert pp.missed == {(o, m): layer[o, m] - 1 for o, m in zip(*np.nonzero(layer * (circ == 0)))}
    assert pp.agree == sum(o + taps - 1 < period for o in range(outputs))


def test_long_enough_period_wraps_nothing():
    pp = period_pairs(16, 5, 16)
    assert pp.wrapped == {} and pp.missed == {} and pp.agree == 12


def test_circular_correlation_is_the_periodic_sum():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal(4), rng.standard_normal(9)
    want = [sum(w[k] * x[(o + k) % 9] for k in range(4)) for o in range(9)]
    np.testing.assert_allclose(circular_correlation(w, x, 9), want, rtol=1e-12, atol=1e-12)


def test_figure_has_title_labels_and_legend():
    fig, pp = draw_period_pairs()
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and fig.legends
    assert len(pp.wrapped) == 6


@pytest.mark.parametrize("args, match", [((16, 5, 11), "period"), ((4, 5, 8), "taps"),
                                         ((16, 0, 13), "taps"), ((16.0, 5, 13), "signal")])
def test_bad_arguments_name_themselves(args, match):
    with pytest.raises(ValueError, match=match):
        period_pairs(*args)
