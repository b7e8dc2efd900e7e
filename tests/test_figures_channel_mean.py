"""The channel-mean figure of the wrong-recipe chapter draws the true slices and the recipe's value
where the chapter says: the recipe's bar at the mean of the channels, computed here with plain NumPy
loops; bad shapes are a ValueError naming the arrays."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from convgrad.figures.channel_mean import draw_channel_mean  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _mean_over_channels(a):
    out = np.zeros(a.shape[:-1])
    for c in range(a.shape[-1]):
        out += a[..., c]
    return out / a.shape[-1]


@pytest.mark.parametrize("kernel", [0, 2])
def test_means_and_what_is_drawn(kernel):
    rng = np.random.default_rng(3)
    true = rng.standard_normal((3, 3, 2, 3))
    recipe = np.repeat(_mean_over_channels(true)[..., None], 3, axis=-1)
    fig, means = draw_channel_mean(true, recipe, kernel=kernel)
    np.testing.assert_allclose(means, _mean_over_channels(true)[kernel], rtol=1e-14)
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 4                                       # three channels and the recipe
    for c in range(3):
        np.testing.assert_array_equal(maps[c].images[0].get_array(), true[kernel, :, :, c])
    np.testing.assert_array_equal(maps[3].images[0].get_array(), recipe[kernel, :, :, 0])
    (strip,) = [ax for ax in fig.axes if ax.collections and not ax.images and ax.get_xlabel()]
    bars = strip.collections[0].get_segments()                  # the recipe's bars, one per tap
    assert len(bars) == 6
    np.testing.assert_allclose([seg[0][1] for seg in bars], recipe[kernel, :, :, 0].ravel(), rtol=1e-14)
    for ax in fig.axes:
        if ax.images or ax is strip:
            assert ax.get_title() and ax.get_xlabel()


def test_bad_input():
    a = np.zeros((2, 3, 3, 3))
    with pytest.raises(ValueError, match="true.shape"):
        draw_channel_mean(a, a[..., :2])
    with pytest.raises(ValueError, match="kernel"):
        draw_channel_mean(a, a, kernel=2)
    with pytest.raises(ValueError, match="channels"):
        draw_channel_mean(np.zeros((1, 2, 2, 7)), np.zeros((1, 2, 2, 7)))
