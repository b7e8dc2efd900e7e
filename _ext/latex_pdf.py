"""The book's PDFs (``make pdf``): what the LaTeX builder needs beyond ``_config.yml``.

Does nothing under any other builder. Under the LaTeX builder:

- Numbers as on the site. sphinx-jupyterbook-latex turns the table of contents' parts into
  ``\\part`` and, for that, raises ``numfig_secnum_depth`` to 2, which would print "Exercise
  1.8.1" where the site prints "Exercise 1.1". The depth is set back to the site's (1); the
  preamble in ``_config.yml`` numbers equations, figures and tables within chapters in LaTeX.
- The formula card, ``book/formula_card`` (``.ipynb`` or ``.md``), when the book has it: a second
  LaTeX document, ``formula-card.tex``, built from that one page (theme ``howto``: an article,
  with sections, not parts; the preamble gives it compact A4 margins and a one-line heading).
- References to a page that is not in the PDF being written (from the card to the chapters) link
  to that page on the site (``html.baseurl``), with the number the site prints: "(7.3)" or
  "Proposition 7.1", never ``??``.
- Tables whose first column names code get that column as wide as its longest name.
- Parts titled "The question, answered", not "Part I: The question, answered" (LaTeX prints
  "Part I"); the root page's text under "About this book"; a cell's LaTeX output (SymPy's) scaled
  down to the line when it is wider (on the site it scrolls, on paper it would be cut off).
- Cells tagged ``web-only`` left out: a figure the site shows on a page that must stay short on
  paper (the formula card's, at most two A4 pages).
- ``numbers.json`` in the output folder: the number of every numbered equation, proposition,
  exercise and figure as the site prints it (the environment's numbers), for tools/check_pdf.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import NoUri
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import texescape

CARD = "book/formula_card"
CARD_TARGET = "formula-card.tex"
ROOT_HEADING = "About this book"
PART_PREFIX = re.compile(r"^Part [IVXLC]+:\s*")


def _is_latex(app: Sphinx) -> bool:
    return getattr(app.builder, "format", "") == "latex"


def _site_page(app: Sphinx, docname: str) -> str:
    base = app.config.html_baseurl or ""
    return f"{base.rstrip('/')}/{docname}.html" if base else f"{docname}.html"


def _setup_builder(app: Sphinx) -> None:
    if not _is_latex(app):
        return
    app.config.numfig_secnum_depth = 1

    builder = app.builder
    in_this_pdf = builder.get_target_uri

    def get_target_uri(docname: str, typ: str | None = None) -> str:
        try:
            return in_this_pdf(docname, typ)
        except NoUri:
            if docname in app.env.all_docs:
                return _site_page(app, docname)
            raise

    builder.get_target_uri = get_target_uri

    # The card (theme howto, an article): its sections are \\section, not \\part as in the book.
    create_translator = builder.create_translator

    def create_translator_for(*args):
        theme = args[-1]
        if getattr(theme, "name", "") != "howto":
            return create_translator(*args)
        book = app.config.latex_toplevel_sectioning
        app.config.latex_toplevel_sectioning = "section"
        try:
            return create_translator(*args)
        finally:
            app.config.latex_toplevel_sectioning = book

    builder.create_translator = create_translator_for


def _add_card(app: Sphinx, env: BuildEnvironment) -> None:
    if not _is_latex(app) or CARD not in env.all_docs:
        return
    documents = list(app.config.latex_documents)
    if any(entry[0] == CARD for entry in documents):
        return
    title = env.titles[CARD].astext() if CARD in env.titles else "Formula card"
    book, author = (documents[0][2], documents[0][3]) if documents else ("", app.config.author)
    documents.append((CARD, CARD_TARGET, title, author, "howto", False))
    app.config.latex_documents = documents
    # The card's heading names the book and its address (the preamble's \\sphinxmaketitle).
    app.builder.context["preamble"] += (
        "\n\\newcommand{\\ConvgradBook}{" + texescape.escape(book) + "}"
        "\n\\newcommand{\\ConvgradSite}{\\url{" + app.config.html_baseurl + "}}\n"
    )


class EquationsElsewhere(SphinxPostTransform):
    """``{eq}`` references to an equation outside this PDF: its number, linked to the site.

    The LaTeX builder writes every equation reference as ``\\ref`` (MathReferenceTransform,
    priority 5), which prints ``??`` when the equation is in another document; this runs first
    and resolves those through the math domain (a link to the page on the site, see above).
    """

    default_priority = 4
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        in_this_pdf = set(getattr(self.app.builder, "docnames", ()))
        domain = self.env.get_domain("math")
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node["refdomain"] != "math" or node["reftype"] not in ("eq", "numref"):
                continue
            docname, _ = domain.data["objects"].get(node["reftarget"], (None, None))
            if docname is None or docname in in_this_pdf:
                continue
            contnode = node[0].deepcopy() if node.children else nodes.Text(node["reftarget"])
            resolved = domain.resolve_xref(
                self.env, self.env.docname, self.app.builder, node["reftype"],
                node["reftarget"], node, contnode,
            )
            if resolved is not None:
                node.replace_self(resolved)


class RootHeading(SphinxPostTransform):
    """The root page's text (after the contents) under an unnumbered chapter, "About this book":
    LaTeX prints the root page's title only on the title page."""

    default_priority = 800
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        root = self.config.root_doc
        if self.app.project.path2doc(self.document.get("source", "")) != root:
            return
        section = next((s for s in self.document.findall(nodes.section)
                        if s.get("docname") == root), None)
        if section is None:
            return
        heading = ROOT_HEADING
        latex = (f"\\chapter*{{{heading}}}\\addcontentsline{{toc}}{{chapter}}{{{heading}}}"
                 f"\\markboth{{{heading}}}{{{heading}}}\n")
        index = 1 if section.children and isinstance(section[0], nodes.title) else 0
        section.insert(index, nodes.raw("", latex, format="latex"))


