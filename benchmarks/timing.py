"""Paired timing: every candidate is called in each round, and compared with the reference
candidates of the same round (median of the per-round ratios)."""

from __future__ import annotations

import time
from collections.abc import Callable
from math import prod

import numpy as np

import convgrad as cg
from convgrad.functional import choose_method

from .cases import Case

OPS = ("forward", "dX", "dW", "dX+dW")
#: The map of convgrad.functional.choose_method behind each benchmarked operation.
AUTO_OP = {"forward": "forward", "dX": "input", "dW": "weight", "dX+dW": "backward"}
METHODS = ("auto", "direct", "im2col", "fft")
#: The methods ``auto`` chooses among (the rule is checked against the fastest of them).
CANDIDATES = ("direct", "im2col", "fft")
TORCH = "torch"
GEMM = "numpy-gemm"


def convgrad_call(case: Case, op: str, method: str, x, w, dy) -> Callable[[], object]:
    opts = dict(case.options, method=method)
    if op == "forward":
        return lambda: cg.conv(x, w, **opts)
    if op == "dX":
        return lambda: cg.conv_grad_input(dy, w, x.shape, **opts)
    if op == "dW":
        return lambda: cg.conv_grad_weight(dy, x, w.shape, **opts)
    return lambda: cg.conv_backward(dy, x, w, **opts)


def torch_call(torch, case: Case, op: str, x, w, dy) -> Callable[[], object]:
    """PyTorch CPU: ``F.convNd`` forward; ``aten.convolution_backward`` for the gradients (the
    backward kernel alone, without a forward or autograd bookkeeping)."""
    import torch.nn.functional as F

    nd = len(case.kernel)
    xt, wt, dyt = (torch.from_numpy(a) for a in (x, w, dy))
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    s, p, d, g = [case.stride] * nd, [case.padding] * nd, [case.dilation] * nd, case.groups
    if op == "forward":
        return lambda: conv(xt, wt, None, s, p, d, g)
    mask = {"dX": [True, False, False], "dW": [False, True, False], "dX+dW": [True, True, False]}[op]
    back = torch.ops.aten.convolution_backward
    return lambda: back(dyt, xt, wt, None, s, p, d, False, [0] * nd, g, mask)


def gemm_call(case: Case, op: str, dtype, rng) -> Callable[[], object]:
    """NumPy ``matmul`` with the shapes (and so the operation count) of the im2col products:
    ``M = N*prod(out)`` rows, ``C/G*prod(kernel)`` columns, ``F/G`` kernels, per group."""
    geom = case.geometry
    g = case.groups
    m = (geom.batch or 1) * prod(geom.out_size)
    k = geom.in_channels // g * prod(geom.kernel_size)
    f = geom.out_channels // g
    a = rng.standard_normal((g, m, k)).astype(dtype)  # columns
    wm = rng.standard_normal((g, k, f)).astype(dtype)  # weight matrix
    dy = rng.standard_normal((g, m, f)).astype(dtype)  # output gradient rows
    fw = lambda: np.matmul(a, wm)  # noqa: E731
    dx = lambda: np.matmul(dy, wm.transpose(0, 2, 1))  # noqa: E731
    dw = lambda: np.matmul(dy.transpose(0, 2, 1), a)  # noqa: E731
    return {"forward": fw, "dX": dx, "dW": dw, "dX+dW": lambda: (dx(), dw())}[op]


def _calls_per_round(f: Callable[[], object], min_seconds: float) -> tuple[int, float]:
    """Warm up (one untimed call: libraries, thread pools, plans), then time one call to decide
    how many calls make a round of at least ``min_seconds``."""
    f()
    t = time.perf_counter()
    f()
    first = time.perf_counter() - t
    return max(1, int(np.ceil(min_seconds / max(first, 1e-7)))), first


