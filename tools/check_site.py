"""Open every page of the built site in headless Chromium and check what a reader would see.

    python tools/check_site.py                      # check _build/html
    python tools/check_site.py --self-test          # show that each kind of breakage is caught
    python tools/check_site.py --screenshot book/introduction.html --full-page

The site is served by Python's http.server on 127.0.0.1 and opened in Chromium (Debian's
``chromium`` package), driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``),
so nothing beyond the standard library and the browser is needed. Host names do not resolve in the
browser (``--host-resolver-rules``), so the pages get no network, and every request that is not
to the local server is recorded and reported. On every page it checks:

* **math**: MathJax ran (served from ``_static/mathjax``) and every ``.math`` element holds a
  rendered ``mjx-container``; no TeX error (``merror``, or an undefined macro shown in red);
* **raw-tex**: no ``$$``, ``\\begin{``, ``\\(`` ... left in the visible text outside code;
* **error-output**: no traceback, error or stderr output and no docutils system message;
* **image**: every ``<img>`` loads (``naturalWidth > 0``);
* **link** / **anchor**: every internal link and resource points at a file that exists, and every
  ``#anchor`` at an id on the target page;
* **network** / **http-error**: no request leaves 127.0.0.1, and no local request fails;
* **js-error**: no uncaught exception or ``console.error``;
* **structure**: one ``<h1>`` per page, no heading that starts with ``#`` (markdown written as
  comment lines), no numbered equation without a label.

Exit status 0 when every page passes. ``--self-test`` copies the site, breaks copies of one page in
each of those ways, and checks that every breakage is reported and the untouched copy is not.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import functools
import html.parser
import http.server
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    # No host name resolves: only the local server, 127.0.0.1, is reachable.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
]

# Evaluated in each page once it has loaded; returns what the checks need, as JSON.
PAGE_PROBE = r"""
(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
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
  try {
    for (const item of MathJax.startup.document.math) {
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

  const clone = document.body.cloneNode(true);
  clone.querySelectorAll("pre, code, kbd, samp, script, style, noscript, textarea, template, mjx-container")
       .forEach((e) => e.remove());
  out.text = clone.textContent;

  out.errorOutputs = [...document.querySelectorAll(
      ".output.traceback, .output.error, .output.stderr, .system-message, .problematic")]
    .map((e) => e.className + ": " + e.textContent.trim().replace(/\s+/g, " ").slice(0, 160));
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
  await sleep(100);  // let late requests (fonts, images) be recorded
  return JSON.stringify(out);
})()
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


# --------------------------------------------------------------------------------------------
# Chromium through the DevTools protocol, over a pipe.


class BrowserError(RuntimeError):
    pass


def find_chromium(explicit: str | None) -> str:
    for candidate in (explicit, os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    raise SystemExit(
        "check_site: no Chromium found; install Debian's `chromium` package "
        "(apt-get install chromium) or pass --chromium PATH"
    )


class Browser:
    """One headless Chromium, spoken to in JSON messages separated by NUL bytes on fds 3 and 4.

    Start it before any thread exists: the child's fds are set up in ``preexec_fn``.
    """

    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="check_site_profile_")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Move the child's ends above 9 so that dup2 onto 3 and 4 cannot clobber one another.
        child_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)

        def wire():  # runs in the child, before exec
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=wire, start_new_session=True,
        )
        os.close(child_r)
        os.close(child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.version = self.call("Browser.getVersion", timeout=60)["product"]

    def _send(self, message: dict) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data):]

    def _receive(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the DevTools pipe (did it crash?)")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, timeout: float = 30, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline - time.monotonic())
            if reply is None:
                raise BrowserError(f"{method}: no answer within {timeout} s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["method"] == method and event.get("sessionId") == session:
                    return event
            message = self._receive(deadline - time.monotonic())
            if message is None:
                return None
            if "method" in message:
                self.events.append(message)

    def drain(self, quiet: float = 0.2) -> None:
        """Collect events until none arrives for ``quiet`` seconds."""
        while (message := self._receive(quiet)) is not None:
            if "method" in message:
                self.events.append(message)

    def new_page(self) -> str:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for method in ("Page.enable", "Network.enable", "Runtime.enable"):
            self.call(method, session=session)
        self.call("Emulation.setDeviceMetricsOverride", session=session, width=1280, height=900,
                  deviceScaleFactor=1, mobile=False)
        return session

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (BrowserError, OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group start_new_session made for it
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


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
# Checking.


@dataclass
class PageReport:
    page: str
    equations: int = 0
    images: int = 0
    links: int = 0
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


def check_page(browser: Browser, session: str, server: Server, page: str) -> PageReport:
    report = PageReport(page)
    root, origin = server.root, server.origin
    static = parse_html(root / page)
    if static.refresh is not None:  # a redirect page: check where it points, do not render it
        target = urllib.parse.urljoin(f"{origin}/{page}", static.refresh)
        resolved = local_file(root, origin, target)
        if resolved is None or not resolved[0].is_file():
            report.add("link", f"redirect to missing {static.refresh!r}")
        report.links = 1
        return report

    browser.events.clear()
    url = f"{origin}/{page}"
    nav = browser.call("Page.navigate", session=session, url=url)
    if nav.get("errorText"):
        report.add("load", f"{url}: {nav['errorText']}")
        return report
    if browser.wait_for("Page.loadEventFired", session, timeout=60) is None:
        report.add("load", f"{url}: no load event within 60 s")
        return report
    result = browser.call("Runtime.evaluate", session=session, timeout=90, expression=PAGE_PROBE,
                          awaitPromise=True, returnByValue=True)
    if "exceptionDetails" in result:
        report.add("load", f"the page probe failed: {result['exceptionDetails'].get('text')}")
        return report
    probe = json.loads(result["result"]["value"])
    browser.drain()

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
    for name, pattern in RAW_TEX:
        for match in list(pattern.finditer(probe["text"]))[:3]:
            start = max(match.start() - 40, 0)
            context = probe["text"][start:match.end() + 40].replace("\n", " ")
            report.add("raw-tex", f"{name} in visible text: ...{context.strip()}...")

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
                ids = live_ids | parse_html(path).ids if path == root / page else parse_html(path).ids
                if fragment not in ids:
                    report.add("anchor", f"no id {fragment!r} in {path.relative_to(root)}")
    report.links = internal

    # what the browser did: requests, failures, script errors
    requests: dict[str, str] = {}
    for event in browser.events:
        if event.get("sessionId") != session:
            continue
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            request_url = params["request"]["url"]
            requests[params["requestId"]] = request_url
            if not request_url.startswith((origin + "/", "data:", "blob:", "about:")):
                report.add("network", f"request to {request_url}")
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                report.add("http-error", f"{status} for {params['response']['url']}")
        elif method == "Network.loadingFailed":
            failed = requests.get(params["requestId"], "?")
            if failed.startswith(origin + "/") and params.get("errorText") != "net::ERR_ABORTED":
                report.add("http-error", f"{params.get('errorText')} for {failed}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            report.add("js-error", text.splitlines()[0] if text else "uncaught exception")
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            report.add("js-error", f"console.error: {text[:200]}")
    return report


def screenshot(browser: Browser, session: str, server: Server, page: str, dest: Path,
               full_page: bool) -> None:
    browser.call("Page.navigate", session=session, url=f"{server.origin}/{page}")
    browser.wait_for("Page.loadEventFired", session, timeout=60)
    browser.call("Runtime.evaluate", session=session, timeout=60, awaitPromise=True,
                 expression="window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    params = {"format": "png"}
    if full_page:
        size = browser.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
        params.update(captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                            "scale": 1})
    data = browser.call("Page.captureScreenshot", session=session, timeout=60, **params)["data"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(base64.b64decode(data))
    browser.events.clear()


def check_site(browser: Browser, root: Path, pages: list[str] | None = None,
               verbose: bool = True) -> list[PageReport]:
    server = Server(root)
    try:
        session = browser.new_page()
        reports = []
        for page in pages if pages is not None else site_pages(root):
            report = check_page(browser, session, server, page)
            reports.append(report)
            if verbose:
                status = "ok" if not report.problems else f"{len(report.problems)} PROBLEMS"
                print(f"  {page:<40} equations {report.equations:>5}  images {report.images:>3}  "
                      f"internal links {report.links:>4}  {status}", flush=True)
                for kind, detail in report.problems:
                    print(f"      [{kind}] {detail}", flush=True)
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

# name: (how to break the page, the problem kinds that must be reported)
BREAKAGES = {
    "raw-tex": (lambda html: re.sub(r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*></script>', "", html),
                {"math", "raw-tex"}),
    "tex-error": (lambda html: insert(
        html, r'<p><span class="math notranslate nohighlight">\(a \over b \over c\)</span>, '
              r'<span class="math notranslate nohighlight">\(\undefinedmacro x\)</span></p>'),
        {"tex-error"}),
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


def self_test(browser: Browser, site: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="check_site_selftest_") as tmp:
        copy = Path(tmp) / "html"
        shutil.copytree(site, copy)
        base = None
        for candidate in ["book/notation.html", *site_pages(copy)]:
            path = copy / candidate
            if path.is_file() and "class=\"math" in path.read_text(encoding="utf8"):
                report = check_site(browser, copy, [candidate], verbose=False)[0]
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
        reports = dict(zip(pages, check_site(browser, copy, list(pages.values()), verbose=False)))

    print(f"self-test: broken copies of {base}")
    ok = True
    for name, report in reports.items():
        found = {kind for kind, _ in report.problems}
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default=str(ROOT / "_build" / "html"),
                        help="the built site (default: _build/html)")
    parser.add_argument("--self-test", action="store_true",
                        help="break copies of a page in each checked way; fail unless all are caught")
    parser.add_argument("--page", action="append", default=None,
                        help="check only this page (relative to the site; may repeat)")
    parser.add_argument("--screenshot", action="append", default=[], metavar="PAGE",
                        help="save a screenshot of PAGE (relative to the site; may repeat)")
    parser.add_argument("--screenshot-dir", default=str(ROOT / "_build" / "screenshots"))
    parser.add_argument("--full-page", action="store_true", help="screenshots of the whole page")
    parser.add_argument("--chromium", default=None, help="the browser (default: chromium on PATH)")
    args = parser.parse_args(argv)

    site = Path(args.site).resolve()
    if not (site / "index.html").is_file():
        print(f"check_site: {site} has no index.html; build the book first", file=sys.stderr)
        return 2
    browser = Browser(find_chromium(args.chromium))  # before any thread: see Browser
    try:
        print(f"check_site: {browser.version}, site {site}", flush=True)
        if args.self_test:
            return 0 if self_test(browser, site) else 1
        start = time.monotonic()
        reports = check_site(browser, site, args.page)
        for page in args.screenshot:
            server = Server(site)
            try:
                dest = Path(args.screenshot_dir) / (page.replace("/", "_").removesuffix(".html") + ".png")
                screenshot(browser, browser.new_page(), server, page, dest, args.full_page)
                print(f"  screenshot of {page}: {dest}")
            finally:
                server.close()
    finally:
        browser.close()
    problems = sum(len(r.problems) for r in reports)
    print(
        f"check_site: {len(reports)} pages, {sum(r.equations for r in reports)} equations rendered, "
        f"{sum(r.images for r in reports)} images, {sum(r.links for r in reports)} internal links "
        f"and resources, in {time.monotonic() - start:.1f} s: "
        f"{'OK' if not problems else f'{problems} PROBLEMS'}"
    )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
