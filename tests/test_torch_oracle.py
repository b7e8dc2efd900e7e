"""PyTorch (CPU, float64, autograd) as an outside oracle for forward, all three gradients and the
transposed convolution. torch is installed by .ci/run; if it is missing these tests fail loudly."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TORCH_ERRORS

import convgrad as cg

torch.set_default_dtype(torch.float64)
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
KERNEL = (3, 2, 3)
SIZE = {1: (9,), 2: (8, 7), 3: (6, 5, 6)}


def record(what, got, want):
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-300))
    TORCH_ERRORS[what] = max(TORCH_ERRORS.get(what, 0.0), err)
    assert err < 1e-12, f"{what}: relative difference {err:.2e}"


def torch_pairs(padding, size, kernel, stride, dilation):
    """(lo, hi) per axis, computed here from the definitions (not by convgrad)."""
    if padding == "valid":
        return [(0, 0)] * len(size)
    if padding == "full":
        return [(d * (k - 1),) * 2 for k, d in zip(kernel, dilation)]
    if padding == "same":  # TensorFlow's SAME: output ceil(n / s), odd extra at the end
        out = []
        for n, k, s, d in zip(size, kernel, stride, dilation):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            out.append((total // 2, total - total // 2))
        return out
    if isinstance(padding, int):
        return [(padding, padding)] * len(size)
    return [tuple(p) for p in padding]


def to_cf(a, layout):
    return a if layout == "channels_first" else np.moveaxis(a, -1, 1)


def from_cf(a, layout):
    return a if layout == "channels_first" else np.moveaxis(a, 1, -1)


PADDINGS = [0, 1, "pairs", "valid", "same", "full"]
GRID = list(itertools.product([1, 2, 3], ["channels_first", "channels_last"], [True, False],
                              [1, 2, 3], [1, 2], [1, 2], PADDINGS))


@pytest.mark.parametrize("ndim,layout,batched,stride,dilation,groups,padding", GRID)
def test_conv_and_gradients_match_torch(ndim, layout, batched, stride, dilation, groups, padding):
    rng = np.random.default_rng(hash((ndim, stride, dilation, groups)) % 2**32)
    size, kernel = SIZE[ndim], KERNEL[:ndim]
    if padding == "pairs":
        padding = tuple(((1, 0), (0, 2), (2, 1))[:ndim])
    n, c, f = 2, 2 * groups, 3 * groups
    x_cf = rng.standard_normal((n, c, *size))
    w_cf = rng.standard_normal((f, c // groups, *kernel))
    b = rng.standard_normal(f)
    pairs = torch_pairs(padding, size, kernel, (stride,) * ndim, (dilation,) * ndim)

    xt = torch.tensor(x_cf, requires_grad=True)
    wt = torch.tensor(w_cf, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    flat = [p for pair in reversed(pairs) for p in pair]  # F.pad wants the last axis first
    yt = CONV[ndim](F.pad(xt, flat), wt, bt, stride=stride, dilation=dilation, groups=groups)
    dy_cf = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy_cf))

    x = from_cf(x_cf, layout)
    w = from_cf(w_cf, layout)
    dy = from_cf(dy_cf, layout)
    if not batched:
        x, dy = x[0], dy[0]
    opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, layout=layout)
    y_want = yt.detach().numpy() if batched else yt.detach().numpy()[:1]
    for method in ["auto", "reference", "direct", "im2col", "fft"]:
        y = cg.conv(x, w, b, method=method, **opts)
        record("forward", to_cf(y if batched else y[None], layout), y_want)
        dx, dw, db = cg.conv_backward(dy, x, w, method=method, **opts)
        if batched:
            record("input gradient", to_cf(dx, layout), xt.grad.numpy())
            record("weight gradient", to_cf(dw, layout), wt.grad.numpy())
            record("bias gradient", db, bt.grad.numpy())
        else:
            # the unbatched problem is sample 0 alone: compare with torch on that sample
            x0 = torch.tensor(x_cf[:1], requires_grad=True)
            w0 = torch.tensor(w_cf, requires_grad=True)
            y0 = CONV[ndim](F.pad(x0, flat), w0, None, stride=stride, dilation=dilation, groups=groups)
            y0.backward(torch.tensor(dy_cf[:1]))
            record("input gradient", to_cf(dx[None], layout), x0.grad.numpy())
            record("weight gradient", to_cf(dw, layout), w0.grad.numpy())
            record("bias gradient", db, dy_cf[0].sum(axis=tuple(range(1, ndim + 1))))
        assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (f,)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_same_padding_matches_torch_same_at_stride_one():
    """PyTorch's own padding='same' (stride 1), including even kernels and dilation."""
    rng = np.random.default_rng(0)
    for kernel, dilation in [((4, 3), 1), ((2, 5), 2), ((3, 4), (1, 3))]:
        x = rng.standard_normal((2, 3, 9, 8))
        w = rng.standard_normal((4, 3, *kernel))
        yt = F.conv2d(torch.tensor(x), torch.tensor(w), padding="same", dilation=dilation)
        record("forward", cg.conv(x, w, padding="same", dilation=dilation), yt.numpy())


