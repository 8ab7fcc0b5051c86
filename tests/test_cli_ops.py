"""`python -m playground conv|pool`: JSON and text output, steps, and one-line errors with exit status 2."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.cli.main import main
from playground.ops import ConvSettings, PoolSettings, conv2d, pool2d

ROOT = Path(__file__).resolve().parents[1]
X3 = "[[1,2,3],[4,5,6],[7,8,9]]"
K2 = "[[1,2],[3,4]]"
X4 = json.dumps(np.arange(1, 17).reshape(4, 4).tolist())


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def test_conv_worked_example_json(capsys):
    assert run_json(capsys, "conv", "--input", X3, "--kernel", K2) == {
        "output": [[37, 47], [67, 77]],
        "output_shape": [2, 2],
    }
    assert run_json(capsys, "conv", "--input", X3, "--kernel", K2, "--flip")["output"] == [[23, 33], [53, 63]]


def test_conv_steps_json(capsys):
    doc = run_json(capsys, "conv", "--input", X3, "--kernel", K2, "--steps")
    assert doc["output"] == [[37, 47], [67, 77]] and len(doc["steps"]) == 4
    assert doc["steps"][0] == {
        "index": 0,
        "out_pos": [0, 0],
        "rows": [0, 1],
        "cols": [0, 1],
        "window": [[1, 2], [4, 5]],
        "kernel": [[1, 2], [3, 4]],
        "products": [[1, 4], [12, 20]],
        "total": 37,
        "bias": 0,
        "result": 37,
        "arithmetic": "1×1 + 2×2 + 4×3 + 5×4 = 37",
    }
    assert [s["result"] for s in doc["steps"]] == [37, 47, 67, 77]
    assert doc["steps"][-1]["out_pos"] == [1, 1] and doc["steps"][-1]["arithmetic"] == "5×1 + 6×2 + 8×3 + 9×4 = 77"
    flipped = run_json(capsys, "conv", "--input", X3, "--kernel", K2, "--steps", "--flip", "--bias", "-1")
    assert flipped["steps"][0]["kernel"] == [[4, 3], [2, 1]]
    assert flipped["steps"][0]["arithmetic"] == "1×4 + 2×3 + 4×2 + 5×1 + bias (−1) = 22"
    assert flipped["output"] == [[22, 32], [52, 62]]


def test_conv_three_channels(capsys):
    x = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    w = np.array([[[1, 0], [0, -1]], [[0.5, 0.5], [0.5, 0.5]]])
    doc = run_json(
        capsys,
        "conv",
        "--input",
        json.dumps(x.tolist()),
        "--kernel",
        json.dumps(w.tolist()),
        "--stride",
        "2,1",
        "--padding",
        "0,1,1,0",
        "--bias",
        "0.5",
        "--steps",
    )
    expected = conv2d(x[None], w[None], [0.5], ConvSettings(stride=(2, 1), padding=(0, 1, 1, 0)))[0, 0]
    assert doc["output_shape"] == list(expected.shape) == [2, 4]
    np.testing.assert_allclose(doc["output"], expected, rtol=1e-12)
    first = doc["steps"][0]
    assert np.shape(first["window"]) == (2, 2, 2) and len(first["channel_sums"]) == 2
    assert first["result"] == pytest.approx(expected[0, 0]) and first["arithmetic"].endswith(
        "+ bias 0.5 = " + first["arithmetic"].split("= ")[-1]
    )


def test_conv_several_filters_and_padding_forms(capsys):
    doc = run_json(capsys, "conv", "--input", X3, "--kernel", "[[[[1]]], [[[2]]]]", "--bias", "0,1")
    assert doc["output_shape"] == [2, 3, 3] and doc["output"][1][0] == [3, 5, 7]
    same = run_json(capsys, "conv", "--input", X3, "--kernel", K2, "--padding", "same")
    assert same["output"] == [[37, 47, 21], [67, 77, 33], [23, 26, 9]]  # the extra column/row is bottom/right
    reflect = run_json(
        capsys, "conv", "--input", X3, "--kernel", "[[1]]", "--padding", "1", "--padding-mode", "reflect"
    )
    assert reflect["output"][0] == [5, 4, 5, 6, 5]
    dilated = run_json(capsys, "conv", "--input", X3, "--kernel", K2, "--dilation", "2", "--padding", "valid")
    assert dilated["output"] == [[1 * 1 + 3 * 2 + 7 * 3 + 9 * 4]]


def test_conv_text_output(capsys):
    code, out, err = run(capsys, "conv", "--input", X3, "--kernel", K2, "--steps")
    assert (code, err) == (0, "")
    assert "37  47\n67  77" in out
    assert "out[0, 0] = 1×1 + 2×2 + 4×3 + 5×4 = 37" in out and "out[1, 1] = 5×1 + 6×2 + 8×3 + 9×4 = 77" in out
    assert "⌊(3 + 0 + 0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 2" in out


def test_pool_worked_example(capsys):
    doc = run_json(capsys, "pool", "--input", X4, "--size", "2", "--stride", "2", "--steps")
    assert doc["output"] == [[6, 8], [14, 16]] and doc["output_shape"] == [2, 2]
    assert [s["argmax"] for s in doc["steps"]] == [[1, 1], [1, 3], [3, 1], [3, 3]]
    assert doc["steps"][0]["arithmetic"] == "max(1, 2, 5, 6) = 6" and doc["steps"][0]["window"] == [[1, 2], [5, 6]]
    code, out, _ = run(capsys, "pool", "--input", X4, "--size", "2", "--steps")
    assert code == 0 and " 6   8\n14  16" in out and "out[0, 0] = max(1, 2, 5, 6) = 6, max at padded (1, 1)" in out


def test_pool_avg_padding_and_channels(capsys):
    doc = run_json(
        capsys,
        "pool",
        "--input",
        X4,
        "--size",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--mode",
        "avg",
        "--exclude-pad",
        "--steps",
    )
    expected = pool2d(np.arange(1.0, 17).reshape(1, 1, 4, 4), PoolSettings("avg", 3, 2, 1, count_include_pad=False))
    np.testing.assert_allclose(doc["output"], expected[0, 0], rtol=1e-12)
    assert doc["steps"][0]["arithmetic"] == "(1 + 2 + 5 + 6) / 4 = 3.5" and doc["steps"][0]["divisor"] == 4
    assert doc["steps"][0]["window"][0] == [0, 0, 0] and doc["steps"][0]["argmax"] is None
    padded_max = run_json(capsys, "pool", "--input", X4, "--size", "3", "--stride", "2", "--padding", "1", "--steps")
    assert padded_max["steps"][0]["window"][0] == [None, None, None]  # padding cells never win
    rgb = run_json(capsys, "pool", "--input", json.dumps([np.arange(16).reshape(4, 4).tolist()] * 3), "--size", "2")
    assert rgb["output_shape"] == [3, 2, 2] and rgb["output"][2] == [[5, 7], [13, 15]]


BAD = [
    (
        ["conv", "--input", "[[1,2],[3,4]", "--kernel", K2],
        "--input is not valid JSON (Expecting ',' delimiter at column 13); write it like [[1, 2], [3, 4]].",
    ),
    (
        ["conv", "--input", "[[1,2],[3]]", "--kernel", "[[1]]"],
        "Row 2 of the input has 1 value(s) but row 1 has 2; every row needs the same number of values.",
    ),
    (
        ["conv", "--input", "[[1, NaN]]", "--kernel", "[[1]]"],
        "Row 1, column 2 of the input is NaN (empty or not a number); type a finite number.",
    ),
    (
        ["conv", "--input", "[[1, 1e400]]", "--kernel", "[[1]]"],
        "Row 1, column 2 of the input is infinite; use a finite number.",
    ),
    (
        ["conv", "--input", "[[1, 5e6]]", "--kernel", "[[1]]"],
        "Row 1, column 2 of the input (5000000.0) is too large; use values between -1000000 and 1000000.",
    ),
    (
        ["conv", "--input", X3, "--kernel", '[[1, "a"]]'],
        "Row 1, column 2 of the kernel ('a') is not a number; type a number such as 1, -0.5 or 1/9.",
    ),
    (["conv", "--input", X3, "--kernel", "[]"], "The kernel is empty; enter at least one number."),
    (["conv", "--input", X3, "--kernel", json.dumps([[1] * 8])], "The kernel is 1×8; the largest allowed is 7×7."),
    (
        ["conv", "--input", "[1, 2, 3]", "--kernel", K2],
        "--input must be a 2-D matrix like [[1, 2], [3, 4]] or a 3-D channels-first list of them.",
    ),
    (
        ["conv", "--input", X3, "--kernel", "[[[[[1]]]]]"],
        "--kernel must be a 2-D matrix like [[1, 0], [0, -1]], a 3-D channels-first list or a 4-D list of filters.",
    ),
    (
        ["conv", "--input", "[[1,2],[3,4]]", "--kernel", "[[1,1,1],[1,1,1],[1,1,1]]"],
        "The kernel spans 3 rows but the padded input has only 2 rows; use a smaller kernel or more padding.",
    ),
    (
        ["conv", "--input", X3, "--kernel", K2, "--stride", "0"],
        "Stride must be 1 or more along both axes (got 0, 0); use a stride of at least 1.",
    ),
    (
        ["conv", "--input", X3, "--kernel", K2, "--stride", "1,-1"],
        "Stride must be 1 or more along both axes (got 1, -1); use a stride of at least 1.",
    ),
    (
        ["conv", "--input", X3, "--kernel", K2, "--stride", "fast"],
        "--stride must be a whole number or two separated by a comma (rows,columns); got 'fast'.",
    ),
    (
        ["conv", "--input", X3, "--kernel", K2, "--padding", "-1"],
        "Padding cannot be negative (got -1); use 0 or more pixels.",
    ),
    (["conv", "--input", X3, "--kernel", K2, "--padding", "1,2,3"], "--padding takes 1, 2 or 4 whole numbers; got 3."),
    (
        ["conv", "--input", X3, "--kernel", K2, "--padding", "same", "--stride", "2"],
        "'same' padding needs stride 1 (PyTorch's rule); set the stride to 1 or choose a number of padding pixels.",
    ),
    (
        ["conv", "--input", X3, "--kernel", K2, "--padding", "3", "--padding-mode", "reflect"],
        "Reflect padding of 3 needs an input with at least 4 rows, but it has 3; use less padding or the 'replicate' mode.",
    ),
    (
        ["conv", "--input", X3, "--kernel", K2, "--dilation", "0"],
        "Dilation must be 1 or more along both axes (got 0, 0); 1 means no gaps.",
    ),
    (
        ["conv", "--input", "[[[1]], [[2]], [[3]]]", "--kernel", "[[1]]"],
        "The input has 3 channel(s) but the kernel has 1; give the kernel 3 channel(s).",
    ),
    (
        ["conv", "--input", X3, "--kernel", K2, "--bias", "one"],
        "--bias must be a number or numbers separated by commas; got 'one'.",
    ),
    (["conv", "--input", X3, "--kernel", K2, "--bias", "1,2"], "--bias needs one value or one per filter (1); got 2."),
    (
        ["pool", "--input", "[[1,2],[3,4]]", "--size", "3"],
        "The pooling window spans 3 rows but the padded input has only 2 rows; use a smaller pooling window.",
    ),
    (
        ["pool", "--input", X4, "--size", "2", "--stride", "0"],
        "Pooling stride must be 1 or more along both axes (got 0, 0); use a stride of at least 1.",
    ),
    (
        ["pool", "--input", X4, "--size", "2", "--padding", "2"],
        "Pooling padding 2 is more than half the window size 2; use at most 1 (PyTorch's rule).",
    ),
    (
        ["pool", "--input", X4, "--size", "2", "--mode", "min"],
        "Pooling kind 'min' is not known; choose 'max' or 'avg'.",
    ),
    (["pool", "--input", "[[]]", "--size", "2"], "The input is empty; enter at least one number."),
    (["pool", "--input", "[]", "--size", "2"], "The input is empty; enter at least one number."),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err == f"error: {message}\n"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=24,
)


@settings(max_examples=120, deadline=None)
@given(
    JSON_VALUES,
    JSON_VALUES,
    st.sampled_from(["1", "2,1", "0", "-3", "x"]),
    st.sampled_from(["0", "same", "1,0,0,2", "-1", "?"]),
)
def test_any_json_gives_output_or_one_error_line(x, w, stride, padding):
    for argv in (
        [
            "conv",
            "--input",
            json.dumps(x),
            "--kernel",
            json.dumps(w),
            "--stride",
            stride,
            "--padding",
            padding,
            "--steps",
        ],
        ["pool", "--input", json.dumps(x), "--size", stride, "--padding", padding.split(",")[0]],
    ):
        out_buf, err_buf = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse: a value such as "-1e+16" read as an option
                code = e.code
        out, err = out_buf.getvalue(), err_buf.getvalue()
        assert (code, err.count("\n")) in ((0, 0), (2, 1)), err
        assert code == 0 or (out == "" and err.startswith("error: "))


def test_usage_mistakes_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["conv", "--input", X3])
    _, err = capsys.readouterr()
    assert exit_.value.code == 2
    assert err == "error: the following arguments are required: --kernel (see: python -m playground conv --help)\n"


def _python_m(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "playground", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_module_entry_point_worked_examples():
    done = _python_m("conv", "--input", X3, "--kernel", K2, "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == {"output": [[37, 47], [67, 77]], "output_shape": [2, 2]}
    done = _python_m("pool", "--input", X4, "--size", "2", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["output"] == [[6, 8], [14, 16]]


def test_module_entry_point_errors_without_traceback():
    for argv in (
        ["conv", "--input", "[[1,2],[3,4]]", "--kernel", "[[1,1,1]]"],
        ["conv", "--input", "nope", "--kernel", K2],
        ["pool", "--input", X4],
        ["nonsense"],
    ):
        done = _python_m(*argv)
        assert done.returncode == 2 and done.stdout == ""
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")


def test_conv_pool_and_grad_do_not_import_torch():
    code = (
        "import sys; from playground.cli.main import main; "
        f"assert main(['conv', '--input', {X3!r}, '--kernel', {K2!r}, '--json']) == 0; "
        f"assert main(['pool', '--input', {X4!r}, '--size', '2']) == 0; "
        f"assert main(['grad', 'conv', '--input', {X3!r}, '--kernel', '[[1]]', '--grad-output', {X3!r}]) == 0; "
        f"assert main(['grad', 'pool', '--input', {X4!r}, '--size', '2', '--grad-output', '[[1,1],[1,1]]']) == 0; "
        "print(sorted(m for m in ('torch', 'streamlit', 'plotly') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_output_piped_into_head_ends_without_a_traceback():
    """``python -m playground conv ... | head -1`` closes the pipe early; no traceback may follow."""
    import subprocess
    import sys
    from pathlib import Path

    big = "[" + ",".join(["[" + ",".join(["1"] * 40) + "]"] * 40) + "]"
    cmd = f"{sys.executable} -m playground conv --input '{big}' --kernel '[[1,2],[3,4]]' --steps | head -1"
    out = subprocess.run(["bash", "-c", cmd], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    assert out.stdout.count("\n") == 1
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr
