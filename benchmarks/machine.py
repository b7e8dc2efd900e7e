"""What the numbers were measured on: CPU, cores, BLAS, versions, date."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time

import numpy as np


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict]:
    """The BLAS and OpenMP libraries in this process (threadpoolctl), without file paths."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [{k: lib.get(k) for k in keep if lib.get(k) is not None} for lib in threadpool_info()]


def matmul_gflops(dtype, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of one ``n x n`` matrix product (the best of ``repeats``)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (runnable processes; ``None`` where unknown): on a
    shared machine, how busy it was while the benchmark ran."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_info(threads: int, torch_version: str | None, quick: bool) -> dict:
    versions = {"python": sys.version.split()[0], "numpy": np.__version__}
    for name in ("scipy", "threadpoolctl"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    import convgrad

    versions["convgrad"] = convgrad.__version__
    versions["torch"] = torch_version
    n = 512 if quick else 2048
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "platform": platform.platform(),
        "blas": blas_info(),
        "openblas_overrides": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                               if k in os.environ},
        "versions": versions,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": load_average(),
        "matmul_gflops": {f"{n}x{n} float32": matmul_gflops(np.float32, n),
                          f"{n}x{n} float64": matmul_gflops(np.float64, n)},
    }
