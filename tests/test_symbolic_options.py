"""convgrad.symbolic.options: the general-size derivations with stride s, dilation d and padding
p_lo agree exactly with convgrad at concrete sizes, come out in the stated form, and the checks
fail when a bracket is dropped."""

import numpy as np
import pytest
import sympy as sp

import convgrad as cg
from convgrad.rules import pad_or_crop
from convgrad.symbolic import Iverson, adjoint_from_pairing, instantiate, is_zero, pairing, symbol_array
from convgrad.symbolic.brackets import Divides, implied
from convgrad.symbolic.options import conv1d_options_derivation, pad_derivation

# (stride, dilation, p_lo, p_hi, M, K): plain, padded, strided with a remainder, kernel shorter
# than the stride, dilated, strided and dilated with a common factor, coprime s and d, all on.
CONFIGS = [
    (1, 1, 0, 0, 5, 3),
    (1, 1, 2, 1, 4, 3),
    (2, 1, 1, 0, 7, 3),
    (2, 1, 0, 0, 8, 3),
    (3, 1, 0, 0, 10, 2),
    (1, 2, 2, 2, 6, 3),
    (2, 2, 1, 1, 7, 2),
    (3, 2, 0, 1, 9, 3),
    (2, 3, 2, 0, 8, 2),
]


@pytest.fixture(scope="module")
def general():
    return conv1d_options_derivation()


def concrete(der, s, d, p_lo, p_hi, m_len, k_len):
    """Symbol arrays, sizes and convgrad's results for one configuration."""
    sy = der.symbols
    opts = dict(stride=s, dilation=d, padding=((p_lo, p_hi),))
    o_len = cg.conv_output_shape((1, 1, m_len), (1, 1, k_len), **opts)[-1]
    x, c = symbol_array(sy["x"], (m_len,)), symbol_array(sy["c"], (k_len,))
    zbar = symbol_array(sy["zbar"], (o_len,))
    xdot, cdot = symbol_array(sy["xdot"], (m_len,)), symbol_array(sy["cdot"], (k_len,))
    arrays = {sy["x"]: x, sy["c"]: c, sy["zbar"]: zbar, sy["xdot"]: xdot, sy["cdot"]: cdot}
    sizes = {sy["O"]: o_len, sy["K"]: k_len, sy["M"]: m_len, sy["p_lo"]: p_lo}
    if isinstance(sy["s"], sp.Symbol):
        sizes[sy["s"]] = s
    if isinstance(sy["d"], sp.Symbol):
        sizes[sy["d"]] = d
    z = cg.conv(x[None, None], c[None, None], **opts)[0, 0]
    dx, dc, _ = cg.conv_backward(zbar[None, None], x[None, None], c[None, None], **opts)
    return dict(x=x, c=c, zbar=zbar, xdot=xdot, cdot=cdot, arrays=arrays, sizes=sizes, z=z,
                dx=dx[0, 0], dc=dc[0, 0], opts=opts, o_len=o_len)


@pytest.mark.parametrize("s,d,p_lo,p_hi,m_len,k_len", CONFIGS)
def test_general_derivation_agrees_with_convgrad(general, s, d, p_lo, p_hi, m_len, k_len):
    sy = general.symbols
    cc = concrete(general, s, d, p_lo, p_hi, m_len, k_len)
    arrays, sizes = cc["arrays"], cc["sizes"]
    for oi in range(cc["o_len"]):
        assert is_zero(instantiate(general.forward.rhs, arrays, {**sizes, sy["o"]: oi}) - cc["z"][oi])
    for mi in range(m_len):
        for form in ("x", "x_by_k"):
            got = instantiate(general.adjoints[form].rhs, arrays, {**sizes, sy["m"]: mi})
            assert is_zero(got - cc["dx"][mi]), (form, mi)
    for ki in range(k_len):
        got = instantiate(general.adjoints["c"].rhs, arrays, {**sizes, sy["k"]: ki})
        assert is_zero(got - cc["dc"][ki])


