"""Serve MathJax 3 from the site itself, so that the published pages render their math offline.

Sphinx loads MathJax from a CDN by default; with no network every equation would stay raw TeX.
This extension points ``mathjax_path`` at ``_static/mathjax/tex-mml-chtml.js`` (the bundle Sphinx
uses by default) and copies MathJax's ``es5/`` folder there before the pages are written. The copy
comes from npm, pinned in ``package.json`` and ``package-lock.json``: ``npm ci`` at the repository
root puts it in ``node_modules/mathjax``.

Without ``node_modules/mathjax`` (or with a version other than the pinned one) the build emits a
warning, an error under ``-W``, and the pages fall back to Sphinx's CDN copy of MathJax.
Enabled from ``_config.yml`` (``sphinx.local_extensions``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

BUNDLE = "tex-mml-chtml.js"  # the component Sphinx loads by default (TeX and MathML in, CHTML out)
TARGET = "mathjax"  # folder under _static/


def _pinned_version(root: Path) -> str | None:
    try:
        return json.loads((root / "package.json").read_text())["dependencies"]["mathjax"]
    except (OSError, KeyError, ValueError):
        return None


def _installed(root: Path) -> Path | None:
    """``node_modules/mathjax/es5`` if it holds the pinned version, else ``None`` (and a warning)."""
    package = root / "node_modules" / "mathjax"
    pinned = _pinned_version(root)
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        logger.warning(
            "local_mathjax: %s not found, so the pages load MathJax from a CDN and show raw TeX "
            "without a network. Run `npm ci` in %s (MathJax %s, pinned in package-lock.json).",
            package, root, pinned,
        )
        return None
    if pinned is not None and version != pinned:
        logger.warning(
            "local_mathjax: node_modules has MathJax %s but package.json pins %s; run `npm ci`.",
            version, pinned,
        )
        return None
    if not (package / "es5" / BUNDLE).is_file():
        logger.warning("local_mathjax: %s has no es5/%s; run `npm ci`.", package, BUNDLE)
        return None
    return package / "es5"


_SOURCE: dict[int, Path] = {}  # id(app) -> node_modules/mathjax/es5, for _copy


def _configure(app: Sphinx, config) -> None:
    source = _installed(Path(app.srcdir))
    if source is not None:
        _SOURCE[id(app)] = source
        config.mathjax_path = f"{TARGET}/{BUNDLE}"  # relative to _static/


def _copy(app: Sphinx) -> None:
    """Copy before the pages are written, so Sphinx finds the file for its ``?v=`` checksum."""
    source = _SOURCE.get(id(app))
    if source is not None and app.builder.format == "html":
        shutil.copytree(source, Path(app.outdir) / "_static" / TARGET, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _copy)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
