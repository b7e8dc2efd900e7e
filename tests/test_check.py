"""The checks themselves: they pass on correct gradients and fail on wrong ones."""

import numpy as np
import pytest

import convgrad as cg
from convgrad import pitfalls
from convgrad.check import LayerCheck, adjoint_test, gradcheck, verify_layer

X = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
W = np.random.default_rng(1).standard_normal((4, 3, 3, 2))
OPTS = dict(stride=(2, 1), padding=((1, 0), (0, 1)))


def conv_x(u):
    return cg.conv(u, W, **OPTS)


def adjoint_x(v):
    return cg.conv_grad_input(v, W, X.shape, **OPTS)


Y_SHAPE = cg.conv_output_shape(X.shape, W.shape, **OPTS)


def test_adjoint_test_passes_on_the_adjoint():
    assert adjoint_test(conv_x, adjoint_x, X.shape, Y_SHAPE, rtol=1e-14) < 1e-15


@pytest.mark.parametrize("wrong", [
    lambda v: cg.conv_grad_input(v, W[:, :, ::-1, ::-1], X.shape, **OPTS),  # flipped kernel
    lambda v: cg.conv_grad_input(v, W, X.shape, stride=(2, 1)),  # forgot the padding... shape differs
    lambda v: 1.01 * adjoint_x(v),
])
def test_adjoint_test_fails_on_a_wrong_adjoint(wrong):
    with pytest.raises((AssertionError, ValueError)):
        adjoint_test(conv_x, wrong, X.shape, Y_SHAPE, rtol=1e-12)


def test_adjoint_test_checks_shapes():
    with pytest.raises(ValueError, match="out_shape"):
        adjoint_test(conv_x, adjoint_x, X.shape, (1, 2, 3))


def f(x, w):
    return cg.conv(x, w, **OPTS)


def grads(dy, x, w):
    return (cg.conv_grad_input(dy, w, x.shape, **OPTS), cg.conv_grad_weight(dy, x, w.shape, **OPTS))


def test_gradcheck_passes_on_the_gradient():
    assert gradcheck(f, grads, (X, W), rtol=1e-8) < 1e-9


def test_gradcheck_fails_on_a_wrong_weight_gradient():
    def channel_mean(dy, x, w):  # the recipe that broadcasts dy over the channels
        dx, dw = grads(dy, x, w)
        return dx, np.broadcast_to(dw.mean(axis=1, keepdims=True), dw.shape)

    with pytest.raises(AssertionError, match="gradient check failed"):
        gradcheck(f, channel_mean, (X, W), rtol=1e-6)


def test_gradcheck_skips_arguments_with_none_and_samples_entries():
    err = gradcheck(f, lambda dy, x, w: (None, grads(dy, x, w)[1]), (X, W), max_entries=5)
    assert err < 1e-9


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(f, grads, (X.astype(np.float32), W))


def test_gradcheck_does_not_modify_its_arguments():
    x, w = X.copy(), W.copy()
    gradcheck(f, grads, (x, w), max_entries=3)
    assert np.array_equal(x, X) and np.array_equal(w, W)


# --- verify_layer: the three checks of one layer configuration -------------------------------------

@pytest.mark.parametrize("x_shape,w_shape,opts", [
    ((2, 3, 9, 9), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 3, 7), (2, 3, 2), dict(padding="same")),
    ((1, 4, 8, 6), (6, 2, 3, 2), dict(groups=2, stride=(2, 1), dilation=(1, 2), padding=((1, 1), (2, 0)))),
    ((2, 5, 6, 3), (4, 2, 2, 3), dict(layout="channels_last", stride=(1, 2))),
])
def test_verify_layer_passes_on_convgrad(x_shape, w_shape, opts):
    r = verify_layer(x_shape, w_shape, **opts)
    assert r.ok, r
    assert r.adjoint_x < 1e-13 and r.adjoint_w < 1e-13 and r.finite_differences < 1e-7
    assert r.y_shape == cg.conv_output_shape(x_shape, w_shape, **opts)
    assert str(r).endswith("adjoint tests < 1e-13, finite differences < 1e-7")


