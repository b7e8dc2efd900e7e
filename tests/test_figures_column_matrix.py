"""The column-matrix figures (convgrad.figures.column_matrix) show what the index formula says,
computed here independently: the column matrix holds the flat index ``(i + a)*W + (j + b)`` of the
entry each cell copies, the kernel-offset shifts are ``a*W + b`` and the shifted slices at the kept
rows are the column matrix; the figures have titles and panels; bad arguments are errors."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from convgrad.figures import use_book_style  # noqa: E402
from convgrad.figures.column_matrix import (  # noqa: E402
    column_picture,
    draw_gemm_products,
    draw_offset_slices,
    offset_slices,
)

SIZES = [((4, 4), (2, 2)), ((5, 3), (2, 3)), ((6, 7), (3, 2))]


@pytest.fixture(autouse=True)
def _close_figures():
    use_book_style()
    yield
    plt.close("all")


@pytest.mark.parametrize("in_size, kernel", SIZES)
def test_columns_hold_the_flat_index_of_each_window_entry(in_size, kernel):
    (h, w), (kh, kw) = in_size, kernel
    pic = column_picture(in_size, kernel, output=(0, 0), tap=(0, 0), kernel_index=0)
    out_h, out_w = h - kh + 1, w - kw + 1
    want = [[(i + a) * w + (j + b) for a, b in itertools.product(range(kh), range(kw))]
            for i, j in itertools.product(range(out_h), range(out_w))]
    assert pic.columns.tolist() == want
    assert pic.shapes == {"A": (out_h * out_w, kh * kw), "W": (2, kh * kw), "Y": (out_h * out_w, 2)}


def test_chosen_row_and_column_are_the_window_and_the_tap():
    pic = column_picture((4, 4), (2, 2), output=(1, 1), tap=(0, 1), kernel_index=1)
    assert pic.row == 4 and pic.columns[pic.row].tolist() == [5, 6, 9, 10]
    assert pic.column == 1 and pic.columns[:, pic.column].tolist() == [1, 2, 3, 5, 6, 7, 9, 10, 11]


@pytest.mark.parametrize("in_size, kernel", SIZES)
def test_offset_slices_are_shifted_flat_input_and_equal_the_columns(in_size, kernel):
    (h, w), (kh, kw) = in_size, kernel
    sl = offset_slices(in_size, kernel)
    assert sl.shifts == tuple(a * w + b for a, b in itertools.product(range(kh), range(kw)))
    assert sl.kept == tuple(i * w + j for i in range(h - kh + 1) for j in range(w - kw + 1))
    length = h * w - max(sl.shifts)
    for t, d in enumerate(sl.shifts):
        assert sl.slices[t].tolist() == list(range(d, d + length))
    pic = column_picture(in_size, kernel, output=(0, 0), tap=(0, 0), kernel_index=0)
    assert np.array_equal(sl.slices[:, list(sl.kept)].T, pic.columns)


def test_figures_have_titles_and_panels():
    fig, pic = draw_gemm_products()
    assert len(fig.axes) == 4 and fig._suptitle.get_text()
    assert [ax.get_title() for ax in fig.axes[1:]] == [
        "forward\nY = A Wᵀ", "weight gradient\nW̄ᵀ = Aᵀ Ȳ", "input gradient\nĀ = Ȳ W"]
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    fig, sl = draw_offset_slices()
    assert fig.axes[0].get_title() and fig.legends


@pytest.mark.parametrize("kwargs, match", [
    (dict(output=(3, 0)), "output"), (dict(tap=(0, 2)), "tap"), (dict(kernel_index=2), "kernel_index")])
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        column_picture((4, 4), (2, 2), **kwargs)
