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
    draw_error_scales,
    float32_rounding,
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


def test_draw_error_scales():
    fig = draw_error_scales({"a": [0.0, 1e-16], "b": [1e-7, 3e-7], "c": [0.5, 2.0]},
                            {"t1": 1e-13, "t2": 1e-5}, title="scales")
    (ax,) = fig.axes
    assert ax.get_title() == "scales" and "0 drawn at" in ax.get_xlabel()
    points = [line for line in ax.lines if line.get_marker() == "o"]
    assert [len(p.get_xdata()) for p in points] == [2, 2, 2]
    assert min(points[0].get_xdata()) == pytest.approx(1e-17)
    texts = [t.get_text() for t in ax.texts]
    assert "t1" in texts and "t2" in texts and any(t.startswith("c: 0.5 to 2") for t in texts)
    with pytest.raises(ValueError, match="empty"):
        draw_error_scales({"a": []}, {}, title="x")
    with pytest.raises(ValueError, match="groups"):
        draw_error_scales({}, {}, title="x")
