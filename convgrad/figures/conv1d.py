"""The input gradient of a 1-D convolution ``z = c ⋆ x`` as an index diagram, in that notation.

:func:`draw_conv1d_input_gradient` draws :func:`convgrad.figures.diagrams.draw_input_gradient` of
a ``1 x M`` input and a ``1 x K`` kernel and writes it in the 1-D notation of the chapter on the 1-D
convolution: one index per array (``x_m``, ``z_n``, ``c_k``), ``z_bar`` for the output's adjoint
and ``c`` for the kernel, instead of the 2-D diagram's ``(row, column)`` pairs, ``y_bar`` and ``w``.

Needs Matplotlib.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from .diagrams import draw_input_gradient

__all__ = ["draw_conv1d_input_gradient"]


def _sub(name: str, i: int) -> str:
    return rf"{name}_{{{i}}}"


def draw_conv1d_input_gradient(m_in: int, k_len: int, m: int) -> tuple[plt.Figure, list[tuple[int, int]]]:
    """Where ``x_bar_m`` comes from in ``z_n = sum_k c_k x_{n+k}`` (valid, stride 1).

    The outputs ``z_n`` whose windows contain ``x_m`` send ``z_bar_n`` back through the tap
    ``c_{m-n}``: ``x_bar_m = sum_n z_bar_n c_{m-n}``, the taps in reversed order (a full
    convolution).

    Parameters
    ----------
    m_in : input length ``M``
    k_len : kernel length ``K`` (at most ``M``)
    m : the input index, ``0 <= m < M``

    Returns
    -------
    fig, pairs : ``[(n, k), ...]`` sorted by the output index ``n``, with ``k = m - n``
    """
    for name, value in (("m_in", m_in), ("k_len", k_len), ("m", m)):
        if not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if not 1 <= k_len <= m_in:
        raise ValueError(f"need 1 <= k_len <= m_in, got k_len={k_len}, m_in={m_in}")
    if not 0 <= m < m_in:
        raise ValueError(f"m must satisfy 0 <= m < m_in = {m_in}, got m={m}")
    n_out = m_in - k_len + 1
    fig, pairs_2d = draw_input_gradient((1, m_in), (1, k_len), (0, m))
    pairs = [(n, k) for (_, n), (_, k) in pairs_2d]
    labels = {"input": ("input $x$", "index $m$"),
              "output": (r"$\bar z$: label = tap $k$", "index $n$"),
              "kernel": (r"$c$: label = output $n$", "tap $k$")}
    for ax, (title, xlabel) in zip(fig.axes[:3], labels.values()):
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("")
        ax.set_yticks([])
        for t in ax.texts:  # cell labels "0,3" -> "3"
            row, sep, col = t.get_text().partition(",")
            if sep and row == "0":
                t.set_text(col)
    terms = " + ".join(_sub(r"\bar z", n) + r"\," + _sub("c", k) for n, k in pairs)
    fig.suptitle(f"Input gradient of $x_{{{m}}}$: {len(pairs)} outputs read it and send gradient "
                 "back,\neach through the tap of its colour, in reversed order "
                 f"(M = {m_in}, K = {k_len}, N = {n_out})", fontsize=12)
    # the legend again, in three columns (a 1-D diagram is narrower than a 2-D one), with the sum
    # in this chapter's notation as its title
    (old,) = fig.legends
    handles, names = old.legend_handles, [t.get_text() for t in old.texts]
    old.remove()
    fig.legend(handles=handles, labels=names, loc="outside lower center", ncols=3,
               fontsize=old.texts[0].get_fontsize(), frameon=False, handlelength=1.6,
               columnspacing=1.4, title="$" + _sub(r"\bar x", m) + " = " + terms + "$",
               title_fontsize=14)
    fig.set_size_inches(7.6, 3.5)  # one row of cells: no room needed for a 2-D grid
    return fig, pairs
