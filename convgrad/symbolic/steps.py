"""The displayed steps of a derivation: a caption and an equation ``lhs = rhs`` per step.

A :class:`Step` is one line of reasoning ("sum over ``k``: the delta is 1 only at ``k = m - n``")
and the expression it produces; :class:`Steps` is the numbered sequence that a derivation in
:mod:`convgrad.symbolic.readoff` returns for each adjoint. Both render in a notebook:

* ``text/latex`` (``_repr_latex_``): the caption on its own line (text with inline math), the
  equation below it; an equation wider than the book's text column (about 76 monospace
  characters, 700 px) is broken over several lines, after a term of a sum or a factor of a
  product, so no line is wider than the column;
* ``text/plain`` (``str``): the caption and the equation in SymPy's plain form with ``x̄``, ``ẋ``
  and ``<a, b>`` for ``\\bar{x}``, ``\\dot{x}`` and ``\\langle a, b \\rangle``; deterministic, for
  nbval.

:class:`TeX` is a symbol that prints its name as LaTeX verbatim (``\\langle \\bar{z}, \\dot{z}
\\rangle``), for the left-hand sides that are not array entries.

Needs SymPy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from .brackets import Divides, Iverson

__all__ = ["Step", "Steps", "TeX", "latex", "plain"]

#: Width budget of one rendered line in pixels. The book's text column at a 1280 px window is 688 px
#: wide; :func:`_width` estimates a line's width from its LaTeX to within about 45 px (fitted to
#: MathJax's rendering in the built book), so this leaves a margin.
LINE_WIDTH = 630.0


class TeX(sp.Symbol):
    """A symbol whose name is LaTeX, printed verbatim (SymPy would split it at ``_``)."""

    def _latex(self, printer):
        return self.name

    def _sympystr(self, printer):
        return plain_tex(self.name)


# --- plain text -----------------------------------------------------------------------------------

_ACCENTS = {r"\bar": "\u0304", r"\dot": "\u0307"}
_PLAIN_CMD = {r"\le": "<=", r"\leq": "<=", r"\ge": ">=", r"\geq": ">=", r"\mid": "|",
              r"\langle": "<", r"\rangle": ">", r"\cdot": "*", r"\times": "*", r"\sum": "sum",
              r"\delta": "delta", r"\,": "", r"\;": " ", r"\!": "", r"\ ": " ", r"\quad": " ",
              r"\qquad": " ", r"\left": "", r"\right": "", r"\Biggl": "", r"\Biggr": "",
              r"\mathrm": "", r"\text": "", r"\operatorname": ""}


def _plain_tokens(tokens: list[str]) -> str:
    out, i = [], 0
    while i < len(tokens):
        t = tokens[i]
        if t in _ACCENTS:
            arg, i = _groups(tokens, i + 1)
            out.append(_plain_tokens(arg) + _ACCENTS[t])
        elif t in ("_", "^"):
            arg, i = _groups(tokens, i + 1)
            inner = _plain_tokens(arg)
            if t == "^":
                out.append("^" + (inner if len(inner) == 1 else f"({inner})"))
            elif re.fullmatch(r"[\w\u0300-\u036f']+", inner):
                out.append("_" + inner)
            else:
                out.append("[" + inner + "]")
        elif t == r"\frac":
            num, i = _groups(tokens, i + 1)
            den, i = _groups(tokens, i)
            out.append(f"({_plain_tokens(num)})/{_plain_tokens(den)}")
        elif t == "{":
            arg, i = _groups(tokens, i)
            out.append(_plain_tokens(arg))
        else:
            i += 1
            out.append(_PLAIN_CMD.get(t, t[1:] if t.startswith("\\") and len(t) > 2 else t))
    return "".join(out)


def plain_tex(tex: str) -> str:
    """A readable plain-text form of LaTeX (``\\bar{x}_{m - n}`` -> ``x̄[m - n]``)."""
    tex = tex.replace("{}", "")  # empty groups only separate atoms for TeX
    text = re.sub(r" +", " ", _plain_tokens(_TOKEN.findall(tex)))
    return re.sub(r" >(?!=)", ">", text.replace("< ", "<"))


class _StrPrinter(StrPrinter):
    """SymPy's plain printer with sums and products in the book's order (see :func:`latex`)."""

    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order=order))

    def _print_Mul(self, expr):
        if expr.as_numer_denom()[1] != 1:
            return super()._print_Mul(expr)
        coeff, others, brackets, sums = _mul_parts(expr)
        if not brackets:
            return super()._print_Mul(expr)
        tex = "*".join(self.parenthesize(f, precedence(expr)) for f in others + brackets + sums)
        return tex if coeff == 1 else ("-" if coeff == -1 else self._print(coeff) + "*") + tex


_strprinter = _StrPrinter()


def plain(expr: sp.Basic) -> str:
    """SymPy's plain-text form of ``expr`` with the book's symbols (``x̄``, ``ẋ``, ``<a, b>``)."""
    text = _strprinter.doprint(expr).replace("{}", "")  # see plain_tex
    return re.sub(r"\\(?:bar|dot)\{(?:\\(?:bar|dot)\{)?\w\}\}?|_\{\\mathrm\{\w+\}\}",
                  lambda m: plain_tex(m.group(0)), text)


def _positive_first(terms: Sequence[sp.Expr]) -> list[sp.Expr]:
    """The terms with a leading minus sign moved after the others: ``m + p - d k``, ``n - m``."""
    return [t for t in terms if not t.could_extract_minus_sign()] + \
        [t for t in terms if t.could_extract_minus_sign()]


# --- LaTeX ----------------------------------------------------------------------------------------


def _mul_parts(expr: sp.Mul) -> tuple[sp.Expr, list[sp.Expr], list[sp.Expr], list[sp.Expr]]:
    """``(coefficient, factors, brackets, sums)`` of a product, in the order the steps print them:
    array entries and symbols, then the brackets, then a ``Sum`` or a sum of terms (which
    extends to the right)."""
    coeff, rest = expr.as_coeff_Mul()
    factors = list(rest.as_ordered_factors()) if rest != 1 else []
    sums = [f for f in factors if isinstance(f, (sp.Sum, sp.Add))]
    brackets = [f for f in factors if isinstance(f, (Divides, Iverson))]
    others = [f for f in factors if f not in sums and f not in brackets]
    return coeff, others, brackets, sums


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, adjusted to the book: ``\\delta_{a, b}``; one ``\\sum`` per
    summation index; the terms of a sum with those with a minus sign last (``m + p_lo - s o``);
    in a product the brackets after the array entries and a sum last; fractional indices as
    ``(m + p_lo - d k)/s``; multi-letter subscripts upright (``p_{\\mathrm{lo}}``)."""

    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order=order))

    def _print_Symbol(self, expr, style="plain"):
        m = re.fullmatch(r"([A-Za-z]'*)_([A-Za-z]{2,})", expr.name)
        if m:
            return m.group(1) + r"_{\mathrm{" + m.group(2) + "}}"
        return super()._print_Symbol(expr, style=style)

    def _print_Indexed(self, expr):
        def index(i):
            num, den = i.as_numer_denom()
            if den == 1:
                return self._print(i)
            top = self._print(num)
            return ("(" + top + ")" if isinstance(num, sp.Add) else top) + "/" + self._print(den)

        return "{" + self._print(expr.base) + "}_{" + ",".join(index(i) for i in expr.indices) + "}"

    def _print_Mul(self, expr):
        if expr.as_numer_denom()[1] != 1:
            return super()._print_Mul(expr)
        coeff, others, brackets, sums = _mul_parts(expr)
        if len(sums) > 1 or not (brackets or sums):
            return super()._print_Mul(expr)
        parts = []
        if others:
            parts.append(super()._print_Mul(sp.Mul(*others)) if len(others) > 1 else self._print(others[0]))
        parts += [self._print(b) for b in brackets]
        for f in sums:
            parts.append(r"\left(" + self._print(f) + r"\right)" if isinstance(f, sp.Add) else self._print(f))
        tex = " ".join(parts)
        if coeff == -1:
            return "- " + tex
        return tex if coeff == 1 else self._print(coeff) + " " + tex

    def _print_Sum(self, expr):
        head = " ".join(_sum_prefix(lim) for lim in expr.limits)
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = r"\left(" + body + r"\right)"
        return head + " " + body

    def _print_KroneckerDelta(self, expr, exp=None):
        i, j = (self._print(a) for a in expr.args)
        tex = r"\delta_{" + i + r",\, " + j + "}"
        return tex if exp is None else "{" + tex + "}^{" + exp + "}"


