"""The case ladder of :func:`convgrad.diagnose.diagnose`: small layers from the simplest to the hardest.

Each case isolates one trap of a hand-written convolution backward pass, and adds one thing to
the cases before it, so the first case that fails names what the code gets wrong. Sizes are
given for three spatial axes; a case in ``dims`` dimensions uses the first ``dims`` of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..geometry import ConvGeometry, conv_geometry

#: The options a user's function may take, with their defaults.
OPTIONS = ("stride", "padding", "dilation", "groups")
DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
ABBREVIATIONS = {"stride": "s", "padding": "p", "dilation": "d", "groups": "g"}


@dataclass(frozen=True)
class Case:
    """One layer of the ladder: sizes, options and the trap it adds to the simpler cases."""

    #: Short name (the report's second column).
    name: str
    #: What the case adds to the simpler ones, and what goes wrong there.
    trap: str
    #: ``N``, the batch size.
    batch: int
    #: ``C``, the input channels.
    in_channels: int
    #: ``F``, the output channels (kernels).
    out_channels: int
    #: Spatial size of the input, one entry per axis.
    in_size: tuple[int, ...]
    #: Spatial size of the kernel, one entry per axis.
    kernel_size: tuple[int, ...]
    #: Stride, the same on every axis.
    stride: int = 1
    #: Zero padding, the same on both sides of every axis.
    padding: int = 0
    #: Dilation, the same on every axis.
    dilation: int = 1
    #: Number of groups.
    groups: int = 1
    #: The case needs at least this many spatial axes (non-square needs two).
    min_dims: int = 1

    @property
    def options(self) -> dict[str, int]:
        """All four options, defaults included."""
        return {name: getattr(self, name) for name in OPTIONS}

    @property
    def needs(self) -> tuple[str, ...]:
        """The options this case sets to other than their defaults."""
        return tuple(name for name in OPTIONS if getattr(self, name) != DEFAULTS[name])

    @property
    def label(self) -> str:
        """The options in short form, e.g. ``"s2 p1"``; ``"-"`` for none."""
        return " ".join(f"{ABBREVIATIONS[n]}{getattr(self, n)}" for n in self.needs) or "-"

    def geometry(self, layout: str = "channels_first") -> ConvGeometry:
        """The layer's :class:`~convgrad.geometry.ConvGeometry` in ``layout``."""
        n, c, f, g = self.batch, self.in_channels, self.out_channels, self.groups
        x_shape = (n, c, *self.in_size) if layout == "channels_first" else (n, *self.in_size, c)
        if layout == "channels_first":
            w_shape = (f, c // g, *self.kernel_size)
        else:
            w_shape = (f, *self.kernel_size, c // g)
        return conv_geometry(x_shape, w_shape, layout=layout, **self.options)


# name, trap, (N, C, F), input size, kernel size, options; sizes for three axes
_LADDER = [
    ("one channel", "the basics: dx is a full convolution of dy with the flipped kernel",
     (1, 1, 1), (5, 5, 4), (3, 3, 2), {}),
    ("input channels", "several input channels: each has its own slice of dw",
     (1, 3, 1), (5, 6, 4), (3, 3, 2), {}),
    ("F != C", "F differs from C: dx needs the kernel's channel axes swapped",
     (1, 2, 3), (5, 6, 4), (3, 3, 2), {}),
    ("F = C", "F = C: an untransposed kernel has the right shape, not the values",
     (1, 3, 3), (5, 6, 4), (3, 3, 2), {}),
    ("batch", "a batch: the kernel and bias are shared, so dw and db sum over it",
     (3, 2, 3), (5, 6, 4), (3, 3, 2), {}),
    ("non-square", "H differs from W and kh from kw: rows and columns must not mix",
     (2, 2, 3), (7, 5, 4), (3, 2, 2), {"min_dims": 2}),
    ("even kernel", "an even kernel, which has no centre tap",
     (2, 2, 3), (6, 7, 5), (4, 2, 2), {}),
    ("stride", "stride 2: output o reads input rows s*o + k",
     (2, 2, 3), (7, 9, 5), (3, 3, 3), {"stride": 2}),
    ("stride remainder", "stride 3 leaves rows no output reads: their dx is 0",
     (2, 2, 3), (8, 10, 6), (3, 3, 2), {"stride": 3}),
    ("padding", "padding 1: dx is the padded input's gradient with the padding cropped",
     (2, 2, 3), (5, 6, 4), (3, 3, 3), {"padding": 1}),
    ("stride, padding", "stride and padding: the column no output reads is padding",
     (2, 2, 3), (7, 8, 5), (3, 3, 3), {"stride": 2, "padding": 1}),
    ("dilation", "dilation 2: tap k reads input row s*o + d*k, in dx and in dw",
     (2, 2, 3), (7, 8, 6), (3, 2, 2), {"dilation": 2}),
    ("all three", "stride, padding and dilation together",
     (2, 2, 3), (8, 9, 6), (3, 2, 2), {"stride": 2, "padding": 1, "dilation": 2}),
    ("groups", "groups 2: each output channel reads only its group's inputs",
     (2, 4, 6), (6, 5, 4), (3, 2, 2), {"groups": 2}),
    ("depthwise", "groups = C = F: one input channel per group (depthwise)",
     (2, 3, 3), (6, 6, 4), (3, 3, 2), {"groups": 3}),
]


def ladder(dims: int = 2) -> list[Case]:
    """The cases in ``dims`` spatial dimensions (1, 2 or 3), simplest first."""
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, got {dims!r}")
    return [
        Case(name, trap, n, c, f, in_size[:dims], kernel[:dims], **extra)
        for name, trap, (n, c, f), in_size, kernel, extra in _LADDER
    ]
