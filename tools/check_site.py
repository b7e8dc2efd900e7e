"""Open every page of the built site in headless Chromium and check what a reader would see.

    python tools/check_site.py                      # check _build/html
    python tools/check_site.py --self-test          # show that each kind of breakage is caught
    python tools/check_site.py --widths             # only the report of blocks wider than the column
    python tools/check_site.py --screenshot book/introduction.html --full-page

The site is served by Python's http.server on 127.0.0.1 and opened with Playwright for Python in
the system's Chromium (Debian's ``chromium`` package, ``/usr/bin/chromium``; Playwright downloads
no browser), at a 1280 x 900 viewport. Host names do not resolve in the browser
(``--host-resolver-rules``), so the pages get no network, and every request that is not to the local
server is recorded and reported. On every page it checks (in bold, the kind of problem reported):

* **math**: MathJax ran (served from ``_static/mathjax``) and every ``.math`` element holds a
  rendered ``mjx-container``; **tex-error**: no TeX error (``merror``, or an undefined macro shown
  in red);
* **raw-tex**: no ``$$``, ``\\begin{``, ``\\(`` ... and no ``$...\\macro...$`` on one line left in
  the visible text outside code;
* **tex-in-prose**: no TeX macro (``\\bar``, ``\\langle`` ..., any backslash and letters) and no
  ``$`` next to a macro or a ``^``/``_`` group in the text outside rendered math and outside code
  (``pre, code, kbd, samp, script, style``), collapsed dropdowns included: math whose ``$`` did not
  pair up, or a solution line starting with ``+`` that became a list item;
* **dollar-link**: no link whose text shows a ``$`` (a title with math used as link text);
* **too-wide**: no block wider than the box that holds it (``scrollWidth > clientWidth + 1``: the
  reader would scroll sideways) or reaching past the article's text column, measured at 1280 px
  with every dropdown and hidden cell opened. Blocks are of four kinds: *equation* (display math,
  in the text or a text/latex cell output), *code* (code cells, literal blocks), *output* (text
  output) and *table*. Each is reported with its width, the box's and the column's, the longest
  line in characters (code, output), its first characters (the TeX source for an equation) and the
  heading or admonition it sits under; ``--widths`` prints only this report;
* **error-output**: no traceback, error or stderr output and no docutils system message;
* **image**: every ``<img>`` loads (``naturalWidth > 0``);
* **link** / **anchor**: every internal link and resource points at a file that exists, and every
  ``#anchor`` at an id on the target page;
* **network** / **http-error**: no request leaves 127.0.0.1, and no local request fails;
* **js-error**: no uncaught exception or ``console.error``;
* **structure**: one ``<h1>`` per page, no heading that starts with ``#`` (markdown written as
  comment lines), no numbered equation without a label.

Exit status 0 when every page passes (``--warn-only KIND`` reports a kind without failing on it;
with ``--widths``, 0 when no block is too wide).
``--self-test`` copies the site, breaks copies of one page in each of those ways, and checks that
every breakage is reported and the untouched copy is not.
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No host name resolves: only the local server, 127.0.0.1, is reachable.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1280, "height": 900}

# Evaluated in each page once it has loaded; returns what the checks need. It runs the width
# measurement last, because that opens every dropdown and hidden cell.
PAGE_PROBE = r"""
async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const squash = (s, n) => s.replace(/\s+/g, " ").trim().slice(0, n);
  const out = {};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, sleep(30000)]);
  }
  out.mathjaxVersion = (window.MathJax && MathJax.version) || null;
  out.rendered = document.querySelectorAll("mjx-container").length;
  const mathEls = [...document.querySelectorAll(".math")];
  out.mathElements = mathEls.length;
  out.unrendered = mathEls.filter((e) => !e.querySelector("mjx-container"))
                          .map((e) => e.textContent.trim().slice(0, 100));
  out.texErrors = [...document.querySelectorAll("mjx-merror")]
                    .map((e) => e.getAttribute("data-mjx-error") || e.textContent.slice(0, 100));
  const texSource = new Map();  // mjx-container -> its TeX
  try {
    for (const item of MathJax.startup.document.math) {
      texSource.set(item.typesetRoot, item.math);
      item.root.walkTree((node) => {
        if (node.isKind("mtext") && node.attributes.get("mathcolor") === "red") {
          const t = node.childNodes.map((c) => c.text || "").join("");
          if (t.startsWith("\\")) {
            out.texErrors.push("undefined macro " + t + " in: " + item.math.slice(0, 100));
          }
        }
      });
    }
  } catch (e) { /* no MathJax on the page, or no math */ }

  // Where a block sits, for the author: the admonition's title, else the section's heading.
  const where = (el) => {
    const box = el.closest(".admonition:not(details.hide)");
    const title = box && box.querySelector(".admonition-title");
    if (title && squash(title.textContent, 80)) return squash(title.textContent, 80);
    const section = el.closest("section");
    const heading = section && section.querySelector("h1, h2, h3, h4, h5, h6");
    const hidden = el.closest("details.hide") ? " (hidden cell)" : "";
    return heading ? squash(heading.textContent.replace(/#$/, ""), 80) + hidden : "";
  };

  const NOT_PROSE = "pre, code, kbd, samp, script, style, noscript, textarea, template, mjx-container";
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll(NOT_PROSE).forEach((e) => e.remove());
  out.text = clone.textContent;

  // The prose, block by block (hidden text included: a collapsed solution is still read), with
  // rendered math and inline code as placeholders so that what is left reads in context.
  const BLOCK = "p, li, dt, dd, th, td, h1, h2, h3, h4, h5, h6, caption, figcaption, blockquote, "
              + "div, section, article, aside, nav, header, footer, main, details, summary";
  const blocks = new Map([[document.body, ""]]);
  const visit = (node, block) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        blocks.set(block, blocks.get(block) + child.data);
      } else if (child.nodeType !== Node.ELEMENT_NODE) {
        continue;
      } else if (child.matches(".math, mjx-container")) {
        blocks.set(block, blocks.get(block) + "[math]");
      } else if (child.matches("code, kbd, samp")) {
        blocks.set(block, blocks.get(block) + "[code]");
      } else if (!child.matches(NOT_PROSE)) {
        if (child.matches(BLOCK)) blocks.set(child, "");
        visit(child, child.matches(BLOCK) ? child : block);
      }
    }
  };
  visit(document.body, document.body);
  out.prose = [...blocks].filter(([, text]) => /[\\$]/.test(text))
    .map(([block, text]) => ({ text: squash(text, 1000), where: where(block) }));

  out.dollarLinks = [...document.querySelectorAll("a")].map((a) => {
    const c = a.cloneNode(true);
    c.querySelectorAll(NOT_PROSE).forEach((e) => e.remove());
    return { text: squash(c.textContent, 100), href: a.getAttribute("href") || "",
             where: where(a) };
  }).filter((link) => link.text.includes("$"));

  out.errorOutputs = [...document.querySelectorAll(
      ".output.traceback, .output.error, .output.stderr, .system-message, .problematic")]
    .map((e) => e.className + ": " + squash(e.textContent, 160));
  out.hasTraceback = document.body.textContent.includes("Traceback (most recent call last)");

  out.images = await Promise.all([...document.images].map(async (img) => {
    const src = img.currentSrc || img.src;
    const probe = new Image();
    probe.src = src;
    try { await probe.decode(); } catch (e) { /* reported through naturalWidth */ }
    return { src: img.getAttribute("src"), width: probe.naturalWidth };
  }));

  const article = document.querySelector("article") || document.body;
  out.h1 = [...article.querySelectorAll("h1")].map((h) => h.textContent.trim().slice(0, 100));
  out.hashHeadings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
    .map((h) => h.textContent.trim()).filter((t) => t.startsWith("#")).map((t) => t.slice(0, 100));
  out.unlabelledEquations = [...document.querySelectorAll(".eqno")]
    .map((e) => e.closest(".math"))
    .filter((m) => !m || !m.id || /^equation-[0-9a-f]{8}-[0-9a-f]{4}-/.test(m.id))
    .map((m) => (m ? m.textContent.trim().slice(0, 100) : "?"));

  out.links = [...document.querySelectorAll("a[href]")].map((a) => a.href);
  out.resources = [...document.querySelectorAll(
      "link[href], script[src], img[src], iframe[src], source[src], video[src], audio[src]")]
    .filter((e) => !(e.tagName === "LINK" && /\b(canonical|alternate)\b/.test(e.rel)))
    .map((e) => e.href || e.src);
  out.ids = [...document.querySelectorAll("[id]")].map((e) => e.id)
    .concat([...document.querySelectorAll("a[name]")].map((a) => a.name));

  // Widths: open what a reader can open, then measure every block against its box and column.
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const cs = getComputedStyle(article);
  const ar = article.getBoundingClientRect();
  const columnLeft = ar.left + article.clientLeft + parseFloat(cs.paddingLeft);
  const columnRight = ar.left + article.clientLeft + article.clientWidth - parseFloat(cs.paddingRight);
  out.column = Math.round(columnRight - columnLeft);
  const candidates = [
    ...[...article.querySelectorAll('mjx-container[display="true"]')].map((e) => [e, "equation"]),
    ...[...article.querySelectorAll("pre")].map((e) => [e, "code"]),
    ...[...article.querySelectorAll(".cell_output .output:not(.math)")]
      .filter((e) => !e.querySelector("pre")).map((e) => [e, "output"]),
    ...[...article.querySelectorAll("table")].map((e) => [e, "table"]),
  ];
  out.blocks = 0;
  out.wide = [];
  for (const [el, baseKind] of candidates) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not displayed even with dropdowns open
    out.blocks += 1;
    const inOutput = Boolean(el.closest(".cell_output"));
    const kind = baseKind === "code" && inOutput ? "output" : baseKind;
    // The box that scrolls it: the element itself or the nearest clipping ancestor.
    let box = null;
    for (let a = el; a && a !== article; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") { box = a; break; }
    }
    const content = box === el ? el.scrollWidth : Math.max(r.width, el.scrollWidth);
    let room, wide, visibleRight;
    if (box) {
      const br = box.getBoundingClientRect();
      const boxRight = br.left + box.clientLeft + box.clientWidth;
      room = box.clientWidth;
      wide = box.scrollWidth > room + 1 && r.left + content > boxRight + 1;
      visibleRight = Math.min(r.left + content, br.right);
    } else {
      room = columnRight - r.left;
      wide = false;
      visibleRight = r.left + content;
    }
    wide = wide || visibleRight > columnRight + 1;  // sticks out of the text column
    if (!wide) continue;
    const text = baseKind === "equation" ? (texSource.get(el) || el.textContent)
      : baseKind === "table" ? [...el.querySelectorAll("th, td")].map((c) => c.textContent.trim()).join(" | ")
      : el.textContent;
    const longest = baseKind === "code" ? Math.max(...el.textContent.split("\n").map((l) => l.length)) : 0;
    out.wide.push({ kind, content: Math.round(content), room: Math.round(room), longest,
                    text: squash(text, 60),
                    where: where(el) + (baseKind === "equation" && inOutput ? " (cell output)" : "") });
  }
  await sleep(100);  // let late requests (fonts, images) be recorded
  return out;
}
"""

RAW_TEX = [
    ("$$", re.compile(r"\$\$")),
    ("\\begin{", re.compile(r"\\begin\{")),
    ("\\end{", re.compile(r"\\end\{")),
    ("\\(", re.compile(r"\\\(")),
    ("\\)", re.compile(r"\\\)")),
    ("\\[", re.compile(r"\\\[")),
    ("\\]", re.compile(r"\\\]")),
    ("$...\\macro...$", re.compile(r"\$[^$\s][^$\n]{0,200}?\\[A-Za-z]+[^$\n]{0,200}?\$")),
]

TEX_MACRO = re.compile(r"\\[A-Za-z]+")
# A "$" right before or after a macro (and its argument) or a ^/_ group: "$\bar y", "\rangle$",
# "\bar y$", "$x^2", "y_{i}$".
TEX_DOLLAR = re.compile(
    r"\$\s?\\[A-Za-z]+"
    r"|\\[A-Za-z]+(?:\{[^{}$]*\})*(?:\s?[A-Za-z0-9])?\s?\$"
    r"|\$[^\s$]{0,12}[\^_](?:\{|[A-Za-z0-9])"
    r"|[\^_](?:\{[^{}$]*\}|[A-Za-z0-9]+)\$"
)


def tex_in_prose(text: str) -> list[str]:
    """The TeX left in a piece of prose: its macros, then each ``$`` next to TeX, in order found."""
    found = list(dict.fromkeys(m.group() for m in TEX_MACRO.finditer(text)))
    found += list(dict.fromkeys(m.group() for m in TEX_DOLLAR.finditer(text)))
    return found


def excerpt(text: str, needle: str, width: int = 40) -> str:
    """``...text around the first needle...``, at most ``width`` characters either side."""
    at = max(text.find(needle), 0)
    start, end = max(at - width, 0), min(at + len(needle) + width, len(text))
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


# --------------------------------------------------------------------------------------------
# The local server.


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@dataclass
class Server:
    root: Path
    httpd: http.server.ThreadingHTTPServer = field(init=False)

    def __post_init__(self):
        handler = functools.partial(QuietHandler, directory=str(self.root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------
# What the browser does while a page loads.


@dataclass
class Events:
    """Requests, failures, responses and script errors of one page, recorded as they happen."""

    origin: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", self.on_request)
        page.on("requestfailed", self.on_request_failed)
        page.on("response", self.on_response)
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)

    def on_request(self, request) -> None:
        if not request.url.startswith((self.origin + "/", "data:", "blob:", "about:")):
            self.problems.append(("network", f"request to {request.url}"))

    def on_request_failed(self, request) -> None:
        failure = request.failure or "?"
        if request.url.startswith(self.origin + "/") and failure != "net::ERR_ABORTED":
            self.problems.append(("http-error", f"{failure} for {request.url}"))

    def on_response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(("http-error", f"{response.status} for {response.url}"))

    def on_console(self, message) -> None:
        # The browser's own "Failed to load resource" lines are the requests reported above.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(("js-error", f"console.error: {message.text[:200]}"))

    def on_page_error(self, error) -> None:
        self.problems.append(("js-error", f"{error.name}: {error.message}".splitlines()[0]))


# --------------------------------------------------------------------------------------------
# Checking.


@dataclass
class Wide:
    kind: str  # equation, code, output or table
    content: int  # px
    room: int  # px, the box the reader scrolls
    column: int  # px, the article's text column
    text: str  # the first characters (TeX source for equations)
    where: str  # the heading or admonition title it sits under
    longest: int = 0  # characters in the longest line, for code and text output

    def __str__(self) -> str:
        box = f"a {self.room} px box (column {self.column} px)" if self.room < self.column - 1 \
            else f"a {self.column} px column"
        chars = f" (longest line {self.longest} chars)" if self.longest else ""
        where = f" under {self.where!r}" if self.where else ""
        return f"{self.kind} {self.content} px wide in {box}{chars}{where}: {self.text}"


@dataclass
class PageReport:
    page: str
    equations: int = 0
    images: int = 0
    links: int = 0
    blocks: int = 0
    wide: list[Wide] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, detail: str) -> None:
        self.problems.append((kind, detail))


class IdCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.refresh: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            match = re.search(r"url=(.+)", attrs.get("content") or "", re.I)
            self.refresh = match.group(1).strip("'\" ") if match else ""


@functools.cache
def parse_html(path: Path) -> IdCollector:
    collector = IdCollector()
    collector.feed(path.read_text(encoding="utf8", errors="replace"))
    return collector


def site_pages(root: Path) -> list[str]:
    skip = ("_static/", "_sources/", "_images/", "_downloads/", "_sphinx_design_static/")
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.html")
        if not p.relative_to(root).as_posix().startswith(skip)
    )


def local_file(root: Path, origin: str, url: str) -> tuple[Path, str] | None:
    """``(file, fragment)`` for a URL on the local server, ``None`` for any other URL."""
    parts = urllib.parse.urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    path = root / urllib.parse.unquote(parts.path).lstrip("/")
    if parts.path.endswith("/") or path.is_dir():
        path = path / "index.html"
    return path, urllib.parse.unquote(parts.fragment)


def check_page(page: Page, events: Events, server: Server, name: str) -> PageReport:
    report = PageReport(name)
    root, origin = server.root, server.origin
    static = parse_html(root / name)
    if static.refresh is not None:  # a redirect page: check where it points, do not render it
        target = urllib.parse.urljoin(f"{origin}/{name}", static.refresh)
        resolved = local_file(root, origin, target)
        if resolved is None or not resolved[0].is_file():
            report.add("link", f"redirect to missing {static.refresh!r}")
        report.links = 1
        return report

    events.origin = origin
    events.problems.clear()
    url = f"{origin}/{name}"
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        probe = page.evaluate(PAGE_PROBE)
        page.wait_for_timeout(50)  # deliver the events still queued
    except PlaywrightError as error:
        report.add("load", f"{url}: {str(error).splitlines()[0]}")
        return report

    # math
    report.equations = probe["rendered"]
    if probe["mathElements"] and not probe["mathjaxVersion"]:
        report.add("math", f"MathJax did not load; {probe['mathElements']} math elements stay raw")
    for text in probe["unrendered"][:5]:
        report.add("math", f"not rendered: {text}")
    if len(probe["unrendered"]) > 5:
        report.add("math", f"... and {len(probe['unrendered']) - 5} more unrendered")
    for text in probe["texErrors"]:
        report.add("tex-error", text)
    for label, pattern in RAW_TEX:
        for match in list(pattern.finditer(probe["text"]))[:3]:
            start = max(match.start() - 40, 0)
            context = probe["text"][start:match.end() + 40].replace("\n", " ")
            report.add("raw-tex", f"{label} in visible text: ...{context.strip()}...")
    for block in probe["prose"]:
        if found := tex_in_prose(block["text"]):
            where = f" under {block['where']!r}" if block["where"] else ""
            report.add("tex-in-prose", f"{' '.join(found[:8])}{where}: {excerpt(block['text'], found[0])}")
    for link in probe["dollarLinks"]:
        where = f" under {link['where']!r}" if link["where"] else ""
        report.add("dollar-link", f"link text {link['text']!r} (to {link['href']}){where}")

    # widths
    report.blocks = probe["blocks"]
    report.wide = [Wide(column=probe["column"], **w) for w in probe["wide"]]
    for wide in report.wide:
        report.add("too-wide", str(wide))

    # error output
    for text in probe["errorOutputs"]:
        report.add("error-output", text)
    if probe["hasTraceback"] and not probe["errorOutputs"]:
        report.add("error-output", "the page shows 'Traceback (most recent call last)'")

    # images
    report.images = len(probe["images"])
    for image in probe["images"]:
        if image["width"] <= 0:
            report.add("image", f"does not load: {image['src']}")

    # structure
    if len(probe["h1"]) != 1:
        report.add("structure", f"{len(probe['h1'])} <h1> headings (expected 1): {probe['h1'][:4]}")
    for text in probe["hashHeadings"]:
        report.add("structure", f"heading starts with '#' (markdown written as comments?): {text}")
    for text in probe["unlabelledEquations"]:
        report.add("structure", f"numbered equation without a label: {text}")

    # links and resources
    live_ids = set(probe["ids"])
    internal = 0
    for kind, urls in (("link", probe["links"]), ("resource", probe["resources"])):
        for target in urls:
            scheme = urllib.parse.urlsplit(target).scheme
            if scheme not in ("http", "https"):
                continue  # mailto:, javascript:, data:
            resolved = local_file(root, origin, target)
            if resolved is None:
                if kind == "resource":
                    report.add("network", f"the page references an outside resource: {target}")
                continue
            internal += 1
            path, fragment = resolved
            if not path.is_file():
                report.add("link", f"{kind} to a missing file: {target[len(origin):]}")
                continue
            if fragment and path.suffix == ".html":
                ids = live_ids | parse_html(path).ids if path == root / name else parse_html(path).ids
                if fragment not in ids:
                    report.add("anchor", f"no id {fragment!r} in {path.relative_to(root)}")
    report.links = internal

    # what the browser did: requests, failures, script errors
    report.problems += dict.fromkeys(events.problems)  # once each: an image is fetched twice
    return report


def screenshot(page: Page, server: Server, name: str, dest: Path, full_page: bool) -> None:
    page.goto(f"{server.origin}/{name}", wait_until="load", timeout=60_000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    dest.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=dest, full_page=full_page, timeout=60_000)


def print_report(report: PageReport, widths_only: bool) -> None:
    if widths_only:
        counts = Counter(w.kind for w in report.wide)
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        print(f"  {report.page:<40} {len(report.wide):>3} of {report.blocks:>4} blocks too wide"
              f"{f' ({detail})' if detail else ''}", flush=True)
        for wide in report.wide:
            print(f"      {wide}", flush=True)
        return
    status = "ok" if not report.problems else f"{len(report.problems)} PROBLEMS"
    print(f"  {report.page:<40} equations {report.equations:>5}  images {report.images:>3}  "
          f"internal links {report.links:>4}  {status}", flush=True)
    for kind, detail in report.problems:
        print(f"      [{kind}] {detail}", flush=True)


def check_site(page: Page, events: Events, root: Path, pages: list[str] | None = None,
               verbose: bool = True, widths_only: bool = False) -> list[PageReport]:
    server = Server(root)
    try:
        reports = []
        for name in pages if pages is not None else site_pages(root):
            reports.append(check_page(page, events, server, name))
            if verbose:
                print_report(reports[-1], widths_only)
        return reports
    finally:
        server.close()


# --------------------------------------------------------------------------------------------
# Self-test: break copies of a real page in every way the checker looks for.

TRACEBACK_HTML = (
    '<div class="cell_output docutils container"><div class="output traceback highlight-ipythontb'
    ' notranslate"><div class="highlight"><pre><span></span>'
    "---------------------------------------------------------------------------\n"
    "ValueError                                Traceback (most recent call last)\n"
    "Cell In[3], line 1\n----&gt; 1 cg.conv(x, w)\n"
    "ValueError: x has 3 channels but w expects 4\n</pre></div></div></div>"
)

MATH = '<span class="math notranslate nohighlight">{}</span>'

# name: (how to break the page, the problem kinds that must be reported; "too-wide code" is a
# too-wide problem about a code block)
BREAKAGES = {
    "raw-tex": (lambda html: re.sub(r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*></script>', "", html),
                {"math", "raw-tex"}),
    "tex-error": (lambda html: insert(
        html, "<p>" + MATH.format(r"\(a \over b \over c\)") + ", "
              + MATH.format(r"\(\undefinedmacro x\)") + "</p>"),
        {"tex-error"}),
    # "$" that MathJax never sees: it only typesets \(...\) and only outside mathjax_ignore.
    "tex-dollar": (lambda html: insert(
        html, r'<p class="mathjax_ignore">the pairing $\langle \bar y, \dot y\rangle$ is '
              r'bilinear, and $x^2$ is not.</p>'),
        {"tex-in-prose"}),
    # A solution whose second source line began with "+" (as in the book's Exercise 3.3(b)): the
    # "$" pair is split across a paragraph and a list item, and lines, so raw-tex misses it.
    "tex-plus-line": (lambda html: insert(
        html, '<div class="solution dropdown admonition toggle toggle-hidden">'
              '<p class="admonition-title">Solution to Exercise 0.0</p>\n'
              r'<p>(b) $\dot y = \dot W x</p>' '\n' r'<ul class="simple"><li><p>W\dot x + \dot b'
              + MATH.format(r"\(, so \)") + "\n" + r"\bar x = \bar y$.</p></li></ul></div>"),
        {"tex-in-prose"}),
    "dollar-link": (lambda html: insert(
        html, '<p>see <a class="reference internal" href="#"><span class="doc">$N$ dimensions'
              '</span></a></p>'),
        {"dollar-link"}),
    "wide-equation": (lambda html: insert(
        html, '<div class="math notranslate nohighlight">\\['
              + " + ".join(f"\\bar x_{{{i}}} \\dot w_{{{i}}}" for i in range(40)) + "\\]</div>"),
        {"too-wide", "too-wide equation"}),
    "wide-code": (lambda html: insert(
        html, '<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span>'
              + "y = conv(x, w)  # " + "a comment longer than the column " * 4 + "</pre></div></div>"),
        {"too-wide", "too-wide code"}),
    "wide-output": (lambda html: insert(
        html, '<div class="cell_output docutils container"><div class="output stream '
              'highlight-myst-ansi notranslate"><div class="highlight"><pre><span></span>'
              + " ".join(f"{i:.6f}" for i in range(20)) + "</pre></div></div></div>"),
        {"too-wide", "too-wide output"}),
    "wide-table": (lambda html: insert(
        html, '<div class="pst-scrollable-table-container"><table class="table"><tbody><tr>'
              + "".join(f"<td>column_{i}</td>" for i in range(30)) + "</tr></tbody></table></div>"),
        {"too-wide", "too-wide table"}),
    "missing-image": (lambda html: insert(html, '<img src="../_images/check-site-missing.png" '
                                                'alt="a figure that is not there">'),
                      {"image"}),
    "dead-link": (lambda html: insert(html, '<a href="check-site-no-such-page.html">a</a> '
                                            '<a href="#check-site-no-such-anchor">b</a>'),
                  {"link", "anchor"}),
    "traceback": (lambda html: insert(html, TRACEBACK_HTML), {"error-output"}),
    "network": (lambda html: insert(
        html, '<script>fetch("https://cdn.jsdelivr.net/npm/mathjax@3/package.json")'
              '.catch(() => null)</script>'),
        {"network"}),
    "js-error": (lambda html: insert(html, "<script>throw new Error('check_site self-test')</script>"),
                 {"js-error"}),
    "heading": (lambda html: insert(html, "<h1># Each slice of dK is one correlation</h1>"),
                {"structure"}),
}


def insert(page_html: str, snippet: str) -> str:
    """Put ``snippet`` at the start of the page's article."""
    match = re.search(r"<article[^>]*>", page_html)
    if match is None:
        raise SystemExit("check_site --self-test: the page has no <article> to put the breakage in")
    return page_html[:match.end()] + snippet + page_html[match.end():]


