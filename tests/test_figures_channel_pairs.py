"""The channel-pair figure of the seed question: which channels meet in w̄ and x̄, as drawn."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from convgrad.figures.channel_pairs import channel_pairs, draw_channel_pairs  # noqa: E402


def _gids(fig):
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches if p.get_gid()}


def test_seed_question_pairs():
    # w̄[f, c] = Σ_n ȳ[n, f] ⋆ x[n, c]: slice (f, c) reads gradient channel f and input channel
    # c only; x̄[n, c] = Σ_f ȳ[n, f] ∗ w[f, c]: every kernel reaches every input channel
    p = channel_pairs((10, 10), 3, 3, 5)
    assert p.weight == {(f, c): (f, c) for f in range(5) for c in range(3)}
    assert p.input == {c: (0, 1, 2, 3, 4) for c in range(3)}
    assert p.out_size == (8, 8)
    # ȳ (8x8) sits at offset (a, b) over x (10x10) for tap (a, b)
    assert p.windows == {(0, 0): (0, 0, 8, 8), (2, 1): (2, 1, 8, 8)}


def test_rectangular_sizes():
    p = channel_pairs((6, 7), (2, 3), in_channels=2, out_channels=4, taps=[(1, 2), (0, 0)])
    assert p.out_size == (5, 5)
    assert p.windows == {(1, 2): (1, 2, 5, 5), (0, 0): (0, 0, 5, 5)}
    assert sorted(p.weight) == [(f, c) for f in range(4) for c in range(2)]
    assert p.input == {0: (0, 1, 2, 3), 1: (0, 1, 2, 3)}


def test_figure_draws_every_pair_and_the_windows():
    fig, p = draw_channel_pairs((10, 10), 3, 3, 5, pair=(1, 2), taps=[(0, 0), (2, 1)])
    try:
        gids = _gids(fig)
        for f in range(5):
            assert f"table:ybar:{f}" in gids
            for c in range(3):
                assert f"table:wbar:{f},{c}" in gids
        for c in range(3):
            assert f"table:x:{c}" in gids and f"table:xbar:{c}" in gids
        assert "table:chosen:1,2" in gids and "table:chosen:0,0" not in gids
        for (a, b), (r0, c0, nr, nc) in p.windows.items():
            frame = gids[f"zoom:window:{a},{b}"]
            assert isinstance(frame, Rectangle)
            # the frame encloses exactly input rows r0..r0+nr-1 and columns c0..c0+nc-1
            x0, y0 = frame.get_xy()
            assert c0 - 0.5 <= x0 < c0 and r0 - 0.5 <= y0 < r0
            assert c0 + nc - 1 < x0 + frame.get_width() <= c0 + nc - 0.5
            assert r0 + nr - 1 < y0 + frame.get_height() <= r0 + nr - 0.5
            assert f"zoom:tap:{a},{b}" in gids
        assert "zoom:tap:1,1" not in gids
        assert all(ax.get_title() for ax in fig.axes)
        assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
        assert "15 valid correlations, ȳ (8×8) sliding over x (10×10) → 3×3" \
            in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_title_can_be_given():
    fig, _ = draw_channel_pairs(title="the answer")
    try:
        assert fig._suptitle.get_text() == "the answer"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(in_channels=0), ValueError, "in_channels"),
    (dict(out_channels=9), ValueError, "out_channels"),
    (dict(out_channels=2.5), TypeError, "out_channels"),
    (dict(in_channels=True), TypeError, "in_channels"),
    (dict(pair=(5, 0)), ValueError, "pair"),
    (dict(pair=3), TypeError, "pair"),
    (dict(taps=[(3, 0)]), ValueError, "tap"),
    (dict(kernel=11), ValueError, "kernel"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        fig, _ = draw_channel_pairs(**kwargs)
        plt.close(fig)


def test_channel_counts_are_exact_ints():
    p = channel_pairs(in_channels=np.int64(2), out_channels=np.int64(1))
    assert p.weight == {(0, 0): (0, 0), (0, 1): (0, 1)}
