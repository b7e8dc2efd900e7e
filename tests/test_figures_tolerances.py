"""The error scales of the gradient-checking chapters: float32 results of convgrad are within
float32 rounding of float64 (bounded by eps32 * sqrt(terms summed), counted here from the shapes),
every wrong recipe of the catalogue is off by a sizeable fraction (the batch-mean mistake by exactly
1 - 1/N), and the figure draws every group and tolerance it is given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from convgrad import pitfalls  # noqa: E402
from convgrad.diagnose import ladder  # noqa: E402
from convgrad.figures.tolerances import (  # noqa: E402
    decades,
    draw_error_scales,
    float32_rounding,
    snap_log,
    wrong_recipe_errors,
)

EPS32 = float(np.finfo(np.float32).eps)
SMALL = (((4, 3, 12, 12), (8, 3, 3, 3), {"padding": 1}),
         ((2, 16, 9, 9), (16, 8, 3, 3), {"stride": 2, "groups": 2}))


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_float32_rounding_is_float32_sized():
    rows = float32_rounding(SMALL, seed=1)
    (n, _, h, w), (f, cg_, kh, kw) = SMALL[0][0], SMALL[0][1]
    assert rows[0].terms == {"y": cg_ * kh * kw, "dx": f * kh * kw, "dw": n * h * w}
    ho = (9 - 3) // 2 + 1
    assert rows[1].terms == {"y": 8 * 9, "dx": 8 * 9, "dw": 2 * ho * ho}
    for row in rows:
        for q, e in row.errors.items():
            assert EPS32 / 100 < e < EPS32 * np.sqrt(row.terms[q]), (row, q)


def test_wrong_recipes_are_far_from_rounding():
    errors = wrong_recipe_errors()
    names = [m.name for m in pitfalls.CATALOGUE]
    assert list(errors) == [n for n in names if n in errors]
    assert len(errors) >= 15
    assert min(min(v) for v in errors.values()) > 0.3
    # the batch-mean mistake: dw / N, so its error is 1 - 1/N on every case with N > 1
    batch = sorted({1 - 1 / c.batch for c in ladder() if c.batch > 1})
    assert sorted(set(np.round(errors["mean instead of sum over the batch"], 12))) == \
        [round(b, 12) for b in batch]


def test_decades_and_snap():
    assert decades([0.0, 3e-16], floor=1e-17) == (1e-17, 1e-15)
    assert decades([1.2e-7, 6e-7]) == (1e-7, 1e-6)
    assert decades([0.49, 2.6]) == (0.1, 10.0)
    with pytest.raises(ValueError, match="empty"):
        decades([])
    snapped = snap_log([0.0, 1.23456e-9, 0.5])
    np.testing.assert_allclose(snapped, [1e-17, 10 ** -8.908, 10 ** -0.301], rtol=1e-12)
    # a change in the last digits of a rounding error leaves the snapped value alone
    assert snap_log([3.3e-10 * (1 + 1e-9)])[0] == snap_log([3.3e-10])[0]


def test_draw_error_scales():
    groups = {"a": [0.0, 1e-16 / 2], "b": [1e-7 * 1.5, 3e-7], "c": [0.5, 2.0]}
    fig, drawn = draw_error_scales(groups, {"t1": 1e-13, "t2": 1e-5}, title="scales",
                                   bands={"a": (1e-18, 1e-15)})
    (ax,) = fig.axes
    assert ax.get_title() == "scales" and "0 counted as" in ax.get_xlabel()
    assert drawn == {"a": (1e-18, 1e-15), "b": (1e-7, 1e-6), "c": (0.1, 10.0)}
    assert len(ax.collections) == 3                           # one band per group
    for band, (lo, hi) in zip(ax.collections, drawn.values()):
        xs = band.get_paths()[0].vertices[:, 0]
        assert xs.min() == pytest.approx(lo) and xs.max() == pytest.approx(hi)
    texts = [t.get_text() for t in ax.texts]
    assert "t1" in texts and "t2" in texts
    assert "c: 0.1 to 10" in texts and "b: 1e-7 to 1e-6" in texts
    with pytest.raises(ValueError, match="'b'.*band"):
        draw_error_scales(groups, {}, title="x", bands={"b": (1e-6, 1e-5)})
    with pytest.raises(ValueError, match="not in groups"):
        draw_error_scales(groups, {}, title="x", bands={"z": (1, 2)})
    with pytest.raises(ValueError, match="empty"):
        draw_error_scales({"a": []}, {}, title="x")
    with pytest.raises(ValueError, match="groups"):
        draw_error_scales({}, {}, title="x")
