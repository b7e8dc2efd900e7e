"""Check a hand-written convolution backward pass against convgrad, and name its mistake.

::

    from convgrad.diagnose import diagnose
    report = diagnose(backward, layout="channels_first",
                      supports=("stride", "padding"))
    print(report)   # one row per case, then each failure's diagnosis
    report.ok       # True when every case run agrees with convgrad

``backward(dy, x, w, **options)`` is the function under test; it returns ``(dx, dw)`` or
``(dx, dw, db)``. :func:`diagnose` runs the ladder of ``convgrad.diagnose.cases``, from one
channel and no options up to groups, compares the shapes and then the values (float64, relative
tolerance ``rtol``) with :func:`convgrad.conv_backward`, and for every gradient that is wrong
looks for the wrong recipe of :data:`convgrad.pitfalls.CATALOGUE` that gives the same output.

On the command line (exit status 0 when every case agrees, 1 when one fails, 2 when the function
cannot be loaded)::

    python -m convgrad.diagnose path/to/file.py:function
        [--layout channels_last] [--supports stride,padding]
        [--dims 2] [--rtol 1e-8]
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable

import numpy as np

from ..arrays import weight_from_internal
from ..functional import conv_backward
from ..geometry import check_layout
from ..pitfalls import CATALOGUE, Mistake
from .cases import OPTIONS, Case, ladder
from .report import QUANTITIES, CaseResult, Check, Report, format_report

__all__ = ["Case", "CaseResult", "Check", "Report", "diagnose", "format_report", "ladder"]

#: Default tolerance on ``max|got - want| / max|want|`` of each gradient (float64 arithmetic).
RTOL = 1e-8
#: Tolerance for "equals a wrong recipe": looser, so that a float32 implementation is still named.
MATCH_RTOL = 1e-5


def diagnose(
    backward: Callable[..., tuple],
    *,
    layout: str = "channels_first",
    supports: Iterable[str] | str = ("stride", "padding"),
    dims: int = 2,
    rtol: float = RTOL,
    seed: int = 0,
) -> Report:
    """Run a user's convolution backward pass on a ladder of cases and compare it with convgrad.

    Parameters
    ----------
    backward : callable
        ``backward(dy, x, w, **options) -> (dx, dw)`` or ``(dx, dw, db)``, with
        ``x (N, C, *in)``, ``w (F, C/G, *kernel)``, ``dy (N, F, *out)`` (channels first) or
        ``x (N, *in, C)``, ``w (F, *kernel, C/G)``, ``dy (N, *out, F)`` (channels last), float64.
        It receives copies, so it may modify them.
    layout : {"channels_first", "channels_last"}
    supports : iterable of str, or a comma-separated str
        The options the function takes, among ``"stride"``, ``"padding"``, ``"dilation"`` and
        ``"groups"``. Each is passed as a keyword integer in every case (its default, 1, 0, 1 or 1,
        where the case does not set it); a case that needs an option not in ``supports`` is not
        run, and listed as not run.
    dims : {1, 2, 3}
        Number of spatial dimensions.
    rtol : float
        A gradient agrees when ``max|got - want| / max|want| <= rtol``.
    seed : int
        Seed of the random inputs (case ``i`` uses ``default_rng([seed, i])``).

    Returns
    -------
    Report
        ``print(report)`` shows the table; ``report.ok``; ``report.cases`` (one
        :class:`CaseResult` per case, each with a :class:`Check` per gradient).

    Notes
    -----
    An exception raised by ``backward`` fails its case and is reported with its message; it
    never escapes. For each wrong gradient every recipe of :data:`convgrad.pitfalls.CATALOGUE`
    defined for the case is computed on the same inputs, and the first one that equals the
    returned array (same shape, relative difference at most ``1e-5``) is named.
    """
    if not callable(backward):
        raise TypeError(f"backward must be callable, got {type(backward).__name__}")
    layout = check_layout(layout)
    supported = _check_supports(supports)
    if not (isinstance(rtol, (int, float)) and rtol > 0):
        raise ValueError(f"rtol must be a positive number, got {rtol!r}")
    results = []
    for index, case in enumerate(ladder(dims), 1):
        missing = [name for name in case.needs if name not in supported]
        if case.min_dims > dims:
            results.append(CaseResult(index, case, not_run=f"needs {case.min_dims}-D"))
        elif missing:
            results.append(CaseResult(index, case, not_run="needs " + ", ".join(missing)))
        else:
            results.append(_run_case(backward, index, case, layout, supported, rtol, seed))
    return Report(tuple(results), layout=layout, dims=dims, supports=supported, rtol=float(rtol))


def _check_supports(supports: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(supports, str):
        supports = [s.strip() for s in supports.split(",") if s.strip()]
    supports = tuple(supports)
    unknown = [s for s in supports if s not in OPTIONS]
    if unknown:
        raise ValueError(f"supports may name {OPTIONS}; got unknown {unknown}")
    return tuple(s for s in OPTIONS if s in supports)  # in the book's order, once each


# --- one case ------------------------------------------------------------------------------------


def _inputs(case: Case, index: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random ``dy, x, w``, batched channels first, float64."""
    rng = np.random.default_rng([seed, index])
    geom = case.geometry()
    return (rng.standard_normal(geom.y_shape), rng.standard_normal(geom.x_shape),
            rng.standard_normal(geom.w_shape))


def _to_layout(quantity: str, a: np.ndarray, layout: str) -> np.ndarray:
    """A channels-first ``dy``, ``x``, ``dx`` (``"data"``), ``w``/``dw`` or ``db`` in ``layout``."""
    if layout == "channels_first" or quantity == "db":
        return a
    if quantity in ("w", "dw"):
        return weight_from_internal(a, layout)
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


