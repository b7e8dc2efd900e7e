"""A small neural-network kit around convgrad: the layers the book's capstone trains.

Each layer keeps its backward right under its forward, micrograd style, so the two can be read
against each other. Arrays are channels-first: images ``(N, C, H, W)``, features ``(N, D)``.
A layer's ``forward`` remembers what its ``backward`` needs; ``backward(dy)`` takes the gradient
of the loss with respect to the layer's output, stores the gradients of its parameters in
``grads`` (same keys as ``params``) and returns the gradient with respect to its input.

Only :class:`Conv` calls convgrad; the rest is a few lines of NumPy each.

Example
-------
>>> rng = np.random.default_rng(0)
>>> net = Sequential([Conv(1, 4, (3, 3), padding=1, rng=rng), ReLU(),
...                   MaxPool2d(2), Flatten(),
...                   Dense(4 * 4 * 4, 10, rng=rng)])
>>> logits = net.forward(rng.standard_normal((2, 1, 8, 8)))
>>> loss_fn = SoftmaxCrossEntropy()
>>> loss = loss_fn.forward(logits, np.array([3, 7]))
>>> dx = net.backward(loss_fn.backward())
>>> Adam(net, lr=1e-3).step()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from math import prod

import numpy as np

from .functional import conv, conv_backward
from .geometry import IntOrTuple, Padding


class Layer:
    """Base of the layers: no parameters unless a subclass sets them."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}


class Conv(Layer):
    """Convolutional layer ``y = conv(x, w, b)`` (cross-correlation), channels-first.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``F``.
    kernel_size : tuple of int
        Spatial kernel size; its length is the number of spatial dimensions.
    stride, padding, dilation, groups
        As in :func:`convgrad.conv`.
    rng : numpy.random.Generator
        Draws ``w`` from a normal distribution with variance ``2 / fan_in``,
        ``fan_in = C/G * prod(kernel_size)`` (He initialisation); ``b`` starts at zero.
    grad_weight : callable, optional
        ``grad_weight(dy, x, w_shape, stride=, padding=, dilation=, groups=, layout=)`` replaces
        the weight gradient of :func:`convgrad.conv_backward`; only for demonstrating wrong
        recipes (:mod:`convgrad.pitfalls`).

    Shapes: ``x (N, C, *in)`` -> ``y (N, F, *out)``; ``w (F, C/G, *kernel_size)``, ``b (F,)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Sequence[int],
        *,
        stride: IntOrTuple = 1,
        padding: Padding = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        rng: np.random.Generator,
        grad_weight: Callable[..., np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        fan_in = in_channels // groups * prod(kernel_size)
        w = rng.standard_normal((out_channels, in_channels // groups, *kernel_size))
        self.params = {"w": w * np.sqrt(2.0 / fan_in), "b": np.zeros(out_channels)}
        self.opts = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        self.grad_weight = grad_weight

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x (N, C, *in)`` -> ``y (N, F, *out)``; remembers ``x``."""
        self.x = x
        return conv(x, self.params["w"], self.params["b"], **self.opts)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``dy (N, F, *out)`` -> ``dx (N, C, *in)``; stores dw and db."""
        w = self.params["w"]
        dx, dw, db = conv_backward(dy, self.x, w, **self.opts)
        if self.grad_weight is not None:  # a wrong recipe, to demonstrate
            dw = self.grad_weight(dy, self.x, w.shape,
                                  layout="channels_first", **self.opts)
        self.grads = {"w": dw, "b": db}
        return dx


class ReLU(Layer):
    """``y = max(x, 0)`` entrywise, any shape; backward: dy where x > 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``max(x, 0)``, any shape; remembers where ``x > 0``."""
        self.mask = x > 0
        return np.where(self.mask, x, 0.0)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``dy`` where the input was positive, 0 elsewhere."""
        return np.where(self.mask, dy, 0.0)