T_GRID = [case for case in itertools.product([1, 2, 3], ["channels_first", "channels_last"], [1, 2, 3],
                                             [0, 1, 2], [0, 1, 2], [1, 2], [1, 2])
          if case[4] < max(case[2], case[5])]  # output_padding < max(stride, dilation)


@pytest.mark.parametrize("ndim,layout,stride,padding,output_padding,dilation,groups", T_GRID)
def test_conv_transpose_matches_torch(ndim, layout, stride, padding, output_padding, dilation, groups):
    rng = np.random.default_rng(hash((ndim, stride, padding, dilation)) % 2**32)
    size, kernel = SIZE[ndim], KERNEL[:ndim]
    c_in, c_out = 2 * groups, 3 * groups
    x_cf = rng.standard_normal((2, c_in, *size))
    w_cf = rng.standard_normal((c_in, c_out // groups, *kernel))
    b = rng.standard_normal(c_out)
    xt = torch.tensor(x_cf, requires_grad=True)
    wt = torch.tensor(w_cf, requires_grad=True)
    opts = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation,
                groups=groups)
    yt = CONV_T[ndim](xt, wt, torch.tensor(b), **opts)
    dy_cf = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy_cf))
    x, w, dy = from_cf(x_cf, layout), from_cf(w_cf, layout), from_cf(dy_cf, layout)
    y = cg.conv_transpose(x, w, b, layout=layout, **opts)
    record("conv_transpose", to_cf(y, layout), yt.detach().numpy())
    # The gradient of a transposed convolution is a convolution, cut to x's size (it reaches
    # further than x when output_padding >= stride), and a weight gradient with x padded to match.
    conv_opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, layout=layout)
    dx_cf = to_cf(cg.conv(dy, w, **conv_opts), layout)
    record("conv_transpose input gradient", dx_cf[(Ellipsis, *(slice(0, n) for n in size))],
           xt.grad.numpy())
    grow = [(0, 0), (0, 0)] + [(0, m - n) for m, n in zip(dx_cf.shape[2:], size)]
    x_big = from_cf(np.pad(x_cf, grow), layout)
    dw = cg.conv_grad_weight(x_big, dy, w.shape, **conv_opts)
    record("conv_transpose weight gradient", to_cf(dw, layout), wt.grad.numpy())


@pytest.mark.parametrize("stride,dilation,output_padding", [(1, 1, 1), (2, 1, 2), (2, 3, 3), (3, 2, 3)])
def test_conv_transpose_rejects_output_padding_like_torch(stride, dilation, output_padding):
    x = np.ones((1, 2, 5))
    w = np.ones((2, 3, 3))
    with pytest.raises(RuntimeError):
        F.conv_transpose1d(torch.tensor(x), torch.tensor(w), stride=stride, dilation=dilation,
                           output_padding=output_padding)
    with pytest.raises(ValueError, match="output_padding"):
        cg.conv_transpose(x, w, stride=stride, dilation=dilation, output_padding=output_padding)


def test_conv_transpose_output_padding_beyond_stride_matches_torch():
    """output_padding may reach dilation - 1 when that exceeds stride - 1 (PyTorch's rule)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 5, 4))
    w = rng.standard_normal((2, 3, 3, 2))
    yt = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=1, dilation=3, output_padding=2)
    record("conv_transpose", cg.conv_transpose(x, w, stride=1, dilation=3, output_padding=2), yt.numpy())


def test_per_axis_options_match_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 11, 9, 7))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    opts = dict(stride=(2, 1, 3), dilation=(1, 3, 2), groups=2)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    pairs = ((0, 2), (1, 1), (3, 0))
    yt = F.conv3d(F.pad(xt, (3, 0, 1, 1, 0, 2)), wt, **opts)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    y = cg.conv(x, w, padding=pairs, **opts)
    record("forward", y, yt.detach().numpy())
    dx, dw, _ = cg.conv_backward(dy, x, w, padding=pairs, **opts)
    record("input gradient", dx, xt.grad.numpy())
    record("weight gradient", dw, wt.grad.numpy())
