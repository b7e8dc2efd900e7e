"""convgrad.diagnose: right backward passes pass in every layout and with every subset of options,
every wrong recipe of convgrad.pitfalls is caught and named, mistakes in independently written
loops are named too, the user's exceptions become failing cases, and the command line exits 0/1/2."""

import inspect
import itertools
import subprocess
import sys
import textwrap
from functools import partial

import numpy as np
import pytest

import convgrad as cg
from convgrad import pitfalls
from convgrad.diagnose import diagnose, ladder
from convgrad.diagnose.report import WIDTH

ALL = ("stride", "padding", "dilation", "groups")
LAYOUTS = ("channels_first", "channels_last")


# --- a student-style backward pass, written without convgrad -------------------------------------


def loop_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1, bug=None):
    """Scatter each output's gradient back through the window it read; any number of dimensions.

    ``bug`` plants one mistake, as a student would write it (see test_loop_mistakes_are_named)."""
    n_batch, _, *in_size = x.shape
    n_out, cg_, *kernel = w.shape
    fg = n_out // groups
    s, p, d = stride, padding, dilation
    x_pad = np.pad(x, [(0, 0), (0, 0)] + [(p, p)] * len(in_size))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(n_batch):
        for f in range(n_out):
            chans = slice(f // fg * cg_, (f // fg + 1) * cg_)
            for o in np.ndindex(*dy.shape[2:]):
                window = tuple(slice(s * i, s * i + d * (k - 1) + 1, d) for i, k in zip(o, kernel))
                dx_window = window
                if bug == "dx without stride":
                    dx_window = tuple(slice(i, i + d * (k - 1) + 1, d) for i, k in zip(o, kernel))
                dw_window = window
                if bug == "dw without dilation":
                    dw_window = tuple(slice(s * i, s * i + k) for i, k in zip(o, kernel))
                g = dy[(n, f, *o)]
                dw[f] += g * x_pad[(n, chans, *dw_window)]
                dx_pad[(n, chans, *dx_window)] += g * w[f]
        if bug == "dw assigned" and n < n_batch - 1:
            dw[:] = 0  # dw = ... inside the loop over the batch keeps only the last sample
    if bug == "crop p:-p":
        dx = dx_pad[(Ellipsis, *[slice(p, -p)] * len(in_size))]
    else:
        dx = dx_pad[(Ellipsis, *[slice(p, p + m) for m in in_size])]
    db = dy.sum(axis=(0, *range(2, dy.ndim)))
    if bug == "db mean":
        db = db / n_batch
    return dx, dw, db


def channels_last(backward):
    """The same backward pass for x (N, *in, C), w (F, *k, C/G), dy (N, *out, F)."""

    def wrapped(dy, x, w, **options):
        dx, dw, db = backward(np.moveaxis(dy, -1, 1), np.moveaxis(x, -1, 1), np.moveaxis(w, -1, 1),
                              **options)
        return np.moveaxis(dx, 1, -1), np.moveaxis(dw, 1, -1), db

    return wrapped


def in_layout(backward, layout):
    return backward if layout == "channels_first" else channels_last(backward)


def convgrad_backward(layout):
    def backward(dy, x, w, **options):
        return cg.conv_backward(dy, x, w, layout=layout, **options)

    return backward


def expected_run(supports, dims=2):
    return [i for i, c in enumerate(ladder(dims), 1)
            if set(c.needs) <= set(supports) and c.min_dims <= dims]


# --- right implementations pass -------------------------------------------------------------------

SUBSETS = [(), ("stride",), ("padding",), ("dilation",), ("groups",), ("stride", "padding"), ALL]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("supports", SUBSETS, ids=lambda s: ",".join(s) or "none")
def test_a_right_loop_passes_with_any_options(layout, supports):
    report = diagnose(in_layout(loop_backward, layout), layout=layout, supports=supports)
    assert report.ok, str(report)
    assert [r.index for r in report.run] == expected_run(supports)
    for r in report.not_run:  # listed, with the option that would be needed
        missing = [o for o in r.case.needs if o not in supports]
        assert missing and r.not_run == "needs " + ", ".join(missing)
        lines = str(report).splitlines()
        row = next(line for line in lines if line.startswith(f"{r.index:>2} {r.case.name} "))
        assert row.split("not run: needs ")[1] in (", ".join(missing), ", ".join(o[0] for o in missing))
    for r in report.run:  # exactly the supported options were passed, as integers
        assert set(r.passed_options) == set(supports)
        assert all(type(v) is int for v in r.passed_options.values())
        assert [c.status for c in r.checks] == ["ok", "ok", "ok"]
        assert max(c.error for c in r.checks) <= 1e-8


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_convgrad_itself_passes_in_every_dimension(dims, layout):
    report = diagnose(convgrad_backward(layout), layout=layout, supports=ALL, dims=dims)
    assert report.ok, str(report)
    assert [r.index for r in report.run] == expected_run(ALL, dims)
    assert len(report.cases) == 15
    if dims == 1:  # the non-square case needs two axes, and says so
        assert [r.case.name for r in report.not_run] == ["non-square"]
        assert report.not_run[0].not_run == "needs 2-D"


def test_the_loop_passes_in_three_dimensions():
    assert diagnose(loop_backward, supports=ALL, dims=3).ok


def test_without_db_the_bias_is_not_checked():
    report = diagnose(lambda dy, x, w, **o: loop_backward(dy, x, w, **o)[:2], supports=ALL)
    assert report.ok
    assert {r.check("db").status for r in report.run} == {"missing"}


def test_the_inputs_are_copies_and_seeded():
    def vandal(dy, x, w, **options):
        grads = loop_backward(dy, x, w, **options)
        dy[...], x[...], w[...] = 7.0, 7.0, 7.0  # changes nothing outside
        return grads

    first = diagnose(vandal, supports=ALL)
    assert first.ok
    assert str(first) == str(diagnose(vandal, supports=ALL))
    seen = []

    def spy(dy, x, w, **options):
        seen.append((dy.dtype, x.dtype, w.dtype, float(x.ravel()[0])))
        return loop_backward(dy, x, w, **options)

    diagnose(spy, seed=1)
    diagnose(spy, seed=2)
    assert {s[:3] for s in seen} == {(np.dtype(np.float64),) * 3}
    half = len(seen) // 2
    assert seen[0][3] != seen[half][3]  # another seed, other inputs


# --- every wrong recipe is caught and named -------------------------------------------------------


def test_every_wrong_recipe_is_in_the_catalogue():
    wrong = {name for name, f in inspect.getmembers(pitfalls, inspect.isfunction)
             if f.__module__ == pitfalls.__name__ and (f.__doc__ or "").startswith("WRONG")}
    catalogued = {m.recipe.__name__ for m in pitfalls.CATALOGUE}
    assert len(wrong) >= 20
    listed = catalogued | set(pitfalls.NOT_DIAGNOSED)
    assert wrong == listed, wrong ^ listed
    assert not catalogued & set(pitfalls.NOT_DIAGNOSED)
    names = [m.name for m in pitfalls.CATALOGUE]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mistake", pitfalls.CATALOGUE, ids=lambda m: m.name)
def test_every_recipe_is_caught_and_named(mistake, layout):
    report = diagnose(pitfalls.wrong_backward(mistake, layout=layout), layout=layout, supports=ALL)
    assert not report.ok
    assert mistake in report.mistakes, str(report)
    text = str(report)
    assert mistake.name in text and "FAILED" in text
    # named in the simplest failing case, first or as giving the same values
    first = report.first_failure
    named_first = [m for c in first.checks for m in (c.mistake, *c.also) if m is not None]
    assert mistake in named_first, text
    # every failing case names it: the recipe is the only thing wrong
    for r in report.failures:
        assert any(mistake in (c.mistake, *c.also) for c in r.checks if not c.ok), text
        assert [c.quantity for c in r.checks if not c.ok] == [mistake.quantity]


@pytest.mark.parametrize("mistake", pitfalls.CATALOGUE, ids=lambda m: m.name)
def test_a_recipe_passes_where_it_is_right(mistake):
    """The cases a recipe passes are exactly those where its output equals the gradient."""
    report = diagnose(pitfalls.wrong_backward(mistake), supports=ALL)
    for r, case in zip(report.cases, ladder()):
        dy, x, w = _inputs(case, r.index)
        wrong = mistake(dy, x, w, **case.options)
        grads = dict(zip(("dx", "dw", "db"), cg.conv_backward(dy, x, w, **case.options)))
        right = grads[mistake.quantity]
        same = wrong is None or (wrong.shape == right.shape
                                 and np.allclose(wrong, right, rtol=1e-9, atol=1e-9))
        assert r.passed == same, (r.index, case.name)


def _inputs(case, index, seed=0):
    rng = np.random.default_rng([seed, index])
    geom = case.geometry()
    return (rng.standard_normal(geom.y_shape), rng.standard_normal(geom.x_shape),
            rng.standard_normal(geom.w_shape))


@pytest.mark.parametrize("bug,name,first", [
    ("crop p:-p", "crop written a[p:-p]", 1),
    ("db mean", "db divided by N", 5),
    ("dw assigned", "only the last sample", 5),
    ("dx without stride", "stride left out of dx", 8),
    ("dw without dilation", "dilation left out of dw", 12),
])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_loop_mistakes_are_named(bug, name, first, layout):
    """Mistakes planted in the independently written loop are recognised as the recipes."""
    report = diagnose(in_layout(partial(loop_backward, bug=bug), layout), layout=layout, supports=ALL)
    assert report.first_failure.index == first
    assert [m.name for m in report.mistakes] == [name], str(report)


def test_the_channel_mean_recipe_of_the_question():
    def recipe(dy, x, w, stride=1, padding=0):
        dx, _, db = cg.conv_backward(dy, x, w, stride=stride, padding=padding, layout="channels_last")
        dw = pitfalls.channel_mean_recipe(dy, x, w.shape, stride=stride, padding=padding)
        return dx, dw, db

    report = diagnose(recipe, layout="channels_last")
    assert report.first_failure.index == 2  # the first case with several input channels
    assert report.first_failure.check("dw").mistake.name == "channel-mean recipe"
    assert "book: wrong_recipe" in str(report)


def test_a_wrong_answer_no_recipe_gives_is_still_described():
    def scaled(dy, x, w, **o):
        dx, dw, db = loop_backward(dy, x, w, **o)
        return dx, 2 * dw, db

    def float32(dy, x, w, **o):
        return tuple(a.astype(np.float32) for a in loop_backward(dy, x, w, **o))

    def zeros(dy, x, w, **o):
        dx, dw, db = loop_backward(dy, x, w, **o)
        return np.zeros_like(dx), dw, db

    def noise(dy, x, w, **o):
        dx, dw, db = loop_backward(dy, x, w, **o)
        dx.flat[0] += 1.0
        return dx, dw, db

    notes = {}
    for f in (scaled, float32, zeros, noise):
        report = diagnose(f)
        first = report.first_failure
        assert first.index == 1 and not report.mistakes
        wrong = [c for c in first.checks if not c.ok]
        notes[f.__name__] = wrong[0].note
        assert " ".join(wrong[0].note.split()) in " ".join(str(report).split())
    assert notes["scaled"] == "it is 2 times the gradient"
    assert notes["float32"].startswith("it is float32, right to float32 rounding")
    assert notes["zeros"] == "it is all zeros"
    assert notes["noise"].endswith("the largest error is at index (0, 0, 0, 0)")


# --- what the user's function does wrong besides its values ---------------------------------------


def test_exceptions_are_failing_cases_not_crashes():
    def no_groups(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
        if groups > 1:
            raise NotImplementedError("groups are next week's assignment")
        return loop_backward(dy, x, w, stride=stride, padding=padding, dilation=dilation)

    report = diagnose(no_groups, supports=ALL)
    assert [r.index for r in report.failures] == [14, 15]
    assert report.failures[0].error.startswith("raised NotImplementedError: groups are next week's")
    assert "Case 15 fails the same way (raised NotImplementedError)" in str(report)
    assert all(r.passed for r in report.run if r.index < 14)


def test_an_unexpected_keyword_gets_a_hint():
    def plain(dy, x, w):
        return loop_backward(dy, x, w)

    report = diagnose(plain, supports=("stride",))
    assert not report.ok
    assert "leave out of supports any it does not take" in report.first_failure.error
    assert diagnose(plain, supports=()).ok


@pytest.mark.parametrize("result,message", [
    (lambda dx, dw, db: dx, "returned a ndarray; expected (dx, dw) or (dx, dw, db)"),
    (lambda dx, dw, db: (dx, dw, db, db), "returned a tuple of length 4"),
    (lambda dx, dw, db: None, "returned a NoneType"),
])
def test_wrong_return_values(result, message):
    report = diagnose(lambda dy, x, w, **o: result(*loop_backward(dy, x, w, **o)))
    assert not report.ok and report.first_failure.index == 1
    assert message in report.first_failure.error


def test_lists_are_arrays_and_strings_are_not():
    def lists(dy, x, w, **o):
        dx, dw, db = loop_backward(dy, x, w, **o)
        return dx.tolist(), dw.tolist(), db.tolist()

    assert diagnose(lists).ok

    def text(dy, x, w, **o):
        dx, dw, _ = loop_backward(dy, x, w, **o)
        return dx, dw, "db"

    report = diagnose(text)
    assert report.first_failure.check("db").status == "bad"
    assert "db is not an array of numbers" in str(report)


def test_ignored_padding_is_a_shape_error_named():
    """A vectorised backward pass that never looks at ``padding``: dx comes out padded."""
    def ignores_padding(dy, x, w, stride=1, padding=0):
        k = w.shape[2:]
        u = np.zeros((*dy.shape[:2], *[stride * (o - 1) + 1 for o in dy.shape[2:]]))
        u[:, :, ::stride, ::stride] = dy
        u = np.pad(u, [(0, 0), (0, 0), *[(m - 1, m - 1) for m in k]])
        dx = cg.conv(u, np.swapaxes(w, 0, 1)[:, :, ::-1, ::-1])
        dx = np.pad(dx, [(0, 0), (0, 0), *[(0, max(n - m, 0)) for n, m in zip(x.shape[2:], dx.shape[2:])]])
        return dx, cg.conv_grad_weight(dy, x, w.shape, stride=stride, padding=padding)

    report = diagnose(ignores_padding)
    assert report.first_failure.index == 10  # the first case with padding
    check = report.first_failure.check("dx")
    assert check.status == "shape" and check.shape == (2, 2, 7, 8) and check.expected_shape == (2, 2, 5, 6)
    assert check.mistake.name == "padding not cropped"
    assert "dx has shape 2x2x7x8, expected 2x2x5x6: padding not cropped" in " ".join(str(report).split())


# --- the report -----------------------------------------------------------------------------------


def _reports():
    yield diagnose(loop_backward)
    yield diagnose(convgrad_backward("channels_last"), layout="channels_last", supports=ALL, dims=3)
    yield diagnose(convgrad_backward("channels_first"), supports=(), dims=1)
    yield diagnose(lambda dy, x, w, **o: 1 / 0)
    for m in pitfalls.CATALOGUE:
        yield diagnose(pitfalls.wrong_backward(m, layout="channels_last"), layout="channels_last",
                       supports=ALL)


def test_every_line_fits_the_page():
    for report in _reports():
        for line in str(report).splitlines():
            assert len(line) <= WIDTH, line


def test_report_text():
    report = diagnose(pitfalls.wrong_backward(pitfalls.CATALOGUE[0]))
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == "convgrad.diagnose: channels_first, 2-D, float64, rtol 1e-08"
    assert lines[1] == "options passed to the function: stride, padding"
    assert lines[4].split() == ["1", "one", "channel", "1x1x5x5", "1x1x3x3", "-", "WRONG", "ok", "ok"]
    assert "12 dilation" in text and "not run: needs dilation" in text
    assert "11 of 15 cases run (4 need dilation or groups); 0 pass, 11 fail." in " ".join(lines)
    assert "Cases 2-11 fail the same way (dx, kernel not flipped)" in text
    assert repr(report).startswith("<diagnose report: 11 of 15 cases run, 11 failing")
    good = str(diagnose(loop_backward, supports=ALL))
    assert good.endswith("15 of 15 cases run; 15 pass, 0 fail. OK: every case run agrees with\nconvgrad.")
    assert "Failures" not in good


def test_every_simpler_case_passes_hint():
    report = diagnose(pitfalls.wrong_backward(pitfalls.CATALOGUE[[m.name for m in pitfalls.CATALOGUE]
                                                                 .index("stride left out of dw")]))
    assert report.first_failure.index == 8
    assert "every simpler case passes, so look at what it adds: stride 2" in " ".join(str(report).split())


@pytest.mark.parametrize("kwargs,error", [
    (dict(layout="NCHW"), ValueError),
    (dict(supports=("stride", "pad")), ValueError),
    (dict(dims=4), ValueError),
    (dict(rtol=0), ValueError),
])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        diagnose(loop_backward, **kwargs)


def test_not_callable_and_supports_as_text():
    with pytest.raises(TypeError, match="backward must be callable"):
        diagnose("loop_backward")
    assert diagnose(loop_backward, supports="dilation, stride").supports == ("stride", "dilation")


def test_ladder_isolates_its_traps():
    cases = ladder()
    assert [len(c.needs) for c in cases[:7]] == [0] * 7  # the option-free cases come first
    one = cases[0]
    assert (one.batch, one.in_channels, one.out_channels, one.needs) == (1, 1, 1, ())
    by_name = {c.name: c for c in cases}
    assert by_name["F = C"].in_channels == by_name["F = C"].out_channels
    assert by_name["F != C"].in_channels != by_name["F != C"].out_channels
    for name in ("stride remainder",):
        c = by_name[name]
        remainders = [(n - k) % c.stride for n, k in zip(c.in_size, c.kernel_size)]
        assert all(remainders)  # rows no output reads on both axes
    depthwise = by_name["depthwise"]
    assert depthwise.groups == depthwise.in_channels == depthwise.out_channels
    assert any(k % 2 == 0 for k in by_name["even kernel"].kernel_size)


# --- the command line -----------------------------------------------------------------------------

STUDENT = '''
import numpy as np


def conv_backward(dy, x, w, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    p, s = padding, stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    for n, f, i, j in np.ndindex(N, F, *dy.shape[2:]):
        window = (n, slice(None), slice(i * s, i * s + kh), slice(j * s, j * s + kw))
        dw[f] += dy[n, f, i, j] * x_pad[window]
        dx_pad[window] += dy[n, f, i, j] * w[f]
    return dx_pad[:, :, p:p + H, p:p + W], dw, dy.sum(axis=(0, 2, 3))


def crop_bug(dy, x, w, stride=1, padding=0):
    dx, dw, db = conv_backward(dy, x, w, stride, padding)
    p = padding
    x_pad_shape = (*x.shape[:2], *[n + 2 * p for n in x.shape[2:]])
    dx_pad = np.zeros(x_pad_shape)
    dx_pad[:, :, p:p + x.shape[2], p:p + x.shape[3]] = dx
    return dx_pad[:, :, p:-p, p:-p], dw, db


def last(dy, x, w):
    import convgrad
    return convgrad.conv_backward(dy, x, w, layout="channels_last")
'''


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "convgrad.diagnose", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_command_line(tmp_path):
    (tmp_path / "student.py").write_text(textwrap.dedent(STUDENT))
    ok = run_cli("student.py:conv_backward", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stderr == ""  # no warning from running a submodule of an imported package
    assert "OK: every case run agrees" in " ".join(ok.stdout.split())
    assert "not run: needs dilation" in ok.stdout
    bad = run_cli(str(tmp_path / "student.py:crop_bug"), "--supports", "stride,padding", cwd=tmp_path.parent)
    assert bad.returncode == 1
    assert "crop written a[p:-p]" in bad.stdout and "FAILED" in bad.stdout
    last = run_cli("student.py:last", "--layout", "channels_last", "--supports", "none", "--dims", "1",
                   cwd=tmp_path)
    assert last.returncode == 0, last.stdout + last.stderr
    assert "channels_last, 1-D" in last.stdout and "options passed to the function: none" in last.stdout


def test_command_line_cannot_load(tmp_path):
    (tmp_path / "student.py").write_text(textwrap.dedent(STUDENT))
    (tmp_path / "broken.py").write_text("import numpy as np\ndef f(:\n")
    for target, message in [("student.py:missing", "defines no function 'missing'"),
                            ("nowhere.py:f", "no file 'nowhere.py'"),
                            ("broken.py:f", "SyntaxError"),
                            ("student.py", "expected path/to/file.py:function")]:
        result = run_cli(target, cwd=tmp_path)
        assert result.returncode == 2, target
        assert message in result.stderr, result.stderr
    usage = run_cli("student.py:conv_backward", "--supports", "stride,pad", cwd=tmp_path)
    assert usage.returncode == 2 and "unknown ['pad']" in usage.stderr


def test_main_in_process(tmp_path, capsys):
    from convgrad.diagnose.__main__ import main

    (tmp_path / "student.py").write_text(textwrap.dedent(STUDENT))
    assert main([f"{tmp_path / 'student.py'}:conv_backward"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main([f"{tmp_path / 'student.py'}:crop_bug", "--rtol", "1e-6"]) == 1
    assert "rtol 1e-06" in capsys.readouterr().out


def test_every_option_subset_of_the_recipes_runs():
    """No recipe raises on any case of any dimension and layout (diagnose must never crash)."""
    for dims, layout in itertools.product((1, 2, 3), LAYOUTS):
        for m in pitfalls.CATALOGUE:
            report = diagnose(pitfalls.wrong_backward(m, layout=layout), layout=layout, supports=ALL,
                              dims=dims)
            assert all(r.error is None for r in report.run), (m.name, dims, layout)