def self_test(page: Page, events: Events, site: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="check_site_selftest_") as tmp:
        copy = Path(tmp) / "html"
        shutil.copytree(site, copy)
        base = None
        for candidate in ["book/notation.html", *site_pages(copy)]:
            path = copy / candidate
            if path.is_file() and "class=\"math" in path.read_text(encoding="utf8"):
                report = check_site(page, events, copy, [candidate], verbose=False)[0]
                if not report.problems and report.equations > 0:
                    base = candidate
                    break
        if base is None:
            print("self-test: FAILED, no page with rendered math passes the checks to start from")
            return False
        original = (copy / base).read_text(encoding="utf8")
        folder = Path(base).parent
        pages = {"control": (folder / "check-site-control.html").as_posix()}
        (copy / pages["control"]).write_text(original, encoding="utf8")
        for name, (breaker, _) in BREAKAGES.items():
            pages[name] = (folder / f"check-site-{name}.html").as_posix()
            broken = breaker(original)
            assert broken != original, name
            (copy / pages[name]).write_text(broken, encoding="utf8")
        parse_html.cache_clear()
        reports = dict(zip(pages, check_site(page, events, copy, list(pages.values()), verbose=False)))

    print(f"self-test: broken copies of {base}")
    ok = True
    for name, report in reports.items():
        found = {kind for kind, _ in report.problems} | {f"too-wide {w.kind}" for w in report.wide}
        expected = set() if name == "control" else BREAKAGES[name][1]
        passed = (not found) if name == "control" else expected <= found
        ok &= passed
        print(f"  {'PASS' if passed else 'FAIL'}  {name:<14} expected {sorted(expected) or 'none'}, "
              f"reported {sorted(found) or 'none'}")
        if not passed:
            for kind, detail in report.problems:
                print(f"        [{kind}] {detail}")
    print(f"self-test: {'every breakage was caught' if ok else 'FAILED'}")
    return ok


