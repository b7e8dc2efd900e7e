"""The general operator (convgrad.general), its transpose rules (convgrad.rules) and the pieces
every method relies on, each checked against an independent statement: a loop over every index
of the defining sum, sizes counted by enumeration, and values worked out by hand."""

from itertools import product

import numpy as np
import pytest

import convgrad as cg
from convgrad import direct, fft, im2col
from convgrad.general import axis_phases, conv_general, conv_spec, dense_calls, tighten
from convgrad.geometry import conv_geometry
from convgrad.rules import (
    backward_specs,
    flip_transpose,
    layer_spec,
    transpose_lhs,
    transpose_rhs,
    vjp_lhs_padding,
    vjp_rhs_padding,
)
from convgrad.transpose import conv_transpose_geometry

METHODS = ["reference", "direct", "im2col", "fft"]


def out_len(n, k, s, lo, hi, ld, rd):
    """Number of window positions, by enumeration: o fits while s*o + rd*(k-1) stays inside the
    dilated (ld*(n-1) + 1 long), padded lhs."""
    count = 0
    while s * count + rd * (k - 1) <= ld * (n - 1) + lo + hi:
        count += 1
    return count


def naive(lhs, rhs, s, pads, ld, rd, fgc, bgc):
    """The defining sum, one term at a time: out[m, f, o] += rhs[f, c, k] * lhs[b*N/B + m,
    g*C/G + c, i] whenever the dilated, padded position s*o + rd*k - lo equals ld*i."""
    n_, c_, *n = lhs.shape
    f_, cg_, *k = rhs.shape
    size = [out_len(*a) for a in zip(n, k, s, [p[0] for p in pads], [p[1] for p in pads], ld, rd)]
    out = np.zeros((n_ // bgc, f_, *size))
    for m, f, c in product(range(n_ // bgc), range(f_), range(cg_)):
        b, g = f // (f_ // bgc), f // (f_ // fgc)
        for o in np.ndindex(*size):
            for kk in np.ndindex(*k):
                pos = [si * oi + ri * ki - lo for si, oi, ri, ki, (lo, _) in zip(s, o, rd, kk, pads)]
                if all(p % li == 0 and 0 <= p // li < ni for p, li, ni in zip(pos, ld, n)):
                    i = tuple(p // li for p, li in zip(pos, ld))
                    out[(m, f, *o)] += rhs[(f, c, *kk)] * lhs[(b * (n_ // bgc) + m, g * cg_ + c, *i)]
    return out


def random_configs(count, seed):
    """General convolutions with input dilation, negative padding and either kind of group."""
    rng = np.random.default_rng(seed)
    found = 0
    while found < count:
        nd = int(rng.integers(1, 3))
        kind, groups = rng.choice(["feature", "batch", "none"]), int(rng.integers(2, 4))
        fgc, bgc = (groups, 1) if kind == "feature" else (1, groups) if kind == "batch" else (1, 1)
        n_, cg_, fpg = bgc * int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
        k = [int(v) for v in rng.integers(1, 4, nd)]
        n = [int(v) for v in rng.integers(1, 7, nd)]
        s, ld, rd = ([int(v) for v in rng.integers(1, 4, nd)] for _ in range(3))
        pads = [(int(a), int(b)) for a, b in rng.integers(-2, 4, (nd, 2))]
        if any(out_len(*a) < 1 for a in zip(n, k, s, [p[0] for p in pads], [p[1] for p in pads], ld, rd)):
            continue
        found += 1
        lhs = rng.standard_normal((n_, cg_ * fgc, *n))
        rhs = rng.standard_normal((fpg * fgc * bgc, cg_, *k))
        yield lhs, rhs, dict(window_strides=s, padding=pads, lhs_dilation=ld, rhs_dilation=rd,
                             feature_group_count=fgc, batch_group_count=bgc)


CONFIGS = list(random_configs(60, seed=7))


@pytest.mark.parametrize("method", METHODS)
def test_conv_general_is_the_defining_sum(method):
    for lhs, rhs, opts in CONFIGS:
        want = naive(lhs, rhs, opts["window_strides"], opts["padding"], opts["lhs_dilation"],
                     opts["rhs_dilation"], opts["feature_group_count"], opts["batch_group_count"])
        got = conv_general(lhs, rhs, method=method, **opts)
        assert got.shape == want.shape, opts
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=str(opts))


@pytest.mark.parametrize("method", METHODS)
def test_transpose_rules_are_the_adjoints(method):
    """<g, conv(lhs, rhs)> = <transpose_lhs(g), lhs> = <transpose_rhs(g), rhs>: the operator is
    closed under transposition, input dilation, cropping and batch groups included."""
    rng = np.random.default_rng(11)
    for lhs, rhs, opts in CONFIGS:
        spec = conv_spec(lhs.shape, rhs.shape, **opts)
        g = rng.standard_normal(spec.out_shape)
        pairing = np.vdot(g, conv_general(lhs, rhs, method=method, **opts))
        scale = np.linalg.norm(g) * np.linalg.norm(lhs) * np.abs(rhs).sum()  # bounds every pairing
        assert abs(pairing - np.vdot(transpose_lhs(g, rhs, spec, method), lhs)) <= 1e-13 * scale, opts
        assert abs(pairing - np.vdot(transpose_rhs(g, lhs, spec, method), rhs)) <= 1e-13 * scale, opts


def test_conv_general_keeps_float32_and_the_caller_layout():
    rng = np.random.default_rng(1)
    lhs = np.moveaxis(rng.standard_normal((3, 5, 6, 4)).astype(np.float32), -1, 1)  # channels-last memory
    rhs = rng.standard_normal((6, 4, 3, 2)).astype(np.float32)
    for method in ["direct", "im2col", "fft"]:
        out = conv_general(lhs, rhs, padding=1, lhs_dilation=(2, 1), method=method)
        assert out.dtype == np.float32 and out.shape == (3, 6, 9, 7)  # (2*4 + 1 + 2 - 3) + 1 = 9
    out = conv_general(lhs, rhs, padding=1, method="direct")
    assert out.strides[1] == 4  # channels-last in, channels-last out


def test_object_arrays_take_the_reference_method():
    lhs, rhs = np.ones((1, 1, 3), dtype=object), np.ones((1, 1, 2), dtype=object)
    assert conv_general(lhs, rhs, lhs_dilation=2).tolist() == [[[1, 1, 1, 1]]]
    with pytest.raises(TypeError, match="reference"):
        conv_general(lhs, rhs, method="direct")
    with pytest.raises(ValueError, match="method must be"):
        conv_general(np.ones((1, 1, 3)), np.ones((1, 1, 2)), method="fast")


# --- the shape rule -------------------------------------------------------------------------------


def test_conv_spec_sizes():
    spec = conv_spec((4, 6, 10, 7), (9, 2, 3, 2), window_strides=(2, 1), padding=((1, -1), (0, 2)),
                     lhs_dilation=(1, 3), rhs_dilation=(2, 1), batch_group_count=1,
                     feature_group_count=3)
    # axis 0: (10 + 1 - 1 - 2*2 - 1) // 2 + 1 = 3; axis 1: (3*6 + 1 + 0 + 2 - 1 - 1) // 1 + 1 = 20
    assert spec.out_size == (3, 20) and spec.out_shape == (4, 9, 3, 20)
    assert spec.lhs_shape == (4, 6, 10, 7) and spec.rhs_shape == (9, 2, 3, 2)
    assert spec.groups == 3 and spec.dilated_kernel_size == (5, 2)
    assert spec.stride == (2, 1) and spec.dilation == (2, 1)
    assert spec.flops == 2 * 4 * 9 * 2 * 6 * 60
    batch = conv_spec((6, 2, 5), (4, 2, 3), batch_group_count=2)
    assert batch.out_shape == (3, 4, 3) and batch.groups == 2


@pytest.mark.parametrize("lhs,rhs,opts,match", [
    ((2, 4, 5), (3, 4), {}, "same rank"),
    ((2, 4, 5), (3, 2, 3), {}, r"C = G \* rhs.shape\[1\]"),
    ((2, 4, 5), (3, 2, 3), dict(feature_group_count=2), r"G \| F"),
    ((3, 4, 5), (4, 4, 3), dict(batch_group_count=2), r"B \| N"),
    ((2, 4, 5), (3, 4, 3), dict(batch_group_count=2), r"B \| F"),
    ((2, 4, 5), (4, 2, 3), dict(batch_group_count=2, feature_group_count=2), "at most one"),
    ((2, 4, 5), (4, 4, 3), dict(feature_group_count=0), "positive"),
    ((2, 4, 0), (4, 4, 3), {}, "positive"),
    ((2, 4, 5), (4, 4, 4), dict(rhs_dilation=2), "larger than the dilated, padded lhs"),
    ((2, 4, 5), (4, 4, 3), dict(padding=((-2, -1),)), "larger than the dilated, padded lhs"),
    ((2, 4, 5), (4, 4, 3), dict(window_strides=0), "window_strides must be >= 1"),
    ((2, 4, 5), (4, 4, 3), dict(lhs_dilation=0), "lhs_dilation must be >= 1"),
])
def test_conv_spec_rejects(lhs, rhs, opts, match):
    with pytest.raises(ValueError, match=match) as info:
        conv_spec(lhs, rhs, **opts)
    assert "shape" in str(info.value) or "must" in str(info.value)


@pytest.mark.parametrize("opts", [dict(window_strides=(1, 1)), dict(padding=1.5), dict(padding=((1, 2, 3),))])
def test_conv_spec_rejects_wrong_types(opts):
    with pytest.raises(TypeError):
        conv_spec((2, 4, 5), (4, 4, 3), **opts)


def test_output_size_formula_by_enumeration():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n, k, s, ld, rd = (int(v) for v in rng.integers(1, 6, 5))
        lo, hi = (int(v) for v in rng.integers(-3, 5, 2))
        want = out_len(n, k, s, lo, hi, ld, rd)
        if want < 1:
            continue
        assert conv_spec((1, 1, n), (1, 1, k), window_strides=s, padding=((lo, hi),), lhs_dilation=ld,
                         rhs_dilation=rd).out_size == (want,)


# --- the pieces: padding helpers, phases, tightening -----------------------------------------------


def test_vjp_paddings_by_hand():
    # forward: n=7, k=3, s=2, lo=1, hi=1 -> out 4. dx: dy dilated to 2*3+1 = 7, full pad 2 - lo = 1
    # before, after: 7 + 3 - 1 - 7 - 1 = 1 (then 7 + 1 + 1 - 3 + 1 = 7 outputs)
    assert vjp_lhs_padding((7,), (3,), (2,), (4,), ((1, 1),), (1,), (1,)) == [(1, 1)]
    # n=8, same: out 4 again; the last input gets no output: one more after, 7 + 1 + 2 - 2 = 8
    assert vjp_lhs_padding((8,), (3,), (2,), (4,), ((1, 1),), (1,), (1,)) == [(1, 2)]
    # dilation 2, lo 0: before r*(k - 1) - lo = 4; after = 6 + 5 - 1 - 2 - 4 = 4 (n=6, o=2)
    assert vjp_lhs_padding((6,), (3,), (1,), (2,), ((0, 0),), (1,), (2,)) == [(4, 4)]
    # dw: n=7, k=3, s=2, lo=1, o=4: lo stays 1; hi = 7 - 7 + 3 - 1 - 1 = 1
    assert vjp_rhs_padding((7,), (3,), (2,), (4,), ((1, 1),), (1,), (1,)) == [(1, 1)]
    assert vjp_rhs_padding((8,), (3,), (2,), (4,), ((1, 1),), (1,), (1,)) == [(1, 0)]
    # n=6, k=3, dilation 2, o=2: hi = 2 - 6 + 4 - 0 = 0, and (6 - 2) // 2 + 1 = 3 = k taps
    assert vjp_rhs_padding((6,), (3,), (1,), (2,), ((0, 0),), (1,), (2,)) == [(0, 0)]
    # n=5, k=2, s=3, lo=2, o=2 (positions -2 .. 3 of a 5-long lhs): hi = 4 - 5 + 1 - 2 = -2
    assert vjp_rhs_padding((5,), (2,), (3,), (2,), ((2, 0),), (1,), (1,)) == [(2, -2)]


def test_transposed_calls_have_the_operand_sizes():
    """The lhs transpose returns the lhs's size and the rhs transpose the kernel's, exactly."""
    for lhs, rhs, opts in CONFIGS:
        spec = conv_spec(lhs.shape, rhs.shape, **opts)
        g = np.zeros(spec.out_shape)
        assert transpose_lhs(g, rhs, spec, "direct").shape == lhs.shape
        assert transpose_rhs(g, lhs, spec, "direct").shape == rhs.shape


def test_axis_phases_by_hand():
    # the input gradient of a stride-2 layer (k=3, lo=1): dy dilated by 2, padded (1, 1), 7 outputs
    ph = axis_phases(n=4, k=3, out=7, s=1, lo=1, ld=2, rd=1)
    assert [(p.alpha, p.step, p.count, p.beta, p.tap_step, p.taps, p.start) for p in ph] == [
        (0, 2, 4, 1, 2, 1, 0),  # even outputs: the middle tap only, dy[u]
        (1, 2, 3, 0, 2, 2, 0),  # odd outputs: taps 0 and 2, dy[u + v]
    ]
    assert all(p.stride == 1 and p.dilation == 1 for p in ph)
    # no input dilation: one phase with every tap
    (p,) = axis_phases(n=9, k=3, out=4, s=2, lo=1, ld=1, rd=2)
    assert (p.alpha, p.step, p.count, p.beta, p.tap_step, p.taps, p.start, p.stride, p.dilation) == \
        (0, 1, 4, 0, 1, 3, -1, 2, 2)
    # stride 2 and input dilation 2: every output reads every other tap (of the odd residue here)
    ph = axis_phases(n=5, k=4, out=3, s=2, lo=1, ld=2, rd=1)
    assert [(p.alpha, p.step, p.beta, p.tap_step, p.taps, p.start, p.stride) for p in ph] == [
        (0, 1, 1, 2, 2, 0, 1)]
    # a phase that no tap reaches (input dilation 4, stride 1, one tap)
    ph = axis_phases(n=3, k=1, out=9, s=1, lo=0, ld=4, rd=1)
    assert [p.taps for p in ph] == [1, 0, 0, 0] and [p.count for p in ph] == [3, 2, 2, 2]


def test_axis_phases_enumerate_every_term_once():
    """Each (output, tap) pair that reads a real lhs entry lies in exactly one phase, at the
    position the phase says."""
    rng = np.random.default_rng(5)
    for _ in range(200):
        n, k, s, ld, rd = (int(v) for v in rng.integers(1, 6, 5))
        lo = int(rng.integers(-3, 5))
        out = out_len(n, k, s, lo, 2, ld, rd)
        if out < 1:
            continue
        want = {(o, t, (s * o + rd * t - lo) // ld) for o in range(out) for t in range(k)
                if (s * o + rd * t - lo) % ld == 0}
        got = set()
        for p in axis_phases(n, k, out, s, lo, ld, rd):
            for u, v in product(range(p.count), range(p.taps)):
                position = p.start + p.stride * u + p.dilation * v
                got.add((p.alpha + p.step * u, p.beta + p.tap_step * v, position))
        assert got == want


def test_tighten_by_hand():
    spec = conv_spec((1, 1, 10), (1, 1, 3), padding=((-2, 4),), window_strides=3)
    # reads positions -(-2) = 2 ... 3*(out - 1) + 2 + 2; out = (10 - 2 + 4 - 3) // 3 + 1 = 4 -> 2 .. 13
    index, tight = tighten(spec)
    assert index[2] == slice(2, 10) and tight.padding == ((0, 4),) and tight.in_size == (8,)
    assert tight.out_size == spec.out_size
    # a window that stops early: no high padding is needed, the lhs is cropped instead
    spec = conv_spec((1, 1, 10), (1, 1, 2), padding=((1, 0),), window_strides=4)  # reads -1 .. 8
    index, tight = tighten(spec)
    assert index[2] == slice(0, 9) and tight.padding == ((1, 0),) and tight.out_size == (3,)
    # every window in the padding
    assert tighten(conv_spec((1, 1, 2), (1, 1, 1), padding=((-5, 5),))) is None


def test_dense_calls_of_an_input_gradient():
    """Stride 2 in 2-D: four output phases, kernels of 2x2, 2x1, 1x2 and 1x1 taps."""
    spec = backward_specs(conv_geometry((1, 1, 8, 8), (1, 1, 3, 3), stride=2, padding=1))[0]
    calls = list(dense_calls(spec))
    assert len(calls) == 4
    taps = sorted(len(range(*r[2].indices(3))) * len(range(*r[3].indices(3))) for _, r, _, _ in calls)
    assert taps == [1, 2, 2, 4]
    assert all(max(sub.lhs_dilation) == 1 and min(min(p) for p in sub.padding) >= 0 for *_, sub in calls)


def test_layer_spec_and_backward_specs():
    geom = conv_geometry((2, 6, 9, 8), (4, 3, 3, 2), stride=(2, 1), padding=((1, 0), (2, 2)),
                         dilation=(1, 2), groups=2)
    spec = layer_spec(geom)
    assert spec.out_shape == (2, *geom.y_shape[1:]) and spec.feature_group_count == 2
    dx, dw = backward_specs(geom)
    assert dx.out_shape == (2, 6, 9, 8) and dx.lhs_dilation == (2, 1) and dx.feature_group_count == 2
    assert dw.out_shape == (3, 4, 3, 2) and dw.window_strides == (1, 2) and dw.rhs_dilation == (2, 1)
    assert dw.batch_group_count == 2 and dw.feature_group_count == 1


def test_flip_transpose_by_hand():
    w = np.arange(2 * 1 * 3).reshape(2, 1, 3)  # F=2, C/G=1, groups=2: C=2, F/G=1
    np.testing.assert_array_equal(flip_transpose(w, 2), [[[2, 1, 0]], [[5, 4, 3]]])
    w = np.arange(2 * 3 * 2).reshape(2, 3, 2)  # one group: (C=3, F=2)
    np.testing.assert_array_equal(flip_transpose(w, 1)[1], [[3, 2], [9, 8]])


# --- the method internals the issue found untested -------------------------------------------------


def test_fft_cost_model_by_hand():
    g = conv_geometry((2, 3, 8, 8), (4, 3, 3, 3))
    # L = 8 x 8 = 64 points, 26 transforms (6 inputs, 12 kernels, 8 outputs), 8 * 5 = 40 frequencies
    transforms, products = fft.fft_flops(g)
    assert transforms == 2.5 * 64 * 6 * 26 and products == 8 * 2 * 4 * 3 * 40
    unbatched = conv_geometry((3, 8, 8), (4, 3, 3, 3))
    assert fft.fft_flops(unbatched) == (2.5 * 64 * 6 * (3 + 12 + 4), 8 * 4 * 3 * 40)
    grouped = conv_geometry((1, 4, 5, 5), (4, 2, 2, 2), groups=2, padding=((0, 0), (1, 0)))
    assert fft.fft_size(grouped) == (5, 6)
    assert fft.fft_flops(grouped) == (2.5 * 30 * np.log2(30) * (4 + 8 + 4), 8 * 4 * 2 * 5 * 4)
    # a 1- or 2-point transform costs as if log2 L were 1 (not 0, not less)
    assert fft.fft_flops(conv_geometry((1, 1, 2), (1, 1, 1)))[0] == 2.5 * 2 * 1 * 3
    assert fft.fft_flops(conv_geometry((1, 1, 1), (1, 1, 1)))[0] == 2.5 * 1 * 1 * 3


def test_column_matrix_bytes_by_hand():
    assert im2col.column_matrix_bytes(conv_geometry((2, 3, 6, 5), (4, 3, 3, 2))) == 4 * 2 * 4 * 4 * 3 * 6
    assert im2col.column_matrix_bytes(conv_geometry((3, 6, 5), (4, 3, 3, 2)), 8) == 8 * 16 * 18


def test_im2col_pieces_of_the_large_layer():
    """27.6 MiB of columns per sample: one sample fits the 32 MiB budget, two do not."""
    g = conv_geometry((8, 256, 56, 56), (256, 256, 3, 3), padding=1)
    assert 56 * 56 * 256 * 9 * 4 / 2**20 == 27.5625
    assert [p[:2] for p in im2col.pieces(8, g, 4)] == [(n, n + 1) for n in range(8)]
    assert len(list(im2col.pieces(8, g, 2))) == 4  # float16-sized entries: two per piece


def test_im2col_pieces_respect_the_budget(monkeypatch):
    g = conv_geometry((5, 2, 6, 6), (3, 2, 2, 2))  # 25 outputs of 8 numbers: 800 bytes per sample
    monkeypatch.setattr(im2col, "MAX_COLUMN_BYTES", 1600)
    assert [p[:2] for p in im2col.pieces(5, g, 4)] == [(0, 2), (2, 4), (4, 5)]
    monkeypatch.setattr(im2col, "MAX_COLUMN_BYTES", 1599)
    assert [p[:2] for p in im2col.pieces(5, g, 4)] == [(n, n + 1) for n in range(5)]
    monkeypatch.setattr(im2col, "MAX_COLUMN_BYTES", 330)  # two lines of 160 bytes
    assert list(im2col.pieces(1, g, 4)) == [(0, 1, 0, 2), (0, 1, 2, 4), (0, 1, 4, 5)]


def test_col2im_adds_every_row_back_into_its_window():
    geom = conv_geometry((2, 4, 5, 6), (4, 2, 2, 3), stride=(2, 1), padding=((1, 0), (0, 1)), groups=2)
    rng = np.random.default_rng(8)
    cols = rng.standard_normal((2 * 3 * 5, 2, 2 * 6))
    want = np.zeros((2, 4, 5 + 1, 6 + 1))
    rows = iter(range(cols.shape[0]))
    for n in range(2):
        for oh, ow in np.ndindex(3, 5):
            row = cols[next(rows)].reshape(4, 2, 3)  # (group, c) then taps (kh, kw)
            want[n, :, 2 * oh:2 * oh + 2, ow:ow + 3] += row
    np.testing.assert_allclose(im2col.col2im(cols, geom, 2), want[:, :, 1:, :6], rtol=1e-14)


def test_conv_transpose_geometry_defaults():
    geom = conv_transpose_geometry((1, 2, 5), (2, 3, 4))
    assert geom.stride == (1,) and geom.dilation == (1,) and geom.padding == ((0, 0),)
    assert geom.x_shape == (1, 3, 8)  # (5 - 1) + 4 - 1 + 1
    # x (N=2, C_in=5, 4), w (C_in=5, C_out=3, 3), stride 3: (4 - 1)*3 + 3 = 12 outputs
    assert conv_transpose_geometry((2, 5, 4), (5, 3, 3), stride=3).x_shape == (2, 3, 12)


def test_direct_plan_of_the_outputs_loop():
    """The weight gradient loops over output positions: grid over the kernel taps (phases by the
    dilation), one shift per output position (the stride)."""
    spec = conv_spec((1, 1, 9), (1, 1, 4), window_strides=3, rhs_dilation=2)  # out = (9 - 7) // 3 + 1 = 1
    pl = direct.plan(spec, outputs=True)
    assert pl.grid == (4,) and pl.phases == ((0,),) and pl.offset_shift == (0,)
    spec = conv_spec((1, 1, 12), (1, 1, 3), window_strides=3, rhs_dilation=2)  # out 3, lhs 2*v + 3*o
    pl = direct.plan(spec, outputs=True)
    assert pl.grid == (3 + 3,) and pl.phases == ((0,), (1,))
    assert pl.offset_phase == (0, 1, 0) and pl.offset_shift == (0, 1, 3)


def test_direct_workspace_by_hand():
    # taps loop, one chunk of 2 samples on a 6-pixel grid (4 outputs + 2), 1 phase, 3 taps,
    # C = 2, F = 4: lhs phase 12 rows x 2, result rows 12 x 4, the 3 lhs slices side by side 12 x 6
    spec = conv_spec((2, 2, 6), (4, 2, 3))
    assert direct.workspace_bytes(spec, 4) == 4 * (12 * 2 + 12 * 4 + 12 * 3 * 2)
    # outputs loop with the lhs slices stacked (N = 2 <= F = 3): 2 channels on an 8-pixel grid
    # (6 taps + 2 shifts), 16 rows, margin 2: lhs phase 18 x 2, rhs on the grid 18 x 3, the 3
    # shifted lhs slices side by side 16 x 6, sums 3 x 2 x 3
    spec = conv_spec((2, 2, 8), (3, 2, 6))
    assert direct.workspace_bytes(spec, 8) == 8 * (18 * 2 + 18 * 3 + 16 * 6 + 18)
    # outputs loop (weight gradient shape): kernel 6 > out 3; grid over 6 taps + 2 shifts = 8
    # pixels, rows (channel, pixel) for 2 channels = 16, margin 2; lhs columns N = 3, F = 2:
    # lhs phase (16 + 2) x 3, rhs on the grid (2 + 16) x 2, the rhs slices of the 3 outputs side
    # by side 16 x 3 x 2 (F < N), sums 3 x 3 x 2
    spec = conv_spec((3, 2, 8), (2, 2, 6))
    assert direct.workspace_bytes(spec, 8) == 8 * (18 * 3 + 18 * 2 + 16 * 6 + 18)
    geom = conv_geometry((2, 2, 6), (4, 2, 3))
    per_call = [direct.workspace_bytes(s, 4) for s in backward_specs(geom)]
    assert direct.workspace_bytes(geom, 4) == max(per_call)


def test_public_maps_run_the_rules(monkeypatch):
    """conv_grad_input, conv_grad_weight, conv_backward and conv_transpose are the two rules."""
    import convgrad.rules as rules

    calls = []
    for name in ("transpose_lhs", "transpose_rhs"):
        original = getattr(rules, name)
        monkeypatch.setattr(rules, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    x, w = np.ones((1, 2, 5)), np.ones((3, 2, 2))
    dy = np.ones((1, 3, 4))
    cg.conv_grad_input(dy, w, x.shape)
    cg.conv_grad_weight(dy, x, w.shape)
    assert calls == ["transpose_lhs", "transpose_rhs"]


@pytest.mark.parametrize("lhs_shape,rhs_shape,opts,variant", [
    ((4, 16, 14, 14), (16, 16, 3, 3), dict(rhs_dilation=2), "gather"),
    ((8, 16, 20, 20), (3, 16, 3, 3), dict(padding=1), "scatter"),
    ((16, 4, 12, 12), (8, 4, 10, 10), {}, "stack-rhs"),
    ((3, 8, 12, 12), (8, 8, 10, 10), {}, "gather"),
    ((6, 32, 20, 20), (32, 1, 3, 3), dict(feature_group_count=32), "small"),
])
def test_direct_workspace_is_what_it_allocates(lhs_shape, rhs_shape, opts, variant):
    """The memory model against NumPy's own allocations (tracemalloc): the peak of a first call,
    its result aside, is the modelled workspace up to small arrays (weights, views); a second
    call reuses the kept scratch block and allocates only those small arrays."""
    import tracemalloc

    from convgrad import workspace

    spec = conv_spec(lhs_shape, rhs_shape, **opts)
    lay = direct.layout(spec, 4)
    assert lay.variant == variant
    rng = np.random.default_rng(0)
    lhs, rhs = rng.standard_normal(lhs_shape, np.float32), rng.standard_normal(rhs_shape, np.float32)
    model = direct.workspace_bytes(spec, 4)
    small = 2 * rhs.nbytes + 4096 + workspace.ALIGN * 8
    workspace.release()
    peaks = []
    tracemalloc.start()
    try:
        for _ in range(2):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            out = direct.conv(lhs, rhs, spec)
            peaks.append(tracemalloc.get_traced_memory()[1] - before - out.nbytes)
            del out
    finally:
        tracemalloc.stop()
    assert 0.95 * model <= peaks[0] <= 1.05 * model + small
    assert peaks[1] <= 0.05 * model + small
    assert workspace.kept_bytes() >= model


@pytest.mark.parametrize("opts", [dict(feature_group_count=1.0), dict(batch_group_count=2.0),
                                  dict(feature_group_count=True)])
def test_group_counts_must_be_ints(opts):
    with pytest.raises(ValueError, match="must be positive ints"):
        conv_spec((2, 4, 5), (4, 4, 3), **opts)


def test_rules_take_the_layer_defaults():
    """grad_input_via_conv and grad_weight_via_conv without options: stride 1, no padding, no
    dilation, one group, channels first (the full correlation and the valid correlation)."""
    from convgrad.rules import grad_input_via_conv, grad_weight_via_conv

    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((2, 3, 7)), rng.standard_normal((4, 3, 3))
    dy = rng.standard_normal((2, 4, 5))
    dx = np.zeros_like(x)
    for n, f, c, o, k in product(range(2), range(4), range(3), range(5), range(3)):
        dx[n, c, o + k] += dy[n, f, o] * w[f, c, k]
    dw = np.einsum("nfo,ncok->fck", dy, np.stack([x[:, :, k:k + 5] for k in range(3)], -1))
    np.testing.assert_allclose(grad_input_via_conv(dy, w, x.shape), dx, rtol=1e-12)
    np.testing.assert_allclose(grad_weight_via_conv(dy, x, w.shape), dw, rtol=1e-12)


def test_direct_block_sizes_by_hand():
    """Where the budgets bind: the stacked block (4 MiB, at least 256 rows), the chunk of lhs
    phases (4 MiB, at least one sample), the multiply-add block (1 MiB, at most 16384 rows)."""
    # one sample per chunk (4094 outputs + 2 = 4096 grid rows x 256 x 4 bytes = 4 MiB); 3 taps
    # x 256 channels: 4 MiB / 3072 bytes = 1365 rows of stacked slices
    spec = conv_spec((2, 256, 4096), (256, 256, 3))
    assert direct.workspace_bytes(spec, 4) == 4 * (4096 * 256 + 4096 * 256 + 1365 * 768)
    # 9 taps x 512 channels = 18 KiB a row: the budget gives 227 rows, the floor is 256
    spec = conv_spec((1, 512, 40, 40), (512, 512, 3, 3))
    assert direct.workspace_bytes(spec, 4) == 4 * (1600 * 512 * 2 + 256 * 9 * 512)
    # stride 2: two phases of 8192 pixels x 64 channels (4 MiB: one sample per chunk); the
    # block stacks all 3 taps: 4 MiB / (3 * 64 * 4) = 5461 rows
    spec = conv_spec((1, 64, 16384), (64, 64, 3), window_strides=2)
    assert direct.workspace_bytes(spec, 4) == 4 * (2 * 8192 * 64 + 8192 * 64 + 5461 * 192)
    # multiply-adds (2 groups, C/G = 1, F/G = 16): 1 MiB / ((1 + 16) * 4) = 15420 rows a block,
    # 4 samples of 64 x 64 grid pixels in the chunk: 16384 rows
    spec = conv_spec((4, 2, 64, 64), (32, 1, 3, 3), feature_group_count=2)
    assert direct.layout(spec, 4).variant == "small"
    assert direct.workspace_bytes(spec, 4) == 4 * 2 * (16384 * 1 + 16384 * 16 + 15420)


def test_conv_transpose_defaults_paint_every_input_once():
    """Without options: stride 1, no padding, no output padding, no dilation, one group."""
    rng = np.random.default_rng(13)
    x, w = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 2, 3))  # (C_in, C_out, k)
    want = np.zeros((2, 2, 6))
    for n, c, f, i, k in product(range(2), range(3), range(2), range(4), range(3)):
        want[n, f, i + k] += x[n, c, i] * w[c, f, k]
    np.testing.assert_allclose(cg.conv_transpose(x, w), want, rtol=1e-12)


@pytest.mark.parametrize("x_shape,w_shape,groups,want", [
    ((1, 2, 128, 128), (16, 2, 1, 1), 1, "im2col"),  # 2*16*2*16384 = 2**20 operations: tiny
    ((2, 3, 26, 26), (16, 3, 3, 3), 1, "im2col"),    # 2*2*16*3*9*576 = 995_328
    ((2, 3, 27, 27), (16, 3, 3, 3), 1, "direct"),    # 2*2*16*3*9*625 = 1_080_000 > 2**20
    ((1, 8, 8, 8), (8, 1, 3, 3), 8, "direct"),       # depthwise, tiny: (C/G)(F/G) = 1
    ((1, 2, 8, 8), (32, 1, 3, 3), 2, "direct"),      # (C/G)(F/G) = 16: still multiply-adds
    ((1, 2, 8, 8), (34, 1, 3, 3), 2, "im2col"),      # 17: a tiny map of one channel per group
])
def test_auto_rule_at_its_boundaries(x_shape, w_shape, groups, want):
    from convgrad.choice import choose_method

    g = conv_geometry(x_shape, w_shape, groups=groups)
    assert choose_method(g, np.dtype(np.float32)) == want


def test_choose_method_can_measure(monkeypatch):
    """measure=True times each candidate: one warm-up call and three rounds by default, and
    returns the fastest with the median times, as SciPy's choose_conv_method does."""
    import time

    from convgrad import choice, functional

    calls = []
    fake = {"direct": 3.0, "im2col": 1.0, "fft": 2.0}  # seconds each call "takes"
    clock = [0.0]

    def conv(x, w, method, **opts):
        calls.append(method)
        clock[0] += fake[method]

    monkeypatch.setattr(functional, "conv", conv)
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    g = conv_geometry((1, 3, 6, 6), (2, 3, 3, 3))
    best, times = choice.choose_method(g, np.dtype(np.float64), "forward", measure=True)
    assert best == "im2col" and times == fake
    assert sorted(calls) == sorted(["direct", "im2col", "fft"] * 4)


def test_im2col_rows_are_the_windows():
    """Row (n, oh, ow) of the column matrix is the window of the padded input, (c, kh, kw) order,
    on a layer whose output is not square."""
    geom = conv_geometry((2, 4, 7, 5), (6, 2, 2, 3), stride=(2, 1), padding=((1, 0), (0, 1)),
                         dilation=(2, 1), groups=2)
    x = np.random.default_rng(14).standard_normal((2, 4, 7, 5))
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 1)))
    cols = im2col.im2col(x, geom)
    assert geom.out_size == (3, 4) and cols.shape == (2 * 3 * 4, 2, 2 * 6)
    rows = iter(cols)
    for n, oh, ow in product(range(2), range(3), range(4)):
        window = x_pad[n, :, 2 * oh:2 * oh + 3:2, ow:ow + 3]  # (C, 2, 3)
        np.testing.assert_array_equal(next(rows), window.reshape(2, 12))


def test_pad_or_crop_and_dilate_by_hand():
    from convgrad.rules import dilate, pad_or_crop

    a = np.arange(1, 5).reshape(1, 4)
    np.testing.assert_array_equal(pad_or_crop(a, [(2, 1)], 1), [[0, 0, 1, 2, 3, 4, 0]])
    np.testing.assert_array_equal(pad_or_crop(a, [(-1, 0)], 1), [[2, 3, 4]])
    np.testing.assert_array_equal(pad_or_crop(a, [(0, -2)], 1), [[1, 2]])
    np.testing.assert_array_equal(pad_or_crop(a, [(1, -3)], 1), [[0, 1]])
    np.testing.assert_array_equal(dilate(a, [3], 1), [[1, 0, 0, 2, 0, 0, 3, 0, 0, 4]])


def test_im2col_of_a_tall_output():
    geom = conv_geometry((1, 2, 6, 4), (1, 2, 2, 2))  # 5 x 3 outputs
    x = np.arange(48.0).reshape(1, 2, 6, 4)
    cols = im2col.im2col(x, geom)[:, 0]
    assert cols.shape == (15, 8)
    np.testing.assert_array_equal(cols[-1], x[0, :, 4:6, 2:4].ravel())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fgc,bgc", [(3, 1), (1, 3)])
def test_groups_with_several_output_channels_each(method, fgc, bgc):
    """G = 3 groups of F/G = 2 output channels: a group's block of outputs must not spill into the
    next group's (the random configurations above mostly have one output channel per group)."""
    rng = np.random.default_rng(5)
    lhs = rng.standard_normal((2 * bgc, 2 * fgc, 7))
    rhs = rng.standard_normal((6, 2, 3))
    opts = dict(window_strides=[1], padding=[(1, 0)], lhs_dilation=[1], rhs_dilation=[2],
                feature_group_count=fgc, batch_group_count=bgc)
    want = naive(lhs, rhs, [1], [(1, 0)], [1], [2], fgc, bgc)
    np.testing.assert_allclose(conv_general(lhs, rhs, method=method, **opts), want,
                               rtol=1e-12, atol=1e-12)
