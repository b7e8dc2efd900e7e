"""Static checks of the book's sources: what courses cite must exist and keep its address.

For every page in ``_toc.yml`` (markdown pages and the markdown cells of notebooks):

* the page exists, as exactly one of ``.md`` / ``.ipynb``;
* every numbered equation has a label: ``$$ ... $$ (label)`` or a ``{math}`` directive with
  ``:label:``; an unstarred amsmath environment (``\\begin{equation}`` ...) is numbered without
  a stable label, and ``\\tag``/``\\label`` inside TeX bypass the book's numbering, so both fail;
* every ``prf:`` directive (except ``prf:proof``, which takes no label) and every exercise has a
  ``:label:`` of the form ``<kind>-<chapter file>-<name>``, every solution names an exercise of
  the book, and every exercise has a solution;
* labels (these, ``(target)=`` lines and ``:name:`` options) are unique across the book;
* the page has one level-1 heading, its title, and no heading starts with ``#`` (markdown written
  as ``# `` comment lines turns every line into a heading);

and for every notebook: no error output and no traceback or stderr in the saved outputs, and the
code cells were executed top to bottom in one run (execution counts 1, 2, 3, ...). Finally the
version in ``CITATION.cff`` is the package's. Runs in about a second; nothing is executed.

``CONVGRAD_TOC=path/to/toc.yml pytest tests/test_book.py`` checks another table of contents.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TOC = Path(os.environ.get("CONVGRAD_TOC", ROOT / "_toc.yml"))

# amsmath environments that MathJax/Sphinx number unless starred.
NUMBERED_ENVS = ("equation", "align", "alignat", "gather", "multline", "flalign", "eqnarray")
# Directives whose body is code, data or TeX, not MyST: nothing in it is a label or a `$$` block.
VERBATIM_DIRECTIVES = ("code", "code-block", "code-cell", "sourcecode", "literalinclude", "math",
                       "eval-rst", "raw", "bibliography", "bibtex-book", "bibtex-chapters")


def toc_files(node) -> list[str]:
    """Every ``file:`` (and the ``root:``) of a table of contents, in order."""
    out = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                out.append(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                out += toc_files(value)
    elif isinstance(node, list):
        for item in node:
            out += toc_files(item)
    return out


def resolve(entry: str) -> list[Path]:
    base = ROOT / entry
    if base.suffix in (".md", ".ipynb"):
        return [base] if base.is_file() else []
    return [p for p in (base.with_suffix(".md"), base.with_suffix(".ipynb")) if p.is_file()]


TOC_ENTRIES = toc_files(yaml.safe_load(TOC.read_text()))
PAGES = [found[0] for entry in TOC_ENTRIES if len(found := resolve(entry)) == 1]
NOTEBOOKS = [p for p in PAGES if p.suffix == ".ipynb"]


def page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


@dataclass
class Page:
    path: Path
    labels: list[tuple[str, str]] = field(default_factory=list)  # (kind, label)
    exercises: list[str] = field(default_factory=list)
    solutions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # level-1 headings
    heading_problems: list[str] = field(default_factory=list)

    @property
    def chapter(self) -> str:
        return self.path.stem


def markdown_blocks(path: Path) -> list[tuple[str, str]]:
    """``(where, text)`` of each markdown source of the page: the file, or each markdown cell."""
    if path.suffix == ".md":
        return [(page_id(path), path.read_text(encoding="utf8"))]
    nb = json.loads(path.read_text(encoding="utf8"))
    return [
        (f"{page_id(path)} cell {i}", "".join(cell["source"]))
        for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "markdown"
    ]


FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(\{([\w:-]+)\})?\s*(.*)$")
OPTION = re.compile(r"^\s*:([\w-]+):\s*(.*)$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
DOLLAR_BLOCK = re.compile(r"\$\$(.+?)\$\$(?:[ \t]*\(([^()\s]+)\))?", re.S)
TARGET = re.compile(r"^\s*\(([^()\s]+)\)=\s*$", re.M)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$", re.M)


def scan(page: Page, where: str, text: str, *, math_number_all: bool) -> None:
    """Collect labels and problems from one markdown source."""
    lines = text.split("\n")
    stack: list[tuple[str, bool]] = []  # open fences: (closing marker, verbatim?)
    prose: list[str] = []  # MyST text outside verbatim blocks, for the math checks
    i = 0
    while i < len(lines):
        line = lines[i]
        if stack:
            marker, verbatim = stack[-1]
            stripped = line.strip()
            if stripped and set(stripped) == {marker[0]} and len(stripped) >= len(marker):
                stack.pop()
                prose.append("")
                i += 1
                continue
            if verbatim:
                i += 1
                continue
        match = FENCE.match(line)
        if match and not (stack and stack[-1][1]):
            marker, name, argument = match.group(2), match.group(4), match.group(5).strip()
            verbatim = name is None or name in VERBATIM_DIRECTIVES
            stack.append((marker, verbatim))
            options = {}
            j = i + 1
            while j < len(lines) and (option := OPTION.match(lines[j])):
                options[option.group(1)] = option.group(2).strip()
                j += 1
            loc = f"{where}, line {i + 1}"
            if name:
                check_directive(page, loc, name, argument, options)
            prose.append("")
            i = j
            continue
        prose.append(line)
        i += 1

    body = INLINE_CODE.sub(lambda m: " " * len(m.group(0)), "\n".join(prose))
    for match in HEADING.finditer(body):
        level, title = match.group(1), match.group(2).strip()
        if level == "#":
            page.titles.append(title)
        if title.startswith("#"):
            page.heading_problems.append(
                f"{where}: heading {match.group(0).strip()[:60]!r} starts with '#' (markdown written "
                f"as '# ' comment lines?)"
            )
    for match in TARGET.finditer(body):
        page.labels.append(("target", match.group(1)))
    for match in DOLLAR_BLOCK.finditer(body):
        tex, label = match.group(1), match.group(2)
        loc = f"{where}: $${tex.strip()[:60]}$$"
        if label:
            check_label(page, loc, "eq", label)
        elif math_number_all:
            page.problems.append(f"{loc}: numbered (math_number_all) but has no label")
        check_tex(page, loc, tex)
    outside = DOLLAR_BLOCK.sub(" ", body)
    for env in re.findall(r"\\begin\{(\w+)\}", outside):
        if env in NUMBERED_ENVS:
            page.problems.append(
                f"{where}: \\begin{{{env}}} outside $$ is numbered but cannot carry a label; "
                f"write $$ ... $$ (eq-{page.chapter}-<name>) or use {env}*"
            )


def check_tex(page: Page, loc: str, tex: str) -> None:
    for macro in ("tag", "label"):
        if re.search(rf"\\{macro}\b", tex):
            page.problems.append(f"{loc}: \\{macro} inside TeX; use $$ ... $$ (label) instead")


def check_label(page: Page, loc: str, kind: str, label: str) -> None:
    page.labels.append((kind, label))
    if not re.fullmatch(rf"[a-z]+-{re.escape(page.chapter)}-[\w.-]+", label):
        page.problems.append(
            f"{loc}: label {label!r} should read <kind>-{page.chapter}-<name> "
            f"(e.g. eq-{page.chapter}-dx, prop-{page.chapter}-1), unique in the book"
        )


def check_directive(page: Page, loc: str, name: str, argument: str, options: dict) -> None:
    label = options.get("label")
    if name.startswith("prf:") and name != "prf:proof":
        if not label:
            page.problems.append(f"{loc}: {{{name}}} has no :label: (courses cite it by number)")
        else:
            check_label(page, loc, name, label)
    elif name in ("exercise", "exercise-start"):
        if not label:
            page.problems.append(f"{loc}: {{{name}}} has no :label:")
        else:
            check_label(page, loc, name, label)
            page.exercises.append(label)
    elif name in ("solution", "solution-start"):
        if not argument:
            page.problems.append(f"{loc}: {{{name}}} does not name its exercise")
        else:
            page.solutions.append(argument)
        if label:
            page.labels.append((name, label))
    elif name == "math":
        if label:
            check_label(page, loc, "eq", label)
    elif options.get("name"):
        page.labels.append((name, options["name"]))


@cache
def math_number_all() -> bool:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return bool(((config.get("sphinx") or {}).get("config") or {}).get("math_number_all"))


@cache
def scanned(path: Path) -> Page:
    page = Page(path)
    for where, text in markdown_blocks(path):
        scan(page, where, text, math_number_all=math_number_all())
    return page


# ------------------------------------------------------------------------------------------


def test_toc_lists_pages():
    assert len(TOC_ENTRIES) >= 2, f"{TOC} lists no chapters"
    assert len(set(TOC_ENTRIES)) == len(TOC_ENTRIES), f"a page is listed twice in {TOC.name}"


@pytest.mark.parametrize("entry", TOC_ENTRIES)
def test_toc_entry_exists(entry):
    found = resolve(entry)
    assert found, f"{TOC.name} lists {entry!r}, but neither {entry}.md nor {entry}.ipynb exists"
    assert len(found) == 1, f"{entry!r} is ambiguous: {[page_id(p) for p in found]}"


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_numbered_items_have_labels(path):
    page = scanned(path)
    assert not page.problems, "\n".join(page.problems)


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_page_headings(path):
    page = scanned(path)
    assert not page.heading_problems, "\n".join(page.heading_problems)
    titles = page.titles
    assert len(titles) == 1, (
        f"{page_id(path)} has {len(titles)} level-1 headings {titles[:4]}; a page has one title "
        f"(a second '# ' heading becomes a second chapter-level section)"
    )


def test_labels_unique_across_book():
    seen: dict[str, list[str]] = {}
    for path in PAGES:
        for _, label in scanned(path).labels:
            seen.setdefault(label, []).append(page_id(path))
    duplicates = {label: where for label, where in seen.items() if len(where) > 1}
    assert not duplicates, f"labels used more than once: {duplicates}"


def test_every_exercise_has_a_solution_and_every_solution_an_exercise():
    exercises = {label for p in PAGES for label in scanned(p).exercises}
    solved = {label for p in PAGES for label in scanned(p).solutions}
    assert not solved - exercises, f"solutions of exercises that do not exist: {solved - exercises}"
    assert not exercises - solved, f"exercises without a solution: {sorted(exercises - solved)}"


def executed_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=page_id)
def test_notebook_outputs_have_no_errors(path):
    problems = []
    for n, cell in enumerate(executed_cells(path), 1):
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(
                "".join(v) if isinstance(v, list) else str(v)
                for k, v in out.get("data", {}).items() if k.startswith("text/")
            )
            if out["output_type"] == "error":
                problems.append(f"code cell {n}: error output {out.get('ename')}: {out.get('evalue')}")
            elif out["output_type"] == "stream" and out.get("name") == "stderr":
                problems.append(f"code cell {n}: stderr output: {text.strip()[:120]}")
            elif "Traceback (most recent call last)" in text:
                problems.append(f"code cell {n}: a traceback in the output")
    assert not problems, f"{page_id(path)} shows errors on its page:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=page_id)
def test_notebook_executed_top_to_bottom(path):
    cells = executed_cells(path)
    counts = [cell.get("execution_count") for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{page_id(path)}: execution counts {counts}; run it top to bottom in a fresh kernel with "
        f"`python tools/run_notebooks.py {page_id(path)}`"
    )
    for n, cell in enumerate(cells, 1):
        for out in cell.get("outputs", []):
            if out["output_type"] == "execute_result":
                assert out.get("execution_count") == n, f"{page_id(path)} cell {n}: stale result"


def test_citation_matches_package_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf8"))
    for key in ("cff-version", "message", "title", "authors", "version", "date-released"):
        assert cff.get(key), f"CITATION.cff has no {key}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    project = re.search(r'^\[project\]$(?:(?!^\[).)*?^version = "([^"]+)"', pyproject, re.M | re.S)
    init = (ROOT / "convgrad" / "__init__.py").read_text()
    package = re.search(r'^__version__ = "([^"]+)"', init, re.M)
    assert project and package, "no version in pyproject.toml [project] or convgrad/__init__.py"
    assert str(cff["version"]) == project.group(1) == package.group(1), (
        f"versions differ: CITATION.cff {cff['version']}, pyproject.toml {project.group(1)}, "
        f"convgrad/__init__.py {package.group(1)}"
    )
    datetime.date.fromisoformat(str(cff["date-released"]))


# The scanner itself, on small pages: each broken example must be reported, each good one not.
SCANNER_CASES = {
    "labelled equation": ("$$ y = x $$ (eq-demo-y)", []),
    "unlabelled, unnumbered equation": ("$$ y = x $$", []),
    "equation labelled for another chapter": ("$$ y = x $$ (eq-stride-y)", ["should read"]),
    "unstarred amsmath": ("\\begin{align}\na &= b\n\\end{align}", ["cannot carry a label"]),
    "starred amsmath": ("\\begin{align*}\na &= b\n\\end{align*}", []),
    "tag in TeX": ("$$ y = x \\tag{3} $$ (eq-demo-y)", ["\\tag inside TeX"]),
    "heading written as a comment": ("# # Title\n\nText.", ["starts with '#'"]),
    "comment lines become headings": ("# ## Why\n# Because.", ["starts with '#'"]),
    "a title is a heading": ("# Title\n\n## Section", []),
    "code comment is no heading": ("```python\n# # not a heading\n```", []),
    "proposition without label": (":::{prf:proposition} P\nText.\n:::", ["has no :label:"]),
    "proposition with label": (":::{prf:proposition} P\n:label: prop-demo-p\nText.\n:::", []),
    "proof needs none": (":::{prf:proof}\nText.\n:::", []),
    "exercise without label": ("```{exercise}\nQ\n```", ["has no :label:"]),
    "code fence is not math": ("```latex\n\\begin{equation}x\\end{equation}\n```", []),
    "inline code is not math": ("Write `\\begin{equation}` and `$$ x $$ (eq-x)`.", []),
    "math directive": ("```{math}\n:label: eq-demo-m\n\\begin{aligned}x\\end{aligned}\n```", []),
    "math directive, foreign label": ("```{math}\n:label: eq-m\nx\n```", ["should read"]),
    "nested fences": ("::::{prf:proposition} P\n:label: prop-demo-q\n```python\n\\begin{equation}\n```\n"
                      "$$ z $$ (eq-demo-z)\n::::", []),
}


@pytest.mark.parametrize("name", SCANNER_CASES)
def test_scanner(name):
    text, expected = SCANNER_CASES[name]
    page = Page(ROOT / "book" / "demo.md")
    scan(page, "demo", text, math_number_all=False)
    problems = page.problems + page.heading_problems
    assert len(problems) == len(expected), problems
    for fragment, problem in zip(expected, problems):
        assert fragment in problem, problem


def test_scanner_collects_labels():
    page = Page(ROOT / "book" / "demo.md")
    text = ("(sec-demo)=\n## S\n$$ a $$ (eq-demo-a)\n:::{exercise}\n:label: ex-demo-1\nQ\n:::\n"
            ":::{solution} ex-demo-1\nA\n:::\n```{figure} f.png\n:name: fig-demo\n```")
    scan(page, "demo", text, math_number_all=False)
    assert not page.problems, page.problems
    assert sorted(label for _, label in page.labels) == ["eq-demo-a", "ex-demo-1", "fig-demo", "sec-demo"]
    assert page.exercises == ["ex-demo-1"] and page.solutions == ["ex-demo-1"]


def write_notebook(path: Path, cells: list[dict]) -> Path:
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def code_cell(source: str, count, outputs=()) -> dict:
    return {"cell_type": "code", "source": source, "execution_count": count, "metadata": {},
            "outputs": list(outputs)}


def test_notebook_checks_catch_errors_and_reruns(tmp_path):
    good = [code_cell("x = 1", 1), code_cell("", None),
            code_cell("x", 2, [{"output_type": "execute_result", "execution_count": 2,
                                "data": {"text/plain": "1"}, "metadata": {}}])]
    path = write_notebook(tmp_path / "good.ipynb", good)
    test_notebook_outputs_have_no_errors(path)
    test_notebook_executed_top_to_bottom(path)

    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}
    stderr = {"output_type": "stream", "name": "stderr", "text": "RuntimeWarning: overflow"}
    for outputs in ([error], [stderr]):
        path = write_notebook(tmp_path / "bad.ipynb", [code_cell("f()", 1, outputs)])
        with pytest.raises(AssertionError, match="shows errors"):
            test_notebook_outputs_have_no_errors(path)
    for counts in ((2, 1), (1, None), (1, 3), (3, 4)):
        cells = [code_cell("a", counts[0]), code_cell("b", counts[1])]
        path = write_notebook(tmp_path / "order.ipynb", cells)
        with pytest.raises(AssertionError, match="execution counts"):
            test_notebook_executed_top_to_bottom(path)
