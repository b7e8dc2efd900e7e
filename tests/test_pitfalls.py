"""convgrad.pitfalls: each wrong recipe computes exactly the wrong thing its docstring says, a proper
check catches it, and the weak check the book names lets it through. Also the step-size tools of
convgrad.check that the chapters on mistakes and gradient checking use."""

import numpy as np
import pytest
import sympy as sp

import convgrad as cg
from convgrad import pitfalls
from convgrad.check import (
    adjoint_test,
    central_difference,
    gradcheck,
    numeric_gradient,
    step_sweep,
    taylor_test,
)
from convgrad.symbolic import is_zero, symbol_array

RNG = np.random.default_rng(20260)


def normal(*shape):
    return RNG.standard_normal(shape)


# --- the channel-mean recipe ----------------------------------------------------------------------

RECIPE_OPTS = [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=((1, 0), (0, 2))),
               dict(padding="same", stride=(2, 3))]


@pytest.mark.parametrize("opts", RECIPE_OPTS)
def test_recipe_is_the_channel_mean_divided_by_the_batch(opts):
    x, w_shape = normal(3, 10, 9, 4), (5, 3, 2, 4)
    dz = normal(*cg.conv_output_shape(x.shape, w_shape, layout="channels_last", **opts))
    got = pitfalls.channel_mean_recipe(dz, x, w_shape, **opts)
    # the true gradient, by definition: every entry is sum_{n,o} dz[n,o,f] x_pad[n, s*o + d*k, c]
    true = cg.conv_grad_weight(dz, x, w_shape, layout="channels_last", method="reference", **opts)
    want = np.broadcast_to(true.mean(axis=-1, keepdims=True) / x.shape[0], w_shape)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.abs(got - true).max() > 0.1 * np.abs(true).max()  # and it is far from the gradient


def test_recipe_channels_first_and_without_the_batch_division():
    x, w_shape = normal(2, 3, 7, 7), (4, 3, 3, 3)
    dz = normal(2, 4, 5, 5)
    got = pitfalls.channel_mean_recipe(dz, x, w_shape, layout="channels_first", divide_by_batch=False)
    true = cg.conv_grad_weight(dz, x, w_shape)
    np.testing.assert_allclose(got, np.broadcast_to(true.mean(axis=1, keepdims=True), w_shape), rtol=1e-12)


def test_recipe_symbolically_sums_over_the_channels():
    """On symbols the recipe's entries expand to exactly (1/(C N)) sum_c of the true gradient."""
    n, c, f = 2, 2, 1
    x = symbol_array("x", (n, 3, 3, c))
    dz = symbol_array("g", (n, 2, 2, f))
    got = pitfalls.channel_mean_recipe(dz, x, (f, 2, 2, c))
    for i in range(2):
        for j in range(2):
            true = [sum(dz[b, p, q, 0] * x[b, p + i, q + j, ch] for b in range(n) for p in range(2)
                        for q in range(2)) for ch in range(c)]
            for ch in range(c):
                assert is_zero(got[0, i, j, ch] - sp.Rational(1, c * n) * sum(true))
                assert not is_zero(got[0, i, j, ch] - sp.Rational(1, n) * true[ch])


def test_recipe_is_right_for_one_channel_or_equal_channels():
    x1, dz = normal(2, 6, 6, 1), normal(2, 4, 4, 3)
    true = cg.conv_grad_weight(dz, x1, (3, 3, 3, 1), layout="channels_last")
    np.testing.assert_allclose(pitfalls.channel_mean_recipe(dz, x1, (3, 3, 3, 1)), true / 2, rtol=1e-12)
    x3 = np.repeat(x1, 3, axis=-1)  # a grey image copied into three channels
    true3 = cg.conv_grad_weight(dz, x3, (3, 3, 3, 3), layout="channels_last")
    np.testing.assert_allclose(pitfalls.channel_mean_recipe(dz, x3, (3, 3, 3, 3)), true3 / 2, rtol=1e-12)


def _layer(x, w):
    return cg.conv(x, w, layout="channels_last")


