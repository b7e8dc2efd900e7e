"""Hypothesis strategies: random but always valid convolution configurations."""

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from convgrad.geometry import conv_geometry


@dataclass
class Case:
    x_shape: tuple
    w_shape: tuple
    options: dict  # stride, padding, dilation, groups, layout
    dtype: type

    def arrays(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(self.x_shape).astype(self.dtype)
        w = rng.standard_normal(self.w_shape).astype(self.dtype)
        f = self.w_shape[0]
        b = rng.standard_normal(f).astype(self.dtype)
        return x, w, b

    @property
    def geometry(self):
        return conv_geometry(self.x_shape, self.w_shape, **self.options)


@st.composite
def conv_cases(draw, max_ndim: int = 3, dtypes=(np.float64,)):
    ndim = draw(st.integers(1, max_ndim))
    small = ndim == 3  # keep the 3-D cases cheap for the reference loops
    layout = draw(st.sampled_from(["channels_first", "channels_last"]))
    groups = draw(st.integers(1, 3))
    cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = draw(st.tuples(*[st.integers(1, 2 if small else 4)] * ndim))
    stride = draw(st.tuples(*[st.integers(1, 3)] * ndim))
    dilation = draw(st.tuples(*[st.integers(1, 2 if small else 3)] * ndim))
    form = draw(st.sampled_from(["int", "per_axis", "pairs", "valid", "same", "full"]))
    if form == "int":
        p = draw(st.integers(0, 2))
        pairs, padding = [(p, p)] * ndim, p
    elif form == "per_axis":
        ps = draw(st.tuples(*[st.integers(0, 2)] * ndim))
        pairs, padding = [(p, p) for p in ps], ps
    elif form == "pairs":
        pairs = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=ndim, max_size=ndim))
        padding = tuple(pairs)
    else:
        pairs, padding = [(0, 0)] * ndim, form  # "same"/"full" always fit
    size = []
    for k, d, (lo, hi) in zip(kernel, dilation, pairs):
        span = d * (k - 1) + 1
        low = max(1, span - lo - hi) if form not in ("same", "full") else 1
        size.append(draw(st.integers(low, low + (3 if small else 6))))
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    c, f = cg * groups, fg * groups
    spatial_x = (c, *size) if layout == "channels_first" else (*size, c)
    x_shape = spatial_x if batch is None else (batch, *spatial_x)
    w_shape = (f, cg, *kernel) if layout == "channels_first" else (f, *kernel, cg)
    dtype = draw(st.sampled_from(list(dtypes)))
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, layout=layout)
    return Case(x_shape, w_shape, options, dtype)
