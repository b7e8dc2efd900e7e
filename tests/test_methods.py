"""The fast methods: which one ``auto`` picks, the bounded-memory chunking of ``im2col`` and
``direct``, the FFT method on awkward configurations, and a smoke run of the benchmark."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convgrad as cg
from convgrad import direct, fft, im2col
from convgrad.functional import (
    FFT_PENALTY,
    IM2COL_MAX_CHANNELS,
    IM2COL_MAX_FLOPS,
    OPS,
    choose_method,
)
from convgrad.geometry import conv_geometry

ROOT = Path(__file__).resolve().parents[1]
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def geom(x_shape, w_shape, **opts):
    return conv_geometry(x_shape, w_shape, **opts)


# --- which method "auto" runs ----------------------------------------------------------------------

@pytest.mark.parametrize("x_shape,w_shape,opts,want", [
    ((1, 3, 10, 10), (5, 3, 3, 3), {}, "im2col"),                         # the seed: C = 3
    ((32, 3, 32, 32), (16, 3, 3, 3), dict(padding=1), "direct"),         # RGB input layer
    ((32, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), "direct"),       # mid layer
    ((16, 128, 16, 16), (128, 128, 3, 3), dict(stride=2, padding=1), "direct"),
    ((8, 32, 28, 28), (32, 32, 3, 3), dict(dilation=2), "direct"),
    ((32, 64, 32, 32), (64, 1, 3, 3), dict(padding=1, groups=64), "direct"),   # depthwise
    ((16, 64, 512), (64, 64, 7), dict(padding=3), "direct"),             # 1-D
    ((4, 16, 16, 16, 16), (32, 16, 3, 3, 3), dict(padding=1), "direct"),  # 3-D, C/G = 16
    ((8, 16, 64, 64), (16, 16, 11, 11), dict(padding=5), "fft"),          # large kernel
    ((8, 256, 56, 56), (256, 256, 3, 3), dict(padding=1), "direct"),
    ((2, 6, 20, 20), (16, 3, 3, 3), dict(groups=2), "im2col"),           # C/G = 3, (C/G)(F/G) = 24
    ((2, 6, 40, 40), (16, 3, 3, 3), dict(groups=2), "direct"),           # ... 2.2 MFLOP: not tiny
    ((2, 8, 20, 20), (16, 4, 3, 3), dict(groups=2), "direct"),           # C/G = 4
    ((32, 16, 32, 32), (16, 16, 3, 3), dict(padding=1), "direct"),
])
def test_auto_choice(x_shape, w_shape, opts, want):
    g = geom(x_shape, w_shape, **opts)
    for op in ("input", "weight", "backward"):
        assert choose_method(g, F32, op) == want
        assert choose_method(g, F64, op) == want
    assert choose_method(g, F32) == want                  # op="backward" by default
    for op in OPS:
        assert choose_method(g, np.dtype(object), op) == "reference"


@pytest.mark.parametrize("x_shape,w_shape,opts,forward", [
    ((1, 3, 10, 10), (5, 3, 3, 3), {}, "im2col"),                    # the seed: tiny
    ((32, 3, 32, 32), (16, 3, 3, 3), dict(padding=1), "direct"),     # RGB layer, 28 MFLOP
    ((2, 3, 12, 12), (4, 3, 3, 3), {}, "im2col"),                    # 2*2*4*3*9*100 = 43200
    ((32, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), "direct"),
    ((8, 16, 64, 64), (16, 16, 11, 11), dict(padding=5), "fft"),
])
def test_auto_choice_of_the_forward_map(x_shape, w_shape, opts, forward):
    g = geom(x_shape, w_shape, **opts)
    assert choose_method(g, F32, "forward") == forward


def test_auto_choice_rejects_an_unknown_map():
    with pytest.raises(ValueError, match="op must be one of"):
        choose_method(geom((1, 3, 10, 10), (5, 3, 3, 3)), F32, "dW")


def test_auto_choice_follows_the_stated_rule():
    """Every case of the rule, checked against its definition in choose_method's docstring."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        groups = int(rng.choice([1, 1, 2, 4, 32]))
        cg_, fg = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        k = int(rng.integers(1, 16))
        n = int(rng.integers(k, 80))
        g = geom((int(rng.integers(1, 9)), cg_ * groups, n, n), (fg * groups, cg_, k, k), groups=groups)
        if sum(fft.fft_flops(g)) * FFT_PENALTY < g.flops:
            want = "fft"
        elif groups > 1 and cg_ * fg <= direct.SMALL_PRODUCT:
            want = "direct"
        elif cg_ < IM2COL_MAX_CHANNELS and g.flops <= IM2COL_MAX_FLOPS:
            want = "im2col"
        else:
            want = "direct"
        for op in OPS:
            assert choose_method(g, F32, op) == want