_printer = _Printer()


def latex(expr: sp.Basic) -> str:
    """LaTeX of ``expr`` as the steps print it."""
    return _printer.doprint(expr)


_TOKEN = re.compile(r"\\[a-zA-Z]+|\\.|[{}_^]|[^\\{}_^]")
_ZERO = {r"\left", r"\right", r"\Bigl", r"\Bigr", r"\biggl", r"\biggr", r"\Biggl", r"\Biggr",
         r"\displaystyle", r"\limits", r"\mathrm", r"\operatorname", r"\mathbf"}
_ACCENT = {r"\bar", r"\dot", r"\hat", r"\tilde", r"\text"}
_RELATION = {r"\le", r"\ge", r"\mid", r"\ne", "=", "<", ">", r"\to", r"\mapsto"}
_SPACE = {r"\,": 0.17, r"\;": 0.28, r"\ ": 0.25, r"\quad": 1.8, r"\qquad": 3.6, r"\!": -0.17}


def _groups(tokens: list[str], i: int) -> tuple[list[str], int]:
    """The tokens of the argument starting at ``tokens[i]`` (a ``{...}`` group or one token)."""
    if tokens[i] != "{":
        return [tokens[i]], i + 1
    depth, j = 0, i
    while True:
        if tokens[j] == "{":
            depth += 1
        elif tokens[j] == "}":
            depth -= 1
            if depth == 0:
                return tokens[i + 1:j], j + 1
        j += 1