# --------------------------------------------------------------------------------------------


def find_chromium(explicit: str | None) -> str:
    for candidate in (explicit, os.environ.get("CHROMIUM"), "/usr/bin/chromium", "chromium",
                      "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    raise SystemExit(
        "check_site: no Chromium found; install Debian's `chromium` package "
        "(apt-get install chromium) or pass --chromium PATH"
    )


def wide_counts(reports: list[PageReport]) -> str:
    """``"3 of 40 blocks too wide (code 2, equation 1)"``."""
    wide = Counter(w.kind for r in reports for w in r.wide)
    return (f"{sum(wide.values())} of {sum(r.blocks for r in reports)} blocks too wide "
            f"({', '.join(f'{k} {n}' for k, n in sorted(wide.items())) or 'none'})")


def summary(reports: list[PageReport], seconds: float, warn_only: set[str]) -> tuple[str, int]:
    """The last line and the number of problems that fail the check."""
    failing = sum(kind not in warn_only for r in reports for kind, _ in r.problems)
    warned = sum(kind in warn_only for r in reports for kind, _ in r.problems)
    line = (
        f"check_site: {len(reports)} pages, {sum(r.equations for r in reports)} equations rendered, "
        f"{sum(r.images for r in reports)} images, {sum(r.links for r in reports)} internal links "
        f"and resources, {wide_counts(reports)}, "
        f"in {seconds:.1f} s: {'OK' if not failing else f'{failing} PROBLEMS'}"
        + (f" ({warned} warnings: {', '.join(sorted(warn_only))})" if warned else "")
    )
    return line, failing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default=str(ROOT / "_build" / "html"),
                        help="the built site (default: _build/html)")
    parser.add_argument("--self-test", action="store_true",
                        help="break copies of a page in each checked way; fail unless all are caught")
    parser.add_argument("--page", action="append", default=None,
                        help="check only this page (relative to the site; may repeat)")
    parser.add_argument("--widths", action="store_true",
                        help="print only the blocks wider than the text column, for every page")
    parser.add_argument("--warn-only", action="append", default=[], metavar="KIND",
                        help="report problems of this kind (e.g. too-wide) without failing; may repeat")
    parser.add_argument("--screenshot", action="append", default=[], metavar="PAGE",
                        help="save a screenshot of PAGE (relative to the site; may repeat)")
    parser.add_argument("--screenshot-dir", default=str(ROOT / "_build" / "screenshots"))
    parser.add_argument("--full-page", action="store_true", help="screenshots of the whole page")
    parser.add_argument("--chromium", default=None, help="the browser (default: /usr/bin/chromium)")
    args = parser.parse_args(argv)

    site = Path(args.site).resolve()
    if not (site / "index.html").is_file():
        print(f"check_site: {site} has no index.html; build the book first", file=sys.stderr)
        return 2
    start = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(args.chromium),
                                             args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            events = Events()
            events.attach(page)
            print(f"check_site: Chromium {browser.version}, site {site}", flush=True)
            if args.self_test:
                return 0 if self_test(page, events, site) else 1
            reports = check_site(page, events, site, args.page, widths_only=args.widths)
            for name in args.screenshot:
                server = Server(site)
                try:
                    dest = Path(args.screenshot_dir) / (name.replace("/", "_").removesuffix(".html") + ".png")
                    screenshot(page, server, name, dest, args.full_page)
                    print(f"  screenshot of {name}: {dest}")
                finally:
                    server.close()
        finally:
            browser.close()
    seconds = time.monotonic() - start
    if args.widths:
        print(f"check_site --widths: {len(reports)} pages, {wide_counts(reports)}, in {seconds:.1f} s")
        return 0 if not any(r.wide for r in reports) else 1
    line, failing = summary(reports, seconds, set(args.warn_only))
    print(line)
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
