"""Second derivatives of a convolutional layer (double backward), written with convgrad's first-order maps.

Everything follows from one scalar, the trilinear form

    T(dy, x, w) = <dy, conv(x, w)>
                = sum_{n,f,o,c,k} dy[n,f,o] w[f,c,k] x_pad[n, g*C/G + c, s*o + d*k]

whose three partial gradients are the three first-order maps of the layer::

    dT/d dy = conv(x, w)
    dT/dx   = conv_grad_input(dy, w, x.shape)
    dT/dw   = conv_grad_weight(dy, x, w.shape)

Each first-order map is linear in each of its two arguments, so the vector-Jacobian product of
one of them with a cotangent ``u`` is the gradient of ``T`` with ``u`` put in the place of the
map's output: again one of the same three maps. For example ``<u, conv_grad_input(dy, w)>`` is
``T(dy, u, w)``, whose gradient in ``dy`` is ``conv(u, w)`` and in ``w`` is
``conv_grad_weight(dy, u, w.shape)``. No new kernel is needed for any order.

All functions take the keyword options of :func:`convgrad.conv` (``stride``, ``padding``,
``dilation``, ``groups``, ``layout``, ``method``) and arrays in that layout.
"""

from __future__ import annotations

import numpy as np

from .arrays import bias_view
from .functional import conv, conv_grad_input, conv_grad_weight


def trilinear(dy: np.ndarray, x: np.ndarray, w: np.ndarray, **opts):
    """``T(dy, x, w) = <dy, conv(x, w)>``: the scalar whose gradients are the layer's three maps.

    A float for numeric arrays, a SymPy expression for object arrays of symbols.
    """
    return (np.asarray(dy) * conv(x, w, **opts)).sum()


def grad_input_vjp(
    u: np.ndarray, dy: np.ndarray, w: np.ndarray, **opts
) -> tuple[np.ndarray, np.ndarray]:
    """Vector-Jacobian product of ``(dy, w) -> dx = conv_grad_input(dy, w, x_shape)``.

    Parameters
    ----------
    u : array of the input's shape ``x_shape``
        Cotangent of ``dx``.
    dy : array, the output's shape
    w : array, the weight

    Returns
    -------
    dy_bar : array, ``dy``'s shape
        ``conv(u, w)``: the gradient of ``<u, dx>`` with respect to ``dy``.
    w_bar : array, ``w``'s shape
        ``conv_grad_weight(dy, u, w.shape)``: with respect to ``w`` (``u`` in the input's role).
    """
    return conv(u, w, **opts), conv_grad_weight(dy, u, w.shape, **opts)


def grad_weight_vjp(
    v: np.ndarray, dy: np.ndarray, x: np.ndarray, **opts
) -> tuple[np.ndarray, np.ndarray]:
    """Vector-Jacobian product of ``(dy, x) -> dw = conv_grad_weight(dy, x, w_shape)``.

    Parameters
    ----------
    v : array of the weight's shape ``w_shape``
        Cotangent of ``dw``.
    dy : array, the output's shape
    x : array, the input

    Returns
    -------
    dy_bar : array, ``dy``'s shape
        ``conv(x, v)``: the gradient of ``<v, dw>`` with respect to ``dy``.
    x_bar : array, ``x``'s shape
        ``conv_grad_input(dy, v, x.shape)``: with respect to ``x`` (``v`` in the weight's role).
    """
    return conv(x, v, **opts), conv_grad_input(dy, v, x.shape, **opts)


def conv_backward_vjp(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    u_x: np.ndarray,
    u_w: np.ndarray,
    u_b: np.ndarray | None = None,
    **opts,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Double backward: the vector-Jacobian product of ``(dy, x, w) -> conv_backward(dy, x, w)``.

    With cotangents ``u_x``, ``u_w``, ``u_b`` of ``(dx, dw, db)`` this is the gradient of
    ``S = <u_x, dx> + <u_w, dw> + <u_b, db>`` with respect to ``(dy, x, w)``; what
    ``torch.autograd.grad((dx, dw, db), (dy, x, w), (u_x, u_w, u_b))`` returns when ``dx, dw, db``
    were computed with ``create_graph=True``.

    Returns
    -------
    dy_bar : ``conv(u_x, w) + conv(x, u_w) + u_b`` (``u_b`` broadcast over batch and space)
    x_bar : ``conv_grad_input(dy, u_w, x.shape)`` (``dx`` does not depend on ``x``)
    w_bar : ``conv_grad_weight(dy, u_x, w.shape)`` (``dw`` does not depend on ``w``)
    """
    dy_from_dx, w_bar = grad_input_vjp(u_x, dy, w, **opts)
    dy_from_dw, x_bar = grad_weight_vjp(u_w, dy, x, **opts)
    dy_bar = dy_from_dx + dy_from_dw
    if u_b is not None:  # db = dy summed over all but the channel axis: its VJP broadcasts back
        layout = opts.get("layout", "channels_first")
        dy_bar = dy_bar + bias_view(np.asarray(u_b), w.ndim - 2, layout)
    return dy_bar, x_bar, w_bar


def least_squares(
    x: np.ndarray, w: np.ndarray, t: np.ndarray, **opts
) -> tuple[float, np.ndarray, np.ndarray]:
    """``L = 1/2 ||conv(x, w) - t||^2`` (**sum** over the batch) and its gradients ``(L, L_x, L_w)``.

    With the residual ``r = conv(x, w) - t``: ``L_x = conv_grad_input(r, w, x.shape)`` and
    ``L_w = conv_grad_weight(r, x, w.shape)``. Works on object arrays of symbols too.
    """
    r = conv(x, w, **opts) - t
    loss = (r * r).sum() / 2  # a SymPy expression for object arrays
    if r.dtype != object:
        loss = float(loss)
    return loss, conv_grad_input(r, w, x.shape, **opts), conv_grad_weight(r, x, w.shape, **opts)


def least_squares_hvp(
    x: np.ndarray, w: np.ndarray, t: np.ndarray, v_x: np.ndarray, v_w: np.ndarray, **opts
) -> tuple[np.ndarray, np.ndarray]:
    """Hessian-vector product of :func:`least_squares` in the direction ``(v_x, v_w)``.

    The tangent of the gradient (forward over reverse): with ``r = conv(x, w) - t`` and its
    tangent ``r_dot = conv(v_x, w) + conv(x, v_w)``,

    ``H v = (conv_grad_input(r_dot, w) + conv_grad_input(r, v_w),
    conv_grad_weight(r_dot, x) + conv_grad_weight(r, v_x))``.

    The first terms form the Gauss-Newton part ``J^T J v`` (positive semidefinite); the second
    terms, proportional to the residual, are the layer's own second derivative (its bilinearity).

    Returns
    -------
    (Hv_x, Hv_w) : arrays of the shapes of ``x`` and ``w``
    """
    r = conv(x, w, **opts) - t
    r_dot = conv(v_x, w, **opts) + conv(x, v_w, **opts)
    hv_x = conv_grad_input(r_dot, w, x.shape, **opts) + conv_grad_input(r, v_w, x.shape, **opts)
    hv_w = conv_grad_weight(r_dot, x, w.shape, **opts) + conv_grad_weight(r, v_x, w.shape, **opts)
    return hv_x, hv_w


__all__ = [
    "conv_backward_vjp",
    "grad_input_vjp",
    "grad_weight_vjp",
    "least_squares",
    "least_squares_hvp",
    "trilinear",
]
