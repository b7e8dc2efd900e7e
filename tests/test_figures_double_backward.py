"""convgrad.figures.double_backward: the grid of the second-order chapter is what the proposition
states (each derivative of the backward pass one of the layer's three maps, the cotangent in an
operand's place), found by SymPy with every option; the drawing shows every cell with a title."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from convgrad.figures import use_book_style  # noqa: E402
from convgrad.figures.double_backward import (  # noqa: E402
    ROWS,
    SLOTS,
    draw_double_backward,
    identify_derivatives,
    star_form,
)

# Proposition prop-second_order-vjp, written out by hand
EXPECTED = {
    ("T", "ybar"): ("conv", "x", "w"),
    ("T", "x"): ("conv_grad_input", "ybar", "w"),
    ("T", "w"): ("conv_grad_weight", "ybar", "x"),
    ("u", "ybar"): ("conv", "u", "w"),
    ("u", "x"): None,
    ("u", "w"): ("conv_grad_weight", "ybar", "u"),
    ("V", "ybar"): ("conv", "x", "V"),
    ("V", "x"): ("conv_grad_input", "ybar", "V"),
    ("V", "w"): None,
}


@pytest.mark.parametrize("x_shape, w_shape, opts", [
    ((1, 2, 6), (2, 2, 2), dict()),
    ((1, 2, 6), (2, 2, 2), dict(stride=2, padding=((1, 0),), dilation=2)),
    ((1, 4, 7), (4, 2, 2), dict(stride=2, padding=((0, 1),), dilation=2, groups=2)),
    ((1, 3, 4, 2), (2, 2, 1, 2), dict(stride=(2, 1), padding=1, layout="channels_last")),
])
def test_the_grid_is_the_proposition(x_shape, w_shape, opts):
    assert identify_derivatives(x_shape, w_shape, **opts) == EXPECTED


def test_star_form_keeps_the_notations_operand_order():
    assert star_form(("conv", "x", "w")) == ("w", r"\star", "x")           # y = w ⋆ x
    assert star_form(("conv_grad_weight", "ybar", "x")) == ("ybar", r"\star", "x")  # w̄ = ȳ ⋆ x
    assert star_form(("conv_grad_input", "ybar", "w")) == ("ybar", "*", "w")         # x̄ = ȳ ∗ w
    with pytest.raises(ValueError, match="unknown map"):
        star_form(("conv_transpose", "a", "b"))


def test_the_drawing_has_every_cell_and_readable_text():
    use_book_style()
    fig = draw_double_backward(EXPECTED, title="a title")
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert fig.axes[0].get_title() == "a title"
    assert sum("conv_grad_weight(" in t for t in texts) == 2
    assert sum("conv_grad_input(" in t for t in texts) == 2
    assert sum(t == "conv(" for t in texts) == 3
    assert sum("has no" in t for t in texts) == 2
    assert len(ROWS) * len(SLOTS) == 9
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()]
    assert min(sizes) >= 10
    plt.close(fig)
