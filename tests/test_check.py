"""The checks themselves: they pass on correct gradients and fail on wrong ones."""

import numpy as np
import pytest

import convgrad as cg
from convgrad.check import adjoint_test, gradcheck

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
