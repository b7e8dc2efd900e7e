"""convgrad.nn: every layer's backward by the dot-product test (linear maps) or finite differences,
the whole network's gradient by finite differences on a tiny batch and against PyTorch, the
optimisers against their defining formulas, and a short training run."""

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convgrad as cg
from convgrad import nn, pitfalls
from convgrad.check import adjoint_test, gradcheck

torch.set_default_dtype(torch.float64)


def rng(seed=0):
    return np.random.default_rng(seed)


# --- single layers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("opts", [dict(), dict(stride=2, padding=1),
                                  dict(padding="same", dilation=2, groups=2)])
def test_conv_layer_backward(opts):
    layer = nn.Conv(4, 6, (3, 3), rng=rng(), **opts)
    layer.params["b"] = rng(1).standard_normal(6)
    x = rng(2).standard_normal((2, 4, 7, 6))
    y_shape = layer.forward(x).shape
    # in x the layer is affine: its linear part's adjoint must be the backward
    w = layer.params["w"]
    adjoint_test(lambda u: cg.conv(u, w, **layer.opts), lambda dy: (layer.forward(x), layer.backward(dy))[1],
                 x.shape, y_shape, rtol=1e-13)

    def f(x, w, b):
        layer.params.update(w=w, b=b)
        return layer.forward(x)

    def grads(dy, x, w, b):
        layer.params.update(w=w, b=b)
        layer.forward(x)
        dx = layer.backward(dy)
        return dx, layer.grads["w"], layer.grads["b"]

    assert gradcheck(f, grads, (x, w.copy(), layer.params["b"].copy()), rtol=1e-8) < 1e-8


def test_conv_layer_initialisation_and_shapes():
    layer = nn.Conv(16, 32, (3, 3), rng=rng(), groups=2)
    assert layer.params["w"].shape == (32, 8, 3, 3) and layer.params["b"].shape == (32,)
    assert np.std(layer.params["w"]) == pytest.approx(np.sqrt(2 / 72), rel=0.1)


def test_conv_layer_uses_a_replacement_weight_gradient():
    recipe = functools.partial(pitfalls.channel_mean_recipe, divide_by_batch=False)
    layer = nn.Conv(3, 4, (3, 3), padding=1, rng=rng(), grad_weight=recipe)
    x = rng(1).standard_normal((2, 3, 5, 5))
    dy = rng(2).standard_normal(layer.forward(x).shape)
    layer.backward(dy)
    true = cg.conv_grad_weight(dy, x, layer.params["w"].shape, padding=1)
    mean = np.broadcast_to(true.mean(axis=1, keepdims=True), true.shape)
    np.testing.assert_allclose(layer.grads["w"], mean, rtol=1e-12)


