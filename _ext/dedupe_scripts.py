"""Drop repeated ``<script>`` tags from every page.

sphinx-thebe 0.3.1 adds its inline configuration script (``const THEBE_JS_URL = ...``) to every
page twice under this Jupyter Book, and the second copy throws ``SyntaxError: Identifier
'THEBE_JS_URL' has already been declared`` in every reader's browser (tools/check_site.py reports
it). This keeps the first of identical script entries (same file, same attributes, same inline
body; a missing file name written as ``None`` or ``""`` alike) and drops the rest. Enabled from
``_config.yml`` (``sphinx.local_extensions``).
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _key(script) -> tuple:
    # The two copies differ only in their file name, None and "" (neither is a file).
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def _dedupe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _dedupe, priority=900)  # after every extension added its own
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
