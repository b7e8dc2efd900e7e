"""Peak extra memory of both gradients, one side per process.

``python -m benchmarks.memory CASE SIDE DTYPE THREADS`` prints one JSON line
``{"extra_mib": ...}``: how much the peak resident set size grew during one call, after the
inputs exist (the peak is reset just before the call, see :func:`_peak_and_now`). SIDE is
``torch`` or a convgrad method (``auto``, ``direct``, ``im2col``, ``fft``). Each process first
runs the same call on a small layer, so that libraries and thread pools are loaded before the
baseline is taken.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import numpy as np


def _status_mib(field: str) -> float | None:
    """A ``kB`` field of ``/proc/self/status`` (Linux) in MiB, or ``None``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset this process's peak resident size (Linux >= 4.0: ``5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_and_now() -> tuple[float, float]:
    """``(peak, current)`` resident size in MiB.

    The peak is ``VmHWM`` where Linux provides it. ``getrusage``'s ``ru_maxrss`` is the fallback
    but not the first choice: Linux carries it over from the parent across ``fork`` and ``exec``,
    so a child of a large process (the benchmark itself) would see no growth at all.
    """
    peak, now = _status_mib("VmHWM"), _status_mib("VmRSS")
    if peak is None or now is None:
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
        return r, r
    return peak, now


def _measure(case_name: str, side: str, dtype: str, threads: int) -> float:
    from threadpoolctl import threadpool_limits

    from .cases import BY_NAME, Case
    from .timing import convgrad_call, torch_call

    case = BY_NAME[case_name]
    torch = None
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
    threadpool_limits(threads)

    def call(c: Case, x, w, dy):
        if torch is not None:
            return torch_call(torch, c, "dX+dW", x, w, dy)
        return convgrad_call(c, "dX+dW", side, x, w, dy)

    def arrays(c: Case, seed: int):
        rng = np.random.default_rng(seed)
        return (rng.standard_normal(c.x_shape, dtype=dtype), rng.standard_normal(c.w_shape, dtype=dtype),
                rng.standard_normal(c.geometry.y_shape, dtype=dtype))

    small = Case("warm-up", "", (2, *case.x_shape[1:2], *(8 * case.dilation for _ in case.kernel)),
                 case.out_channels, case.kernel, case.stride, case.padding, case.dilation, case.groups)
    call(small, *arrays(small, 1))()
    x, w, dy = arrays(case, 0)
    f = call(case, x, w, dy)
    _reset_peak()
    _, before = _peak_and_now()
    result = f()
    after, _ = _peak_and_now()
    del result
    return after - before


def measure(case_name: str, side: str, dtype: str, threads: int) -> float | None:
    """Run :func:`_measure` in a fresh interpreter; ``None`` if it failed."""
    cmd = [sys.executable, "-m", "benchmarks.memory", case_name, side, dtype, str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"memory run failed: {' '.join(cmd[2:])}\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["extra_mib"])


if __name__ == "__main__":
    case_name, side, dtype, threads = sys.argv[1:5]
    print(json.dumps({"extra_mib": _measure(case_name, side, dtype, int(threads))}))