class PartTitles(SphinxPostTransform):
    """"Part I: The question, answered" (a caption of ``_toc.yml``) as ``\\part{The question,
    answered}``: LaTeX prints "Part I" itself. Runs after sphinx-jupyterbook-latex (700) made
    the captions into part sections."""

    default_priority = 800
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for section in self.document.findall(nodes.section):
            title = section.next_node(nodes.title)
            if title is None or section.get("docname") != title.astext():
                continue  # not a part made from a caption
            text = PART_PREFIX.sub("", title.astext())
            if text != title.astext():
                title.children = [nodes.Text(text)]


class FitOutputMath(SphinxPostTransform):
    """A cell's LaTeX output (SymPy's) shrunk to the line when it is wider.

    On the site a wide output scrolls; on paper it would run off the page. Each output equation
    becomes ``\\ConvgradFitMath{\\begin{aligned}...\\end{aligned}}`` (the preamble in
    ``_config.yml`` measures it and scales it down to ``\\linewidth`` only when it is wider).
    Equations written in the chapters' prose are left alone: they have to fit as written.
    """

    default_priority = 900
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for block in list(self.document.findall(nodes.math_block)):
            if block.get("label") or block.get("nowrap") or not _in_cell_output(block):
                continue
            parts = [part.strip() for part in block.astext().split("\n\n") if part.strip()]
            latex = "".join(
                "\\ConvgradFitMath{\\begin{aligned}" + part + "\\end{aligned}}\n" for part in parts
            )
            block.replace_self(nodes.raw("", latex, format="latex"))


class WebOnly(SphinxPostTransform):
    """Cells tagged ``web-only`` (MyST-NB gives their container the class ``tag_web-only``) are
    not printed."""

    default_priority = 5
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(nodes.container)):
            if "tag_web-only" in node.get("classes", []) and node.parent is not None:
                node.parent.remove(node)


