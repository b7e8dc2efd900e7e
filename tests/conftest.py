"""Shared test configuration: a deterministic Hypothesis profile and a record of the largest
difference from PyTorch, printed at the end of the run."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "convgrad",
    max_examples=int(os.environ.get("CONVGRAD_EXAMPLES", "400")),
    database=None,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile("convgrad")

TORCH_ERRORS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter):
    if TORCH_ERRORS:
        terminalreporter.section("convgrad vs PyTorch (float64)")
        for what, err in sorted(TORCH_ERRORS.items()):
            terminalreporter.write_line(f"largest relative difference, {what}: {err:.2e}")
