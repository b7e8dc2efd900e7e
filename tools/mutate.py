"""Mutation testing of convgrad's modules: do the tests catch small bugs?

A mutant is the module with one small change: an arithmetic operator swapped (``+`` and ``-``,
``*`` and ``//``, ``//`` and ``%``), a comparison flipped (``<`` and ``<=``, ``>`` and ``>=``,
``==`` and ``!=``), an integer constant bumped by one, ``and`` and ``or`` swapped. Each mutant is
written into a copy of the repository and the tests run against it; the mutant is *killed* when
they fail. A surviving mutant is either a hole in the tests or an *equivalent* mutant that does
not change behaviour (a block size of 256 instead of 257 rows, say): read the survivors.

Usage (from the repository root)::

    python tools/mutate.py convgrad/general.py convgrad/rules.py --sample 40 --seed 0

``--sample N`` draws ``N`` mutants per module at random (seeded); ``--tests`` picks the test
files (the fast, strong ones by default); ``CONVGRAD_EXAMPLES`` (Hypothesis examples per
property test) is set to 50 in the runs unless given.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TESTS = ["tests/test_general.py", "tests/test_methods.py", "tests/test_bad_input.py",
                 "tests/test_workspace.py",
                 "tests/test_properties.py", "tests/test_torch_oracle.py"]

BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
          ast.Mod: ast.FloorDiv}
CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
          ast.NotEq: ast.Eq}


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def mutation_points(tree: ast.AST) -> list[tuple[int, str, int]]:
    """``(node index in ast.walk order, description, line)`` of every possible mutation."""
    skip = _docstring_nodes(tree)
    in_fstring = {id(n) for f in ast.walk(tree) if isinstance(f, ast.JoinedStr) for n in ast.walk(f)}
    points = []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skip or id(node) in in_fstring:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            points.append((i, f"{type(node.op).__name__} -> {BINOPS[type(node.op)].__name__}", line))
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in CMPOPS:
            points.append((i, f"{type(node.ops[0]).__name__} -> {CMPOPS[type(node.ops[0])].__name__}", line))
        elif isinstance(node, ast.BoolOp):
            points.append((i, f"{type(node.op).__name__} swapped", line))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            points.append((i, f"{node.value} -> {node.value + 1}", line))
    return points


def mutate(source: str, index: int) -> str:
    """The source with the mutation at node ``index`` (in ``ast.walk`` order) applied."""
    tree = ast.parse(source)
    node = list(ast.walk(tree))[index]
    if isinstance(node, ast.BinOp):
        node.op = BINOPS[type(node.op)]()
    elif isinstance(node, ast.Compare):
        node.ops[0] = CMPOPS[type(node.ops[0])]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    else:
        node.value = node.value + 1
    return ast.unparse(tree)


def run_tests(workdir: Path, tests: list[str], timeout: float, keyword: str) -> bool:
    """True if the tests fail (the mutant is killed)."""
    env = dict(os.environ)
    env.setdefault("CONVGRAD_EXAMPLES", "50")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           "-k", keyword, *tests]
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return True
    return proc.returncode != 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("modules", nargs="+", help="module files, e.g. convgrad/general.py")
    p.add_argument("--sample", type=int, default=0, help="mutants per module (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tests", nargs="*", default=DEFAULT_TESTS)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per test run")
    p.add_argument("--keyword", default="not benchmark",
                   help="pytest -k expression (default: leave out the benchmark's smoke tests, "
                        "which time themselves out on a busy machine)")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="convgrad-mutants-"))
    try:
        for name in ("convgrad", "tests", "benchmarks", "pyproject.toml"):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
        if run_tests(work, args.tests, args.timeout, args.keyword):
            print("the tests fail on the unmutated code: nothing to measure", file=sys.stderr)
            return 2
        rng = random.Random(args.seed)
        killed = total = 0
        survivors = []
        for module in args.modules:
            source = (ROOT / module).read_text()
            points = mutation_points(ast.parse(source))
            chosen = sorted(rng.sample(points, min(args.sample, len(points)))) if args.sample else points
            for index, what, line in chosen:
                (work / module).write_text(mutate(source, index))
                t = time.perf_counter()
                dead = run_tests(work, args.tests, args.timeout, args.keyword)
                total += 1
                killed += dead
                status = "killed" if dead else "SURVIVED"
                print(f"{module}:{line}: {what}: {status} ({time.perf_counter() - t:.0f} s)", flush=True)
                if not dead:
                    survivors.append(f"{module}:{line}: {what}")
            (work / module).write_text(source)
        print(f"\n{killed} of {total} mutants killed ({100 * killed / max(total, 1):.0f} %)")
        for s in survivors:
            print("survived:", s)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
