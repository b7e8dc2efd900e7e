"""Convert a chapter between .ipynb and a plain-text "percent" form, for editing in a text editor.

    python tools/nbtext.py book/stride.ipynb /tmp/stride.py   # notebook -> text
    python tools/nbtext.py /tmp/stride.py book/stride.ipynb   # text -> notebook (outputs dropped)

In the text form each cell starts with a line ``# %%`` (code) or ``# %% [markdown]``, optionally
followed by ``id=...`` (the cell's id, kept on the way back) and ``tags=a,b``. As in jupytext's
percent format, every line of a markdown cell is written with a ``# `` prefix (so the file stays
valid Python); the prefix is removed again when the text is turned into a notebook (a markdown
cell in which not every line carries the prefix is taken as it is). The notebook is the source of
truth: convert, edit, convert back, then re-run it with ``python tools/run_notebooks.py`` so its
saved outputs are a fresh run. Do not commit the text form.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat


def _comment(markdown: str) -> str:
    return "\n".join(f"# {line}" if line else "#" for line in markdown.split("\n"))


def _uncomment(body: str) -> str:
    lines = body.split("\n")
    if all(line == "#" or line.startswith("# ") for line in lines):
        return "\n".join(line[2:] for line in lines)
    return body


def to_text(nb: nbformat.NotebookNode) -> str:
    chunks = []
    for cell in nb.cells:
        markdown = cell.cell_type == "markdown"
        header = "# %% [markdown]" if markdown else "# %%"
        if cell.get("id"):
            header += " id=" + cell.id
        tags = cell.metadata.get("tags", [])
        if tags:
            header += " tags=" + ",".join(tags)
        chunks.append(f"{header}\n{_comment(cell.source) if markdown else cell.source}\n")
    return "\n".join(chunks)


def from_text(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    parts = re.split(r"^# %%(.*)$", text, flags=re.M)
    for header, body in zip(parts[1::2], parts[2::2]):
        header, body = header.strip(), body.strip("\n")
        if header.startswith("[markdown]"):
            cell = nbformat.v4.new_markdown_cell(_uncomment(body))
        else:
            cell = nbformat.v4.new_code_cell(body)
        cell_id = re.search(r"\bid=([\w-]+)", header)
        if cell_id:  # keep the id: the Colab cell is "colab-setup", and ids stay stable in diffs
            cell.id = cell_id.group(1)
        tags = re.search(r"tags=([\w,-]+)", header)
        if tags:
            cell.metadata["tags"] = tags.group(1).split(",")
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main(src: str, dst: str) -> int:
    if src.endswith(".ipynb"):
        Path(dst).write_text(to_text(nbformat.read(src, as_version=4)))
    else:
        nbformat.write(from_text(Path(src).read_text()), dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
