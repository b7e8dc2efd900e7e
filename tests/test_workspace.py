"""The scratch memory the direct method keeps between calls (convgrad.workspace)."""

import threading

import numpy as np
import pytest

import convgrad as cg
from convgrad import workspace


@pytest.fixture(autouse=True)
def _nothing_kept():
    workspace.release()
    yield
    workspace.release()


def test_buffers_are_aligned_disjoint_and_zeroed_on_request():
    with workspace.scratch(workspace.size([3 * 8, 5 * 4, 7 * 8])) as s:
        s.memory[:] = 255  # old contents, as a reused block has
        a = s.take((3,), np.float64, zero=True)
        b = s.take((5,), np.float32)
        c = s.take((7,), np.float64, zero=True)
    for x in (a, b, c):
        assert x.ctypes.data % workspace.ALIGN == 0
    assert not np.shares_memory(a, b) and not np.shares_memory(b, c)
    assert (a == 0).all() and (c == 0).all()
    assert b.view(np.uint8).tolist() == [255] * 20  # not zeroed: the caller fills it


def test_taking_more_than_the_block_holds_is_refused():
    with workspace.scratch(workspace.size([80])) as s:
        s.take((10,), np.float64)  # fits, wherever the block starts
        with pytest.raises(ValueError, match="cannot hold"):
            s.take((s.memory.nbytes,), np.uint8)


def test_the_block_is_kept_reused_and_released():
    with workspace.scratch(1000) as s:
        first = s.memory
    assert workspace.kept_bytes() == 1000
    with workspace.scratch(500) as s:  # fits: the same memory
        assert s.memory is first
    with workspace.scratch(2000) as s:  # does not fit: a larger block, kept instead
        assert s.memory is not first
    assert workspace.kept_bytes() == 2000
    workspace.release()
    assert workspace.kept_bytes() == 0


def test_a_nested_call_gets_memory_of_its_own():
    with workspace.scratch(100) as outer:
        pass
    with workspace.scratch(100) as outer:
        with workspace.scratch(100) as inner:
            assert not np.shares_memory(outer.memory, inner.memory)


def test_nothing_above_keep_bytes_is_kept(monkeypatch):
    monkeypatch.setattr(workspace, "KEEP_BYTES", 1000)
    with workspace.scratch(1001):
        pass
    assert workspace.kept_bytes() == 0
    monkeypatch.setattr(workspace, "KEEP_BYTES", 0)
    with workspace.scratch(10):
        pass
    assert workspace.kept_bytes() == 0


def test_repeated_calls_on_kept_memory_give_the_reference_results():
    """Layers of different sizes one after the other share the kept block: stale contents of
    one call must not leak into the next (padding zeros, sums)."""
    rng = np.random.default_rng(3)
    layers = [((2, 8, 12, 12), (8, 8, 3, 3), dict(padding=1)),
              ((3, 4, 9, 9), (6, 4, 2, 2), dict(stride=2)),
              ((2, 6, 10, 10), (6, 3, 3, 3), dict(groups=2, dilation=2)),
              ((2, 8, 12, 12), (8, 8, 3, 3), dict(padding=1))]
    for x_shape, w_shape, opts in layers * 2:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        dy = rng.standard_normal(cg.conv(x, w, **opts).shape)
        got = cg.conv_backward(dy, x, w, method="direct", **opts)
        want = cg.conv_backward(dy, x, w, method="reference", **opts)
        for g, r in zip(got, want):
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(cg.conv(x, w, method="direct", **opts),
                                   cg.conv(x, w, method="reference", **opts), rtol=1e-12, atol=1e-12)
    assert workspace.kept_bytes() > 0


def test_threads_keep_blocks_of_their_own():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((4, 16, 20, 20)), rng.standard_normal((16, 16, 3, 3))
    want = cg.conv(x, w, padding=1, method="reference")
    results, kept = {}, {}

    def work(i):
        xi = x * (i + 1)
        for _ in range(5):
            results[i] = cg.conv(xi, w, padding=1, method="direct")
        kept[i] = workspace.kept_bytes()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        np.testing.assert_allclose(results[i], want * (i + 1), rtol=1e-12, atol=1e-10)
        assert kept[i] > 0
    assert workspace.kept_bytes() == 0  # this thread computed nothing


@pytest.mark.parametrize("x_shape,w_shape,opts", [
    ((2, 8, 12, 12), (8, 8, 3, 3), dict(padding=1)),  # taps, gather
    ((4, 16, 10, 10), (3, 16, 3, 3), dict(padding=2)),  # taps, scatter (F < C)
    ((3, 4, 11, 11), (6, 4, 3, 3), dict(stride=2, padding=(1, 2))),  # phases
    ((2, 6, 13, 13), (6, 3, 3, 3), dict(groups=2, dilation=2, padding=1)),
    ((2, 8, 9, 9), (8, 1, 3, 3), dict(groups=8, padding=1)),  # small multiply-adds
    ((3, 5, 7, 7, 7), (4, 5, 2, 3, 2), dict(padding=1, stride=(1, 2, 1))),
])
def test_nan_left_in_the_kept_block_never_reaches_a_result(x_shape, w_shape, opts, monkeypatch):
    """Every call zeroes what it reads and does not write, whatever the memory held before:
    here every block a call gets is full of NaN (all bits set) before the call uses it."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dy = rng.standard_normal(cg.conv(x, w, **opts).shape)
    want = (cg.conv(x, w, method="reference", **opts),
            *cg.conv_backward(dy, x, w, method="reference", **opts))
    init = workspace.Scratch.__init__

    def poisoned(self, memory):
        memory[:] = 0xFF
        init(self, memory)

    monkeypatch.setattr(workspace.Scratch, "__init__", poisoned)
    for dtype in (np.float64, np.float32):
        args = [a.astype(dtype) for a in (dy, x, w)]
        got = (cg.conv(*args[1:], method="direct", **opts),
               *cg.conv_backward(*args, method="direct", **opts))
        for g, r in zip(got, want):
            np.testing.assert_allclose(g, r, rtol=1e-12 if dtype == np.float64 else 1e-4,
                                       atol=1e-12 if dtype == np.float64 else 1e-4)


def test_a_block_too_small_is_freed_before_a_larger_one_is_made():
    """Otherwise a layer's two gradient calls (the second needing more) would hold both."""
    import gc
    import weakref

    with workspace.scratch(2**20) as s:
        small = weakref.ref(s.memory)
    del s
    with workspace.scratch(2 * 2**20):
        gc.collect()
        assert small() is None
    assert workspace.kept_bytes() == 2 * 2**20  # the larger block is kept instead


def test_up_to_64_mib_are_kept_as_documented():
    with workspace.scratch(64 * 2**20):  # np.empty: no page is touched
        pass
    assert workspace.kept_bytes() == 64 * 2**20
    workspace.release()
    with workspace.scratch(64 * 2**20 + 1):
        pass
    assert workspace.kept_bytes() == 0


def test_a_block_of_exactly_the_size_is_reused_and_filled_to_its_end():
    with workspace.scratch(1000) as s:
        first = s.memory
    with workspace.scratch(1000) as s:
        assert s.memory is first
        skip = -s.memory.ctypes.data % workspace.ALIGN  # the first aligned byte
        last = s.take((1000 - skip,), np.uint8)
        assert last.ctypes.data + last.nbytes == first.ctypes.data + 1000
