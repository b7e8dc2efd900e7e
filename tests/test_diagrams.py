"""The index diagrams (convgrad.figures.diagrams) highlight exactly the cells the index formula
``s*o + d*k - p_lo`` names, computed here independently, loop by loop, for strides, per-side and
string paddings, dilations and even kernels; every figure has a title, labelled axes, fonts of at
least 10 pt and no text over another panel; a chosen cell outside its grid is a ValueError naming it."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from convgrad.figures import diagrams as D  # noqa: E402
from convgrad.figures import use_book_style  # noqa: E402

# Each layer with its padding resolved by hand, (lo, hi) per axis, so that nothing below depends on
# convgrad's own resolution of "same" and friends.
LAYERS = [
    dict(in_size=(5, 5), kernel=3, stride=2, padding=1, pads=((1, 1), (1, 1))),
    dict(in_size=(6, 6), kernel=(4, 4), padding="same", pads=((1, 2), (1, 2))),
    dict(in_size=(7, 9), kernel=(2, 3), stride=(2, 1), padding=((1, 0), (0, 2)), pads=((1, 0), (0, 2))),
    dict(in_size=(9, 9), kernel=3, dilation=2, pads=((0, 0), (0, 0))),
    dict(in_size=(8, 8), kernel=3, stride=2, pads=((0, 0), (0, 0))),
    dict(in_size=(8, 8), kernel=2, stride=3, pads=((0, 0), (0, 0))),
    dict(in_size=(9, 8), kernel=3, stride=(2, 3), dilation=(2, 1), padding=(2, 1), pads=((2, 2), (1, 1))),
    dict(in_size=(6, 7), kernel=(2, 2), stride=2, dilation=2, padding=((0, 1), (1, 0)),
         pads=((0, 1), (1, 0))),
]
IDS = [f"{c['in_size']}-k{c['kernel']}-s{c.get('stride', 1)}-p{c.get('padding', 0)}-d{c.get('dilation', 1)}"
       for c in LAYERS]


@pytest.fixture(autouse=True)
def _close_figures():
    use_book_style()
    yield
    plt.close("all")


# --- the independent computation: the index formula, written out --------------------------------

class Layer:
    """Sizes and the index map of one layer, from the formula alone."""

    def __init__(self, case):
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.n = tuple(case["in_size"])
        self.k = pair(case["kernel"])
        self.s = pair(case.get("stride", 1))
        self.d = pair(case.get("dilation", 1))
        self.pads = case["pads"]
        self.lo = tuple(p[0] for p in self.pads)
        self.out = tuple((n + lo + hi - d * (k - 1) - 1) // s + 1
                         for n, k, s, d, (lo, hi) in zip(self.n, self.k, self.s, self.d, self.pads))
        self.kwargs = dict(stride=case.get("stride", 1), padding=case.get("padding", 0),
                           dilation=case.get("dilation", 1))

    def cell(self, o, k):
        """The input cell output ``o`` reads through tap ``k``: s*o + d*k - p_lo per axis."""
        return tuple(s * oi + d * ki - lo for s, oi, d, ki, lo in zip(self.s, o, self.d, k, self.lo))

    def outputs(self):
        return list(itertools.product(range(self.out[0]), range(self.out[1])))

    def taps(self):
        return list(itertools.product(range(self.k[0]), range(self.k[1])))

    def real(self, cell):
        return 0 <= cell[0] < self.n[0] and 0 <= cell[1] < self.n[1]


def drawn(fig, prefix):
    """The cells whose patch gid starts with ``prefix`` (``"<panel>:<role>:"``), as (row, col) pairs."""
    cells = set()
    for artist in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix)):
        r, c = artist.get_gid()[len(prefix):].split(",")
        cells.add((int(r), int(c)))
    return cells


def check_readable(fig):
    """A title, labelled axes on every panel, no text under 10 pt, and no panel's text under the
    title, the legend or another panel."""
    assert fig._suptitle is not None and fig._suptitle.get_text().strip()
    for ax in fig.axes:
        assert ax.get_title().strip(), "a panel without a title"
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), f"unlabelled axes in {ax.get_title()!r}"
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            assert text.get_fontsize() >= 10, f"{text.get_text()!r} at {text.get_fontsize()} pt"
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax.get_tightbbox(renderer) for ax in fig.axes]
    others = [fig._suptitle.get_window_extent(renderer)]
    others += [legend.get_window_extent(renderer) for legend in fig.legends]
    for box in others:
        assert not any(box.overlaps(p) for p in panels), "title or legend over a panel"
    for a, b in itertools.combinations(panels, 2):
        assert not a.overlaps(b), "two panels overlap"


# --- 1. forward -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_index_map_windows_are_the_formula(case):
    layer = Layer(case)
    imap = D.index_map(case["in_size"], case["kernel"], **layer.kwargs)
    assert imap.geom.out_size == layer.out
    for o in layer.outputs():
        assert imap.window(o) == {layer.cell(o, k): k for k in layer.taps()}


@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_forward_highlights_the_window_of_the_chosen_output(case):
    layer = Layer(case)
    last = (layer.out[0] - 1, layer.out[1] - 1)
    fig, (window,) = D.draw_forward(case["in_size"], case["kernel"], last, **layer.kwargs)
    expected = {layer.cell(last, k): k for k in layer.taps()}
    assert window == expected
    assert drawn(fig, "input:tap:") == set(expected)
    assert drawn(fig, "output:chosen:") == {last}
    assert "y[" in fig.legends[0].get_title().get_text()


def test_forward_frames_one_per_output():
    case = LAYERS[0]
    layer = Layer(case)
    outs = [(0, 0), (0, 1), (0, 2), (1, 0)]
    fig, windows = D.draw_forward(case["in_size"], case["kernel"], outs, **layer.kwargs)
    assert len(windows) == 4
    for k, o in enumerate(outs):
        assert windows[k] == {layer.cell(o, t): t for t in layer.taps()}
        assert drawn(fig, f"input{k}:tap:") == set(windows[k])
        assert drawn(fig, f"output{k}:chosen:") == {o}
    check_readable(fig)


# --- 2. input gradient ---------------------------------------------------------------------------

def formula_sources(layer, cell):
    return sorted((o, k) for o in layer.outputs() for k in layer.taps() if layer.cell(o, k) == cell)


@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_input_gradient_pairs_are_the_formula(case):
    layer = Layer(case)
    h, w = layer.n
    cells = [(0, 0), (h - 1, w - 1), (h // 2, w // 2), (1, w - 2)]
    for cell in cells:
        fig, pairs = D.draw_input_gradient(case["in_size"], case["kernel"], cell, **layer.kwargs)
        expected = formula_sources(layer, cell)
        assert pairs == expected
        assert drawn(fig, "output:chosen:") == {o for o, _ in expected}
        assert drawn(fig, "kernel:tap:") == {k for _, k in expected}
        assert drawn(fig, "input:chosen:") == {cell}
        plt.close(fig)


def test_input_gradient_taps_come_in_reversed_order():
    """Stride 1: along a row of outputs the tap index falls as the output index grows."""
    case = dict(in_size=(6, 6), kernel=3, padding=1, pads=((1, 1), (1, 1)))
    fig, pairs = D.draw_input_gradient((6, 6), 3, (2, 3), padding=1)
    assert pairs == formula_sources(Layer(case), (2, 3))
    row = [(o[1], k[1]) for o, k in pairs if o[0] == pairs[0][0][0]]
    assert [k for _, k in sorted(row)] == [2, 1, 0]
    check_readable(fig)


def test_input_gradient_of_an_unread_cell_is_empty():
    fig, pairs = D.draw_input_gradient((8, 8), 3, (7, 2), stride=2)
    assert pairs == [] and drawn(fig, "output:chosen:") == set()
    assert "= 0" in fig.legends[0].get_title().get_text()


# --- 3. weight gradient --------------------------------------------------------------------------

@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_weight_gradient_subgrid_is_the_formula(case):
    layer = Layer(case)
    for tap in {(0, 0), (layer.k[0] - 1, layer.k[1] - 1), (layer.k[0] // 2, 0)}:
        fig, (rows, cols) = D.draw_weight_gradient(case["in_size"], case["kernel"], tap, **layer.kwargs)
        assert rows.shape == cols.shape == layer.out
        for o in layer.outputs():
            assert (rows[o], cols[o]) == layer.cell(o, tap)
        assert drawn(fig, "input:tap:") == {layer.cell(o, tap) for o in layer.outputs()}
        assert drawn(fig, "kernel:tap:") == {tap}
        plt.close(fig)


# --- 4. stride: cells without gradient -------------------------------------------------------------

@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_read_counts_and_zero_gradient_cells_are_the_formula(case):
    layer = Layer(case)
    expected = np.zeros(layer.n, dtype=int)
    for o in layer.outputs():
        for k in layer.taps():
            cell = layer.cell(o, k)
            if layer.real(cell):
                expected[cell] += 1
    fig, ax = plt.subplots()
    counts = D.draw_read_counts(ax, case["in_size"], case["kernel"], **layer.kwargs)
    np.testing.assert_array_equal(counts, expected)
    assert drawn(fig, "input:no-gradient:") == {tuple(int(v) for v in c) for c in np.argwhere(expected == 0)}


def test_stride_gaps_default_cases():
    fig, (c1, c2) = D.draw_stride_gaps()
    # 8x8, 3x3, stride 2: windows start at 0, 2, 4 and end at 6; row and column 7 are never read
    assert set(np.flatnonzero(c1.sum(axis=1) == 0)) == {7} and set(np.flatnonzero(c1.sum(axis=0) == 0)) == {7}
    # 8x8, 2x2, stride 3: windows cover 0-1, 3-4, 6-7; 2 and 5 are gaps
    assert set(np.flatnonzero(c2.sum(axis=1) == 0)) == {2, 5}
    check_readable(fig)


# --- 5. dilation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [c for c in LAYERS if Layer(c).out[1] > 1], ids=lambda c: str(c["in_size"]))
def test_dilation_views_are_the_formula(case):
    layer = Layer(case)
    taps = [(0, 0), (0, layer.k[1] - 1)]
    fig, views = D.draw_dilation(case["in_size"], case["kernel"], (0, 0), taps=taps, **layer.kwargs)
    assert views.window == {layer.cell((0, 0), k): k for k in layer.taps()}
    assert views.next_window == {layer.cell((0, 1), k): k for k in layer.taps()}
    for (rows, cols), tap in zip((views.subgrid, views.next_subgrid), taps):
        assert {(int(r), int(c)) for r, c in zip(rows.flat, cols.flat)} == {
            layer.cell(o, tap) for o in layer.outputs()}
    assert drawn(fig, "forward:tap:") == set(views.window)
    assert drawn(fig, "forward:next:") == set(views.next_window)
    assert drawn(fig, "weight:next:") == {layer.cell(o, taps[1]) for o in layer.outputs()}


def test_dilation_figure_is_readable():
    fig, _ = D.draw_dilation((9, 9), 3, (0, 0), dilation=2)
    check_readable(fig)


# --- 6. transposed convolution ---------------------------------------------------------------------

@pytest.mark.parametrize("case", LAYERS, ids=IDS)
def test_transposed_layout_is_the_formula(case):
    layer = Layer(case)
    cell = (layer.n[0] // 2, layer.n[1] // 2)
    fig, lay = D.draw_transposed(case["in_size"], case["kernel"], cell, **layer.kwargs)
    # the border before is d*(k-1) - p_lo; the grid is as long as a stride-1 valid convolution with
    # the dilated kernel needs to return n entries: n + d*(k-1)
    before = [d * (k - 1) - lo for d, k, lo in zip(layer.d, layer.k, layer.lo)]
    assert lay.grid.shape == tuple(n + d * (k - 1) for n, d, k in zip(layer.n, layer.d, layer.k))
    assert [lo for lo, _ in lay.pads] == before
    expected = np.full(lay.grid.shape, -1)
    span = [s * (o - 1) + 1 for s, o in zip(layer.s, layer.out)]
    for r, c in np.ndindex(*lay.grid.shape):
        u, v = r - before[0], c - before[1]      # position in the zero-inserted dy
        if 0 <= u < span[0] and 0 <= v < span[1]:
            on = u % layer.s[0] == 0 and v % layer.s[1] == 0
            expected[r, c] = 1 + (u // layer.s[0]) * layer.out[1] + v // layer.s[1] if on else 0
    np.testing.assert_array_equal(lay.grid, expected)
    # the flipped kernel's window of x_bar[m, n]: grid cell (m + d*j) meets tap k - 1 - j
    (d0, d1), (k0, k1) = layer.d, layer.k
    window = {(cell[0] + d0 * j0, cell[1] + d1 * j1): (k0 - 1 - j0, k1 - 1 - j1)
              for j0, j1 in itertools.product(range(k0), range(k1))}
    assert lay.window == window
    assert drawn(fig, "grid:tap:") == set(window)
    # the dy entries under the window are exactly the outputs that send gradient to the cell
    under = sorted((divmod(int(lay.grid[rc]) - 1, layer.out[1]), k)
                   for rc, k in window.items() if lay.grid[rc] > 0)
    assert under == formula_sources(layer, cell)
    assert drawn(fig, "grid:dy:") == {tuple(int(v) for v in rc) for rc in np.argwhere(expected > 0)}
    assert drawn(fig, "grid:inserted:") == {tuple(int(v) for v in rc) for rc in np.argwhere(expected == 0)}


def test_transposed_figure_is_readable():
    fig, lay = D.draw_transposed((5, 5), 3, (1, 1), stride=2, padding=1)
    assert lay.pads == ((1, 1), (1, 1))
    check_readable(fig)


# --- 7. groups -------------------------------------------------------------------------------------

@pytest.mark.parametrize("c_in, f_out, groups", [(6, 6, 1), (6, 6, 2), (6, 6, 3), (6, 6, 6), (4, 6, 2),
                                                 (6, 4, 2), (8, 4, 4)])
def test_group_connections_are_diagonal_blocks(c_in, f_out, groups):
    conn = D.group_connections(c_in, f_out, groups)
    expected = np.zeros((f_out, c_in), dtype=int)
    for f in range(f_out):
        for c in range(c_in):
            if f // (f_out // groups) == c // (c_in // groups):
                expected[f, c] = 1 + f // (f_out // groups)
    np.testing.assert_array_equal(conn, expected)


def test_groups_figure():
    fig, conns = D.draw_groups(6, (1, 2, 3, 6))
    assert sorted(conns) == [1, 2, 3, 6]
    for g, conn in conns.items():
        assert drawn(fig, f"groups{g}:on:") == {tuple(int(v) for v in fc) for fc in np.argwhere(conn > 0)}
        assert (conn > 0).sum() == 36 // g
    check_readable(fig)


# --- the standard every figure meets ------------------------------------------------------------

@pytest.mark.parametrize("draw", [
    lambda: D.draw_forward((5, 5), 3, (1, 1), stride=2, padding=1),
    lambda: D.draw_forward((6, 6), (4, 4), (0, 0), padding="same"),
    lambda: D.draw_input_gradient((7, 9), (2, 3), (2, 2), stride=(2, 1), padding=((1, 0), (0, 2))),
    lambda: D.draw_weight_gradient((7, 7), 3, (2, 1), stride=2, padding=1),
    lambda: D.draw_weight_gradient((12, 12), 5, (1, 1), stride=2, padding=2),
    lambda: D.draw_transposed((7, 9), (2, 3), (1, 1), stride=(2, 1), padding=((1, 0), (0, 2))),
], ids=["forward", "forward-same", "input-gradient", "weight-gradient", "weight-gradient-12", "transposed"])
def test_figures_are_readable(draw):
    fig, _ = draw()
    check_readable(fig)


# --- bad arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: D.draw_forward((5, 5), 3, (3, 0), stride=2, padding=1), r"outputs=\(3, 0\)"),
    (lambda: D.draw_forward((5, 5), 3, [(0, 0), (0, -1)]), r"outputs=\(0, -1\)"),
    (lambda: D.draw_input_gradient((6, 6), 3, (6, 0), padding=1), r"cell=\(6, 0\)"),
    (lambda: D.draw_input_gradient((6, 6), 3, (-1, 2), padding=1), r"cell=\(-1, 2\)"),
    (lambda: D.draw_weight_gradient((6, 6), 3, (0, 3)), r"tap=\(0, 3\)"),
    (lambda: D.tap_subgrid((6, 6), 3, (3, 0)), r"tap=\(3, 0\)"),
    (lambda: D.draw_dilation((9, 9), 3, (5, 0), dilation=2), r"output=\(5, 0\)"),
    (lambda: D.draw_dilation((9, 9), 3, (0, 0), taps=[(0, 0), (0, 4)]), r"taps=\(0, 4\)"),
    (lambda: D.draw_dilation((9, 9), 3, (0, 0), taps=[(0, 0)]), r"taps="),
    (lambda: D.draw_transposed((5, 5), 3, (5, 5), stride=2), r"cell=\(5, 5\)"),
    (lambda: D.draw_forward((5, 5, 5), 3), r"in_size"),
    (lambda: D.group_connections(6, 6, 4), r"groups=4"),
    (lambda: D.draw_input_gradient((6, 6), 3, (1, 2, 3)), r"cell must be a pair"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_a_cell_given_as_one_int_is_a_type_error():
    with pytest.raises(TypeError, match="cell must be a pair of ints"):
        D.draw_input_gradient((6, 6), 3, 2)
