"""The grouped layer's matrix picture: its labels against the index formula of a grouped convolution."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from convgrad.figures.groups import draw_layer_matrices, layer_matrix_groups  # noqa: E402


@pytest.mark.parametrize("c_in, f_out, groups, m_len, k_len",
                         [(4, 4, 1, 5, 2), (4, 4, 2, 5, 2), (4, 4, 4, 5, 2), (4, 6, 2, 4, 3), (3, 6, 3, 3, 1),
                          (2, 2, 2, 3, 3)])
def test_labels_follow_the_index_formula(c_in, f_out, groups, m_len, k_len):
    labels = layer_matrix_groups(c_in, f_out, groups, m_len, k_len)
    o_len = m_len - k_len + 1
    assert labels.shape == (f_out * o_len, c_in * m_len)
    # y[f, o] = sum_{c < C/G, k} w[f, c, k] x[g*C/G + c, o + k] with g = f // (F/G)
    want = np.zeros_like(labels)
    for f, o, c, m in np.ndindex(f_out, o_len, c_in, m_len):
        g = f // (f_out // groups)
        if c // (c_in // groups) == g and 0 <= m - o < k_len:
            want[f * o_len + o, c * m_len + m] = 1 + g
    assert np.array_equal(labels, want)
    assert (labels > 0).sum() == f_out * (c_in // groups) * o_len * k_len


def test_figure_returns_the_labels_and_names_its_axes():
    fig, labels = draw_layer_matrices(4, 4, (1, 2, 4), in_size=5, kernel=2)
    try:
        assert sorted(labels) == [1, 2, 4]
        assert [int((lab > 0).sum()) for lab in labels.values()] == [128, 64, 32]
        assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
        assert fig.get_suptitle()
        assert "depthwise" in fig.axes[2].get_title()
    finally:
        plt.close(fig)


@pytest.mark.parametrize("args, error", [((4, 4, 3, 5, 2), ValueError), ((4, 6, 4, 5, 2), ValueError),
                                         ((4, 4, 2, 2, 3), ValueError), ((4, 4, 0, 5, 2), ValueError),
                                         ((4.0, 4, 2, 5, 2), TypeError), ((4, 4, 2, 0, 1), ValueError)])
def test_bad_input(args, error):
    with pytest.raises(error):
        layer_matrix_groups(*args)
