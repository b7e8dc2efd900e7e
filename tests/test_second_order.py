"""convgrad.second_order against PyTorch's double backward (torch.autograd.grad with
create_graph=True, float64), against finite differences of the first-order maps, and exactly on
SymPy symbols."""

import itertools

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from conftest import TORCH_ERRORS

import convgrad as cg
from convgrad import second_order as so
from convgrad.check import adjoint_test
from convgrad.symbolic import is_zero, symbol_array

torch.set_default_dtype(torch.float64)
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
SIZE = {1: (9,), 2: (7, 8), 3: (5, 6, 5)}
KERNEL = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}
PAIRS = {1: ((1, 2),), 2: ((1, 0), (0, 2)), 3: ((1, 1), (0, 1), (2, 0))}


def record(what, got, want):
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-300))
    TORCH_ERRORS[what] = max(TORCH_ERRORS.get(what, 0.0), err)
    assert err < 1e-12, f"{what}: relative difference {err:.2e}"


def to_cf(a, layout):
    return a if layout == "channels_first" else np.moveaxis(a, -1, 1)


def from_cf(a, layout):
    return a if layout == "channels_first" else np.moveaxis(a, 1, -1)


def torch_conv(x, w, b, ndim, pairs, stride, dilation, groups):
    flat = [p for pair in reversed(pairs) for p in pair]  # F.pad wants the last axis first
    return CONV[ndim](F.pad(x, flat), w, b, stride=stride, dilation=dilation, groups=groups)


GRID = [
    # ndim, layout, stride, padding, dilation, groups
    (1, "channels_first", 1, 0, 1, 1),
    (1, "channels_last", 2, "pairs", 2, 2),
    (2, "channels_first", 2, 1, 1, 1),
    (2, "channels_last", 1, "pairs", 1, 3),
    (2, "channels_first", (2, 1), "pairs", (1, 2), 2),
    (2, "channels_last", 3, 0, 2, 1),
    (3, "channels_first", 2, "pairs", 1, 2),
    (3, "channels_last", 1, 1, (1, 2, 1), 1),
]


@pytest.mark.parametrize("ndim,layout,stride,padding,dilation,groups", GRID)
def test_double_backward_matches_torch(ndim, layout, stride, padding, dilation, groups):
    rng = np.random.default_rng(GRID.index((ndim, layout, stride, padding, dilation, groups)))
    size, kernel = SIZE[ndim], KERNEL[ndim]
    pairs = PAIRS[ndim] if padding == "pairs" else ((padding, padding),) * ndim
    n, c, f = 2, 2 * groups, 3 * groups
    x_cf = rng.standard_normal((n, c, *size))
    w_cf = rng.standard_normal((f, c // groups, *kernel))
    b = rng.standard_normal(f)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x_cf, w_cf, b))
    yt = torch_conv(xt, wt, bt, ndim, pairs, stride, dilation, groups)
    dy_cf = rng.standard_normal(tuple(yt.shape))
    dyt = torch.tensor(dy_cf, requires_grad=True)
    dxt, dwt, dbt = torch.autograd.grad(yt, (xt, wt, bt), dyt, create_graph=True)
    ux_cf, uw_cf = rng.standard_normal(x_cf.shape), rng.standard_normal(w_cf.shape)
    ub = rng.standard_normal(f)
    s = (dxt * torch.tensor(ux_cf)).sum() + (dwt * torch.tensor(uw_cf)).sum() + (dbt * torch.tensor(ub)).sum()
    gdy, gx, gw = torch.autograd.grad(s, (dyt, xt, wt))

    opts = dict(stride=stride, padding=pairs, dilation=dilation, groups=groups, layout=layout)
    x, w, dy = from_cf(x_cf, layout), from_cf(w_cf, layout), from_cf(dy_cf, layout)
    ux, uw = from_cf(ux_cf, layout), from_cf(uw_cf, layout)
    dy_bar, x_bar, w_bar = so.conv_backward_vjp(dy, x, w, ux, uw, ub, **opts)
    record("double backward, d/d dy", to_cf(dy_bar, layout), gdy.numpy())
    record("double backward, d/dx", to_cf(x_bar, layout), gx.numpy())
    record("double backward, d/dw", to_cf(w_bar, layout), gw.numpy())

    # the pieces: VJPs of dx and of dw alone
    dxt2 = torch.autograd.grad(yt, xt, dyt, create_graph=True)[0]
    g_dy, g_w = torch.autograd.grad((dxt2 * torch.tensor(ux_cf)).sum(), (dyt, wt))
    a_dy, a_w = so.grad_input_vjp(ux, dy, w, **opts)
    record("VJP of the input gradient", to_cf(a_dy, layout), g_dy.numpy())
    record("VJP of the input gradient", to_cf(a_w, layout), g_w.numpy())
    dwt2 = torch.autograd.grad(yt, wt, dyt, create_graph=True)[0]
    g_dy, g_x = torch.autograd.grad((dwt2 * torch.tensor(uw_cf)).sum(), (dyt, xt))
    a_dy, a_x = so.grad_weight_vjp(uw, dy, x, **opts)
    record("VJP of the weight gradient", to_cf(a_dy, layout), g_dy.numpy())
    record("VJP of the weight gradient", to_cf(a_x, layout), g_x.numpy())


