"""The figures of the classic-mistakes chapter: every mistake is caught on data that exercise it and
passes on its blind spot; the flip diagram names the taps of the index formula (w[m - o] and its
mirror); the stride diagram leaves (n - k) % s rows at the end (and the mistake at the front); the
'same' diagram splits the padding as PyTorch does, the extra at the end."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from convgrad.figures.mistakes import (  # noqa: E402
    catches,
    draw_catches,
    draw_flip,
    draw_remainder,
    draw_same_padding,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_catches():
    rows = catches()
    assert len(rows) == 9
    for r in rows:
        assert r.error > 1e-4, r
        if r.blind_error is not None:
            assert r.blind_error < (1e-8 if r.check == "finite differences" else 1e-13), r
    (batch,) = [r for r in rows if r.mistake == "dw divided by N"]
    assert batch.error == pytest.approx(1 - 1 / 4, abs=1e-8)
    tol = {"dot-product test": 1e-13, "finite differences": 1e-7}
    rounding = {"dot-product test": 1e-15, "finite differences": 1e-8}
    fig = draw_catches(rows, tolerances=tol, rounding=rounding, title="t")
    assert len(fig.axes[0].get_yticklabels()) == 9 and fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="dw divided by N"):
        draw_catches(rows, tolerances=tol, rounding={**rounding, "finite differences": 1e-12}, title="t")
    with pytest.raises(ValueError, match="no entry"):
        draw_catches(rows, tolerances={"dot-product test": 1e-13}, rounding=rounding, title="t")


@pytest.mark.parametrize("n,k,m", [(5, 3, 2), (6, 3, 0), (7, 4, 4), (4, 2, 3)])
def test_flip_taps(n, k, m):
    _, taps = draw_flip(n, k, m)
    outs = [o for o in range(n - k + 1) if 0 <= m - o < k]
    assert taps["right"] == {o: m - o for o in outs}
    assert taps["forgot"] == {o: k - 1 - (m - o) for o in outs}


def test_flip_bad_input():
    with pytest.raises(ValueError, match="cell"):
        draw_flip(5, 3, 5)


@pytest.mark.parametrize("n,k,s", [(8, 3, 2), (9, 3, 2), (10, 3, 3), (11, 2, 4)])
def test_remainder(n, k, s):
    _, zeros = draw_remainder(n, k, s)
    out = (n - k) // s + 1
    read = {o * s + t for o in range(out) for t in range(k)}
    assert zeros["right"] == [m for m in range(n) if m not in read]
    r = (n - k) % s
    shifted = {m + r for m in read}
    assert zeros["remainder first"] == [m for m in range(n) if m not in shifted]


@pytest.mark.parametrize("n,k", [(4, 4), (6, 3), (5, 2), (7, 6)])
def test_same_padding(n, k):
    _, pads = draw_same_padding(n, k)
    total = k - 1
    assert pads["right"] == (total // 2, total - total // 2)
    assert pads["extra first"] == (total - total // 2, total // 2)