def _recipe_grads(dz, x, w):
    return None, pitfalls.channel_mean_recipe(dz, x, w.shape, divide_by_batch=False)


def test_gradcheck_catches_the_recipe_and_a_one_channel_check_does_not():
    x, w = normal(2, 6, 6, 3), normal(4, 3, 3, 3)
    with pytest.raises(AssertionError, match="gradient check failed"):
        gradcheck(_layer, _recipe_grads, (x, w), rtol=1e-6)
    assert gradcheck(_layer, _recipe_grads, (x[..., :1], w[..., :1]), rtol=1e-8) < 1e-8


def test_adjoint_test_catches_the_recipe():
    x, w_shape = normal(2, 6, 6, 3), (4, 3, 3, 3)
    y_shape = cg.conv_output_shape(x.shape, w_shape, layout="channels_last")
    with pytest.raises(AssertionError):
        adjoint_test(lambda w: _layer(x, w), lambda dz: _recipe_grads(dz, x, np.empty(w_shape))[1],
                     w_shape, y_shape, rtol=1e-12)


def test_recipe_preserves_the_sum_of_the_entries():
    """A check that compares only dw.sum() passes the recipe (at N = 1, or with N undone)."""
    x, dz = normal(2, 6, 6, 3), normal(2, 4, 4, 4)
    got = pitfalls.channel_mean_recipe(dz, x, (4, 3, 3, 3), divide_by_batch=False)
    true = cg.conv_grad_weight(dz, x, (4, 3, 3, 3), layout="channels_last")
    assert got.sum() == pytest.approx(true.sum(), rel=1e-12)
    assert np.linalg.norm(got) < np.linalg.norm(true)


def test_recipe_refuses_what_it_cannot_express():
    with pytest.raises(ValueError, match="groups"):
        pitfalls.channel_mean_recipe(normal(1, 4, 4, 1), normal(1, 6, 6, 4), (2, 3, 3, 2), groups=2)


# --- wrong input gradients: caught by the adjoint test, invisible in their blind spot ------------


def assert_caught(forward, wrong, x_shape, y_shape):
    with pytest.raises(AssertionError):
        adjoint_test(forward, wrong, x_shape, y_shape, rtol=1e-12)


def assert_right(forward, adjoint, x_shape, y_shape):
    assert adjoint_test(forward, adjoint, x_shape, y_shape, rtol=1e-13) < 1e-14


@pytest.mark.parametrize("wrong", [pitfalls.grad_input_forgot_flip, pitfalls.grad_input_double_flip])
def test_flip_mistakes(wrong):
    x_shape, w = (2, 3, 7, 6), normal(4, 3, 3, 2)
    y_shape = cg.conv_output_shape(x_shape, w.shape)
    assert_caught(lambda x: cg.conv(x, w), lambda dy: wrong(dy, w), x_shape, y_shape)
    ws = w + w[..., ::-1, ::-1]  # symmetric under the flip: the mistake is invisible
    assert_right(lambda x: cg.conv(x, ws), lambda dy: wrong(dy, ws), x_shape, y_shape)


def test_forgotten_and_doubled_flip_agree():
    w, dy = normal(4, 3, 3, 2), normal(2, 4, 5, 5)
    np.testing.assert_array_equal(pitfalls.grad_input_forgot_flip(dy, w),
                                  pitfalls.grad_input_double_flip(dy, w))


def test_convolve_is_a_true_convolution():
    a, k = normal(1, 1, 9), normal(1, 1, 4)
    want = np.convolve(a[0, 0], k[0, 0], "valid")  # NumPy's textbook convolution
    np.testing.assert_allclose(pitfalls.convolve(a, k)[0, 0], want, rtol=1e-13)