# Rendered widths in pixels of MathJax's CHTML output in the built book, per token class, at the
# main level and in a sub- or superscript (measured with headless Chromium at a 1280 px window).
_PX = {"lower": 9.0, "upper": 13.4, "digit": 10.5, "binop": 27.6, "rel": 23.4, "punct": 12.0,
       "cmd": 15.8}
_PX_SCRIPT = {"lower": 8.4, "upper": 14.5, "digit": 7.3, "binop": 9.1, "rel": 8.0, "punct": 3.3,
              "cmd": 8.0}
_SUM_GLYPH = 25.0
_SUM_GLYPH_INLINE = 24.0


def _token_class(t: str) -> str:
    if t in _RELATION:
        return "rel"
    if t in ("+", "-", r"\cdot", r"\times"):
        return "binop"
    if t in ("(", ")", "[", "]", ",", ".", ";", ":", "'", r"\langle", r"\rangle", "|"):
        return "punct"
    if t.startswith("\\"):
        return "cmd"
    if t.isdigit():
        return "digit"
    return "upper" if t.isupper() else "lower"


def _width_tokens(tokens: list[str], script: bool = False, inline: bool = False) -> float:
    px = _PX_SCRIPT if script else _PX
    w, i = 0.0, 0
    while i < len(tokens):
        t = tokens[i]
        if t in (r"\sum", r"\prod"):
            limits = [0.0]
            i += 1
            while i < len(tokens) and tokens[i] in ("_", "^"):
                arg, i = _groups(tokens, i + 1)
                limits.append(_width_tokens(arg, script=True))
            # display style: the limits sit under and over the sign; inline: beside it
            w += (_SUM_GLYPH_INLINE + max(limits)) if inline or script else max(_SUM_GLYPH, max(limits)) + 3.0
            continue
        if t == r"\textstyle":
            inline = True
            i += 1
            continue
        if t == "{":
            arg, i = _groups(tokens, i)
            w += _width_tokens(arg, script, inline)
            continue
        if t in ("_", "^"):
            arg, i = _groups(tokens, i + 1)
            w += _width_tokens(arg, script=True)
            continue
        if t == r"\frac":
            num, i = _groups(tokens, i + 1)
            den, i = _groups(tokens, i)
            w += max(_width_tokens(num, True), _width_tokens(den, True)) * (1.0 if script else 1.2)
            continue
        if t in _ACCENT:
            arg, i = _groups(tokens, i + 1)
            if t == r"\text":
                w += _text_width("".join(arg).replace("\\", ""))
            else:
                w += _width_tokens(arg, script, inline)
            continue
        i += 1
        if t in _ZERO or t in ("{", "}", " "):
            continue
        if t == "'":
            w += 4.0
        else:
            w += 9.0 * _SPACE[t] if t in _SPACE else px[_token_class(t)]
    return w


def _width(tex: str) -> float:
    """Estimated rendered width of display-style LaTeX in the book, in pixels."""
    return _width_tokens(_TOKEN.findall(tex))


# Widths of Computer Modern Roman (MathJax's \\text font) in em; 1 em is 19.5 px in the book.
_CMR = dict(zip("abcdefghijklmnopqrstuvwxyz", (0.5, 0.556, 0.444, 0.556, 0.444, 0.306, 0.5, 0.556, 0.278,
                                                0.306, 0.528, 0.278, 0.833, 0.556, 0.5, 0.556, 0.528, 0.392,
                                                0.394, 0.389, 0.556, 0.528, 0.722, 0.528, 0.528, 0.444)))