@pytest.mark.parametrize("s,d,p_lo,p_hi,m_len,k_len", CONFIGS[::2])
def test_tangent_and_pairing_identity(general, s, d, p_lo, p_hi, m_len, k_len):
    """z_dot from the derived tangent; <z_bar, z_dot> = <x_bar, x_dot> + <c_bar, c_dot> exactly."""
    sy = general.symbols
    cc = concrete(general, s, d, p_lo, p_hi, m_len, k_len)
    arrays, sizes = cc["arrays"], cc["sizes"]
    zdot = np.array([instantiate(general.tangent.rhs, arrays, {**sizes, sy["o"]: oi})
                     for oi in range(cc["o_len"])], dtype=object)
    want = (cg.conv(cc["xdot"][None, None], cc["c"][None, None], **cc["opts"])
            + cg.conv(cc["x"][None, None], cc["cdot"][None, None], **cc["opts"]))[0, 0]
    assert is_zero(zdot - want)
    xbar = np.array([instantiate(general.adjoints["x"].rhs, arrays, {**sizes, sy["m"]: mi})
                     for mi in range(m_len)], dtype=object)
    cbar = np.array([instantiate(general.adjoints["c"].rhs, arrays, {**sizes, sy["k"]: ki})
                     for ki in range(k_len)], dtype=object)
    lhs = pairing(cc["zbar"], zdot)
    assert is_zero(lhs - pairing(xbar, cc["xdot"]) - pairing(cbar, cc["cdot"]))


def test_general_adjoints_have_the_stated_form(general):
    sy = general.symbols
    o, k, m, O, K, M, s, d, p = (sy[n] for n in ("o", "k", "m", "O", "K", "M", "s", "d", "p_lo"))
    zbar, c, x = sy["zbar"], sy["c"], sy["x"]
    a = m + p - s * o
    want_x = sp.Sum(zbar[o] * c[a / d] * Divides(d, a) * Iverson(sp.And(sp.Le(0, a), sp.Le(a, d * (K - 1)))),
                    (o, 0, O - 1))
    b = m + p - d * k
    want_xk = sp.Sum(c[k] * zbar[b / s] * Divides(s, b) * Iverson(sp.And(sp.Le(0, b), sp.Le(b, s * (O - 1)))),
                     (k, 0, K - 1))
    i = s * o + d * k - p
    want_c = sp.Sum(zbar[o] * x[i] * Iverson(sp.And(sp.Le(0, i), sp.Le(i, M - 1))), (o, 0, O - 1))
    assert general.adjoints["x"].rhs == want_x
    assert general.adjoints["x_by_k"].rhs == want_xk
    assert general.adjoints["c"].rhs == want_c


def test_weight_gradient_is_the_forward_with_stride_and_dilation_swapped(general):
    """c_bar_k = sum_{o<O} z_bar_o x[d*k + s*o - p_lo]: the forward map with s <-> d, o <-> k,
    K -> O and the kernel c replaced by z_bar, on the same (padded) input."""
    sy = general.symbols
    o, k, s, d = (sy[n] for n in ("o", "k", "s", "d"))
    swapped = general.forward.rhs.xreplace({s: d, d: s, o: k, k: o, sy["K"]: sy["O"], sy["c"]: sy["zbar"]})
    assert swapped == general.adjoints["c"].rhs
    assert general.forward.rhs != general.adjoints["c"].rhs


def test_padding_only_case_is_the_cropped_full_convolution():
    der = conv1d_options_derivation(stride=1, dilation=1)
    sy = der.symbols
    o, m, p, K = sy["o"], sy["m"], sy["p_lo"], sy["K"]
    a = m - o + p
    want = sp.Sum(sy["zbar"][o] * sy["c"][a] * Iverson(sp.And(sp.Le(0, a), sp.Le(a, K - 1))),
                  (o, 0, sy["O"] - 1))
    assert der.adjoints["x"].rhs == want
    assert not der.adjoints["x"].rhs.atoms(Divides)


@pytest.mark.parametrize("stride,dilation", [(1, 1), (None, 1), (2, None), (1, 3)])
def test_specialised_derivations_agree_with_convgrad(stride, dilation):
    der = conv1d_options_derivation(stride=stride, dilation=dilation)
    sy = der.symbols
    for s, d, p_lo, p_hi, m_len, k_len in CONFIGS:
        if (stride is not None and s != stride) or (dilation is not None and d != dilation):
            continue
        cc = concrete(der, s, d, p_lo, p_hi, m_len, k_len)
        for mi in range(m_len):
            for form in ("x", "x_by_k"):
                got = instantiate(der.adjoints[form].rhs, cc["arrays"], {**cc["sizes"], sy["m"]: mi})
                assert is_zero(got - cc["dx"][mi])
        for ki in range(k_len):
            got = instantiate(der.adjoints["c"].rhs, cc["arrays"], {**cc["sizes"], sy["k"]: ki})
            assert is_zero(got - cc["dc"][ki])