def test_verify_layer_summary_names_the_configuration():
    r = verify_layer((2, 3, 9, 9), (4, 3, 3, 3), stride=2, padding=1)
    assert str(r) == "stride=2, padding=1: adjoint tests < 1e-13, finite differences < 1e-7"
    assert r.y_shape == (2, 4, 5, 5)
    plain = verify_layer((1, 1, 5), (1, 1, 2))
    assert str(plain) == "no options: adjoint tests < 1e-13, finite differences < 1e-7"


def _stride_only(recipe):
    return lambda dy, w, x_shape, **o: recipe(dy, w, x_shape, stride=o["stride"])


def _groups_only(recipe):
    return lambda dy, a, shape, **o: recipe(dy, a, shape, groups=o["groups"])


@pytest.mark.parametrize("x_shape,w_shape,opts,wrong,failed", [
    # the rows the stride never reaches put at the front: (8 - 3) % 3 = 2 rows shifted
    ((2, 3, 8), (4, 3, 3), dict(stride=3),
     dict(grad_input=_stride_only(pitfalls.grad_input_remainder_first)), "in x"),
    ((2, 3, 9), (4, 3, 3), dict(stride=2),
     dict(grad_input=_stride_only(pitfalls.grad_input_overdilated)), "in x"),
    ((3, 2, 6), (2, 2, 3), dict(), dict(grad_weight=pitfalls.grad_weight_divided_by_batch), "in w"),
    ((1, 4, 6), (4, 2, 3), dict(groups=2), dict(grad_input=_groups_only(pitfalls.grad_input_ignoring_groups)),
     "in x"),
    ((1, 4, 6), (4, 2, 3), dict(groups=2), dict(grad_weight=_groups_only(pitfalls.grad_weight_first_group)),
     "in w"),
    ((1, 2, 6), (2, 2, 4), dict(padding="same"),
     dict(grad_input=lambda dy, w, xs, **o: pitfalls.grad_input_same_extra_first(dy, w, xs)), "in x"),
])
def test_verify_layer_fails_on_a_wrong_backward(x_shape, w_shape, opts, wrong, failed):
    r = verify_layer(x_shape, w_shape, **opts, **wrong)
    assert not r.ok
    assert r.finite_differences > 1e-3  # the wrong gradient is wrong by O(1), not by rounding
    assert "FAILED" in str(r) and f"adjoint test {failed}" in str(r) and "finite differences" in str(r)


def test_layer_check_displays_its_line_in_a_notebook():
    from IPython.lib.pretty import pretty

    r = verify_layer((1, 1, 5), (1, 1, 2), padding=1)
    assert pretty(r) == str(r) == "padding=1: adjoint tests < 1e-13, finite differences < 1e-7"


def test_layer_check_tolerances():
    base = dict(x_shape=(1, 1, 3), w_shape=(1, 1, 2), y_shape=(1, 1, 2))
    assert LayerCheck(**base, adjoint_x=1e-13, adjoint_w=1e-13, finite_differences=1e-7).ok
    assert not LayerCheck(**base, adjoint_x=2e-13).ok
    assert not LayerCheck(**base, adjoint_w=2e-13).ok
    assert not LayerCheck(**base, finite_differences=2e-7).ok
    assert not LayerCheck(**base, adjoint_x=float("nan")).ok


def test_a_long_configuration_wraps_at_the_book_column():
    r = cg.check.verify_layer((2, 4, 9, 9), (4, 2, 3, 3), stride=2, padding=((1, 0), (2, 1)),
                              dilation=2, groups=2)
    lines = str(r).splitlines()
    assert r.ok and len(lines) == 2 and max(map(len, lines)) <= 76
    assert lines[0].endswith("groups=2:") and lines[1].startswith("  adjoint tests")
