"""The browser check's pure parts, without a browser: what counts as TeX left in prose, how a
too-wide block is described, which problems fail the run, and which URLs are the local site's.

The browser-side checks are exercised by ``python tools/check_site.py --self-test``."""

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "check_site.py"
_spec = importlib.util.spec_from_file_location("check_site", TOOL)
check_site = sys.modules["check_site"] = importlib.util.module_from_spec(_spec)  # for dataclasses
_spec.loader.exec_module(check_site)


def test_tex_in_prose_finds_the_macros_of_a_split_solution():
    # The text of a list item made from a solution line that began with "+": the "$" pair
    # broke, rendered math became the placeholder.
    text = r"W\dot x + \dot b[math]\langle \bar y, \dot b\rangle[math]b[math]\bar b = \bar y$."
    assert check_site.tex_in_prose(text) == [r"\dot", r"\langle", r"\bar", r"\rangle", r"\bar y$"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (r"the pairing $\langle y$", [r"\langle", r"$\langle"]),
        ("and $x^2 is not", ["$x^2"]),
        ("the sum y_{i}$ ends", ["_{i}$"]),
        ("where x^2$ ends", ["^2$"]),
    ],
)
def test_tex_in_prose_finds_a_dollar_next_to_tex(text, found):
    assert check_site.tex_in_prose(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "The pairing [math] is bilinear in [math] and in [math].",
        "A GPU costs $2 an hour; a CPU $0.10.",
        "Call [code] with the kernel flipped: conv_grad_input, not conv.",
        "",
    ],
)
def test_tex_in_prose_leaves_ordinary_prose_alone(text):
    assert check_site.tex_in_prose(text) == []


def test_excerpt_marks_what_it_cut():
    text = "a" * 100 + r"\bar" + "b" * 100
    assert check_site.excerpt(text, r"\bar", width=3) == r"...aaa\barbbb..."
    assert check_site.excerpt("x \\bar y", r"\bar") == "x \\bar y"


def test_wide_names_the_box_only_when_it_is_narrower_than_the_column():
    numbered = check_site.Wide("equation", 789, 617, 688, r"y[n, f, o] = b[f]", "9.1. The forward map")
    assert str(numbered) == ("equation 789 px wide in a 617 px box (column 688 px) under "
                             "'9.1. The forward map': y[n, f, o] = b[f]")
    code = check_site.Wide("code", 892, 688, 688, "import numpy as np", "", longest=98)
    assert str(code) == "code 892 px wide in a 688 px column (longest line 98 chars): import numpy as np"


def test_summary_fails_only_on_kinds_not_warned_about():
    report = check_site.PageReport("book/x.html", blocks=3)
    report.wide = [check_site.Wide("code", 900, 688, 688, "x = 1", "")]
    report.add("too-wide", str(report.wide[0]))
    report.add("dollar-link", "link text '$N$ dimensions'")
    line, failing = check_site.summary([report], 1.0, {"too-wide"})
    assert failing == 1
    assert "1 of 3 blocks too wide (code 1)" in line
    assert line.endswith("1 PROBLEMS (1 warnings: too-wide)")
    assert check_site.summary([report], 1.0, set())[1] == 2


def test_local_file_maps_only_the_local_origin(tmp_path):
    origin = "http://127.0.0.1:8000"
    assert check_site.local_file(tmp_path, origin, origin + "/book/a%20b.html#eq-1") == (
        tmp_path / "book" / "a b.html", "eq-1")
    assert check_site.local_file(tmp_path, origin, origin + "/") == (tmp_path / "index.html", "")
    assert check_site.local_file(tmp_path, origin, "https://cdn.jsdelivr.net/x.js") is None
    assert check_site.local_file(tmp_path, origin, "http://127.0.0.1:9999/book/a.html") is None