def test_fft_is_chosen_beyond_a_kernel_size_and_not_for_3x3():
    """For a fixed layer the FFT's advantage grows with the kernel: once chosen, it stays chosen."""
    chosen = [choose_method(geom((8, 16, 64, 64), (16, 16, k, k), padding=k // 2), F32) == "fft"
              for k in range(1, 32, 2)]
    first = chosen.index(True)
    assert not any(chosen[:first]) and all(chosen[first:])
    assert 1 + 2 * first > 3


def test_auto_runs_the_chosen_method(monkeypatch):
    calls = []
    original = im2col.conv  # each method implements the general operator once, as `conv`
    monkeypatch.setattr(im2col, "conv", lambda *a: calls.append("im2col") or original(*a))
    cg.conv(np.ones((1, 3, 10, 10), np.float32), np.ones((5, 3, 3, 3), np.float32))
    assert calls == ["im2col"]


# --- dtypes and object arrays ----------------------------------------------------------------------

@pytest.mark.parametrize("method", ["direct", "im2col", "fft"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(method, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 9, 8)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 2)).astype(dtype)
    y = cg.conv(x, w, groups=2, stride=(2, 1), padding=1, method=method)
    dx, dw, db = cg.conv_backward(np.ones_like(y), x, w, groups=2, stride=(2, 1), padding=1, method=method)
    assert y.dtype == dx.dtype == dw.dtype == db.dtype == dtype


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_object_arrays_need_the_reference_method(method):
    x = np.ones((1, 1, 4), dtype=object)
    w = np.ones((1, 1, 2), dtype=object)
    with pytest.raises(TypeError, match="reference"):
        cg.conv(x, w, method=method)
    assert cg.conv(x, w).dtype == object  # auto takes the reference loops


# --- bounded memory: chunked results equal unchunked ones ------------------------------------------

CHUNK_CASES = [
    ((5, 4, 11, 9), (6, 4, 3, 2), dict(padding=((1, 2), (0, 1)), stride=(2, 1))),
    ((3, 6, 10, 10), (6, 2, 3, 3), dict(padding="same", dilation=2, groups=3)),
    ((4, 3, 17), (5, 3, 4), dict(padding=2, stride=3)),
    ((2, 2, 6, 7, 5), (4, 2, 2, 3, 2), dict(padding=1, dilation=(1, 2, 1))),
]


@pytest.mark.parametrize("x_shape,w_shape,opts", CHUNK_CASES)
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_im2col_pieces_give_the_same_results(monkeypatch, x_shape, w_shape, opts, layout):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    if layout == "channels_last":
        x, w = np.moveaxis(x, 1, -1).copy(), np.moveaxis(w, 1, -1).copy()
    opts = dict(opts, layout=layout, method="im2col")
    y = cg.conv(x, w, **opts)
    dy = rng.standard_normal(y.shape)
    whole = (y, *cg.conv_backward(dy, x, w, **opts))
    g = conv_geometry(x.shape, w.shape, **{k: v for k, v in opts.items() if k != "method"})
    assert len(list(im2col.pieces(g.batch, g, 8))) == 1  # the default budget: one piece
    for budget in (1, 8 * 40):  # one output line per piece; a few lines per piece
        monkeypatch.setattr(im2col, "MAX_COLUMN_BYTES", budget)
        pieces = list(im2col.pieces(g.batch, g, 8))
        assert len(pieces) > g.batch  # samples are split into lines
        row_bytes = 8 * g.in_channels * int(np.prod(g.kernel_size))
        line_rows = int(np.prod(g.out_size[1:]))
        for n0, n1, a0, a1 in pieces:
            assert (n1 - n0) * (a1 - a0) * line_rows * row_bytes <= max(budget, line_rows * row_bytes)
        chunked = (cg.conv(x, w, **opts), *cg.conv_backward(dy, x, w, **opts))
        for a, b in zip(whole, chunked):
            np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-13)


def _all_maps(x, w, dy, method, opts):
    return (cg.conv(x, w, method=method, **opts), *cg.conv_backward(dy, x, w, method=method, **opts),
            cg.conv_grad_input(dy, w, x.shape, method=method, **opts),
            cg.conv_grad_weight(dy, x, w.shape, method=method, **opts))


@pytest.mark.parametrize("x_shape,w_shape,opts", CHUNK_CASES)
@pytest.mark.parametrize("samples_per_chunk", [1, 2])
@pytest.mark.parametrize("small", [False, True])
def test_direct_chunks_and_blocks_give_the_same_results(monkeypatch, x_shape, w_shape, opts,
                                                         samples_per_chunk, small):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dy = rng.standard_normal(cg.conv_output_shape(x_shape, w_shape, **opts))
    ref = _all_maps(x, w, dy, "reference", opts)
    g = conv_geometry(x_shape, w_shape, **opts)
    pl = direct.plan(g)
    per_sample = pl.pixels * len(pl.phases) * g.in_channels * 8
    monkeypatch.setattr(direct, "CHUNK_BYTES", samples_per_chunk * per_sample)
    assert len(list(direct._chunks(g.batch, g, pl, 8))) == -(-g.batch // samples_per_chunk)
    monkeypatch.setattr(direct, "BLOCK_BYTES", 1)      # the smallest row blocks
    monkeypatch.setattr(direct, "STACK_BYTES", 1)
    # broadcast multiply-adds instead of GEMMs, or GEMMs for every layer
    monkeypatch.setattr(direct, "SMALL_PRODUCT", 10**6 if small else 0)
    for got, want in zip(_all_maps(x, w, dy, "direct", opts), ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_direct_plan_of_a_strided_layer():
    """Stride 2 with a 3-tap kernel: two phases, offset k reads phase k % 2 shifted by k // 2."""
    g = geom((1, 1, 9), (1, 1, 3), stride=2, padding=1)
    pl = direct.plan(g)
    assert g.out_size == (5,) and pl.grid == (6,)
    assert pl.phases == ((0,), (1,))
    assert pl.offset_phase == (0, 1, 0) and pl.offset_shift == (0, 0, 1)
    # kernel 1, stride 3: a single phase (residue 0), two of every three inputs never read
    pl = direct.plan(geom((1, 1, 9), (1, 1, 1), stride=3))
    assert pl.phases == ((0,),) and pl.src == ((slice(0, 7, 3),),) and pl.dst == ((slice(0, 3),),)


# --- the FFT method on awkward configurations ------------------------------------------------------

AWKWARD = [
    ((2, 3, 16, 15), (4, 3, 16, 15), {}),                                  # kernel = input: 1x1 output
    ((2, 2, 13, 12), (3, 2, 4, 6), dict(padding=((3, 0), (1, 4)))),       # even kernel, one-sided pads
    ((1, 4, 19, 17), (6, 2, 5, 3), dict(stride=(3, 2), dilation=(2, 3), groups=2, padding=2)),
    ((3, 2, 30), (2, 2, 11), dict(padding="same", stride=4)),              # stride > ...
    ((2, 1, 9), (1, 1, 1), dict(stride=5)),                                # stride > kernel
    ((1, 2, 7, 6, 5), (2, 2, 3, 2, 3), dict(padding="full", dilation=(1, 2, 1))),
    ((2, 6, 24, 24), (6, 1, 9, 9), dict(padding=4, groups=6)),             # depthwise, large kernel
    ((4, 11, 11), (3, 4, 5, 5), dict(padding="valid")),                    # unbatched
]


@pytest.mark.parametrize("x_shape,w_shape,opts", AWKWARD)
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fft_agrees_with_reference(x_shape, w_shape, opts, layout, dtype):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    if layout == "channels_last":
        batched = len(x_shape) == len(w_shape)
        x = np.moveaxis(x, 1 if batched else 0, -1).copy()
        w = np.moveaxis(w, 1, -1).copy()
    opts = dict(opts, layout=layout)
    y = cg.conv(x, w, method="reference", **opts)
    dy = rng.standard_normal(y.shape).astype(dtype)
    ref = (y, *cg.conv_backward(dy, x, w, method="reference", **opts))
    got = (cg.conv(x, w, method="fft", **opts), *cg.conv_backward(dy, x, w, method="fft", **opts))
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for r, g in zip(ref, got):
        assert g.dtype == dtype and g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol * np.abs(r).max())


def test_fft_size_has_no_wrap_around_and_is_fast():
    g = geom((2, 3, 34, 61), (4, 3, 7, 7), padding=2)
    assert fft.fft_size(g) == (40, 72)  # >= padded sizes 38 and 65, factors 2, 3, 5 only
    assert [fft.next_fast_len(n) for n in (1, 7, 11, 13, 97)] == [1, 8, 12, 15, 100]


# --- the benchmark runs ----------------------------------------------------------------------------

def test_benchmark_quick_run_without_torch(monkeypatch, tmp_path, capsys):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import run

    monkeypatch.setattr(run, "_import_torch", lambda: None)
    out = tmp_path / "bench.json"
    assert run.main(["--quick", "--repeats", "1", "--threads", "1", "--json", str(out)]) == 0
    assert "PyTorch is not installed" in capsys.readouterr().out
    data = json.loads(out.read_text())
    methods = {r["method"] for r in data["results"]}
    assert methods == {"auto", "direct", "im2col", "fft", "numpy-gemm"}
    assert {r["case"] for r in data["results"]} == {"seed", "cifar"}
    assert {r["op"] for r in data["results"]} == {"forward", "dX", "dW", "dX+dW"}
    assert all(r["median_ms"] > 0 and r["ratio_torch"] is None for r in data["results"])
    auto = {r["case"]: r["chosen"] for r in data["results"] if r["method"] == "auto"}
    assert auto == {"seed": "im2col", "cifar": "direct"}
    assert data["machine"]["threads"] == 1 and data["machine"]["blas"]
    # the rule is checked against the fastest method measured, and the count is reported
    fastest = [r["fastest"] for r in data["results"] if r["method"] == "auto"]
    assert len(fastest) == 8 and set(fastest) <= {"direct", "im2col", "fft"}
    agreement = data["rule_agreement"]
    assert agreement["total"] == 8
    autos = [r for r in data["results"] if r["method"] == "auto"]
    assert agreement["agreed"] == sum(r["chosen"] == r["fastest"] for r in autos)
    assert all(r["min_ms"] <= r["median_ms"] for r in data["results"])


def test_benchmark_command_runs():
    """``python -m benchmarks --quick`` as a user runs it (with PyTorch, if installed)."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--repeats", "1",
                           "--threads", "1", "--cases", "seed"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "seed" in proc.stdout and "dX+dW" in proc.stdout
    assert "median over" in proc.stdout and "chose the fastest method in" in proc.stdout