def paired_times(candidates: dict[str, Callable[[], object]], rounds: int, min_seconds: float = 0.002,
                 max_seconds: float = 3.0, max_slowdown: float = 4.0,
                 settle: bool = True) -> dict[str, list[float]]:
    """Seconds per call of each candidate, one entry per round, in alternating order.

    Each candidate is warmed up (one untimed call) and timed once before the rounds; a fast one
    is called several times per round (at least ``min_seconds`` per round). A candidate whose
    timed call takes longer than ``max_seconds`` and ``max_slowdown`` times the fastest one is
    dropped (its list stays empty): the FFT on a 3x3 layer, for instance, which ``auto`` never
    runs.

    With ``settle``, each turn starts with one untimed call. PyTorch (OpenMP) and NumPy
    (OpenBLAS) keep their own worker threads, which spin for a while after a call; on two
    cores the first call after the other library's turn competes with them. Measured here
    (dilated layer, float32, both gradients): PyTorch 0.47 ms alone, 3.1 ms right after a
    convgrad call, 0.5 ms on its second call; convgrad 1.6 ms alone, 4.9 ms right after a
    PyTorch call, 1.6 ms on its second. Without settling, the small layers' ratios measured
    mostly this hand-over, in PyTorch's disfavour.
    """
    inner, first = {}, {}
    for name, f in candidates.items():
        inner[name], first[name] = _calls_per_round(f, min_seconds)
    fastest = min(first.values())
    inner = {name: n for name, n in inner.items()
             if first[name] <= max_seconds or first[name] <= max_slowdown * fastest}
    times: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(inner)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            f, n = candidates[name], inner[name]
            if settle:
                f()
            t = time.perf_counter()
            for _ in range(n):
                f()
            times[name].append((time.perf_counter() - t) / n)
    return times


def median_ratio(a: list[float], b: list[float]) -> float | None:
    if not a or not b:
        return None
    return float(np.median(np.asarray(a) / np.asarray(b)))


def fastest_method(times: dict[str, list[float]]) -> str | None:
    """The convgrad method (of :data:`CANDIDATES`) with the smallest median time, if any ran."""
    medians = {m: float(np.median(times[m])) for m in CANDIDATES if times.get(m)}
    return min(medians, key=medians.get) if medians else None


def time_case(case: Case, dtype, rounds: int, torch=None, methods=METHODS, ops=OPS, seed: int = 0):
    """Result rows for one case and dtype: one per (op, candidate). The ``auto`` row also names
    the method the rule chose (``chosen``) and the method measured fastest (``fastest``)."""
    rng = np.random.default_rng(seed)
    geom = case.geometry
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal(case.w_shape).astype(dtype)
    dy = rng.standard_normal(geom.y_shape).astype(dtype)
    rows = []
    for op in ops:
        chosen = choose_method(geom, np.dtype(dtype), AUTO_OP[op])
        candidates = {m: convgrad_call(case, op, m, x, w, dy) for m in methods}
        candidates[GEMM] = gemm_call(case, op, dtype, rng)
        if torch is not None:
            candidates[TORCH] = torch_call(torch, case, op, x, w, dy)
        times = paired_times(candidates, rounds)
        flops = case.flops * (2 if op == "dX+dW" else 1)
        fastest = fastest_method(times)
        for name, ts in times.items():
            if not ts:
                continue
            med = float(np.median(ts))
            rows.append({
                "case": case.name, "dtype": np.dtype(dtype).name, "op": op, "method": name,
                "chosen": chosen if name == "auto" else None,
                "fastest": fastest if name == "auto" else None,
                "median_ms": 1e3 * med, "min_ms": 1e3 * min(ts), "gflops": flops / med / 1e9,
                "ratio_torch": median_ratio(ts, times.get(TORCH, [])),
                "ratio_torch_min": min(ts) / min(times[TORCH]) if times.get(TORCH) else None,
                "ratio_gemm": median_ratio(ts, times[GEMM]),
                "rounds": len(ts),
                "times_ms": [1e3 * t for t in ts],
            })
    return rows
