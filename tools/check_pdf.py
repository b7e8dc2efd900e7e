"""Check the book's PDFs against the book's sources (``make pdf`` runs it after
tools/build_pdf.py).

The book (``_build/pdf/convgrad.pdf``):

- every page of ``_toc.yml`` is in the PDF's outline under its title, and every numbered chapter
  has the number the site gives it;
- every labelled equation of the sources (``$$ ... $$ (label)``, ``{math}`` with ``:label:``) is
  numbered in the PDF as on the site, and its number is printed;
- every numbered ``prf:`` statement (proposition, definition, ...), exercise and solution of the
  sources has its heading in the PDF ("Proposition 7.1", "Exercise 7.2", "Solution to Exercise
  7.2"), numbered as on the site, as many as in the sources;
- the PDF embeds at least as many images as the notebooks have image outputs (cells not removed);
- no ``??`` (an unresolved reference) anywhere;
- hidden cells: the code of ``remove-cell``, ``remove-input`` and ``hide-input`` cells is not in
  the PDF, the text outputs of ``hide-input`` and ``remove-input`` cells are.

The formula card (``_build/pdf/formula-card.pdf``), when the book has ``book/formula_card``: at
most two pages, its title on them, no ``??``.

The site's numbers come from ``numbers.json``, which _ext/latex_pdf.py writes next to the LaTeX
sources; LaTeX's from the ``.aux`` file. Prints the page counts; exit status 1 on any problem.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from docutils.nodes import make_id

ROOT = Path(__file__).resolve().parent.parent
CARD = "book/formula_card"
CARD_MAX_PAGES = 2
HIDDEN_TAGS = {"remove-cell", "remove-input", "hide-input"}
OUTPUT_SHOWN_TAGS = {"remove-input", "hide-input"}
PRF_UNNUMBERED = {"proof"}

FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>\S*)(?P<rest>.*)$")
INLINE_CODE = re.compile(r"(?<!\})`[^`\n]+`")
DOLLAR_LABEL = re.compile(r"\$\$\s*\(([^)\s]+)\)")
HEADING = re.compile(
    r"^\W{0,3}\s*(?P<kind>Solution to Exercise|Exercise|Proposition|Definition|Theorem|Lemma|"
    r"Corollary|Remark|Example|Conjecture|Axiom|Criterion|Algorithm|Assumption|Observation|"
    r"Property|Notation)\s+(?P<number>\d+(?:\.\d+)*)\s*(?:\(.*)?$"
)
NEWLABEL = re.compile(r"\\newlabel\{equation:([^:}]+):([^}]+)\}\{\{([^}]*)\}")
CHAPTER_TOC = re.compile(r"\\contentsline \{chapter\}\{\\numberline \{([^}]*)\}")


@dataclass
class Page:
    """What one source page of the book promises the PDF."""

    docname: str
    title: str = ""
    equations: list[str] = field(default_factory=list)
    statements: list[tuple[str, str]] = field(default_factory=list)  # (kind, label)
    exercises: list[str] = field(default_factory=list)
    solutions: int = 0
    images: int = 0
    hidden_code: list[str] = field(default_factory=list)
    shown_outputs: list[str] = field(default_factory=list)


def toc_docnames(toc_path: Path) -> list[str]:
    toc = yaml.safe_load(toc_path.read_text(encoding="utf8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return names


def source_of(docname: str) -> Path | None:
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{docname}{suffix}"
        if path.exists():
            return path
    return None


def _prose(markdown: str) -> list[tuple[str, str, list[str]]]:
    """The markdown without literal code: (directive, its options' lines) for every directive
    opening, and the text. Returns [(kind, info, lines)] where kind is "text" or "directive"."""
    out: list[tuple[str, str, list[str]]] = []
    lines = markdown.splitlines()
    i = 0
    text: list[str] = []
    while i < len(lines):
        match = FENCE.match(lines[i].strip())
        if match and match.group("info").startswith("{") and not match.group("info").startswith(
            ("{code", "{literalinclude")
        ):
            options = []
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith(":") and not FENCE.match(
                lines[j].strip()
            ):
                options.append(lines[j].strip())
                j += 1
            out.append(("directive", match.group("info").strip("{}"), options))
            i += 1
            continue
        if match and match.group("fence")[0] in "`~":
            # Literal code (```python, ```{code-block}): skipped to its closing fence.
            fence = match.group("fence")
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                i += 1
            i += 1
            continue
        text.append(INLINE_CODE.sub("", lines[i]))
        i += 1
    out.append(("text", "", text))
    return out


def _distinct_lines(source: str, width: int = 70) -> list[str]:
    lines = []
    for line in source.splitlines():
        line = " ".join(line.split())
        if 20 <= len(line) <= width:
            lines.append(line)
    return lines


def read_page(docname: str) -> Page:
    page = Page(docname)
    path = source_of(docname)
    if path is None:
        return page
    markdown_parts: list[str] = []
    if path.suffix == ".md":
        text = path.read_text(encoding="utf8")
        if text.startswith("---"):
            text = text.split("---", 2)[-1]
        markdown_parts.append(text)
    else:
        notebook = json.loads(path.read_text(encoding="utf8"))
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                markdown_parts.append(source)
                continue
            if cell["cell_type"] != "code":
                continue
            tags = set(cell.get("metadata", {}).get("tags", []))
            if "web-only" in tags:  # not printed (_ext/latex_pdf.py)
                continue
            if "remove-cell" in tags or "remove-output" in tags:
                outputs = []
            else:
                outputs = cell.get("outputs", [])
            page.images += sum(
                any(key.startswith("image/") for key in output.get("data", {}))
                for output in outputs
            )
            if tags & HIDDEN_TAGS:
                page.hidden_code.extend(_distinct_lines(source))
            if tags & OUTPUT_SHOWN_TAGS:
                for output in outputs:
                    if output.get("output_type") == "stream" and output.get("name") == "stdout":
                        page.shown_outputs.extend(_distinct_lines("".join(output["text"]), 60))
    for markdown in markdown_parts:
        page.images += len(re.findall(r"!\[[^\]]*\]\(", markdown))
        for kind, info, payload in _prose(markdown):
            if kind == "text":
                text = "\n".join(payload)
                page.equations.extend(DOLLAR_LABEL.findall(text))
                if not page.title and (m := re.search(r"^#\s+(.+)$", text, re.M)):
                    page.title = m.group(1).strip()
                continue
            options = dict(
                (o.split(":", 2)[1], o.split(":", 2)[2].strip()) for o in payload if o.count(":") >= 2
            )
            numbered = "nonumber" not in options
            if info == "math" and "label" in options:
                page.equations.append(options["label"])
            elif info.startswith("prf:") and info[4:] not in PRF_UNNUMBERED and numbered:
                page.statements.append((info[4:], options.get("label", "")))
            elif info in ("exercise", "exercise-start") and numbered:
                page.exercises.append(options.get("label", ""))
            elif info in ("solution", "solution-start"):
                page.solutions += 1
            elif info in ("figure", "image"):
                page.images += 1
    return page


def _normal(text: str) -> str:
    text = text.replace("`", "").replace("$", "").replace("\u2010", "-").replace("\u2011", "-")
    # Combining accents dropped: pdftotext often puts them apart from their letter (x̄ -> x).
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return " ".join(text.split())


def _squash(text: str) -> str:
    """Text without spaces, for lines of code and output (pdftotext spaces them unevenly)."""
    return "".join(_normal(text).split())


def _found(line: str, text: str) -> bool:
    """Whether a source line is in the PDF's squashed text. A letter with a combining accent may
    stand anywhere or nowhere there (pdftotext sometimes moves it away with its accent:
    x̄[0] -> ̄[0] ... x), so each such letter matches at most one character."""
    parts = re.split(r".[\u0300-\u036f]+", unicodedata.normalize("NFD", line))
    pattern = ".?".join(re.escape(_squash(part)) for part in parts)
    return re.search(pattern, text) is not None


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def pdf_outline(pdf: Path) -> list[tuple[int, int, str]]:
    """The PDF's bookmarks: (depth, page, title), depth 1 for parts, 2 for chapters."""
    xml = subprocess.run(["pdftohtml", "-xml", "-stdout", "-i", "-q", "-f", "1", "-l", "1",
                          str(pdf)], check=True, capture_output=True, text=True).stdout
    outline = re.search(r"<outline>.*</outline>", xml, re.S)
    items: list[tuple[int, int, str]] = []

    def walk(node: ET.Element, depth: int) -> None:
        for child in node:
            if child.tag == "item":
                items.append((depth, int(child.get("page", 0)), _normal("".join(child.itertext()))))
            elif child.tag == "outline":
                walk(child, depth + 1)

    if outline:
        walk(ET.fromstring(outline.group(0)), 1)
    return items


def chapter_pages(outline: list[tuple[int, int, str]], n_pages: int) -> dict[str, range]:
    """Each title of depth <= 2 (parts, chapters): its physical pages, up to the next one's."""
    tops = [(page, title) for depth, page, title in outline if depth <= 2]
    ranges = {}
    for (page, title), (following, _) in zip(tops, tops[1:] + [(n_pages + 1, "")]):
        ranges.setdefault(title, range(page, max(page + 1, following)))
    return ranges


def pdf_images(pdf: Path) -> int:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True,
                             text=True).stdout.splitlines()[2:]
    return sum(1 for row in listing if row.split()[2:3] == ["image"])