class MaxPool2d(Layer):
    """Non-overlapping max pooling over ``size x size`` windows: ``(N, C, H, W) -> (N, C, H/size, W/size)``.

    ``H`` and ``W`` must be multiples of ``size``. The backward sends each output gradient to the
    one input that was the maximum of its window (the first one in row-major order if several tie,
    which makes the backward a valid choice of subgradient).
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W)`` -> ``(N, C, H/size, W/size, size*size)``, one row per window."""
        n, c, h, w = x.shape
        s = self.size
        if h % s or w % s:
            raise ValueError(f"MaxPool2d({s}) needs H and W divisible by {s}, got x.shape={x.shape}")
        return x.reshape(n, c, h // s, s, w // s, s).transpose(0, 1, 2, 4, 3, 5).reshape(
            n, c, h // s, w // s, s * s)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W)`` -> ``(N, C, H/size, W/size)``; remembers each window's argmax."""
        self.x_shape = x.shape
        win = self._windows(x)
        self.argmax = win.argmax(axis=-1)[..., None]
        return np.take_along_axis(win, self.argmax, axis=-1)[..., 0]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``(N, C, H/s, W/s)`` -> ``(N, C, H, W)``: dy to each window's max."""
        n, c, h, w = self.x_shape
        s = self.size
        dwin = np.zeros((n, c, h // s, w // s, s * s), dtype=dy.dtype)
        np.put_along_axis(dwin, self.argmax, dy[..., None], axis=-1)
        dwin = dwin.reshape(n, c, h // s, w // s, s, s)
        return dwin.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


class Flatten(Layer):
    """``(N, *rest) -> (N, prod(rest))``; the backward reshapes back."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, *rest)`` -> ``(N, prod(rest))``."""
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``(N, prod(rest))`` -> ``(N, *rest)``."""
        return dy.reshape(self.x_shape)


class Dense(Layer):
    """Fully connected layer ``y = x @ W + b``: ``x (N, D_in)`` -> ``y (N, D_out)``.

    ``W (D_in, D_out)`` is drawn with variance ``1 / D_in``, ``b (D_out,)`` starts at zero.
    Gradients: ``dW = x.T @ dy`` (summed over the batch), ``db = dy.sum(0)``, ``dx = dy @ W.T``.
    """

    def __init__(self, in_features: int, out_features: int, *, rng: np.random.Generator) -> None:
        super().__init__()
        w = rng.standard_normal((in_features, out_features)) / np.sqrt(in_features)
        self.params = {"w": w, "b": np.zeros(out_features)}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x (N, D_in)`` -> ``x @ W + b (N, D_out)``; remembers ``x``."""
        self.x = x
        return x @ self.params["w"] + self.params["b"]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``dy (N, D_out)`` -> ``dx (N, D_in)``; stores dW and db."""
        self.grads = {"w": self.x.T @ dy, "b": dy.sum(axis=0)}
        return dy @ self.params["w"].T


class SoftmaxCrossEntropy:
    """Softmax cross-entropy, **mean over the batch**: ``L = -(1/N) sum_n log softmax(z_n)[t_n]``.

    ``forward(z (N, K), t (N,) int) -> L``; ``backward() -> dL/dz = (softmax(z) - onehot(t)) / N``,
    which carries the ``1/N`` of the mean into every gradient upstream.
    """

    def forward(self, z: np.ndarray, t: np.ndarray) -> float:
        """The loss of logits ``z (N, K)`` and integer labels ``t (N,)``, a batch mean."""
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.p, self.t = np.exp(log_p), np.asarray(t)
        return float(-log_p[np.arange(len(self.t)), self.t].mean())

    def backward(self) -> np.ndarray:
        """``dL/dz = (softmax(z) - onehot(t)) / N``, shape ``(N, K)``."""
        d = self.p.copy()
        d[np.arange(len(self.t)), self.t] -= 1.0
        return d / len(self.t)


class Sequential:
    """Layers applied in order; ``backward`` runs them in reverse."""

    def __init__(self, layers: Sequence) -> None:
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layers in order."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Run the layers' backward passes in reverse order; returns the input's gradient."""
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(name, parameter, gradient)``, e.g. ``("0.w", w, dw)``; gradients after ``backward``."""
        for i, layer in enumerate(self.layers):
            for key, p in layer.params.items():
                yield f"{i}.{key}", p, layer.grads.get(key)


def digits_cnn(
    rng: np.random.Generator,
    grad_weight: Callable[..., np.ndarray] | None = None,
) -> Sequential:
    """The capstone's CNN for 8x8 digits, ``(N, 1, 8, 8)`` -> 10 logits.

    LeNet's layout shrunk: two 3x3 convolutions (padding 1) with ReLU,
    one 2x2 max-pool, one dense layer; 9930 parameters.
    ``grad_weight`` replaces both convolutions' weight gradient (Conv).
    """
    return Sequential([
        Conv(1, 16, (3, 3), padding=1, rng=rng, grad_weight=grad_weight),
        ReLU(),
        MaxPool2d(2),                                   # (N, 16, 4, 4)
        Conv(16, 32, (3, 3), padding=1, rng=rng, grad_weight=grad_weight),
        ReLU(),
        Flatten(),                                      # (N, 512)
        Dense(32 * 4 * 4, 10, rng=rng),
    ])


class SGD:
    """Stochastic gradient descent with optional momentum: ``v = m v + g``, ``p -= lr v``."""

    def __init__(self, model: Sequential, lr: float, momentum: float = 0.0) -> None:
        self.model, self.lr, self.momentum = model, lr, momentum
        self.velocity: dict[str, np.ndarray] = {}

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        for name, p, g in self.model.parameters():
            v = self.momentum * self.velocity.get(name, 0.0) + g
            self.velocity[name] = v
            p -= self.lr * v


class Adam:
    """Adam (Kingma and Ba, 2015), updating the model's parameters in place.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``, ``m_hat = m / (1 - b1**t)``,
    ``v_hat = v / (1 - b2**t)``, ``p -= lr * m_hat / (sqrt(v_hat) + eps)``. The step is nearly
    independent of the gradient's scale: multiplying every gradient by a constant changes it only
    through ``eps``.
    """

    def __init__(self, model: Sequential, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.model, self.lr, self.betas, self.eps = model, lr, betas, eps
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        self.t += 1
        b1, b2 = self.betas
        for name, p, g in self.model.parameters():
            self.m[name] = b1 * self.m.get(name, 0.0) + (1 - b1) * g
            self.v[name] = b2 * self.v.get(name, 0.0) + (1 - b2) * g * g
            m_hat = self.m[name] / (1 - b1 ** self.t)
            v_hat = self.v[name] / (1 - b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class GradientErrors(dict):
    """``{name: relative error}`` of a finite-difference check, one entry per array checked.

    ``str()`` is one short line with each error rounded up to a power of ten, e.g.
    ``finite differences: x < 1e-09, w < 1e-08, b < 1e-09`` (deterministic in a notebook).
    """

    def bounds(self) -> dict[str, float]:
        """Each error rounded up to a power of ten (at least ``1e-16``)."""
        return {name: _power_above(e) for name, e in self.items()}

    def __str__(self) -> str:
        bounds = ", ".join(f"{name} < {b:.0e}" for name, b in self.bounds().items())
        return f"finite differences: {bounds}"

    def _repr_pretty_(self, printer, cycle) -> None:  # a notebook cell's value shows the line
        printer.text(str(self))


def _power_above(e: float) -> float:
    """The smallest power of ten above ``e`` (at least 1e-16)."""
    return 10.0 ** max(-16, int(np.floor(np.log10(e))) + 1) if e > 0 else 1e-16


def check_layer(
    layer: Layer | SoftmaxCrossEntropy,
    x: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    seed: int = 0,
    max_entries: int | None = None,
) -> GradientErrors:
    """Central finite differences of one layer's backward pass, for its input and each parameter.

    For a layer, the scalar differentiated is ``<dy, layer.forward(x)>`` with a random ``dy``;
    for the loss (``labels`` given), ``loss.forward(x, labels)`` itself. The parameters are
    restored afterwards.

    Parameters
    ----------
    layer : a layer of this module, or :class:`SoftmaxCrossEntropy` with ``labels``
    x : float64 array, the layer's input (``z (N, K)`` for the loss)
    labels : int array ``(N,)``, only for the loss
    seed, max_entries : as in :func:`convgrad.check.gradcheck`

    Returns
    -------
    GradientErrors
        ``{"x": error, "w": error, "b": error}`` (the parameters the layer has), each the
        relative error of :func:`convgrad.check.gradcheck`; about 1e-9 or less if the backward
        is right and no input sits on a kink (0 for ReLU, a tie for max-pooling).
    """
    from .check import gradcheck

    params = getattr(layer, "params", {})
    names = list(params)
    is_loss = isinstance(layer, SoftmaxCrossEntropy)
    if is_loss != (labels is not None):
        raise TypeError("check_layer takes labels for SoftmaxCrossEntropy and only for it, got "
                        f"{type(layer).__name__} with labels={'given' if labels is not None else None}")
    saved = dict(params)

    def run(x_, ps):
        params.update(zip(names, ps))
        return layer.forward(x_, labels) if is_loss else layer.forward(x_)

    def f(x_, *ps):
        try:
            return np.asarray(run(x_, ps))
        finally:
            params.update(saved)

    def grads(ybar, x_, *ps):
        try:
            run(x_, ps)
            dx = ybar * layer.backward() if is_loss else layer.backward(ybar)
            return (dx, *[layer.grads[k] for k in names])
        finally:
            params.update(saved)

    args = (x, *[saved[k] for k in names])
    errors = GradientErrors()
    for i, name in enumerate(["x", *names]):
        def only(ybar, *a, i=i):
            return tuple(g if j == i else None for j, g in enumerate(grads(ybar, *a)))
        errors[name] = gradcheck(f, only, args, seed=seed, max_entries=max_entries)
    return errors


def check_network(
    model: Sequential,
    x: np.ndarray,
    t: np.ndarray,
    *,
    seed: int = 0,
    max_entries: int | None = None,
) -> GradientErrors:
    """Finite differences of the whole network's gradient, one parameter array at a time.

    The scalar is the softmax cross-entropy of ``model.forward(x)`` and labels ``t``, **mean
    over the batch** (as :func:`fit` trains); the gradients are those ``model.backward`` stores.

    Parameters
    ----------
    model : Sequential
    x : float64 array ``(N, ...)``, a small batch
    t : int array ``(N,)``
    seed, max_entries : as in :func:`convgrad.check.gradcheck` (``max_entries`` per array)

    Returns
    -------
    GradientErrors
        ``{"0.w": error, "0.b": error, ...}``, by the names of :meth:`Sequential.parameters`.
    """
    from .check import gradcheck

    loss_fn = SoftmaxCrossEntropy()
    errors = GradientErrors()
    for name, p, _ in list(model.parameters()):
        saved = p.copy()

        def loss_at(q, p=p, saved=saved):
            p[...] = q
            try:
                return np.array(loss_fn.forward(model.forward(x), t))
            finally:
                p[...] = saved

        def grad_at(lbar, q, p=p, saved=saved, name=name):
            p[...] = q
            try:
                loss_fn.forward(model.forward(x), t)
                model.backward(loss_fn.backward())
                return (lbar * dict((n, g) for n, _, g in model.parameters())[name],)
            finally:
                p[...] = saved

        errors[name] = gradcheck(loss_at, grad_at, (saved.copy(),), seed=seed, max_entries=max_entries)
    return errors


def accuracy(model: Sequential, x: np.ndarray, t: np.ndarray, batch_size: int = 256) -> float:
    """Fraction of samples whose largest logit is the label, evaluated in batches."""
    hits = 0
    for i in range(0, len(x), batch_size):
        hits += int((model.forward(x[i:i + batch_size]).argmax(axis=1) == t[i:i + batch_size]).sum())
    return hits / len(x)


def fit(
    model: Sequential,
    optimizer: SGD | Adam,
    x: np.ndarray,
    t: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    x_test: np.ndarray | None = None,
    t_test: np.ndarray | None = None,
    train_accuracy: bool = True,
) -> dict[str, list[float]]:
    """Train with softmax cross-entropy (mean over each minibatch), shuffling every epoch with ``rng``.

    Parameters
    ----------
    model, optimizer : the network and an optimiser built on it
    x, t : training inputs ``(N, ...)`` and integer labels ``(N,)``
    epochs, batch_size : int
    rng : numpy.random.Generator, for the shuffles
    x_test, t_test : optional held-out data, evaluated after every epoch
    train_accuracy : bool
        Also evaluate the whole training set after every epoch (one more forward pass over it).

    Returns
    -------
    history : dict of lists, one entry per epoch
        ``"loss"`` (mean of the minibatch losses), ``"train_accuracy"`` (if asked for) and, with
        test data, ``"test_accuracy"`` (both measured after the epoch).
    """
    loss_fn = SoftmaxCrossEntropy()
    history: dict[str, list[float]] = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    for _ in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for i in range(0, len(x), batch_size):
            batch = order[i:i + batch_size]
            losses.append(loss_fn.forward(model.forward(x[batch]), t[batch]))
            model.backward(loss_fn.backward())
            optimizer.step()
        history["loss"].append(float(np.mean(losses)))
        if train_accuracy:
            history["train_accuracy"].append(accuracy(model, x, t))
        if x_test is not None:
            history["test_accuracy"].append(accuracy(model, x_test, t_test))
    return history
