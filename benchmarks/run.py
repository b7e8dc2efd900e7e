"""The command line: parse options, time the cases, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from . import memory
from .cases import BY_NAME, CASES, QUICK
from .machine import load_average, machine_info
from .timing import GEMM, METHODS, TORCH, time_case

MEMORY_CASES = ["large", "mid"]
MEMORY_SIDES = ["torch", "auto", "direct", "im2col"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--json", type=Path, help="write the results to this JSON file")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for BLAS and PyTorch")
    p.add_argument("--repeats", type=int, default=None, help="rounds per measurement (default 7, quick 3)")
    p.add_argument("--quick", action="store_true", help="two small cases, float32, no memory runs")
    p.add_argument("--cases", help="comma-separated case names: " + ",".join(BY_NAME))
    p.add_argument("--dtypes", help="comma-separated dtypes (default float32,float64)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    return p


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


LEGEND = (
    "ms: median time of one call over the rounds; min: the fastest round. x torch: the median over\n"
    "the rounds of (this time / PyTorch's time in the same round), so it may differ from the ratio\n"
    "of the ms columns when the machine's speed drifts; < 1 is faster than PyTorch. x t.min: the\n"
    "ratio of the two fastest rounds, the least disturbed by other jobs on a shared machine.\n"
    "% GEMM: the median paired ratio to NumPy's matmul of the im2col shapes, as a percentage of\n"
    "its rate. auto (x): the method the rule chose; [y]: the fastest method measured, if another."
)


def print_table(rows: list[dict]) -> None:
    head = f"{'case':<10} {'dtype':<8} {'op':<6} {'method':<22} {'ms':>9} {'min':>9} {'GFLOP/s':>8} " \
           f"{'x torch':>8} {'x t.min':>8} {'% GEMM':>7}"
    print(head)
    print("-" * len(head))
    for r in rows:
        name = r["method"] + (f" ({r['chosen']})" if r.get("chosen") else "")
        if r.get("fastest") and r["fastest"] != r.get("chosen"):
            name += f" [{r['fastest']}]"
        pct = None if r["ratio_gemm"] is None else 100.0 / r["ratio_gemm"]
        print(f"{r['case']:<10} {r['dtype']:<8} {r['op']:<6} {name:<22} {r['median_ms']:>9.3f} "
              f"{r['min_ms']:>9.3f} {r['gflops']:>8.1f} {_fmt(r['ratio_torch'], '8.2f'):>8} "
              f"{_fmt(r.get('ratio_torch_min'), '8.2f'):>8} {_fmt(pct, '7.0f'):>7}")


def rule_agreement(rows: list[dict]) -> tuple[int, int]:
    """``(agreed, total)``: how often the rule's choice was the fastest method measured."""
    auto = [r for r in rows if r["method"] == "auto" and r.get("fastest")]
    return sum(r["chosen"] == r["fastest"] for r in auto), len(auto)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from threadpoolctl import threadpool_limits

    torch = _import_torch()  # imported before the thread limits, so that they apply to its pools
    if torch is None:
        print("PyTorch is not installed: measuring convgrad and NumPy only (no 'x torch' column).")
    else:
        torch.set_num_threads(args.threads)
    names = args.cases.split(",") if args.cases else (QUICK if args.quick else [c.name for c in CASES])
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {', '.join(BY_NAME)}")
    default_dtypes = ["float32"] if args.quick else ["float32", "float64"]
    dtypes = args.dtypes.split(",") if args.dtypes else default_dtypes
    rounds = args.repeats or (3 if args.quick else 7)
    with threadpool_limits(limits=args.threads):
        info = machine_info(args.threads, None if torch is None else torch.__version__, args.quick)
        print(f"{info['cpu']}, {info['cores']} cores, {args.threads} threads; BLAS: "
              + "; ".join(f"{b.get('internal_api')} {b.get('version', '')} {b.get('architecture', '')}"
                          for b in info["blas"] if b.get("user_api") == "blas"))
        print("matmul: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in info["matmul_gflops"].items()))
        print(LEGEND + "\n")
        rows = []
        for name in names:
            for dtype in dtypes:
                case_rows = time_case(BY_NAME[name], np.dtype(dtype), rounds, torch=torch, methods=METHODS)
                print_table(case_rows)
                print()
                rows.extend(case_rows)
    info["load_average_after"] = load_average()
    print(f"load average (1, 5, 15 min) before: {info['load_average']}, after: "
          f"{info['load_average_after']}")
    agreed, total = rule_agreement(rows)
    if total:
        print(f"the rule of method='auto' chose the fastest method in {agreed} of {total} "
              f"(case, dtype, map) combinations")
    mem = []
    if not (args.quick or args.no_memory):
        for name in [n for n in MEMORY_CASES if n in names]:
            sides = [s for s in MEMORY_SIDES if s != "torch" or torch is not None]
            for side in sides:
                mib = memory.measure(name, side, "float32", args.threads)
                mem.append({"case": name, "dtype": "float32", "op": "dX+dW", "side": side, "extra_mib": mib})
                print(f"peak extra memory, {name} float32 dX+dW, {side}: {_fmt(mib, '.0f')} MiB")
    result = {
        "machine": info,
        "settings": {"threads": args.threads, "rounds": rounds, "quick": args.quick,
                     "torch": torch is not None, "methods": list(METHODS), "reference": [TORCH, GEMM]},
        "cases": [{"name": BY_NAME[n].name, "description": BY_NAME[n].description,
                   "x_shape": list(BY_NAME[n].x_shape), "w_shape": list(BY_NAME[n].w_shape),
                   **BY_NAME[n].options, "flops_per_map": BY_NAME[n].flops,
                   "tags": list(BY_NAME[n].tags)} for n in names],
        "results": rows,
        "rule_agreement": {"agreed": agreed, "total": total},
        "memory": mem,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0
