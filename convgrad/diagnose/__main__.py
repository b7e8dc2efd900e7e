"""``python -m convgrad.diagnose path/to/file.py:function``: diagnose a backward pass from the shell.

Prints the report and exits with status 0 when every case run agrees with convgrad, 1 when one
fails, and 2 when the function cannot be loaded or the arguments are wrong, so that a course can
use it as an autograder::

    python -m convgrad.diagnose student.py:conv_backward --supports stride,padding
    python -m convgrad.diagnose student.py:backward --layout channels_last --supports none
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..geometry import LAYOUTS
from . import RTOL, diagnose
from .cases import OPTIONS


def load_function(target: str) -> Callable:
    """The function ``NAME`` of the Python file ``PATH``, from ``"PATH:NAME"``.

    The file runs as a module of its own, with its folder first on ``sys.path`` (so it can import
    its neighbours).

    Raises
    ------
    ValueError
        If ``target`` is not of the form ``PATH:NAME``.
    FileNotFoundError
        If there is no such file.
    AttributeError
        If the file defines no callable ``NAME``.
    """
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise ValueError(f"expected path/to/file.py:function, got {target!r}")
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no file {path!r}")
    spec = importlib.util.spec_from_file_location(f"_diagnosed_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path!r} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    function = getattr(module, name, None)
    if not callable(function):
        defined = sorted(k for k, v in vars(module).items()
                         if callable(v) and getattr(v, "__module__", None) == module.__name__)
        raise AttributeError(f"{path} defines no function {name!r}; it defines {defined}")
    return function


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convgrad.diagnose",
        description="Check a convolution backward pass backward(dy, x, w, **options) -> (dx, dw[, db]) "
                    "against convgrad, case by case, and name its mistake. Exit status: 0 if every "
                    "case agrees, 1 if one fails, 2 if the function cannot be loaded.",
    )
    parser.add_argument("target", metavar="FILE.py:FUNCTION", help="the file and the function in it")
    parser.add_argument("--layout", choices=LAYOUTS, default="channels_first",
                        help="x (N, C, *in), w (F, C/G, *k) or x (N, *in, C), w (F, *k, C/G)")
    parser.add_argument("--supports", default="stride,padding",
                        help=f"comma-separated keywords the function takes, among {', '.join(OPTIONS)}; "
                             f"'none' for none (default: stride,padding)")
    parser.add_argument("--dims", type=int, choices=(1, 2, 3), default=2, help="spatial dimensions")
    parser.add_argument("--rtol", type=float, default=RTOL, help="tolerance on the relative error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    supports = [] if args.supports.strip().lower() in ("", "none") else args.supports.split(",")
    supports = [s.strip() for s in supports]
    unknown = [s for s in supports if s not in OPTIONS]
    if unknown:
        parser.error(f"--supports: unknown {unknown}; choose among {', '.join(OPTIONS)}")
    if not args.rtol > 0:
        parser.error(f"--rtol must be positive, got {args.rtol}")
    try:
        function = load_function(args.target)
    except (Exception, SystemExit) as e:  # the user's module may raise anything while it loads
        print(f"convgrad.diagnose: cannot load {args.target}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    report = diagnose(function, layout=args.layout, supports=supports, dims=args.dims, rtol=args.rtol)
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
