"""The API reference's plumbing: every module documented, and references that find their target.

**The** ``automodules`` **directive** documents every module of a package, the listed ones first.
Used in ``book/api.md`` inside ``{eval-rst}``::

    .. automodules:: convgrad
       :exclude: convgrad.check convgrad.symbolic convgrad.figures
       :exclude-members: conv, conv_backward
       :documented-only: convgrad.geometry

       convgrad.geometry
       convgrad.functional

Each top-level module of the package gets a rubric with its name and ``.. automodule::`` with
``:members:`` and ``:undoc-members:`` (only ``:members:`` for the ``:documented-only:`` ones, e.g.
a dataclass whose fields its docstring describes): first the listed modules, in that order (one
that does not exist is skipped), then every other module not excluded, alphabetically. So a new
module appears in the API reference, and references to it from other docstrings resolve, without
editing the page.

**References** (``missing-reference``): a Python reference that Sphinx cannot resolve is tried
again (1) at the object's definition, for a name a package re-exports
(``convgrad.symbolic.pairing`` is documented as ``convgrad.symbolic.toolkit.pairing``), and (2) as
a suffix, as if written with a leading dot (``ConvGeometry.flops``), when exactly one documented
object matches. Anything else stays unresolved, and ``-n`` reports it.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil

from docutils import nodes
from docutils.nodes import Element
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


class AutoModules(SphinxDirective):
    required_arguments = 1
    has_content = True
    option_spec = {"exclude": directives.unchanged, "exclude-members": directives.unchanged,
                   "documented-only": directives.unchanged}

    def run(self):
        package = importlib.import_module(self.arguments[0])
        names = sorted(f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                       if not m.name.startswith("_"))
        excluded = self.options.get("exclude", "").split()
        documented_only = self.options.get("documented-only", "").split()
        listed = [line.strip() for line in self.content if line.strip()]
        order = [n for n in listed if n in names]
        order += [n for n in names if n not in order
                  and not any(fnmatch.fnmatch(n, pattern) for pattern in excluded)]
        lines = []
        for name in order:
            lines += [f".. rubric:: ``{name}``", "", f".. automodule:: {name}", "   :members:"]
            if not any(fnmatch.fnmatch(name, pattern) for pattern in documented_only):
                lines.append("   :undoc-members:")
            if self.options.get("exclude-members"):
                lines.append(f"   :exclude-members: {self.options['exclude-members']}")
            lines.append("")
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source=self.get_source_info()[0]),
                                 container)
        return container.children


def _definition(target: str) -> str | None:
    """Where the object a dotted name refers to is defined, e.g. ``pkg.mod.func``; else ``None``."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        return f"{module}.{qualname}" if module and qualname else None
    return None


def _resolve(app: Sphinx, env, node: Element, contnode: Element):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    target, typ = node["reftarget"], node["reftype"]
    candidates = []
    defined = _definition(target)
    if defined and defined != target and defined in domain.objects:
        candidates.append(defined)
    if not candidates:
        candidates = [name for name in domain.objects if name.endswith("." + target)]
    if len(candidates) != 1:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, typ, candidates[0], node, contnode)


def setup(app: Sphinx) -> dict:
    app.add_directive("automodules", AutoModules)
    app.connect("missing-reference", _resolve)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