class NameColumns(SphinxPostTransform):
    """A table whose first column names code (``grad_weight_first_group()``, the API page's
    lists): that column as wide as its longest name, the other columns share the rest.

    LaTeX's tabulary sizes columns by the length of their text, gives a column of short names
    next to one of long sentences too little room and cuts the names (they cannot break).
    """

    default_priority = 900
    formats = ("latex",)
    LINE = 85  # characters of code in the text column (A4, 10pt, DejaVu Sans Mono at 0.88)
    SHORT = 16  # names shorter than this fit whatever tabulary does (with the cell padding)

    def run(self, **kwargs) -> None:
        for table in self.document.findall(nodes.table):
            tgroup = table.next_node(nodes.tgroup)
            if tgroup is None or "colwidths-given" in table["classes"]:
                continue
            colspecs = [c for c in tgroup.children if isinstance(c, nodes.colspec)]
            rows = [row for row in tgroup.findall(nodes.row) if len(row) == len(colspecs)]
            body = [row for row in rows if isinstance(row.parent, nodes.tbody)]
            if len(colspecs) < 2 or not body or not all(_is_name(row[0]) for row in body):
                continue
            longest = max(len(row[0].astext()) for row in body) + 5  # + the cell padding
            if longest < self.SHORT:
                continue
            lengths = [max(len(row[j].astext()) for row in rows) for j in range(1, len(colspecs))]
            if longest + sum(lengths) <= self.LINE:
                continue  # the table fits on one line per row: tabulary keeps it compact
            natural = [max(8, min(60, n)) for n in lengths]
            room = max(self.LINE - longest, 10 * len(natural))
            widths = [longest] + [max(1, round(room * n / sum(natural))) for n in natural]
            for colspec, width in zip(colspecs, widths):
                colspec["colwidth"] = width
            table["classes"].append("colwidths-given")


def _is_name(entry: nodes.Element) -> bool:
    """A table cell that holds one name of code, nothing else."""
    text = entry.astext().strip()
    return bool(text) and not any(c.isspace() for c in text) and (
        entry.next_node(nodes.literal) is not None)


def _in_cell_output(node: nodes.Node) -> bool:
    while node is not None:
        if isinstance(node, nodes.Element) and "cell_output" in node.get("classes", ()):
            return True
        node = node.parent
    return False


def _numbers(env: BuildEnvironment) -> dict:
    """``{docname: {figtype: {id: "7.2"}}}`` and each page's title and chapter number."""
    pages = {}
    for docname in sorted(env.all_docs):
        numbers = {
            figtype: {ident: ".".join(map(str, num)) for ident, num in sorted(ids.items())}
            for figtype, ids in env.toc_fignumbers.get(docname, {}).items()
        }
        secnumbers = env.toc_secnumbers.get(docname, {})
        chapter = ".".join(map(str, secnumbers.get("", ())))
        title = env.titles[docname].astext() if docname in env.titles else ""
        pages[docname] = {"title": title, "chapter": chapter, "numbers": numbers}
    return pages


def _write_numbers(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not _is_latex(app):
        return
    documents = [
        {"docname": entry[0], "target": entry[1], "title": entry[2]}
        for entry in app.config.latex_documents
    ]
    data = {"documents": documents, "pages": _numbers(app.env)}
    path = Path(app.outdir) / "numbers.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf8")


def setup(app: Sphinx) -> dict:
    # After sphinx-jupyterbook-latex's own builder-inited (priority 500) raised the depth.
    app.connect("builder-inited", _setup_builder, priority=900)
    app.connect("env-updated", _add_card)
    app.connect("build-finished", _write_numbers)
    app.add_post_transform(EquationsElsewhere)
    app.add_post_transform(PartTitles)
    app.add_post_transform(RootHeading)
    app.add_post_transform(FitOutputMath)
    app.add_post_transform(NameColumns)
    app.add_post_transform(WebOnly)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
