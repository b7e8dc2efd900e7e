"""The receptive-field volume (convgrad.figures.volumes) marks exactly the input cells and taps that
the index formula ``s*o + d*k - p_lo`` names, computed here independently, loop by loop, for
strides, dilations and per-side paddings on each axis; the figure has a title, labelled axes and one
panel per slice; bad arguments are errors naming them."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from convgrad.figures import use_book_style  # noqa: E402
from convgrad.figures.volumes import draw_receptive_volume, receptive_taps  # noqa: E402

# (in_size, kernel, output, options, low padding per axis resolved by hand)
LAYERS = [
    ((4, 4, 4), (2, 2, 2), (0, 1, 1), {}, (0, 0, 0)),
    ((6, 7, 8), (3, 2, 3), (1, 1, 3),
     dict(stride=(1, 2, 1), dilation=(2, 1, 1), padding=((1, 1), (0, 1), (2, 0))), (1, 0, 2)),
    ((5, 6, 7), (2, 3, 2), (0, 0, 0), dict(stride=2, dilation=(1, 2, 3), padding=1), (1, 1, 1)),
    ((7, 5, 5), (3, 1, 2), (2, 3, 1), dict(stride=(3, 1, 2), padding=((0, 2), (0, 0), (1, 0))),
     (0, 0, 1)),
]


@pytest.fixture(autouse=True)
def _close_figures():
    use_book_style()
    yield
    plt.close("all")


def formula_taps(in_size, kernel, output, options, lows):
    """{input cell: tap} from the index formula, skipping cells outside the input."""
    def triple(v):
        return (v, v, v) if isinstance(v, int) else tuple(v)

    s, d = triple(options.get("stride", 1)), triple(options.get("dilation", 1))
    taps = {}
    for k in itertools.product(*(range(n) for n in kernel)):
        cell = tuple(si * oi + di * ki - lo for si, oi, di, ki, lo in zip(s, output, d, k, lows))
        if all(0 <= c < n for c, n in zip(cell, in_size)):
            taps[cell] = k
    return taps


@pytest.mark.parametrize("in_size, kernel, output, options, lows", LAYERS)
def test_receptive_taps_are_the_index_formula(in_size, kernel, output, options, lows):
    assert receptive_taps(in_size, kernel, output, **options) == formula_taps(
        in_size, kernel, output, options, lows)


def test_taps_on_padding_are_left_out():
    taps = receptive_taps((4, 4, 4), 3, (0, 0, 0), padding=1)
    assert len(taps) == 8 and set(taps.values()) == set(itertools.product((1, 2), repeat=3))


@pytest.mark.parametrize("in_size, kernel, output, options, lows", LAYERS)
def test_figure_marks_the_taps(in_size, kernel, output, options, lows):
    fig, taps = draw_receptive_volume(in_size, kernel, output, **options)
    marked = {tuple(int(v) for v in [p.get_gid().split(":")[0], *p.get_gid().split(":")[2].split(",")])
              for ax in fig.axes for p in ax.patches if p.get_gid() and ":tap:" in p.get_gid()}
    assert marked == set(formula_taps(in_size, kernel, output, options, lows)) == set(taps)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == in_size[0]
    assert fig.get_suptitle()
    for t, ax in enumerate(panels):
        assert ax.get_title().startswith(f"frame t = {t}")
        assert ax.get_xlabel() == "column w" and ax.get_ylabel() == "row h"
        empty = not any(cell[0] == t for cell in taps)
        assert ax.get_title().endswith("nothing") == empty
        if not empty:
            a = {tap[0] for cell, tap in taps.items() if cell[0] == t}.pop()
            assert ax.get_title().endswith(f"kernel slice a = {a}")


def test_ncols_lays_out_the_panels():
    fig, _ = draw_receptive_volume((5, 4, 4), 2, (0, 0, 0), ncols=2)
    assert len(fig.axes) == 6 and sum(ax.get_visible() for ax in fig.axes) == 5


@pytest.mark.parametrize("kwargs, match", [
    (dict(output=(9, 0, 0)), "output=.*outside"),
    (dict(output=(0, 0)), "output must be"),
    (dict(in_size=(4, 4)), "in_size must be"),
    (dict(ncols=0), "ncols"),
    (dict(names=("t", "h")), "names"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    args = dict(in_size=(4, 4, 4), kernel=2, output=(0, 0, 0)) | kwargs
    with pytest.raises(ValueError, match=match):
        draw_receptive_volume(**args)


def test_kernel_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="kernel must be"):
        receptive_taps((4, 4, 4), None, (0, 0, 0))
