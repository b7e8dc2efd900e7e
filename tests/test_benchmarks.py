"""The benchmark's timing loop (benchmarks.timing.paired_times)."""

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def paired_times(monkeypatch):
    """The benchmarks package lives beside the tests, not in the installed package."""
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.timing import paired_times

    return paired_times


def _handover_cost(seconds: float):
    """Two candidates whose first call after the other's turn is slow, as PyTorch's and
    OpenBLAS's spinning worker threads make it on two cores."""
    state = {"last": None, "calls": {"a": 0, "b": 0}}

    def make(name):
        def call():
            state["calls"][name] += 1
            if state["last"] not in (None, name):
                time.sleep(seconds)
            state["last"] = name
        return call

    return {"a": make("a"), "b": make("b")}, state


def test_settled_rounds_do_not_time_the_handover(paired_times):
    candidates, state = _handover_cost(0.02)
    times = paired_times(candidates, rounds=4, min_seconds=0.0)
    assert all(len(ts) == 4 for ts in times.values())
    assert max(t for ts in times.values() for t in ts) < 0.01
    # per candidate: warm-up, the timed probe, and per round one settling call and one timed call
    assert state["calls"] == {"a": 2 + 4 * 2, "b": 2 + 4 * 2}


def test_unsettled_rounds_do(paired_times):
    candidates, _ = _handover_cost(0.02)
    times = paired_times(candidates, rounds=4, min_seconds=0.0, settle=False)
    # rounds alternate a, b / b, a: every turn but the repeated one starts after the other
    slow = [t for ts in times.values() for t in ts if t >= 0.02]
    assert len(slow) >= 4
