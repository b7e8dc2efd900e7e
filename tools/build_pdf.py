"""Build the book's PDFs: ``_build/pdf/convgrad.pdf`` and, when the book has the page
``book/formula_card``, ``_build/pdf/formula-card.pdf`` (``make pdf`` runs this, then
tools/check_pdf.py).

1. Sphinx's LaTeX builder, as ``jupyter-book build . --builder latex -W -n --keep-going`` with
   ``_config.yml`` (its section ``latex:`` and _ext/latex_pdf.py), into ``_build/latex``; its
   environment is kept in ``_build/.doctrees-latex``, apart from the site's.
2. latexmk with XeLaTeX on every ``.tex`` written (the list is in ``numbers.json``).
3. The logs: any LaTeX error, a character missing from a font, an undefined reference or
   citation, or a card longer than two pages fails the build, each problem reported with the
   chapter (docname) and the line of the ``.tex`` where it happened. Overfull lines wider than
   ``--overfull`` points and cell outputs scaled down to the line are listed (not errors).
4. The PDFs are copied to ``_build/pdf/`` and their page counts printed.

Exit status 0 when both steps succeeded and the logs are clean, 1 otherwise.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARD_MAX_PAGES = 2

# XeLaTeX's log lines that mean the PDF is wrong (with -file-line-error, errors start with
# "./name.tex:LINE:"; a fatal one with "!"). The log's lines are not wrapped (max_print_line).
ERROR = re.compile(r"^(?:\./)?(\S+?\.(?:tex|sty|cls|def|cfg)):(\d+): (.*)$|^! (.*)$")
MISSING_CHAR = re.compile(r"^Missing character: There is no (.+?) in font (.+?)!?$")
UNDEFINED = re.compile(
    r"(?:LaTeX|Package \w+) Warning: (?:Reference|Citation|Hyper reference) [`'](.+?)' "
    r"(?:on page \d+ )?undefined(?: on input line (\d+))?"
)
RERUN = re.compile(r"There were undefined references|Label\(s\) may have changed")
OVERFULL = re.compile(r"^Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\).*?lines? (\d+)")
PAGES = re.compile(r"^Output written on .+? \((\d+) pages?")
SCALED = re.compile(r"^ConvgradFitMath: output (\S+) wide scaled to (\S+) on input line (\d+)")
DOC_START = re.compile(r"\\label\{\\detokenize\{([^}]+)::doc\}\}")


@dataclass
class Problem:
    kind: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"  {self.kind}: {self.message}" + (f"  [{self.where}]" if self.where else "")


def sphinx_latex(out: Path, doctrees: Path) -> int:
    """The LaTeX sources, as the jupyter-book CLI would build them (-W -n --keep-going)."""
    from jupyter_book.sphinx import build_sphinx

    if out.exists():
        shutil.rmtree(out)
    result = build_sphinx(
        ROOT,
        out,
        noconfig=True,
        path_config=str(ROOT / "_config.yml"),
        confoverrides={
            "external_toc_path": (ROOT / "_toc.yml").as_posix(),
            "latex_individualpages": False,
            "nitpicky": True,
        },
        doctreedir=doctrees,
        builder="latex",
        warningiserror=True,
        keep_going=True,
        quiet=True,
    )
    return result if isinstance(result, int) else 1


class TexLines:
    """Which page of the book (docname) a line of the ``.tex`` belongs to."""

    def __init__(self, tex: Path):
        self.starts: list[int] = []
        self.docnames: list[str] = []
        for number, line in enumerate(tex.read_text(encoding="utf8").splitlines(), 1):
            for match in DOC_START.finditer(line):
                self.starts.append(number)
                self.docnames.append(match.group(1))

    def where(self, line: int | None, tex: Path) -> str:
        if line is None:
            return tex.name
        i = bisect.bisect_right(self.starts, line) - 1
        page = self.docnames[i] if i >= 0 else "(preamble)"
        return f"{page}, {tex.name}:{line}"


def latexmk(tex: Path) -> int:
    """XeLaTeX (Sphinx's latexmkrc) until the references settle; stops at a pass with errors."""
    env = dict(os.environ, LATEXOPTS="-interaction=nonstopmode -file-line-error",
               max_print_line="100000", error_line="254", half_error_line="238")
    log = tex.with_suffix(".latexmk.out")
    with log.open("w", encoding="utf8") as out:
        run = subprocess.run(
            ["latexmk", "-pdf", "-dvi-", "-ps-", tex.name],
            cwd=tex.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    return run.returncode


def read_log(tex: Path, overfull_pt: float) -> tuple[list[Problem], list[Problem], int | None]:
    """Problems (errors), notes (overfull lines) and the page count of one document's log."""
    log = tex.with_suffix(".log")
    if not log.exists():
        return [Problem("error", f"no log: {log}")], [], None
    lines_of = TexLines(tex)
    problems: list[Problem] = []
    notes: list[Problem] = []
    pages = None
    text = log.read_text(encoding="utf8", errors="replace").splitlines()
    for i, line in enumerate(text):
        if match := ERROR.match(line):
            source, lineno, message = match.group(1), match.group(2), match.group(3)
            message = (message or match.group(4)).strip()
            context = " ".join(s.strip() for s in text[i + 1 : i + 3] if s.strip())
            if source and Path(source).name != tex.name:
                where = f"{source}:{lineno}"
            else:
                if lineno is None and (ctx := re.search(r"^l\.(\d+)", "\n".join(text[i : i + 8]),
                                                        re.M)):
                    lineno = ctx.group(1)
                where = lines_of.where(int(lineno) if lineno else None, tex)
            problems.append(Problem("LaTeX error", f"{message}  {context}", where))
        elif match := MISSING_CHAR.match(line):
            problems.append(Problem("missing character", f"{match.group(1)} in {match.group(2)}"))
        elif match := UNDEFINED.search(line):
            lineno = int(match.group(2)) if match.group(2) else None
            problems.append(Problem("undefined", match.group(1), lines_of.where(lineno, tex)))
        elif RERUN.search(line):
            problems.append(Problem("undefined", line.strip()))
        elif match := OVERFULL.match(line):
            if float(match.group(1)) > overfull_pt:
                notes.append(Problem("overfull", f"{match.group(1)}pt too wide",
                                     lines_of.where(int(match.group(2)), tex)))
        elif match := SCALED.match(line):
            notes.append(Problem("scaled down", f"a cell's LaTeX output {match.group(1)} wide, "
                                 f"scaled to {match.group(2)}",
                                 lines_of.where(int(match.group(3)), tex)))
        elif match := PAGES.match(line):
            pages = int(match.group(1))
    return problems, notes, pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latex", type=Path, default=ROOT / "_build" / "latex")
    parser.add_argument("--doctrees", type=Path, default=ROOT / "_build" / ".doctrees-latex")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf")
    parser.add_argument("--overfull", type=float, default=20.0,
                        help="list overfull lines wider than this many points (default 20)")
    args = parser.parse_args(argv)

    print("== LaTeX sources (Sphinx's LaTeX builder, warnings are errors)", flush=True)
    if sphinx_latex(args.latex, args.doctrees) != 0:
        print("build_pdf: the LaTeX builder failed (warnings above)", file=sys.stderr)
        return 1
    documents = json.loads((args.latex / "numbers.json").read_text(encoding="utf8"))["documents"]

    failed = False
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    for document in documents:
        tex = args.latex / document["target"]
        print(f"== {tex.name}: XeLaTeX (latexmk)", flush=True)
        status = latexmk(tex)
        problems, notes, pages = read_log(tex, args.overfull)
        pdf = tex.with_suffix(".pdf")
        if status != 0 and not problems:
            problems.append(Problem("latexmk", f"exit status {status}, see "
                                    f"{tex.with_suffix('.latexmk.out')}"))
        if any(p.kind == "LaTeX error" for p in problems):
            # A pass with errors ends latexmk: its undefined references are only unfinished.
            problems = [p for p in problems if p.kind != "undefined"]
        if tex.stem == "formula-card" and pages is not None and pages > CARD_MAX_PAGES:
            problems.append(Problem("too long", f"{pages} pages (at most {CARD_MAX_PAGES})"))
        problems = list({str(p): p for p in problems}.values())  # a pass may repeat an error
        for note in notes:
            print(note)
        if problems:
            failed = True
            print(f"{tex.name}: {len(problems)} problem(s)", file=sys.stderr)
            for problem in problems:
                print(problem, file=sys.stderr)
        if pdf.exists():
            shutil.copy2(pdf, args.out / pdf.name)
            print(f"{args.out / pdf.name}: {pages} pages"
                  + (f", {len(notes)} note(s) above" if notes else ""))
        else:
            print(f"{tex.name}: no PDF written", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