def _run_case(backward, index: int, case: Case, layout: str, supported: tuple[str, ...],
              rtol: float, seed: int) -> CaseResult:
    dy_cf, x_cf, w_cf = _inputs(case, index, seed)
    dy, x, w = (_to_layout(q, a, layout) for q, a in (("data", dy_cf), ("data", x_cf), ("w", w_cf)))
    want = dict(zip(QUANTITIES, conv_backward(dy, x, w, layout=layout, **case.options)))
    passed = {name: value for name, value in case.options.items() if name in supported}
    try:
        out = backward(dy.copy(), x.copy(), w.copy(), **passed)
    except Exception as e:  # the user's exception is the case's result, never diagnose's
        return CaseResult(index, case, passed, error=_describe_exception(e, backward, supported))
    if not isinstance(out, (tuple, list)) or len(out) not in (2, 3):
        what = f"a {type(out).__name__}"
        if isinstance(out, (tuple, list)):
            what += f" of length {len(out)}"
        return CaseResult(index, case, passed, error=f"returned {what}; expected (dx, dw) or (dx, dw, db)")
    got = dict(zip(QUANTITIES, out))
    checks = []
    for q in QUANTITIES:
        if q not in got:
            checks.append(Check(q, "missing", want[q].shape))
            continue
        check = _compare(q, got[q], want[q], rtol)
        if check.status in ("wrong", "shape"):
            check = _identify(check, np.asarray(got[q]), want[q], (dy_cf, x_cf, w_cf), case, layout, rtol)
        checks.append(check)
    return CaseResult(index, case, passed, checks=tuple(checks))


def _describe_exception(e: Exception, backward, supported: tuple[str, ...]) -> str:
    text = f"raised {type(e).__name__}: {e}".strip()
    if len(text) > 300:
        text = text[:297] + "..."
    where = _user_line(e, backward)
    if where:
        text += f" ({where})"
    if isinstance(e, TypeError) and "unexpected keyword argument" in str(e):
        text += (f"; the function was called with the keywords {', '.join(supported)}: leave out of "
                 f"supports any it does not take")
    return text


def _user_line(e: Exception, backward) -> str:
    """``"line 12 of student.py"`` for the innermost frame in the user's file, if it is a real file."""
    code = getattr(backward, "__code__", None)
    if code is None or not os.path.isfile(code.co_filename):
        return ""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == code.co_filename]
    return f"line {frames[-1].lineno} of {os.path.basename(code.co_filename)}" if frames else ""


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """``max|got - want| / max|want|`` (``max|got|`` when ``want`` is zero; 0 for empty arrays)."""
    if want.size == 0:
        return 0.0
    scale = float(np.max(np.abs(want)))
    diff = float(np.max(np.abs(got - want)))
    return diff / scale if scale > 0 else diff


def _compare(quantity: str, got, want: np.ndarray, rtol: float) -> Check:
    try:
        arr = np.asarray(got)
        arr = arr.astype(np.float64) if arr.dtype.kind in "iub" or arr.dtype == object else arr
    except (TypeError, ValueError) as e:
        return Check(quantity, "bad", want.shape, note=f"{type(got).__name__} ({e})")
    if arr.dtype.kind not in "fc":
        return Check(quantity, "bad", want.shape, arr.shape, note=f"dtype {arr.dtype}")
    if arr.shape != want.shape:
        return Check(quantity, "shape", want.shape, arr.shape)
    error = relative_error(arr, want)
    if error <= rtol:
        return Check(quantity, "ok", want.shape, arr.shape, error)
    return Check(quantity, "wrong", want.shape, arr.shape, error if np.isfinite(error) else float("inf"),
                 note=_describe_values(arr, want, error))


def _describe_values(got: np.ndarray, want: np.ndarray, error: float) -> str:
    """What can be said about a wrong array when no recipe matches it."""
    if not np.all(np.isfinite(got)):
        return "it contains NaN or infinity"
    if not np.any(got):
        return "it is all zeros"
    if got.dtype in (np.float32, np.float16) and error < 1e-4:
        return (f"it is {got.dtype}, right to float32 rounding: compute in float64 (the tolerance "
                f"is for float64)")
    scale = float(np.vdot(got, want) / np.vdot(want, want))
    if relative_error(got, scale * want) <= MATCH_RTOL:
        return f"it is {scale:.4g} times the gradient"
    worst = np.unravel_index(int(np.argmax(np.abs(got - want))), got.shape)
    return f"no known mistake gives these values; the largest error is at index {tuple(map(int, worst))}"


def _identify(check: Check, got: np.ndarray, want: np.ndarray, inputs, case: Case, layout: str,
              rtol: float) -> Check:
    """The wrong recipes of the catalogue that give ``got`` on this case's inputs."""
    dy, x, w = inputs
    matches: list[Mistake] = []
    for mistake in CATALOGUE:
        if mistake.quantity != check.quantity:
            continue
        candidate = mistake(dy, x, w, **case.options)
        if candidate is None:
            continue
        candidate = _to_layout(check.quantity, candidate, layout)
        if candidate.shape != got.shape:
            continue
        if candidate.shape == want.shape and relative_error(candidate, want) <= rtol:
            continue  # the recipe is right on this case: it explains nothing
        if got.dtype.kind in "fc" and relative_error(got, candidate) <= MATCH_RTOL:
            matches.append(mistake)
    if not matches:
        return check
    return Check(check.quantity, check.status, check.expected_shape, check.shape, check.error,
                 mistake=matches[0], also=tuple(matches[1:]))
