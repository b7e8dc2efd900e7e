"""Property tests over random configurations: the adjoint identities, finite differences, and
agreement of every method with the reference loops."""

import numpy as np
import pytest
from hypothesis import given
from strategies import conv_cases

import convgrad as cg
from convgrad.check import adjoint_test, gradcheck

FAST_METHODS = ["direct", "im2col", "fft"]


@given(conv_cases())
def test_input_gradient_is_the_adjoint(case):
    x, w, _ = case.arrays()
    geom = case.geometry
    err = adjoint_test(
        lambda u: cg.conv(u, w, **case.options),
        lambda v: cg.conv_grad_input(v, w, case.x_shape, **case.options),
        case.x_shape, geom.y_shape,
    )
    assert err < 1e-14


@given(conv_cases())
def test_weight_gradient_is_the_adjoint(case):
    x, w, _ = case.arrays()
    geom = case.geometry
    err = adjoint_test(
        lambda u: cg.conv(x, u, **case.options),
        lambda v: cg.conv_grad_weight(v, x, case.w_shape, **case.options),
        case.w_shape, geom.y_shape,
    )
    assert err < 1e-14


@given(conv_cases())
def test_adjoint_identity_relative_to_the_pairing(case):
    """<conv(x), y_bar> = <x, conv_grad_input(y_bar)> relative to the value itself."""
    x, w, _ = case.arrays(seed=1)
    rng = np.random.default_rng(2)
    ybar = rng.standard_normal(case.geometry.y_shape)
    lhs = np.vdot(cg.conv(x, w, **case.options), ybar)
    rhs_x = np.vdot(x, cg.conv_grad_input(ybar, w, case.x_shape, **case.options))
    rhs_w = np.vdot(w, cg.conv_grad_weight(ybar, x, case.w_shape, **case.options))
    assert abs(lhs - rhs_x) <= 1e-12 * max(abs(lhs), 1.0)
    assert abs(lhs - rhs_w) <= 1e-12 * max(abs(lhs), 1.0)


@given(conv_cases())
def test_finite_differences(case):
    x, w, b = case.arrays()

    def f(x, w, b):
        return cg.conv(x, w, b, **case.options)

    def grads(dy, x, w, b):
        return cg.conv_backward(dy, x, w, **case.options)

    assert gradcheck(f, grads, (x, w, b), max_entries=12) < 1e-8


@pytest.mark.parametrize("method", FAST_METHODS)
@given(case=conv_cases(dtypes=(np.float64, np.float32)))
def test_methods_agree_with_reference(method, case):
    x, w, b = case.arrays()
    opts = case.options
    ref_y = cg.conv(x, w, b, method="reference", **opts)
    y = cg.conv(x, w, b, method=method, **opts)
    dy = np.random.default_rng(3).standard_normal(ref_y.shape).astype(case.dtype)
    ref = cg.conv_backward(dy, x, w, method="reference", **opts)
    got = cg.conv_backward(dy, x, w, method=method, **opts)
    rtol = 1e-12 if case.dtype == np.float64 else 2e-5
    for r, g in zip((ref_y, *ref), (y, *got)):
        assert g.dtype == case.dtype
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=rtol, atol=rtol * max(1.0, np.abs(r).max(initial=0)))


@given(conv_cases())
def test_auto_agrees_with_reference(case):
    x, w, b = case.arrays()
    y = cg.conv(x, w, b, **case.options)
    want = cg.conv(x, w, b, method="reference", **case.options)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@given(conv_cases())
def test_transpose_rules(case):
    """The gradients written as convolutions with the operands' roles swapped (convgrad.rules)."""
    x, w, _ = case.arrays()
    dy = np.random.default_rng(4).standard_normal(case.geometry.y_shape)
    dx = cg.conv_grad_input(dy, w, case.x_shape, **case.options)
    dw = cg.conv_grad_weight(dy, x, case.w_shape, **case.options)
    np.testing.assert_allclose(cg.rules.grad_input_via_conv(dy, w, case.x_shape, **case.options), dx,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cg.rules.grad_weight_via_conv(dy, x, case.w_shape, **case.options), dw,
                               rtol=1e-12, atol=1e-12)


@given(conv_cases())
def test_conv_transpose_is_the_input_gradient(case):
    _, w, _ = case.arrays()
    geom = case.geometry
    opts = case.options
    # every configuration is reachable by conv_transpose when its padding is a pair per axis
    output_padding = tuple(
        n + lo + hi - (d * (k - 1) + 1) - s * (o - 1)
        for n, k, o, s, d, (lo, hi) in zip(geom.in_size, geom.kernel_size, geom.out_size,
                                           geom.stride, geom.dilation, geom.padding)
    )
    v = np.random.default_rng(5).standard_normal(geom.y_shape)
    y = cg.conv_transpose(v, w, stride=opts["stride"], padding=geom.padding, dilation=opts["dilation"],
                          groups=opts["groups"], layout=opts["layout"], output_padding=output_padding)
    np.testing.assert_allclose(y, cg.conv_grad_input(v, w, case.x_shape, **opts), rtol=1e-12, atol=1e-12)
