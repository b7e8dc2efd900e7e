"""Benchmarks of convgrad's methods against PyTorch CPU and NumPy's matrix product.

Run from the repository root::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks --json book/data/benchmark.json

Options: ``--threads N`` (default: all cores; the same for NumPy's BLAS and for PyTorch),
``--repeats R`` (rounds per measurement, default 7), ``--quick`` (two small cases, float32, no
memory runs: a smoke test of a few seconds), ``--cases a,b`` and ``--dtypes float32,float64`` to
select, ``--no-memory`` to skip the memory runs. The ``env -u`` prefix removes two OpenBLAS
overrides that some shared machines set for old builds (they slow a current NumPy down); never
set or unset them in the tests.

How it measures (:mod:`benchmarks.timing`): everything runs in one process with the same thread
count; for each layer, dtype and map (forward, input gradient ``dX``, weight gradient ``dW``, and
both gradients together) the candidates are called in turn, round after round, and each
candidate's time is compared with PyTorch's (and with NumPy's matrix product of the same shapes
and operation count) *in the same round*; the report gives the median time of each candidate and
the **median of the per-round ratios**, which is far steadier than a ratio of two medians on a busy
machine. Operation counts are ``2 * N * F * (C/G) * prod(kernel) * prod(out)`` per map.

Peak memory (:mod:`benchmarks.memory`) is measured in a separate process per side: the growth
of the peak resident set size during one call to both gradients, after the inputs exist.

If PyTorch is not installed the benchmark says so and measures the rest.
"""
