"""The 1-D input-gradient diagram: its pairs against the index formula, its text in 1-D notation."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from convgrad.figures.conv1d import draw_conv1d_input_gradient  # noqa: E402


@pytest.mark.parametrize("m_in, k_len, m", [(6, 3, 3), (6, 3, 0), (6, 3, 5), (5, 5, 2), (4, 1, 1)])
def test_pairs_are_the_terms_of_the_full_convolution(m_in, k_len, m):
    fig, pairs = draw_conv1d_input_gradient(m_in, k_len, m)
    try:
        n_out = m_in - k_len + 1
        # x_bar_m = sum_n z_bar_n c_{m-n} [0 <= m - n <= K - 1]
        assert pairs == [(n, m - n) for n in range(n_out) if 0 <= m - n < k_len]
        texts = [t.get_text() for t in fig.findobj(Text)]
        caption = "$" + rf"\bar x_{{{m}}} = " + " + ".join(
            rf"\bar z_{{{n}}}\,c_{{{k}}}" for n, k in pairs) + "$"
        assert caption in texts
        assert not any("ȳ" in s or "w[" in s or "x̄[" in s or "w:" in s for s in texts)
        assert all(ax.get_title() and ax.get_xlabel() for ax in fig.axes[:3])
    finally:
        plt.close(fig)


@pytest.mark.parametrize("args, error", [((6, 7, 0), ValueError), ((6, 3, 6), ValueError),
                                         ((6, 3, -1), ValueError), ((6.0, 3, 1), TypeError)])
def test_bad_input(args, error):
    with pytest.raises(error):
        draw_conv1d_input_gradient(*args)