@pytest.mark.parametrize("padding", [1, ((1, 2), (2, 0)), ((0, 1), (1, 1))])
def test_crop_off_by_one(padding):
    x_shape, w = (2, 3, 7, 6), normal(4, 3, 3, 2)
    y_shape = cg.conv_output_shape(x_shape, w.shape, padding=padding)

    def fwd(x):
        return cg.conv(x, w, padding=padding)

    for shift in [1, -1, (0, 1)]:
        assert_caught(fwd, lambda dy, s=shift: pitfalls.grad_input_wrong_crop(dy, w, x_shape, padding=padding,
                                                                              shift=s), x_shape, y_shape)
    assert_right(fwd, lambda dy: pitfalls.grad_input_wrong_crop(dy, w, x_shape, padding=padding, shift=0),
                 x_shape, y_shape)


@pytest.mark.parametrize("kernel,stride,dilation,caught", [
    ((4, 2), 1, 1, True), ((3, 3), 1, 1, False), ((3, 3), 1, 2, False), ((3, 3), 2, 1, True),
    ((2, 3), 1, 3, True),
])
def test_same_padding_extra_side(kernel, stride, dilation, caught):
    x_shape, w = (2, 3, 8, 7), normal(4, 3, *kernel)
    opts = dict(stride=stride, dilation=dilation)
    y_shape = cg.conv_output_shape(x_shape, w.shape, padding="same", **opts)
    # the pairs convgrad resolves: the odd extra at the end
    total = [max((-(-n // stride) - 1) * stride + dilation * (k - 1) + 1 - n, 0)
             for n, k in zip(x_shape[2:], kernel)]
    assert any(t % 2 for t in total) == caught

    def fwd(x):
        return cg.conv(x, w, padding="same", **opts)

    def wrong(dy):
        return pitfalls.grad_input_same_extra_first(dy, w, x_shape, **opts)

    (assert_caught if caught else assert_right)(fwd, wrong, x_shape, y_shape)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_mean_for_sum_is_off_by_the_batch_size(n):
    x, w = normal(n, 2, 6, 6), normal(3, 2, 3, 3)
    err = gradcheck(cg.conv, lambda dy, x, w: (None, pitfalls.grad_weight_divided_by_batch(dy, x, w.shape)),
                    (x, w))
    assert err == pytest.approx(1 - 1 / n, abs=1e-8)  # relative error of g/N against g


@pytest.mark.parametrize("size,remainder", [(9, 0), (8, 1), (11, 0), (10, 1)])
def test_stride_remainder_rows(size, remainder):
    x_shape, w = (2, 3, size, size + 1), normal(4, 3, 3, 3)
    y_shape = cg.conv_output_shape(x_shape, w.shape, stride=2)
    assert (size - 3) % 2 == remainder
    dx = cg.conv_grad_input(normal(*y_shape), w, x_shape, stride=2)
    assert np.all(dx[:, :, size - remainder:] == 0)  # rows no output reads get exactly zero
    assert np.all(dx[:, :, :, size + 1 - (size + 1 - 3) % 2:] == 0)

    def fwd(x):
        return cg.conv(x, w, stride=2)

    wrong = lambda dy: pitfalls.grad_input_remainder_first(dy, w, x_shape, stride=2)  # noqa: E731
    if (size - 3) % 2 or (size + 1 - 3) % 2:
        assert_caught(fwd, wrong, x_shape, y_shape)
    assert_caught(fwd, lambda dy: pitfalls.grad_input_overdilated(dy, w, x_shape, stride=2), x_shape, y_shape)


def test_stride_remainder_first_is_right_without_a_remainder():
    x_shape, w = (2, 3, 9, 11), normal(4, 3, 3, 3)
    y_shape = cg.conv_output_shape(x_shape, w.shape, stride=2)
    assert_right(lambda x: cg.conv(x, w, stride=2),
                 lambda dy: pitfalls.grad_input_remainder_first(dy, w, x_shape, stride=2), x_shape, y_shape)


@pytest.mark.parametrize("groups", [2, 3])
def test_group_mistakes(groups):
    x = normal(2, 2 * groups, 6, 5)
    w = normal(2 * groups, 2, 3, 2)
    y_shape = cg.conv_output_shape(x.shape, w.shape, groups=groups)
    assert_caught(lambda u: cg.conv(u, w, groups=groups),
                  lambda dy: pitfalls.grad_input_ignoring_groups(dy, w, x.shape, groups=groups),
                  x.shape, y_shape)
    assert_caught(lambda v: cg.conv(x, v, groups=groups),
                  lambda dy: pitfalls.grad_weight_first_group(dy, x, w.shape, groups=groups),
                  w.shape, y_shape)
    dy = normal(*y_shape)
    # group 0's output channels are right, the others are not
    right = cg.conv_grad_weight(dy, x, w.shape, groups=groups)
    wrong = pitfalls.grad_weight_first_group(dy, x, w.shape, groups=groups)
    np.testing.assert_allclose(wrong[:2], right[:2], rtol=1e-12)
    assert not np.allclose(wrong[2:], right[2:])


def test_group_mistakes_are_right_without_groups():
    x, w = normal(2, 3, 6, 5), normal(4, 3, 3, 2)
    dy = normal(*cg.conv_output_shape(x.shape, w.shape))
    np.testing.assert_allclose(pitfalls.grad_input_ignoring_groups(dy, w, x.shape, groups=1),
                               cg.conv_grad_input(dy, w, x.shape), rtol=1e-12)
    np.testing.assert_allclose(pitfalls.grad_weight_first_group(dy, x, w.shape, groups=1),
                               cg.conv_grad_weight(dy, x, w.shape), rtol=1e-12)


# --- the step-size tools of convgrad.check ------------------------------------------------------

W_TANH = np.random.default_rng(7).standard_normal((3, 2, 3, 3))
G_TANH = np.random.default_rng(8).standard_normal((2, 3, 4, 4))


def tanh_loss(x):
    return float((G_TANH * np.tanh(cg.conv(x, W_TANH.astype(x.dtype)))).sum())


def tanh_grad(x):
    y = np.tanh(cg.conv(x.astype(np.float64), W_TANH))
    return cg.conv_grad_input(G_TANH * (1 - y**2), W_TANH, x.shape)


X_TANH = np.random.default_rng(9).standard_normal((2, 2, 6, 6)) * 0.3


def test_central_difference_keeps_the_dtype():
    v = np.ones((3,), dtype=np.float32)
    seen = []

    def loss(x):
        seen.append(x.dtype)
        return x.sum()

    assert central_difference(loss, np.zeros(3, dtype=np.float32), v, 0.5) == pytest.approx(3.0)
    assert seen == [np.float32, np.float32]


def test_step_sweep_is_v_shaped_and_float32_never_gets_close():
    steps = np.logspace(-1, -10, 10)
    e64 = step_sweep(tanh_loss, tanh_grad, X_TANH, steps)
    best = int(np.argmin(e64))
    assert 1e-7 <= steps[best] <= 1e-3 and e64[best] < 1e-7
    assert e64[0] > 100 * e64[best] and e64[-1] > 100 * e64[best]  # both arms of the V
    e32 = step_sweep(tanh_loss, tanh_grad, X_TANH.astype(np.float32), steps)
    assert e32.min() > 1e-5  # float32: at best about 1e-4 here
    assert e32[-1] == 1.0  # x + h v rounds back to x: the difference is 0


def test_taylor_test_orders():
    steps = 0.002 * 0.5 ** np.arange(6)
    _, good = taylor_test(tanh_loss, tanh_grad, X_TANH, steps)
    _, bad = taylor_test(tanh_loss, lambda x: tanh_grad(x) * 1.1, X_TANH, steps)
    assert np.all(np.abs(good - 2) < 0.1)
    assert np.all(np.abs(bad - 1) < 0.1)


def test_numeric_gradient_agrees_with_the_gradient_and_leaves_x_alone():
    x = X_TANH.copy()
    g = numeric_gradient(tanh_loss, x)
    assert np.abs(g - tanh_grad(x)).max() / np.abs(g).max() < 1e-8
    assert np.array_equal(x, X_TANH)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(numeric_gradient(tanh_loss, x), 1.01 * tanh_grad(x), rtol=1e-3)
