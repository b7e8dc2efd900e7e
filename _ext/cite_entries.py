"""BibTeX entries for the book and for each of its chapters, generated at build time.

Two directives for ``book/cite.md``::

    ```{bibtex-book}
    ```

    ```{bibtex-chapters}
    ```

The first prints a ``@misc`` entry for the whole book, the second one ``@incollection`` entry per
numbered chapter, in the order of ``_toc.yml``, with the chapter's title, number and address. The
version and the date come from ``CITATION.cff`` and the address from ``html.baseurl`` in
``_config.yml``, so the entries cannot drift from the release they describe. Chapter titles and
numbers are only known once every page has been read, so the directives leave placeholders that
are filled in when the page is resolved.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


class bibtex_placeholder(nodes.General, nodes.Element):
    """Replaced by literal blocks of BibTeX in ``doctree-resolved``."""


class BibtexBook(SphinxDirective):
    def run(self):
        self.env.note_reread()  # the version may change without this page changing
        return [bibtex_placeholder(what="book")]


class BibtexChapters(SphinxDirective):
    def run(self):
        self.env.note_reread()  # so are the chapters' titles and numbers
        return [bibtex_placeholder(what="chapters")]


def _citation(app: Sphinx) -> dict:
    path = Path(app.srcdir) / "CITATION.cff"
    try:
        cff = yaml.safe_load(path.read_text(encoding="utf8"))
        return {"version": str(cff["version"]), "year": str(cff["date-released"])[:4]}
    except (OSError, KeyError, TypeError, yaml.YAMLError) as err:
        logger.warning("cite_entries: cannot read version and date-released from %s: %s", path, err)
        return {"version": "?", "year": "?"}


def _chapters(app: Sphinx) -> list[tuple[str, str, str]]:
    """``(docname, number, title)`` of every numbered page, in the order of the table of contents."""
    env = app.env
    order: list[str] = []

    def walk(doc: str) -> None:
        for child in env.toctree_includes.get(doc, []):
            if child not in order:
                order.append(child)
                walk(child)

    walk(app.config.root_doc)
    out = []
    for doc in order:
        number = env.toc_secnumbers.get(doc, {}).get("")
        if number:
            out.append((doc, ".".join(map(str, number)), env.titles[doc].astext()))
    return out


def _url(app: Sphinx, docname: str | None) -> str:
    """The published address of a page, or of the site (``docname=None``)."""
    base = (app.config.html_baseurl or "").rstrip("/")
    return f"{base}/" if docname is None else f"{base}/{docname}.html"


#: The widest line of an entry that the book's code column shows without scrolling.
MAX_LINE = 76


def _field_lines(fields: list[tuple[str, str]]) -> str:
    """``key = {value}`` lines, the ``=`` aligned unless that makes a line wider than the column."""
    width = max(len(k) for k, _ in fields)
    lines = [f"  {k.ljust(width)} = {{{v}}}" for k, v in fields]
    if max(map(len, lines)) > MAX_LINE:
        lines = [f"  {k} = {{{v}}}" for k, v in fields]
    return ",\n".join(lines)


def _book_entry(app: Sphinx, cite: dict) -> str:
    fields = [
        ("author", "{" + app.config.author + "}"),
        ("title", app.config.html_title),
        ("year", cite["year"]),
        ("note", f"Version {cite['version']}"),
        ("url", _url(app, None)),
    ]
    return "@misc{convgrad,\n" + _field_lines(fields) + "\n}"


def _chapter_entry(app: Sphinx, cite: dict, doc: str, number: str, title: str) -> str:
    key = "convgrad-" + doc.rsplit("/", 1)[-1]
    fields = [
        ("author", "{" + app.config.author + "}"),
        ("title", title),
        ("booktitle", app.config.html_title),
        ("chapter", number),
        ("year", cite["year"]),
        ("note", f"Version {cite['version']}"),
        ("url", _url(app, doc)),
    ]
    return f"@incollection{{{key},\n" + _field_lines(fields) + "\n}"


def _literal(text: str) -> nodes.literal_block:
    block = nodes.literal_block(text, text)
    block["language"] = "bibtex"
    return block


def _resolve(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    placeholders = list(doctree.findall(bibtex_placeholder))
    if not placeholders:
        return
    cite = _citation(app)
    for node in placeholders:
        if node["what"] == "book":
            node.replace_self(_literal(_book_entry(app, cite)))
            continue
        items = []
        for doc, number, title in _chapters(app):
            para = nodes.paragraph()
            para += nodes.Text(f"Chapter {number}, ")
            para += nodes.emphasis(title, title)
            para += nodes.Text(f" ({doc.rsplit('/', 1)[-1]}):")
            items += [para, _literal(_chapter_entry(app, cite, doc, number, title))]
        node.replace_self(items or [nodes.paragraph(text="(No numbered chapters yet.)")])


def setup(app: Sphinx) -> dict:
    app.add_node(bibtex_placeholder)
    app.add_directive("bibtex-book", BibtexBook)
    app.add_directive("bibtex-chapters", BibtexChapters)
    app.connect("doctree-resolved", _resolve)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
