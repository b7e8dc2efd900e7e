"""Which method ``method="auto"`` runs: a rule on the shapes, and a measurement to check it."""

from __future__ import annotations

import time

import numpy as np

from . import direct, fft
from .geometry import ConvGeometry

#: ``auto`` takes ``fft`` when the FFT's operation count times this is below the direct sum's.
FFT_PENALTY = 10.0
#: ``auto`` takes ``im2col`` when a group has fewer input channels than this ...
IM2COL_MAX_CHANNELS = 4
#: ... and the map has at most this many operations (above, ``direct`` was measured faster).
IM2COL_MAX_FLOPS = 2**20
#: The maps ``choose_method`` distinguishes.
OPS = ("forward", "input", "weight", "backward")
#: The methods ``measure=True`` times.
CANDIDATES = ("direct", "im2col", "fft")


def choose_method(geom: ConvGeometry, dtype: np.dtype, op: str = "backward", *,
                  measure: bool = False, rounds: int = 3):
    """The method ``"auto"`` resolves to for this geometry, dtype and map. The rule, in order:

    1. **Object arrays** (symbols) take ``"reference"``, which needs nothing but ``*`` and ``+``.
    2. **Large kernels** take ``"fft"``: when the FFT's operation count
       (:func:`convgrad.fft.fft_flops`, transforms plus spectral products) times
       :data:`FFT_PENALTY` is smaller than the direct sum's ``2*N*F*(C/G)*prod(kernel)*prod(out)``
       operations (:attr:`ConvGeometry.flops`). The penalty says that an operation of NumPy's
       FFT (one thread, strided passes over the data, complex arithmetic) costs about ten
       operations of a BLAS matrix product, so the FFT must save more than that factor. With a 3x3
       kernel this never happens; for 8 samples of 64x64 with 16 channels it starts at 9x9.
    3. **Depthwise-like layers** (``(C/G) * (F/G) <= 16`` with ``G > 1``) take ``"direct"``,
       which does every group's tiny product as broadcast multiply-adds over all groups at once.
    4. **Tiny maps of very few input channels per group** (``C/G < 4``, e.g. the seed's RGB
       image, and at most :data:`IM2COL_MAX_FLOPS` operations) take ``"im2col"``: one column
       matrix and one GEMM, the least set-up. Larger such layers (the RGB input layer of the
       benchmark) run ``"direct"``, whose blocks stack the slices of all kernel offsets into one
       ``prod(kernel)*C/G``-deep product as well, or, where the result has fewer channels than
       the operand (the input gradient of an RGB layer), multiply first and add the shifted
       blocks, as ``col2im`` does; measured 2 to 5 times faster than ``"im2col"`` there.
    5. Otherwise ``"direct"``: one GEMM per block of rows with all kernel offsets stacked, without
       copying the input into a column matrix ``prod(kernel)`` times its size.

    Parameters
    ----------
    geom : the convolution's geometry
    dtype : the dtype it computes in
    op : {"forward", "input", "weight", "backward"}
        The map: :func:`conv`, :func:`conv_grad_input`, :func:`conv_grad_weight` or
        :func:`conv_backward` (both gradients). The rule gives every map the same answer; it is
        an argument so that a measured exception can name its map.
    measure : bool
        Instead of the rule, time each of :data:`CANDIDATES` on random arrays of these shapes
        (``rounds`` alternating rounds, after one warm-up call each) and return
        ``(fastest, {method: median seconds})``, as SciPy's ``choose_conv_method`` does. The
        benchmark (``python -m benchmarks``) reports how often the rule agrees with the fastest
        method it measured.

    The rule looks only at the shapes, so a layer always runs the same code.
    """
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    if measure:
        return _measure(geom, np.dtype(dtype), op, rounds)
    if dtype.kind == "O":
        return "reference"
    if sum(fft.fft_flops(geom)) * FFT_PENALTY < geom.flops:
        return "fft"
    cg, fg = geom.in_channels // geom.groups, geom.out_channels // geom.groups
    if geom.groups > 1 and cg * fg <= direct.SMALL_PRODUCT:
        return "direct"
    if cg < IM2COL_MAX_CHANNELS and geom.flops <= IM2COL_MAX_FLOPS:
        return "im2col"
    return "direct"


def _measure(geom: ConvGeometry, dtype: np.dtype, op: str, rounds: int):
    from . import functional as F  # the public maps; imported here to avoid a cycle

    rng = np.random.default_rng(0)
    x, w, dy = (rng.standard_normal(s).astype(dtype) for s in (geom.x_shape, geom.w_shape,
                                                                 geom.y_shape))
    opts = dict(stride=geom.stride, padding=geom.padding, dilation=geom.dilation,
                groups=geom.groups, layout=geom.layout)
    calls = {
        "forward": lambda m: F.conv(x, w, method=m, **opts),
        "input": lambda m: F.conv_grad_input(dy, w, x.shape, method=m, **opts),
        "weight": lambda m: F.conv_grad_weight(dy, x, w.shape, method=m, **opts),
        "backward": lambda m: F.conv_backward(dy, x, w, method=m, **opts),
    }
    call = calls[op]
    times: dict[str, list[float]] = {m: [] for m in CANDIDATES}
    for m in CANDIDATES:
        call(m)  # warm-up: plans, caches, thread pools
    for r in range(rounds):
        for m in (CANDIDATES if r % 2 == 0 else CANDIDATES[::-1]):
            t = time.perf_counter()
            call(m)
            times[m].append(time.perf_counter() - t)
    medians = {m: float(np.median(ts)) for m, ts in times.items()}
    return min(medians, key=medians.get), medians
