"""What :func:`convgrad.diagnose.diagnose` found: per case and per gradient, and the printed table.

``str(report)`` is a table of at most 76 columns (it is printed in the book), one row per case,
followed by the diagnosis of each failing case and a summary line.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from ..pitfalls import Mistake
from .cases import ABBREVIATIONS, Case

WIDTH = 76
QUANTITIES = ("dx", "dw", "db")
#: How each status of a :class:`Check` is shown in the table.
STATUS_WORDS = {"ok": "ok", "wrong": "WRONG", "shape": "SHAPE", "bad": "BAD", "missing": "-"}


def shape_text(shape: tuple[int, ...] | None) -> str:
    """``(2, 3, 5)`` -> ``"2x3x5"``."""
    return "?" if shape is None else "x".join(str(s) for s in shape) or "()"


@dataclass(frozen=True)
class Check:
    """One gradient of one case, compared with convgrad."""

    #: ``"dx"``, ``"dw"`` or ``"db"``.
    quantity: str
    #: One of ``"ok"`` (agrees within the tolerance), ``"wrong"`` (right shape, wrong values),
    #: ``"shape"`` (wrong shape, values not compared), ``"bad"`` (not an array of numbers) and
    #: ``"missing"`` (not returned, ``db`` only).
    status: str
    #: The shape of convgrad's gradient.
    expected_shape: tuple[int, ...]
    #: The shape returned (``None`` if it is not an array).
    shape: tuple[int, ...] | None = None
    #: ``max|got - want| / max|want|`` when the values were compared.
    error: float | None = None
    #: The first wrong recipe of ``convgrad.pitfalls.CATALOGUE`` whose output equals this one.
    mistake: Mistake | None = None
    #: Other recipes that give the same output here.
    also: tuple[Mistake, ...] = ()
    #: What else is known when no recipe matches (e.g. "it is all zeros").
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when the gradient agrees with convgrad or was not returned (``db``)."""
        return self.status in ("ok", "missing")


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case of the ladder."""

    #: The case's number in the ladder, from 1.
    index: int
    #: The layer (``convgrad.diagnose.cases.Case``).
    case: Case
    #: The keywords the user's function received.
    passed_options: dict = field(default_factory=dict)
    #: Why the case was not run (e.g. ``"needs dilation"``), ``None`` if it ran.
    not_run: str | None = None
    #: One :class:`Check` per gradient, when the function returned.
    checks: tuple[Check, ...] = ()
    #: The exception the function raised, or what is wrong with what it returned.
    error: str | None = None

    @property
    def ran(self) -> bool:
        return self.not_run is None

    @property
    def passed(self) -> bool:
        """True when the case ran and every gradient agrees."""
        return self.ran and self.error is None and all(c.ok for c in self.checks)

    @property
    def failed(self) -> bool:
        return self.ran and not self.passed

    def check(self, quantity: str) -> Check | None:
        """The :class:`Check` of ``"dx"``, ``"dw"`` or ``"db"`` (``None`` if the case did not return)."""
        return next((c for c in self.checks if c.quantity == quantity), None)


@dataclass(frozen=True)
class Report:
    """Everything :func:`convgrad.diagnose.diagnose` found. ``print(report)`` shows the table."""

    #: One :class:`CaseResult` per case of the ladder, run or not, simplest first.
    cases: tuple[CaseResult, ...]
    #: ``"channels_first"`` or ``"channels_last"``.
    layout: str
    #: Number of spatial dimensions.
    dims: int
    #: The options passed to the function.
    supports: tuple[str, ...]
    #: The tolerance on the relative error of each gradient.
    rtol: float

    @property
    def run(self) -> list[CaseResult]:
        return [r for r in self.cases if r.ran]

    @property
    def not_run(self) -> list[CaseResult]:
        return [r for r in self.cases if not r.ran]

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.cases if r.failed]

    @property
    def ok(self) -> bool:
        """True when every case that ran agrees with convgrad (and at least one ran)."""
        return bool(self.run) and not self.failures

    @property
    def first_failure(self) -> CaseResult | None:
        """The simplest failing case."""
        return next(iter(self.failures), None)

    @property
    def mistakes(self) -> list[Mistake]:
        """The wrong recipes named anywhere in the report, in order of first appearance."""
        named: list[Mistake] = []
        for r in self.failures:
            for c in r.checks:
                for m in (c.mistake, *c.also):
                    if m is not None and m not in named:
                        named.append(m)
        return named

    def __str__(self) -> str:
        return format_report(self)

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else f"{len(self.failures)} failing"
        return (f"<diagnose report: {len(self.run)} of {len(self.cases)} cases run, {verdict}; "
                f"print() it for the table>")

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table
        printer.text(str(self))


# --- the text ------------------------------------------------------------------------------------

_COLUMNS = "{:>2} {:<16} {:<11} {:<10} {:<8} {:<6}{:<6}{}"


def _row(r: CaseResult, layout: str) -> str:
    geom = r.case.geometry(layout)
    head = [r.index, r.case.name, shape_text(geom.x_shape), shape_text(geom.w_shape), r.case.label]
    if not r.ran:
        row = _COLUMNS.format(*head, f"not run: {r.not_run}", "", "").rstrip()
        if len(row) <= WIDTH:
            return row
        short = ", ".join(ABBREVIATIONS.get(n, n) for n in r.not_run.removeprefix("needs ").split(", "))
        return _COLUMNS.format(*head, f"not run: needs {short}", "", "").rstrip()
    if r.error is not None:
        kind = r.error.split(":")[0] if r.error.startswith("raised ") else "ERROR"
        return _COLUMNS.format(*head, kind, "", "").rstrip()
    words = [STATUS_WORDS[c.status] for c in r.checks]
    return _COLUMNS.format(*head, *words).rstrip()


def _wrap(text: str, indent: str, subsequent: str | None = None) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent,
                         subsequent_indent=subsequent if subsequent is not None else indent + "  ",
                         break_on_hyphens=False)


def _explain(check: Check, seen: dict[str, int], index: int) -> str:
    q = check.quantity
    if check.status == "shape":
        head = (f"{q} has shape {shape_text(check.shape)}, expected "
                f"{shape_text(check.expected_shape)}")
    elif check.status == "bad":
        return f"{q} is not an array of numbers: {check.note}"
    else:
        head = f"{q} WRONG (relative error {check.error:.2g})"
    m = check.mistake
    if m is None:
        return f"{head}; {check.note}" if check.note else f"{head}; no known mistake gives these values"
    also = f"; the same values as: {', '.join(a.name for a in check.also)}" if check.also else ""
    if m.name in seen:
        return f"{head}: {m.name}, as in case {seen[m.name]}{also}"
    seen[m.name] = index
    return f"{head}: {m.name} ({m.explanation}; book: {m.chapter}){also}"


def _ranges(indices: list[int]) -> str:
    """``[2, 3, 4, 7]`` -> ``"2-4, 7"``."""
    parts, start = [], indices[0]
    for a, b in zip(indices, indices[1:] + [None]):
        if b != a + 1:
            parts.append(str(start) if start == a else f"{start}-{a}")
            start = b
    return ", ".join(parts)


def _failure_lines(report: Report) -> list[str]:
    """The diagnosis of each failing case that shows something new; the others in one line each."""
    lines = ["", "Failures, simplest first:"]
    seen: dict[str, int] = {}
    repeats: dict[str, list[int]] = {}
    for r in report.failures:
        wrong = [c for c in r.checks if not c.ok]
        if r.error is not None:
            key = r.error.split(":")[0] if r.error in seen else None
            seen.setdefault(r.error, r.index)
        elif wrong and all(c.mistake is not None and c.mistake.name in seen for c in wrong):
            key = "; ".join(f"{c.quantity}, {c.mistake.name}" for c in wrong)
        else:
            key = None
        if key is not None:
            repeats.setdefault(key, []).append(r.index)
            continue
        lines += _wrap(f"{r.index} {r.case.name}: {r.case.trap}", "  ", "    ")
        if r.error is not None:
            lines += _wrap(r.error, "    ", "      ")
        for c in wrong:
            lines += _wrap(_explain(c, seen, r.index), "    ", "      ")
    for key, indices in repeats.items():
        verb = "Case {} fails" if len(indices) == 1 else "Cases {} fail"
        lines += _wrap(f"{verb.format(_ranges(indices))} the same way ({key})", "  ", "    ")
    return lines


def format_report(report: Report) -> str:
    """The report as text of at most ``WIDTH`` (76) columns."""
    supported = ", ".join(report.supports) or "none"
    lines = [
        f"convgrad.diagnose: {report.layout}, {report.dims}-D, float64, rtol {report.rtol:.0e}",
        f"options passed to the function: {supported}",
        "",
        _COLUMNS.format("#", "case", "x", "w", "options", "dx", "dw", "db"),
    ]
    lines += [_row(r, report.layout) for r in report.cases]
    lines += _wrap("ok: agrees with convgrad (largest error / largest entry <= rtol); WRONG: "
                   "values differ; SHAPE: wrong shape; -: not returned; not run: the function "
                   "does not take an option the case needs (s, p, d, g)", "", "")
    if report.failures:
        lines += _failure_lines(report)
    lines.append("")
    lines += _wrap(_summary(report), "", "")
    return "\n".join(lines)


def _summary(report: Report) -> str:
    run, total, failed = len(report.run), len(report.cases), len(report.failures)
    text = f"{run} of {total} cases run"
    if report.not_run:
        wants = []
        for r in report.not_run:
            for need in r.not_run.removeprefix("needs ").split(", "):
                if need not in wants:
                    wants.append(need)
        need = wants[0] if len(wants) == 1 else f"{', '.join(wants[:-1])} or {wants[-1]}"
        text += f" ({total - run} need {need})"
    text += f"; {run - failed} pass, {failed} fail. "
    if report.ok:
        return text + "OK: every case run agrees with convgrad."
    if not report.run:
        return text + "Nothing was checked."
    first = report.first_failure
    text += f"FAILED: the simplest failing case is {first.index} ({first.case.name})"
    if first.index > 1 and all(r.passed for r in report.run if r.index < first.index):
        return text + f"; every simpler case passes, so look at what it adds: {first.case.trap}."
    return text + "."