@pytest.mark.parametrize("ndim,layout,stride,padding,dilation,groups", GRID[::2])
def test_least_squares_hvp_matches_torch(ndim, layout, stride, padding, dilation, groups):
    rng = np.random.default_rng(ndim * 10 + groups)
    size, kernel = SIZE[ndim], KERNEL[ndim]
    pairs = PAIRS[ndim] if padding == "pairs" else ((padding, padding),) * ndim
    n, c, f = 2, 2 * groups, 3 * groups
    x_cf = rng.standard_normal((n, c, *size))
    w_cf = rng.standard_normal((f, c // groups, *kernel))
    xt, wt = torch.tensor(x_cf, requires_grad=True), torch.tensor(w_cf, requires_grad=True)
    yt = torch_conv(xt, wt, None, ndim, pairs, stride, dilation, groups)
    t_cf = rng.standard_normal(tuple(yt.shape))
    loss = 0.5 * ((yt - torch.tensor(t_cf)) ** 2).sum()
    gx, gw = torch.autograd.grad(loss, (xt, wt), create_graph=True)
    vx_cf, vw_cf = rng.standard_normal(x_cf.shape), rng.standard_normal(w_cf.shape)
    pair = (gx * torch.tensor(vx_cf)).sum() + (gw * torch.tensor(vw_cf)).sum()
    hx, hw = torch.autograd.grad(pair, (xt, wt))

    opts = dict(stride=stride, padding=pairs, dilation=dilation, groups=groups, layout=layout)
    x, w, t = from_cf(x_cf, layout), from_cf(w_cf, layout), from_cf(t_cf, layout)
    value, lx, lw = so.least_squares(x, w, t, **opts)
    record("least squares loss", np.array(value), loss.detach().numpy())
    record("least squares gradient", to_cf(lx, layout), gx.detach().numpy())
    record("least squares gradient", to_cf(lw, layout), gw.detach().numpy())
    ax, aw = so.least_squares_hvp(x, w, t, from_cf(vx_cf, layout), from_cf(vw_cf, layout), **opts)
    record("Hessian-vector product", to_cf(ax, layout), hx.numpy())
    record("Hessian-vector product", to_cf(aw, layout), hw.numpy())


def test_hvp_is_the_derivative_of_the_gradient():
    """Central differences of the gradient along v, in float64; the loss is quartic, so the
    difference carries a truncation error ~ h^2 and agrees to about 1e-9."""
    rng = np.random.default_rng(3)
    opts = dict(stride=2, padding=1, groups=2)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 3))
    t = rng.standard_normal(cg.conv_output_shape(x.shape, w.shape, **opts))
    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    hx, hw = so.least_squares_hvp(x, w, t, vx, vw, **opts)
    h = 1e-5
    _, px, pw = so.least_squares(x + h * vx, w + h * vw, t, **opts)
    _, mx, mw = so.least_squares(x - h * vx, w - h * vw, t, **opts)
    for fd, an in [((px - mx) / (2 * h), hx), ((pw - mw) / (2 * h), hw)]:
        assert np.abs(fd - an).max() / np.abs(an).max() < 1e-8