def test_dropping_the_divisibility_bracket_is_caught(general):
    """Without [d | ...] the formula reads kernel entries at fractional offsets: the check fails."""
    sy = general.symbols
    s, d, p_lo, p_hi, m_len, k_len = 1, 2, 2, 2, 6, 3
    cc = concrete(general, s, d, p_lo, p_hi, m_len, k_len)
    wrong = general.adjoints["x"].rhs.replace(lambda e: isinstance(e, Divides), lambda e: sp.S.One)
    mismatches = 0
    for mi in range(m_len):
        vals = {**cc["sizes"], sy["m"]: mi}
        try:
            got = instantiate(wrong, cc["arrays"], vals)
        except (IndexError, TypeError, ValueError):  # a fractional index is refused
            mismatches += 1
            continue
        mismatches += not is_zero(got - cc["dx"][mi])
    assert mismatches > 0


@pytest.mark.parametrize("m_len,p_lo,p_hi", [(4, 0, 0), (3, 2, 1), (5, 1, 3)])
def test_adjoint_of_zero_padding_is_cropping(m_len, p_lo, p_hi):
    der = pad_derivation()
    sy = der.symbols
    assert der.adjoints["x"].rhs == sy["xpbar"][sy["m"] + sy["p_lo"]]
    xpbar = symbol_array(sy["xpbar"], (m_len + p_lo + p_hi,))
    x = symbol_array(sy["x"], (m_len,))
    sizes = {sy["M"]: m_len, sy["p_lo"]: p_lo, sy["p_hi"]: p_hi}
    cropped = pad_or_crop(xpbar, [(-p_lo, -p_hi)], first_axis=0)
    padded = pad_or_crop(x, [(p_lo, p_hi)], first_axis=0)
    for mi in range(m_len):
        assert is_zero(instantiate(der.adjoints["x"].rhs, {sy["xpbar"]: xpbar}, {**sizes, sy["m"]: mi})
                       - cropped[mi])
    for j in range(m_len + p_lo + p_hi):
        assert is_zero(instantiate(der.forward.rhs, {sy["x"]: x}, {**sizes, sy["j"]: j}) - padded[j])


def test_divides_bracket():
    q, a, j = sp.symbols("q a j", integer=True, positive=True)
    assert Divides(3, 9) == 1 and Divides(3, 10) == 0 and Divides(2, -4) == 1
    assert Divides(1, a) == 1 and Divides(q, q * j) == 1
    assert isinstance(Divides(q, a), Divides)
    assert Divides(q, a).subs({q: 2, a: 6}) == 1
    assert sp.latex(Divides(q, a)) == r"\left[q \mid a\right]"


def test_implied_is_conservative():
    m, i = sp.symbols("m i", integer=True)
    M = sp.Symbol("M", integer=True, positive=True)
    p = sp.Symbol("p", integer=True, nonnegative=True)
    known = {m: (0, M - 1)}
    assert implied(sp.Le(0, m + p), known)
    assert implied(sp.Le(m, M + p - 1), known)
    assert not implied(sp.Le(m, M - 2), known)   # fails at m = M - 1
    assert not implied(sp.Le(0, m - p), known)   # fails at m = 0 when p > 0
    assert not implied(sp.Le(0, i), known)       # i is not known


def test_lattice_adjoint_solves_for_a_scaled_index():
    """x[3*j + 1] read by j < J: the adjoint at m needs 3 | m - 1."""
    j, m = sp.symbols("j m", integer=True)
    J = sp.Symbol("J", integer=True, positive=True)
    x, g = sp.IndexedBase("x"), sp.IndexedBase("g")
    got = adjoint_from_pairing(sp.Sum(g[j] * x[3 * j + 1], (j, 0, J - 1)), x[m], eliminate=[j])
    gs = symbol_array(g, (4,))
    for mi in range(14):
        want = gs[(mi - 1) // 3] if (mi - 1) % 3 == 0 and 0 <= (mi - 1) // 3 < 4 else 0
        assert is_zero(instantiate(got, {g: gs}, {J: 4, m: mi}) - want)
