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


# --- the recipes added for convgrad.diagnose: each against an independent computation -------------

OPTIONS = [dict(), dict(stride=2), dict(padding=1), dict(dilation=2),
           dict(stride=2, padding=1, dilation=2), dict(groups=2)]
X_SHAPE = (2, 4, 9, 8)


def layer(opts, f=4, kernel=(3, 2), x_shape=X_SHAPE):
    """A weight and an output gradient for a layer with these options."""
    w = normal(f, x_shape[1] // opts.get("groups", 1), *kernel)
    return w, normal(*cg.conv_output_shape(x_shape, w.shape, **opts))


@pytest.mark.parametrize("opts", OPTIONS)
def test_forgotten_flip_with_options_is_the_gradient_of_the_flipped_kernel(opts):
    w, dy = layer(opts)
    got = pitfalls.grad_input_forgot_flip(dy, w, X_SHAPE, **opts)
    want = cg.conv_grad_input(dy, w[..., ::-1, ::-1], X_SHAPE, **opts)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert_caught(lambda x: cg.conv(x, w, **opts),
                  lambda v: pitfalls.grad_input_forgot_flip(v, w, X_SHAPE, **opts), X_SHAPE, dy.shape)


def test_forgotten_flip_general_path_is_the_literal_one_without_options():
    w, dy = layer({}, x_shape=(2, 3, 7, 6))
    np.testing.assert_allclose(pitfalls.grad_input_forgot_flip(dy, w, (2, 3, 7, 6)),
                               pitfalls.grad_input_forgot_flip(dy, w), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="needs x_shape"):
        pitfalls.grad_input_forgot_flip(dy, w, stride=2)


@pytest.mark.parametrize("opts", OPTIONS)
def test_np_flip_reverses_the_channels_too(opts):
    w, dy = layer(opts)
    got = pitfalls.grad_input_flipped_all_axes(dy, w, X_SHAPE, **opts)
    # np.flip(w) = the kernel flipped in space (right) with both channel axes reversed (wrong)
    want = cg.conv_grad_input(dy, w[::-1, ::-1], X_SHAPE, **opts)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert_caught(lambda x: cg.conv(x, w, **opts),
                  lambda v: pitfalls.grad_input_flipped_all_axes(v, w, X_SHAPE, **opts), X_SHAPE, dy.shape)
    if "groups" not in opts:  # one kernel, one channel: right
        x1_shape = (2, 1, 9, 8)
        w1, dy1 = layer(opts, f=1, x_shape=x1_shape)
        assert_right(lambda x: cg.conv(x, w1, **opts),
                     lambda v: pitfalls.grad_input_flipped_all_axes(v, w1, x1_shape, **opts),
                     x1_shape, dy1.shape)


@pytest.mark.parametrize("opts", OPTIONS)
def test_untransposed_kernel(opts):
    w, dy = layer(opts)  # F = C = 4
    got = pitfalls.grad_input_channels_not_swapped(dy, w, X_SHAPE, **opts)
    g = opts.get("groups", 1)
    f, cg_ = w.shape[:2]
    swapped = w.reshape(g, f // g, cg_, *w.shape[2:]).swapaxes(1, 2).reshape(w.shape)  # w[c, f] per group
    np.testing.assert_allclose(got, cg.conv_grad_input(dy, swapped, X_SHAPE, **opts), rtol=1e-12, atol=1e-12)
    assert_caught(lambda x: cg.conv(x, w, **opts),
                  lambda v: pitfalls.grad_input_channels_not_swapped(v, w, X_SHAPE, **opts),
                  X_SHAPE, dy.shape)
    assert_right(lambda x: cg.conv(x, swapped + w, **opts),  # symmetric in its channel axes: right
                 lambda v: pitfalls.grad_input_channels_not_swapped(v, swapped + w, X_SHAPE, **opts),
                 X_SHAPE, dy.shape)
    w5, dy5 = layer(opts, f=3 * g)
    with pytest.raises(ValueError, match="F == C"):
        pitfalls.grad_input_channels_not_swapped(dy5, w5, X_SHAPE, **opts)


@pytest.mark.parametrize("padding", [1, 2])
def test_uncropped_and_minus_p_crops(padding):
    opts = dict(stride=2, padding=padding)
    w, dy = layer(opts)
    right = cg.conv_grad_input(dy, w, X_SHAPE, **opts)
    padded = pitfalls.grad_input_not_cropped(dy, w, X_SHAPE, **opts)
    assert padded.shape == (2, 4, 9 + 2 * padding, 8 + 2 * padding)
    np.testing.assert_allclose(padded[:, :, padding:-padding, padding:-padding], right, rtol=1e-12)
    assert np.abs(padded).sum() > np.abs(right).sum()  # the padding's gradient is not zero
    np.testing.assert_allclose(pitfalls.grad_input_crop_minus_p(dy, w, X_SHAPE, **opts), right, rtol=1e-12)
    w0, dy0 = layer({})
    assert pitfalls.grad_input_crop_minus_p(dy0, w0, X_SHAPE, padding=0).shape == (2, 4, 0, 0)


@pytest.mark.parametrize("size", [(8, 8), (9, 9), (10, 8)])
def test_remainder_dropped(size):
    x_shape, w = (2, 3, *size), normal(4, 3, 3, 3)
    dy = normal(*cg.conv_output_shape(x_shape, w.shape, stride=3))
    right = cg.conv_grad_input(dy, w, x_shape, stride=3)
    short = pitfalls.grad_input_remainder_dropped(dy, w, stride=3)
    r = [(n - 3) % 3 for n in size]
    assert short.shape == (2, 3, size[0] - r[0], size[1] - r[1])
    restored = np.pad(short, [(0, 0), (0, 0), (0, r[0]), (0, r[1])])  # the zero rows at the end
    np.testing.assert_allclose(restored, right, rtol=1e-12, atol=1e-12)


def wrong_index_loop(dy, x, w, *, padding, step, spacing):
    """dx and dw of a loop pairing dy[n, f, o] with padded input row step*o + spacing*k (2-D, no groups)."""
    p = padding
    x_pad = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    kh, kw = w.shape[2:]
    for n, f, i, j in np.ndindex(dy.shape):
        for a, b in np.ndindex(kh, kw):
            r, c = step * i + spacing * a, step * j + spacing * b
            dx_pad[n, :, r, c] += dy[n, f, i, j] * w[f, :, a, b]
            dw[f, :, a, b] += dy[n, f, i, j] * x_pad[n, :, r, c]
    return dx_pad[:, :, p:p + x.shape[2], p:p + x.shape[3]], dw


@pytest.mark.parametrize("s,p,d", [(2, 0, 1), (3, 1, 1), (1, 1, 2), (2, 1, 2), (3, 0, 3)])
def test_stride_or_dilation_left_out_of_the_index(s, p, d):
    opts = dict(stride=s, padding=p, dilation=d)
    x = normal(*X_SHAPE)
    w, dy = layer(opts)
    for kind, step, spacing in [("stride_ignored", 1, d), ("undilated", s, 1)]:
        want_dx, want_dw = wrong_index_loop(dy, x, w, padding=p, step=step, spacing=spacing)
        got_dx = getattr(pitfalls, f"grad_input_{kind}")(dy, w, X_SHAPE, **opts)
        got_dw = getattr(pitfalls, f"grad_weight_{kind}")(dy, x, w.shape, **opts)
        np.testing.assert_allclose(got_dx, want_dx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got_dw, want_dw, rtol=1e-12, atol=1e-12)
        right_here = (step, spacing) == (s, d)
        assert np.allclose(got_dx, cg.conv_grad_input(dy, w, X_SHAPE, **opts)) == right_here
        assert np.allclose(got_dw, cg.conv_grad_weight(dy, x, w.shape, **opts)) == right_here


def test_last_sample_and_divided_bias():
    x, w = normal(3, 2, 6, 6), normal(4, 2, 3, 3)
    dy = normal(3, 4, 4, 4)
    np.testing.assert_allclose(pitfalls.grad_weight_last_sample(dy, x, w.shape),
                               cg.conv_grad_weight(dy[2:], x[2:], w.shape), rtol=1e-12)
    np.testing.assert_allclose(pitfalls.grad_weight_last_sample(dy[:1], x[:1], w.shape),
                               cg.conv_grad_weight(dy[:1], x[:1], w.shape), rtol=1e-12)  # right at N = 1
    np.testing.assert_allclose(pitfalls.grad_bias_divided_by_batch(dy), dy.sum(axis=(0, 2, 3)) / 3,
                               rtol=1e-12)


def test_kernel_gradient_by_a_true_convolution():
    """At stride 1 in 1-D the recipe is literally sum_n np.convolve(x[n, c], dy[n, f], 'valid')."""
    x, dy = normal(3, 2, 11), normal(3, 4, 8)  # kernel 4
    want = np.array([[sum(np.convolve(x[n, c], dy[n, f], "valid") for n in range(3)) for c in range(2)]
                     for f in range(4)])
    np.testing.assert_allclose(pitfalls.grad_weight_convolved(dy, x, (4, 2, 4)), want, rtol=1e-12)
    right = cg.conv_grad_weight(dy, x, (4, 2, 4))
    assert not np.allclose(want, right)
    np.testing.assert_allclose(right, [[sum(np.correlate(x[n, c], dy[n, f], "valid") for n in range(3))
                                        for c in range(2)] for f in range(4)], rtol=1e-12)


def test_swapped_kernel_gradient_and_ignored_padding():
    x, w = normal(2, 3, 7, 6), normal(3, 3, 3, 3)
    dy = normal(*cg.conv_output_shape(x.shape, w.shape, padding=1))
    right = cg.conv_grad_weight(dy, x, w.shape, padding=1)
    np.testing.assert_allclose(pitfalls.grad_weight_channels_swapped(dy, x, w.shape, padding=1),
                               right.swapaxes(0, 1), rtol=1e-12)
    with pytest.raises(ValueError, match="F == C"):
        pitfalls.grad_weight_channels_swapped(dy[:, :2], x, (2, 3, 3, 3), padding=1)
    # padding ignored: a valid correlation of the unpadded input with dy, 3 - 2 = 1 tap per axis
    got = pitfalls.grad_weight_padding_ignored(dy, x, w.shape)
    assert got.shape == (3, 3, 1, 1)
    np.testing.assert_allclose(got[..., 0, 0], np.einsum("nfij,ncij->fc", dy, x), rtol=1e-12)
    with pytest.raises(ValueError, match="larger than x"):
        pitfalls.grad_weight_padding_ignored(normal(2, 3, 9, 9), x, w.shape)


def test_catalogue_entries():
    by_name = {m.name: m for m in pitfalls.CATALOGUE}
    assert {m.quantity for m in pitfalls.CATALOGUE} == {"dx", "dw", "db"}
    assert all(m.explanation and m.chapter for m in pitfalls.CATALOGUE)
    x, w = normal(2, 4, 6, 6), normal(4, 2, 3, 3)
    dy = normal(*cg.conv_output_shape(x.shape, w.shape, groups=2))
    with pytest.raises(TypeError, match="unknown options"):
        by_name["kernel not flipped"](dy, x, w, pad=1)
    assert by_name["channel-mean recipe"](dy, x, w, groups=2) is None  # not defined with groups
    assert by_name["kernel flipped twice"](dy, x, w, groups=2) is None
    wrong = pitfalls.wrong_backward(by_name["channel-mean recipe"])
    for got, right in zip(wrong(dy, x, w, groups=2), cg.conv_backward(dy, x, w, groups=2)):
        np.testing.assert_allclose(got, right, rtol=1e-12)  # where undefined: the right gradients
    x3, w3 = normal(2, 3, 6, 6), normal(4, 3, 3, 3)
    dy3 = normal(2, 4, 4, 4)
    dx, dw, db = wrong(dy3, x3, w3)
    np.testing.assert_allclose(dw, pitfalls.channel_mean_recipe(dy3, x3, w3.shape, layout="channels_first"))
    assert wrong.__name__ == "backward_channel-mean_recipe"
    with pytest.raises(ValueError, match="layout"):
        pitfalls.wrong_backward(by_name["db divided by N"], layout="NHWC")
    assert all(reason for reason in pitfalls.NOT_DIAGNOSED.values())
