"""The fixed set of layers the benchmark times (channels-first shapes, as in PyTorch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from convgrad.geometry import ConvGeometry, conv_geometry


@dataclass(frozen=True)
class Case:
    """One convolutional layer: input ``(N, C, *spatial)``, ``F`` kernels of size ``kernel``."""

    name: str
    description: str
    x_shape: tuple[int, ...]
    out_channels: int
    kernel: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    tags: tuple[str, ...] = field(default=())

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.x_shape[1] // self.groups, *self.kernel)

    @property
    def options(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)

    @property
    def geometry(self) -> ConvGeometry:
        return conv_geometry(self.x_shape, self.w_shape, **self.options)

    @property
    def flops(self) -> int:
        """Operations of one map (forward, input gradient or weight gradient)."""
        return self.geometry.flops

    @property
    def input_bytes_float32(self) -> int:
        return 4 * (prod(self.x_shape) + prod(self.geometry.y_shape))


CASES = [
    Case("seed", "the seed question: 3x10x10 image, five 3x3 kernels", (1, 3, 10, 10), 5, (3, 3)),
    Case("cifar", "CIFAR-like input layer, C=3", (32, 3, 32, 32), 16, (3, 3), padding=1),
    Case("mid", "mid layer, C=F=64", (32, 64, 32, 32), 64, (3, 3), padding=1, tags=("target",)),
    Case("strided", "strided layer, stride 2", (16, 128, 16, 16), 128, (3, 3), stride=2, padding=1,
         tags=("target",)),
    Case("dilated", "dilated layer, dilation 2", (8, 32, 28, 28), 32, (3, 3), dilation=2,
         tags=("target",)),
    Case("depthwise", "depthwise layer, G=C=F=64", (32, 64, 32, 32), 64, (3, 3), padding=1, groups=64),
    Case("conv1d", "1-D layer, kernel 7", (16, 64, 512), 64, (7,), padding=3),
    Case("conv3d", "3-D layer, 3x3x3", (4, 16, 16, 16, 16), 32, (3, 3, 3), padding=1),
    Case("bigkernel", "large kernel 11x11, C=F=16", (8, 16, 64, 64), 16, (11, 11), padding=5),
    Case("large", "large layer, C=F=256, 56x56 (memory target)", (8, 256, 56, 56), 256, (3, 3),
         padding=1, tags=("memory",)),
]

QUICK = ["seed", "cifar"]

BY_NAME = {c.name: c for c in CASES}
