"""The question the book starts from: a 10x10x3 image and five 3x3x3 kernels give 8x8x5.

Checked against SciPy's 2-D correlation, an implementation independent of convgrad."""

import numpy as np
from scipy.signal import correlate2d

import convgrad as cg


def seed_arrays(batch=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (10, 10, 3) if batch is None else (batch, 10, 10, 3)
    x = rng.standard_normal(shape)   # NHWC (or HWC)
    k = rng.standard_normal((5, 3, 3, 3))  # [F, kh, kw, C]
    return x, k


def test_shapes():
    x, k = seed_arrays()
    z = cg.conv(x, k, layout="channels_last")
    assert z.shape == (8, 8, 5)
    assert cg.conv_output_shape(x.shape, k.shape, layout="channels_last") == (8, 8, 5)


def test_forward_is_a_sum_of_per_channel_correlations():
    x, k = seed_arrays()
    z = cg.conv(x, k, layout="channels_last")
    for f in range(5):
        want = sum(correlate2d(x[:, :, c], k[f, :, :, c], mode="valid") for c in range(3))
        np.testing.assert_allclose(z[:, :, f], want, rtol=1e-13, atol=1e-13)


def test_kernel_gradient_is_one_correlation_per_channel_pair():
    """dK[f, :, :, c] is the valid cross-correlation of input channel c with dZ channel f."""
    x, k = seed_arrays()
    dz = np.random.default_rng(1).standard_normal((8, 8, 5))
    dk = cg.conv_grad_weight(dz, x, k.shape, layout="channels_last")
    assert dk.shape == (5, 3, 3, 3)
    for f in range(5):
        for c in range(3):
            want = correlate2d(x[:, :, c], dz[:, :, f], mode="valid")  # (10-8+1) x (10-8+1) = 3x3
            np.testing.assert_allclose(dk[f, :, :, c], want, rtol=1e-13, atol=1e-13)


def test_kernel_gradient_sums_over_the_batch():
    x, k = seed_arrays(batch=4)
    dz = np.random.default_rng(2).standard_normal((4, 8, 8, 5))
    dk = cg.conv_grad_weight(dz, x, k.shape, layout="channels_last")
    for f in range(5):
        for c in range(3):
            want = sum(correlate2d(x[n, :, :, c], dz[n, :, :, f], mode="valid") for n in range(4))
            np.testing.assert_allclose(dk[f, :, :, c], want, rtol=1e-13, atol=1e-13)


def test_input_gradient_is_a_full_convolution_summed_over_kernels():
    """dX[:, :, c] = sum_f dZ[:, :, f] * K[f, :, :, c] (true convolution, 'full' mode: 10x10)."""
    from scipy.signal import convolve2d

    x, k = seed_arrays()
    dz = np.random.default_rng(3).standard_normal((8, 8, 5))
    dx = cg.conv_grad_input(dz, k, x.shape, layout="channels_last")
    assert dx.shape == (10, 10, 3)
    for c in range(3):
        want = sum(convolve2d(dz[:, :, f], k[f, :, :, c], mode="full") for f in range(5))
        np.testing.assert_allclose(dx[:, :, c], want, rtol=1e-13, atol=1e-13)