def test_relu_backward():
    layer = nn.ReLU()
    x = rng().standard_normal((3, 4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep every entry away from the kink

    def grads(dy, x):
        layer.forward(x)
        return (layer.backward(dy),)

    assert gradcheck(layer.forward, grads, (x,), rtol=1e-8) < 1e-8
    y = layer.forward(x)
    assert np.all(y >= 0) and np.array_equal(y[x > 0], x[x > 0])


def test_maxpool_backward():
    layer = nn.MaxPool2d(2)
    x = rng().standard_normal((2, 3, 6, 4))

    def grads(dy, x):
        layer.forward(x)
        return (layer.backward(dy),)

    assert gradcheck(layer.forward, grads, (x,), rtol=1e-9) < 1e-9
    y = layer.forward(x)
    assert y.shape == (2, 3, 3, 2)
    assert y[1, 2, 1, 0] == x[1, 2, 2:4, 0:2].max()


def test_maxpool_sends_a_tied_window_gradient_to_one_input():
    layer = nn.MaxPool2d(2)
    layer.forward(np.zeros((1, 1, 2, 2)))
    dx = layer.backward(np.ones((1, 1, 1, 1)))
    assert dx.sum() == 1.0 and dx[0, 0, 0, 0] == 1.0


def test_maxpool_refuses_indivisible_sizes():
    with pytest.raises(ValueError, match="divisible"):
        nn.MaxPool2d(2).forward(np.zeros((1, 1, 5, 4)))


def test_flatten_and_dense_adjoints():
    flat = nn.Flatten()
    x = rng().standard_normal((2, 3, 4, 5))
    flat.forward(x)
    adjoint_test(flat.forward, flat.backward, x.shape, (2, 60), rtol=1e-15)
    dense = nn.Dense(60, 7, rng=rng(1))
    dense.forward(x.reshape(2, 60))
    adjoint_test(lambda u: u @ dense.params["w"], dense.backward, (2, 60), (2, 7), rtol=1e-14)


def test_dense_parameter_gradients():
    dense = nn.Dense(5, 3, rng=rng())
    x = rng(1).standard_normal((4, 5))

    def f(x, w, b):
        dense.params.update(w=w, b=b)
        return dense.forward(x)

    def grads(dy, x, w, b):
        f(x, w, b)
        dx = dense.backward(dy)
        return dx, dense.grads["w"], dense.grads["b"]

    assert gradcheck(f, grads, (x, dense.params["w"].copy(), rng(2).standard_normal(3)), rtol=1e-9) < 1e-9


def test_softmax_cross_entropy_is_a_batch_mean():
    loss = nn.SoftmaxCrossEntropy()
    z, t = rng().standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    want = -np.mean([z[i, t[i]] - np.log(np.exp(z[i]).sum()) for i in range(5)])
    assert loss.forward(z, t) == pytest.approx(want, rel=1e-13)
    assert loss.forward(z + 1000.0, t) == pytest.approx(want, rel=1e-10)  # shifted: no overflow

    def f(z):
        return np.array(loss.forward(z, t))

    def grads(ybar, z):
        loss.forward(z, t)
        return (ybar * loss.backward(),)

    assert gradcheck(f, grads, (z,), rtol=1e-8) < 1e-8
    loss.forward(z, t)
    np.testing.assert_allclose(loss.backward().sum(axis=1), 0.0, atol=1e-15)  # softmax minus one-hot


# --- the whole network ------------------------------------------------------------------------------


def small_net(seed=0):
    r = rng(seed)
    return nn.Sequential([
        nn.Conv(1, 4, (3, 3), padding=1, rng=r), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv(4, 6, (3, 3), padding=1, rng=r), nn.ReLU(), nn.Flatten(), nn.Dense(6 * 4 * 4, 10, rng=r),
    ])


def test_network_gradient_by_finite_differences():
    net, loss = small_net(), nn.SoftmaxCrossEntropy()
    x, t = rng(1).standard_normal((3, 1, 8, 8)), np.array([1, 7, 3])
    for _, p, _ in net.parameters():  # nonzero biases, so every path is exercised
        if p.ndim == 1:
            p[:] = rng(2).standard_normal(p.shape) * 0.1
    names = [name for name, _, _ in net.parameters()]
    params = [p.copy() for _, p, _ in net.parameters()]

    def set_params(ps):
        for (_, p, _), q in zip(net.parameters(), ps):
            p[...] = q

    def f(x, *ps):
        set_params(ps)
        return np.array(loss.forward(net.forward(x), t))

    def grads(ybar, x, *ps):
        set_params(ps)
        loss.forward(net.forward(x), t)
        dx = net.backward(ybar * loss.backward())
        return (dx, *[g for _, _, g in net.parameters()])

    assert len(names) == 6
    assert gradcheck(f, grads, (x, *params), rtol=1e-7) < 1e-7


def test_network_matches_torch():
    net, loss = small_net(), nn.SoftmaxCrossEntropy()
    x, t = rng(1).standard_normal((3, 1, 8, 8)), np.array([1, 7, 3])
    value = loss.forward(net.forward(x), t)
    net.backward(loss.backward())
    ps = {name: torch.tensor(p, requires_grad=True) for name, p, _ in net.parameters()}
    h = F.relu(F.conv2d(torch.tensor(x), ps["0.w"], ps["0.b"], padding=1))
    h = F.max_pool2d(h, 2)
    h = F.relu(F.conv2d(h, ps["3.w"], ps["3.b"], padding=1))
    z = h.flatten(1) @ ps["6.w"] + ps["6.b"]
    lt = F.cross_entropy(z, torch.tensor(t))  # mean over the batch
    lt.backward()
    assert value == pytest.approx(lt.item(), rel=1e-13)
    for name, _, g in net.parameters():
        np.testing.assert_allclose(g, ps[name].grad.numpy(), rtol=1e-10, atol=1e-14)


# --- optimisers and training ------------------------------------------------------------------------


def one_parameter_model(p, g):
    layer = nn.Layer()
    layer.params, layer.grads = {"p": p}, {"p": g}
    return nn.Sequential([layer])


def test_sgd_steps():
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    opt = nn.SGD(one_parameter_model(p, g), lr=0.1, momentum=0.9)
    opt.step()
    np.testing.assert_allclose(p, [1.0 - 0.05, -2.0 - 0.025])
    opt.step()  # velocity 0.9 g + g
    np.testing.assert_allclose(p, [1.0 - 0.05 - 0.1 * 1.9 * 0.5, -2.0 - 0.025 - 0.1 * 1.9 * 0.25])


def test_adam_first_steps():
    """Step 1: m_hat = g, v_hat = g^2, so every entry moves by lr * g / (|g| + eps): about lr."""
    p, g = np.array([1.0, -2.0, 3.0]), np.array([1e-3, -5.0, 0.0])
    opt = nn.Adam(one_parameter_model(p, g), lr=0.01)
    opt.step()
    np.testing.assert_allclose(p, [1.0 - 0.01 * 1e-3 / (1e-3 + 1e-8), -2.0 + 0.01 * 5 / (5 + 1e-8), 3.0])
    # a constant gradient keeps m_hat = g and v_hat = g^2 on every step
    opt.step()
    np.testing.assert_allclose(p[1], -2.0 + 2 * 0.01 * 5 / (5 + 1e-8))


def test_adam_ignores_the_scale_of_the_gradient():
    """Up to eps / |g| (here 1e-8 / 0.003): dividing every gradient by 100 changes nothing."""
    p1, p2 = np.ones(3), np.ones(3)
    g = np.array([0.3, -1.0, 2.0])
    a1, a2 = nn.Adam(one_parameter_model(p1, g), lr=0.1), nn.Adam(one_parameter_model(p2, g / 100), lr=0.1)
    for _ in range(3):
        a1.step()
        a2.step()
    np.testing.assert_allclose(p1, p2, rtol=1e-5)
    assert np.abs(p1 - 1).min() > 0.2  # and they did move


def test_fit_lowers_the_loss_on_digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x, t = (d.images[:300] / 16.0)[:, None], d.target[:300]
    net = small_net()
    hist = nn.fit(net, nn.Adam(net, lr=1e-2), x, t, epochs=4, batch_size=32, rng=rng(1), x_test=x[:50],
                  t_test=t[:50])
    assert len(hist["loss"]) == 4 and len(hist["test_accuracy"]) == 4
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["train_accuracy"][-1] > 0.8
    assert nn.accuracy(net, x, t) == hist["train_accuracy"][-1]


# --- the checking helpers -----------------------------------------------------------------------------


class UnmaskedReLU(nn.ReLU):
    """A wrong backward: passes dy through where x <= 0 too."""

    def backward(self, dy):
        return dy


class LossWithoutMean(nn.SoftmaxCrossEntropy):
    """A wrong backward: the gradient of the sum, not of the mean."""

    def backward(self):
        return super().backward() * len(self.t)


def test_check_layer_passes_every_right_layer_and_restores_the_parameters():
    x = rng().standard_normal((2, 3, 4, 4))
    conv = nn.Conv(3, 4, (3, 3), padding=1, stride=2, rng=rng(1))
    conv.params["b"] = rng(2).standard_normal(4)
    dense = nn.Dense(5, 3, rng=rng(3))
    before = {k: v.copy() for k, v in conv.params.items()}
    cases = [(nn.ReLU(), x, None), (nn.MaxPool2d(2), x, None), (conv, x, None),
             (dense, rng(4).standard_normal((4, 5)), None),
             (nn.SoftmaxCrossEntropy(), rng(5).standard_normal((4, 10)), np.array([1, 2, 3, 9]))]
    for layer, inp, labels in cases:
        errors = nn.check_layer(layer, inp, labels)
        assert set(errors) == {"x", *getattr(layer, "params", {})}
        assert max(errors.values()) < 1e-7, (type(layer).__name__, errors)
    for k in before:
        np.testing.assert_array_equal(conv.params[k], before[k])


def test_check_layer_catches_wrong_backward_passes():
    x = rng().standard_normal((2, 3, 4, 4))
    assert nn.check_layer(UnmaskedReLU(), x)["x"] > 0.1
    z, t = rng(1).standard_normal((4, 10)), np.array([1, 2, 3, 9])
    assert nn.check_layer(LossWithoutMean(), z, t)["x"] > 0.5


def test_check_layer_wants_labels_for_the_loss_only():
    with pytest.raises(TypeError, match="labels"):
        nn.check_layer(nn.SoftmaxCrossEntropy(), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="labels"):
        nn.check_layer(nn.ReLU(), np.zeros((2, 3)), np.array([0, 1]))


def test_gradient_errors_print_as_powers_of_ten():
    errors = nn.GradientErrors({"x": 3.2e-11, "w": 0.0, "b": 0.5})
    assert str(errors) == "finite differences: x < 1e-10, w < 1e-16, b < 1e+00"
    assert errors.bounds() == {"x": 1e-10, "w": 1e-16, "b": 1.0}


def test_check_network_names_the_one_wrong_array():
    recipe = functools.partial(pitfalls.channel_mean_recipe, divide_by_batch=False)
    x, t = rng(1).standard_normal((3, 1, 8, 8)), np.array([1, 7, 3])
    errors = {}
    for label, grad_weight in (("right", None), ("recipe", recipe)):
        net = small_net()
        net.layers[3].grad_weight = grad_weight
        for _, p, _ in net.parameters():  # off the ReLU kink
            if p.ndim == 1:
                p[:] = rng(2).standard_normal(p.shape) * 0.1
        errors[label] = nn.check_network(net, x, t, max_entries=20)
    assert list(errors["right"]) == ["0.w", "0.b", "3.w", "3.b", "6.w", "6.b"]
    assert max(errors["right"].values()) < 1e-6
    assert errors["recipe"]["3.w"] > 0.1
    assert all(e < 1e-6 for name, e in errors["recipe"].items() if name != "3.w")


def test_digits_cnn_is_the_capstones_network():
    net = nn.digits_cnn(rng())
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv", "ReLU", "MaxPool2d", "Conv", "ReLU", "Flatten", "Dense"]
    counts = {name: p.size for name, p, _ in net.parameters()}
    assert counts == {"0.w": 144, "0.b": 16, "3.w": 4608, "3.b": 32, "6.w": 5120, "6.b": 10}
    assert net.forward(np.zeros((2, 1, 8, 8))).shape == (2, 10)
    recipe = functools.partial(pitfalls.channel_mean_recipe, divide_by_batch=False)
    with_recipe = nn.digits_cnn(rng(), grad_weight=recipe)
    assert with_recipe.layers[0].grad_weight is recipe and with_recipe.layers[3].grad_weight is recipe
    # the same generator state gives the same weights
    np.testing.assert_array_equal(with_recipe.layers[6].params["w"], net.layers[6].params["w"])