def check_book(pdf: Path, latex: Path, problems: list[str]) -> None:
    numbers = json.loads((latex / "numbers.json").read_text(encoding="utf8"))["pages"]
    aux = (latex / pdf.with_suffix(".aux").name).read_text(encoding="utf8", errors="replace")
    text = pdf_text(pdf)
    flat = _normal(text)
    sheets = text.split("\f")
    outline = pdf_outline(pdf)
    ranges = chapter_pages(outline, len(sheets))
    titles = {title for _, _, title in outline}
    docnames = toc_docnames(ROOT / "_toc.yml")
    pages = [read_page(name) for name in docnames]

    # Chapters: titles in the outline, numbers as on the site.
    chapter_text: dict[str, str] = {}
    chapter_lines: dict[str, set[str]] = {}
    for page in pages[1:]:
        title = _normal(numbers.get(page.docname, {}).get("title") or page.title)
        if title not in titles:
            problems.append(f"{page.docname}: title {title!r} not in the PDF's outline")
        elif title in ranges:
            own = [sheets[i - 1] for i in ranges[title] if i - 1 < len(sheets)]
            chapter_text[page.docname] = _squash(" ".join(own))
            chapter_lines[page.docname] = {_squash(line) for sheet in own
                                           for line in sheet.splitlines()}
    latex_chapters = CHAPTER_TOC.findall(aux)
    site_chapters = [numbers[p.docname]["chapter"] for p in pages[1:]
                     if numbers.get(p.docname, {}).get("chapter")]
    if latex_chapters[: len(site_chapters)] != site_chapters:
        problems.append(f"chapter numbers: PDF {latex_chapters[:len(site_chapters)]}, "
                        f"site {site_chapters}")

    # Equations: LaTeX's numbers (.aux) against the site's, and printed.
    in_aux = {(doc, label): number for doc, label, number in NEWLABEL.findall(aux)}
    n_source = sum(len(p.equations) for p in pages)
    n_book = sum(1 for doc, _ in in_aux if doc in docnames)
    if n_source != n_book:
        problems.append(f"equations: {n_source} labelled in the sources, {n_book} in the PDF")
    for page in pages:
        site = numbers.get(page.docname, {}).get("numbers", {}).get("displaymath", {})
        for label in page.equations:
            number = in_aux.get((page.docname, label))
            expected = site.get(make_id(f"equation-{label}"))
            if number is None:
                problems.append(f"{page.docname}: equation {label} not in the PDF")
            elif number != expected:
                problems.append(f"{page.docname}: equation {label} is ({number}) in the PDF, "
                                f"({expected}) on the site")
            elif f"({number})" not in flat:
                problems.append(f"{page.docname}: equation {label}'s number ({number}) not printed")

    # Propositions, definitions, exercises, solutions: headings against the sources and the site.
    headings = Counter()
    heading_numbers: dict[str, set[str]] = {}
    for line in text.splitlines():
        if match := HEADING.match(line.strip()):
            kind = match.group("kind")
            headings[kind] += 1
            heading_numbers.setdefault(kind, set()).add(match.group("number"))
    wanted = Counter()
    site_numbers: dict[str, set[str]] = {}
    for page in pages:
        site = numbers.get(page.docname, {}).get("numbers", {})
        for kind, label in page.statements:
            name = kind.capitalize()
            wanted[name] += 1
            site_numbers.setdefault(name, set()).add(site.get(kind, {}).get(label, "?"))
        wanted["Exercise"] += len(page.exercises)
        wanted["Solution to Exercise"] += page.solutions
        for label in page.exercises:
            site_numbers.setdefault("Exercise", set()).add(site.get("exercise", {}).get(label, "?"))
    for kind, count in sorted(wanted.items()):
        if headings[kind] != count:
            problems.append(f"{kind}: {count} in the sources, {headings[kind]} headings in the PDF")
        if kind in site_numbers and site_numbers[kind] != heading_numbers.get(kind, set()):
            missing = sorted(site_numbers[kind] - heading_numbers.get(kind, set()))
            extra = sorted(heading_numbers.get(kind, set()) - site_numbers[kind])
            problems.append(f"{kind}: numbers differ from the site's (not in the PDF: {missing}; "
                            f"not on the site: {extra})")

    # Figures.
    n_images = sum(p.images for p in pages)
    embedded = pdf_images(pdf)
    if embedded < n_images:
        problems.append(f"images: {n_images} in the sources, {embedded} in the PDF")

    # Hidden cells, looked for in their own chapter's pages.
    for page in pages:
        own = chapter_text.get(page.docname)
        if own is None:
            continue
        visible = _visible_lines(page)
        printed = chapter_lines[page.docname]
        shown = [line for line in page.hidden_code
                 if _squash(line) in printed and _squash(line) not in visible]
        if shown:
            problems.append(f"{page.docname}: code of a hidden cell printed: {shown[0]!r}")
        missing = [line for line in page.shown_outputs if not _found(line, own)]
        if missing:
            problems.append(f"{page.docname}: output of a hidden-input cell missing: "
                            f"{missing[0]!r}" + (f" (and {len(missing) - 1} more)"
                                                 if len(missing) > 1 else ""))

    if "??" in text:
        problems.append(f"'??' (an unresolved reference) {text.count('??')} time(s) in {pdf.name}")

    print(f"{pdf.name}: {pdf_pages(pdf)} pages; {len(pages) - 1} pages of the table of contents "
          f"in the outline; {n_book} numbered equations; "
          + ", ".join(f"{count} {kind}" for kind, count in sorted(wanted.items()))
          + f"; {embedded} images (sources: {n_images})", flush=True)