_CMR.update({" ": 0.333, ",": 0.278, ".": 0.278, ":": 0.278, ";": 0.278, "(": 0.389, ")": 0.389,
             "'": 0.278, "-": 0.333})
_EM = 19.5


def _text_width(text: str) -> float:
    return _EM * sum(_CMR.get(c, 0.72 if c.isupper() else 0.5) for c in text)


def _escape_text(text: str) -> str:
    return re.sub(r"([#$%&_{}])", r"\\\1", text).replace("~", r"\~{}")


def _top_level_pieces(tex: str) -> list[str]:
    """``tex`` split at the spaces outside braces (where a long formula may break)."""
    pieces, depth, start = [], 0, 0
    for j, ch in enumerate(tex):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == " " and depth == 0 and tex[start:j].strip():
            pieces.append(tex[start:j].strip())
            start = j
    pieces.append(tex[start:].strip())
    return [p for p in pieces if p]


def _assemble(line: Sequence[tuple[str, bool]]) -> str:
    """LaTeX of one caption line: runs of words in ``\\text{}``, math pieces in ``{\\textstyle }``."""
    tex: list[str] = []
    text: list[str] = []
    for piece, is_math in line:
        if is_math:
            if text:
                tex.append(r"\text{" + _escape_text(" ".join(text) + " ") + "}")
                text = []
            elif tex:
                tex.append(r"\;")
            tex.append(r"{\textstyle " + piece + "}")
        else:
            if not text and tex and piece[0] not in ",;:.)":
                piece = " " + piece
            text.append(piece)
    if text:
        tex.append(r"\text{" + _escape_text(" ".join(text)) + "}")
    return "".join(tex)


def caption_lines(caption: str, width: float = LINE_WIDTH) -> list[str]:
    """The caption as LaTeX lines: words in ``\\text{}``, ``$...$`` segments as inline math.

    Words and math segments are packed greedily into lines no wider than ``width``; a math segment
    wider than a line is broken at its top-level spaces.
    """
    units: list[tuple[str, bool]] = []
    for k, part in enumerate(caption.split("$")):
        if k % 2:
            pieces = [part] if _width(part) <= width else _top_level_pieces(part)
            units += [(piece, True) for piece in pieces]
        else:
            units += [(word, False) for word in part.split(" ") if word]
    lines: list[list[tuple[str, bool]]] = [[]]
    for unit in units:
        if lines[-1] and _width(_assemble([*lines[-1], unit])) > width:
            lines.append([])
        lines[-1].append(unit)
    return [_assemble(line) for line in lines]


def _ordered_terms(expr: sp.Add) -> list[sp.Expr]:
    return _printer._as_ordered_terms(expr, order=None)


def _pieces(expr: sp.Basic) -> list[str]:
    """LaTeX pieces of ``expr`` between which a line may break (joined by spaces they are ``expr``).

    A sum of terms breaks before ``+`` or ``-``; a ``Sum`` breaks between the factors of its
    summand; a product with one ``Sum`` or one sum of terms breaks inside it.
    """
    if isinstance(expr, sp.Add):
        out: list[str] = []
        for k, term in enumerate(_ordered_terms(expr)):
            negative = term.could_extract_minus_sign()
            body = _pieces(-term if negative else term)
            if k == 0:
                body[0] = ("- " if negative else "") + body[0]
            else:
                body[0] = ("- " if negative else "+ ") + body[0]
            out += body
        return out
    if isinstance(expr, sp.Sum):
        head = " ".join(_sum_prefix(lim) for lim in expr.limits)
        body = _factor_pieces(expr.function)
        return [head + " " + body[0], *body[1:]]
    if isinstance(expr, sp.Mul):
        return _factor_pieces(expr)
    return [latex(expr)]


def _sum_prefix(limit: tuple) -> str:
    if len(limit) == 1:
        return r"\sum_{" + latex(limit[0]) + "}"
    i, lo, hi = limit
    return r"\sum_{" + latex(i) + "=" + latex(lo) + "}^{" + latex(hi) + "}"


def _factor_pieces(expr: sp.Basic) -> list[str]:
    """Pieces of a product: one per factor; a Sum or a sum of terms among them is opened up."""
    if isinstance(expr, sp.Add):
        inner = _pieces(expr)
        return [r"\Biggl(" + inner[0], *inner[1:-1], inner[-1] + r"\Biggr)"] if len(inner) > 1 else \
            [r"\left(" + inner[0] + r"\right)"]
    if isinstance(expr, sp.Sum):
        return _pieces(expr)
    if not isinstance(expr, sp.Mul) or expr.as_numer_denom()[1] != 1:
        return [latex(expr)]
    coeff, others, brackets, sums = _mul_parts(expr)
    if len(sums) > 1:
        return [latex(expr)]
    out = [latex(f) for f in others + brackets]
    for f in sums:
        out += _factor_pieces(f)
    if coeff != 1:
        head = "-" if coeff == -1 else latex(coeff)
        out = [head + " " + out[0], *out[1:]] if out else [head]
    return out


