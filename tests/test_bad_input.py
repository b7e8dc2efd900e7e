"""Every bad argument raises ValueError or TypeError naming the argument and the shapes."""

import numpy as np
import pytest

import convgrad as cg

X = np.ones((2, 4, 7, 7))
W = np.ones((6, 2, 3, 3))  # groups=2 fits; groups=1 does not
OK = dict(groups=2)


def raises(exc, match, fn, *args, **kwargs):
    with pytest.raises(exc, match=match) as info:
        fn(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("name", ["stride", "dilation"])
@pytest.mark.parametrize("value", [0, -1, (1, 0), (2, -3)])
def test_non_positive_stride_or_dilation(name, value):
    raises(ValueError, name, cg.conv, X, W, **OK, **{name: value})


@pytest.mark.parametrize("name", ["stride", "dilation"])
@pytest.mark.parametrize("value", [1.5, "2", (1, 2.0), True, None])
def test_non_integer_stride_or_dilation(name, value):
    raises(TypeError, name, cg.conv, X, W, **OK, **{name: value})


@pytest.mark.parametrize("name", ["stride", "dilation", "padding"])
def test_wrong_number_of_per_axis_values(name):
    msg = raises(ValueError, name, cg.conv, X, W, **OK, **{name: (1, 1, 1)})
    assert "2" in msg  # says how many axes there are


@pytest.mark.parametrize("padding", [-1, (0, -2), ((1, 0), (0, -1))])
def test_negative_padding(padding):
    raises(ValueError, "padding must be non-negative", cg.conv, X, W, padding=padding, **OK)


@pytest.mark.parametrize("padding", ["half", "", "sam"])
def test_unknown_padding_string(padding):
    raises(ValueError, "padding must be one of", cg.conv, X, W, padding=padding, **OK)
    raises(ValueError, repr(padding), cg.conv, X, W, padding=padding, **OK)


@pytest.mark.parametrize("spelling", ["SAME", "Same", "VALID", "Full"])
def test_padding_strings_in_any_case(spelling):
    """TensorFlow users write "SAME"; it means what "same" means (output ceil(n / s) per axis)."""
    x = np.arange(2 * 3 * 7 * 6, dtype=float).reshape(2, 3, 7, 6)
    w = np.ones((4, 3, 3, 2))
    y = cg.conv(x, w, padding=spelling, stride=2)
    np.testing.assert_array_equal(y, cg.conv(x, w, padding=spelling.lower(), stride=2))
    if spelling.lower() == "same":
        assert y.shape[2:] == (4, 3)


@pytest.mark.parametrize("padding", [1.0, ((1, 2, 3), 0), (None, 1)])
def test_padding_of_wrong_type(padding):
    raises(TypeError, "padding", cg.conv, X, W, padding=padding, **OK)


@pytest.mark.parametrize("w", [np.ones(3), np.ones((3, 3))])
def test_weight_with_fewer_than_three_dimensions(w):
    msg = raises(ValueError, "w must have at least 3 dimensions", cg.conv, X, w)
    assert str(w.shape) in msg


@pytest.mark.parametrize("x", [np.ones((4, 7)), np.ones((1, 2, 4, 7, 7))])
def test_input_weight_dimension_mismatch(x):
    msg = raises(ValueError, "x must have 4 dimensions", cg.conv, x, W, **OK)
    assert str(x.shape) in msg and str(W.shape) in msg


def test_channel_count_mismatch():
    msg = raises(ValueError, "x has 4 channels", cg.conv, X, W)  # groups=1 expects 2 channels
    assert str(X.shape) in msg and str(W.shape) in msg
    x_last = np.ones((2, 7, 7, 4))
    msg = raises(ValueError, "x has 4 channels", cg.conv, x_last, W, layout="channels_last", **OK)
    assert "w.shape[-1] * groups = 3 * 2 = 6" in msg


@pytest.mark.parametrize("groups", [0, -2])
def test_non_positive_groups(groups):
    raises(ValueError, "groups must be positive", cg.conv, X, W, groups=groups)


@pytest.mark.parametrize("groups", [1.0, "2", None, True])
def test_non_integer_groups(groups):
    raises(TypeError, "groups must be an int", cg.conv, X, W, groups=groups)


def test_groups_not_dividing_output_channels():
    w = np.ones((5, 2, 3, 3))
    raises(ValueError, "groups=2 must divide the number of output channels F=5", cg.conv, X, w, groups=2)


def test_groups_not_dividing_input_channels():
    x = np.ones((2, 5, 7, 7))
    msg = raises(ValueError, "x has 5 channels", cg.conv, x, np.ones((6, 2, 3, 3)), groups=3)
    x = np.ones((2, 3, 7, 7))
    msg = raises(ValueError, "x has 3 channels", cg.conv, x, W, groups=2)
    assert "does not divide C=3" in msg


@pytest.mark.parametrize("kw", [dict(), dict(dilation=4), dict(padding=1, dilation=5)])
def test_kernel_larger_than_padded_input(kw):
    x = np.ones((1, 2, 2, 9))
    msg = raises(ValueError, "larger than the padded input", cg.conv, x, np.ones((3, 2, 3, 3)), **kw)
    assert "axis 0" in msg and "(1, 2, 2, 9)" in msg


@pytest.mark.parametrize("b", [np.ones(5), np.ones((6, 1)), np.ones(())])
def test_bias_of_wrong_shape(b):
    msg = raises(ValueError, "b must have shape", cg.conv, X, W, b, **OK)
    assert str(b.shape) in msg


def test_dy_of_wrong_shape():
    dy = np.ones((2, 6, 5, 6))  # the output is (2, 6, 5, 5)
    for fn, args in [(cg.conv_grad_input, (dy, W, X.shape)), (cg.conv_grad_weight, (dy, X, W.shape)),
                     (cg.conv_backward, (dy, X, W)), (cg.rules.grad_input_via_conv, (dy, W, X.shape))]:
        msg = raises(ValueError, "dy must have shape", fn, *args, **OK)
        assert "(2, 6, 5, 5)" in msg and "(2, 6, 5, 6)" in msg


def test_unbatched_dy_for_a_batched_input():
    raises(ValueError, "dy must have shape", cg.conv_backward, np.ones((6, 5, 5)), X, W, **OK)


@pytest.mark.parametrize("x_shape", [(2, 4, 7), "abc", (2, 4, 7, -1), (2.0, 4, 7, 7)])
def test_bad_x_shape_for_the_input_gradient(x_shape):
    with pytest.raises((ValueError, TypeError), match="x"):
        cg.conv_grad_input(np.ones((2, 6, 5, 5)), W, x_shape, **OK)


def test_unknown_layout_and_method():
    raises(ValueError, "layout must be one of", cg.conv, X, W, layout="NHWC", **OK)
    raises(ValueError, "method must be", cg.conv, X, W, method="fast", **OK)
    raises(ValueError, "layout must be one of", cg.conv_grad_bias, np.ones((2, 6, 5, 5)), layout="nchw")


@pytest.mark.parametrize(
    "bad", [np.ones((2, 4, 7, 7), complex), np.array([["a"]]), np.ones((2, 4, 7, 7), "M8[s]")]
)
def test_unsupported_dtype(bad):
    raises(TypeError, "x must be a real floating", cg.conv, bad, W, **OK)


def test_zero_sized_dimensions():
    raises(ValueError, "zero-length", cg.conv, X, np.ones((0, 2, 3, 3)), **OK)
    raises(ValueError, "zero-length", cg.conv, np.ones((2, 4, 0, 7)), W, **OK)


def test_bias_gradient_needs_a_batch_axis():
    raises(ValueError, "dy must be batched", cg.conv_grad_bias, np.ones((6, 5)))


def test_conv_transpose_bad_input():
    x = np.ones((2, 6, 5, 5))
    w = np.ones((6, 2, 3, 3))
    raises(ValueError, "x has 4 channels", cg.conv_transpose, np.ones((2, 4, 5, 5)), w)
    raises(ValueError, "output_padding", cg.conv_transpose, x, w, stride=2, output_padding=2)
    raises(ValueError, "padding", cg.conv_transpose, x, w, padding="same")
    raises(ValueError, "b must have shape", cg.conv_transpose, x, w, np.ones(6))
    raises(ValueError, "output would be empty", cg.conv_transpose, np.ones((1, 6, 1, 1)), w, padding=2)
    raises(ValueError, "groups=4 must divide", cg.conv_transpose, x, w, groups=4)
    raises(TypeError, "groups must be an int", cg.conv_transpose, x, w, groups=2.0)
    raises(ValueError, "w must have at least 3 dimensions", cg.conv_transpose, x, np.ones((6, 2)))


def test_valid_edge_cases_work():
    """Boundaries of the rules above are accepted: kernel exactly as large as the padded input,
    depthwise groups, unbatched input, empty batch."""
    y = cg.conv(np.ones((1, 2, 3, 3)), np.ones((3, 2, 3, 3)))
    assert y.shape == (1, 3, 1, 1) and np.all(y == 18)
    assert cg.conv(np.ones((1, 4, 5, 5)), np.ones((4, 1, 3, 3)), groups=4).shape == (1, 4, 3, 3)
    assert cg.conv(np.ones((4, 5, 5)), np.ones((8, 1, 3, 3)), groups=4).shape == (8, 3, 3)
    assert cg.conv(np.ones((0, 4, 5, 5)), W, **OK).shape == (0, 6, 3, 3)