def _visible_lines(page: Page) -> set[str]:
    """Lines of code that also appear in a cell the PDF shows (they may be printed)."""
    path = source_of(page.docname)
    if path is None or path.suffix != ".ipynb":
        return set()
    visible = set()
    for cell in json.loads(path.read_text(encoding="utf8"))["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] == "code" and tags & HIDDEN_TAGS:
            continue
        visible.update(_squash(line) for line in "".join(cell["source"]).splitlines())
        for output in cell.get("outputs", []):
            visible.update(_squash(line) for line in "".join(output.get("text", "")).splitlines())
    return visible


def check_card(pdf: Path, problems: list[str]) -> None:
    if source_of(CARD) is None:
        print("formula card: the book has no book/formula_card page, so no card PDF", flush=True)
        return
    if not pdf.exists():
        problems.append(f"{pdf}: missing, though the book has {CARD} (is it in _toc.yml?)")
        return
    n = pdf_pages(pdf)
    text = pdf_text(pdf)
    title = _normal(read_page(CARD).title)
    if n > CARD_MAX_PAGES:
        problems.append(f"{pdf.name}: {n} pages (at most {CARD_MAX_PAGES})")
    if title and title not in _normal(text):
        problems.append(f"{pdf.name}: its title {title!r} is not on it")
    if "??" in text:
        problems.append(f"'??' (an unresolved reference) in {pdf.name}")
    print(f"{pdf.name}: {n} page(s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, default=ROOT / "_build" / "pdf")
    parser.add_argument("--latex", type=Path, default=ROOT / "_build" / "latex")
    args = parser.parse_args(argv)
    problems: list[str] = []
    check_book(args.pdf / "convgrad.pdf", args.latex, problems)
    check_card(args.pdf / "formula-card.pdf", problems)
    for problem in problems:
        print("  " + problem, file=sys.stderr)
    if problems:
        print(f"check_pdf: {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