def equation_lines(lhs: sp.Basic, rhs: sp.Basic, width: float = LINE_WIDTH) -> list[str]:
    """``lhs = rhs`` as LaTeX lines no wider than ``width`` (where the pieces allow it).

    Lines break before a term (``+``, ``-``) where they can, and between the factors of a product
    only where one term alone is too wide; continuation lines are indented, and within a product
    they start with ``\\times``.
    """
    head = latex(lhs) + " = "
    if _width(head + latex(rhs)) <= width:
        return [head + latex(rhs)]
    terms: list[list[str]] = []
    for piece in _pieces(rhs):
        if not terms or piece.startswith(("+ ", "- ")):
            terms.append([])
        terms[-1].append(piece)
    indent = r"\qquad {}"
    lines = [head]

    def fits(line: str) -> bool:
        return _width(line) <= width

    for k, term in enumerate(terms):
        if k > 0 and not fits(lines[-1] + " " + " ".join(term)):
            lines.append(indent)
        for piece in term:
            if lines[-1] in (head, indent) or fits(lines[-1] + " " + piece):
                lines[-1] = (lines[-1] + " " + piece).replace("  ", " ")
            else:
                lines.append(indent + r"\times " + piece)
    return [line.rstrip() for line in lines]


@dataclass(frozen=True)
class Step:
    """One displayed step: what is done (``caption``) and the equation ``lhs = rhs`` it gives.

    Attributes
    ----------
    caption : str
        Plain text with inline math between ``$`` signs, e.g. ``"sum over $k$: ..."``.
    lhs, rhs : sympy.Expr
    number : int or None
        Its number in a :class:`Steps` sequence (printed before the caption).
    """

    caption: str
    lhs: sp.Basic
    rhs: sp.Basic
    number: int | None = None

    @property
    def eq(self) -> sp.Eq:
        """The equation as ``sympy.Eq`` (unevaluated)."""
        return sp.Eq(self.lhs, self.rhs, evaluate=False)

    def latex_lines(self, width: float = LINE_WIDTH) -> list[str]:
        """The caption lines, then the equation lines, each no wider than ``width``."""
        caption = (f"{self.number}. " if self.number is not None else "") + self.caption
        return caption_lines(caption, width) + equation_lines(self.lhs, self.rhs, width)

    def _repr_latex_(self) -> str:
        return _aligned([self.latex_lines()])

    def __str__(self) -> str:
        number = f"{self.number}. " if self.number is not None else ""
        parts = self.caption.split("$")
        caption = "".join(plain_tex(part) if k % 2 else part for k, part in enumerate(parts))
        return f"{number}{caption}\n    {plain(self.lhs)} = {plain(self.rhs)}"

    __repr__ = __str__


def _aligned(blocks: Sequence[list[str]]) -> str:
    rows = []
    for k, block in enumerate(blocks):
        for j, line in enumerate(block):
            sep = r" \\[1.2ex]" if j == len(block) - 1 and k < len(blocks) - 1 else r" \\"
            rows.append("& " + line + (sep if (k, j) != (len(blocks) - 1, len(block) - 1) else ""))
    return "$$\n\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}\n$$"


class Steps(Sequence[Step]):
    """The numbered steps of one derivation; renders as one aligned block (LaTeX) or as text.

    ``steps[-1]`` is the read-off, ``steps[-1].rhs`` the derived adjoint. Index, iterate and
    ``display`` one step at a time, or show them all as a cell's last value; a slice
    (``steps[3:]``) is a ``Steps`` that keeps the numbers.

    Parameters
    ----------
    steps : sequence of Step
    renumber : bool
        Number the steps 1, 2, ... (default); ``False`` keeps their numbers.
    """

    def __init__(self, steps: Sequence[Step], renumber: bool = True):
        self._steps = tuple(Step(s.caption, s.lhs, s.rhs, number=k + 1 if renumber else s.number)
                            for k, s in enumerate(steps))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Steps(self._steps[i], renumber=False)
        return self._steps[i]

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps)

    def _repr_latex_(self) -> str:
        return _aligned([s.latex_lines() for s in self._steps])

    def __str__(self) -> str:
        return "\n".join(str(s) for s in self._steps)

    __repr__ = __str__