def test_hessian_is_symmetric():
    """<H u, v> = <u, H v> for the least-squares Hessian in (x, w): a dot-product test."""
    rng = np.random.default_rng(4)
    opts = dict(stride=(1, 2), padding=((1, 0), (0, 1)), dilation=(2, 1))
    x, w = rng.standard_normal((2, 2, 7, 6)), rng.standard_normal((3, 2, 2, 3))
    t = rng.standard_normal(cg.conv_output_shape(x.shape, w.shape, **opts))
    sizes = [x.size, w.size]

    def hvp(flat):
        vx, vw = flat[:sizes[0]].reshape(x.shape), flat[sizes[0]:].reshape(w.shape)
        return np.concatenate([a.ravel() for a in so.least_squares_hvp(x, w, t, vx, vw, **opts)])

    assert adjoint_test(hvp, hvp, (sum(sizes),), (sum(sizes),), rtol=1e-13) < 1e-14


def test_trilinear_form_generates_all_maps_on_symbols():
    """The three partial derivatives of T(dy, x, w) = <dy, conv(x, w)> are conv, conv_grad_input
    and conv_grad_weight, exactly, with stride, padding and dilation."""
    opts = dict(stride=2, padding=((1, 0),), dilation=2)
    x, w = symbol_array("x", (1, 2, 6)), symbol_array("w", (2, 2, 2))
    dy = symbol_array("g", cg.conv_output_shape(x.shape, w.shape, **opts))
    t = sp.expand(so.trilinear(dy, x, w, **opts))
    y = cg.conv(x, w, **opts)
    dx = cg.conv_grad_input(dy, w, x.shape, **opts)
    dw = cg.conv_grad_weight(dy, x, w.shape, **opts)
    for arr, grad in [(dy, y), (x, dx), (w, dw)]:
        for s, g in zip(arr.flat, grad.flat):
            assert is_zero(sp.diff(t, s) - g)


def test_vjps_on_symbols_are_derivatives_of_the_pairing():
    """d<u, conv_grad_input(dy, w)>/d dy and /d w, derived by SymPy, equal grad_input_vjp."""
    opts = dict(stride=2, padding=((0, 1),))
    u, w = symbol_array("u", (1, 2, 5)), symbol_array("w", (3, 2, 2))
    dy = symbol_array("g", cg.conv_output_shape(u.shape, w.shape, **opts))
    s = sp.expand((u * cg.conv_grad_input(dy, w, u.shape, **opts)).sum())
    a_dy, a_w = so.grad_input_vjp(u, dy, w, **opts)
    for arr, grad in [(dy, a_dy), (w, a_w)]:
        for sym, g in zip(arr.flat, grad.flat):
            assert is_zero(sp.diff(s, sym) - g)
    v = symbol_array("v", w.shape)
    s = sp.expand((v * cg.conv_grad_weight(dy, u, w.shape, **opts)).sum())
    b_dy, b_x = so.grad_weight_vjp(v, dy, u, **opts)
    for arr, grad in [(dy, b_dy), (u, b_x)]:
        for sym, g in zip(arr.flat, grad.flat):
            assert is_zero(sp.diff(s, sym) - g)


@pytest.mark.parametrize("layout,batched", list(itertools.product(["channels_first", "channels_last"],
                                                                    [True, False])))
def test_bias_cotangent_is_broadcast(layout, batched):
    rng = np.random.default_rng(6)
    x_cf, w_cf = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((3, 2, 2, 2))
    x, w = from_cf(x_cf, layout), from_cf(w_cf, layout)
    if not batched:
        x = x[0]
    dy = rng.standard_normal(cg.conv_output_shape(x.shape, w.shape, layout=layout))
    ub = rng.standard_normal(3)
    zeros_x, zeros_w = np.zeros_like(x), np.zeros_like(w)
    dy_bar, _, _ = so.conv_backward_vjp(dy, x, w, zeros_x, zeros_w, ub, layout=layout)
    # <u_b, db> = <u_b, sum of dy over batch and space>: its gradient in dy is u_b at every position
    np.testing.assert_array_equal(dy_bar, cg.conv(zeros_x, zeros_w, ub, layout=layout))
