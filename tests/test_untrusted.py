"""Hostile and careless input to the engine and the CLI: the parsing boundary's limits, the cases found by
trying to break it (named regression tests), and a bounded fuzz suite over the same entry points.

Every case must end as the project's one user-error class (the CLI: one `error: ...` line, exit 2),
never as another exception, and within a bounded time and memory."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from apptest_support import png, png_declaring
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import playground.nn.checkpoints as ck
from playground import ops
from playground.cli.main import main
from playground.errors import PlaygroundError
from playground.imaging import images
from playground.nn.architecture import ModelSpec
from playground.nn.checkpoints import CheckpointError, checkpoint_bytes, load_checkpoint
from playground.nn.model import build
from playground.nn.presets import get_preset
from playground.nn.shapes import infer_shapes
from playground.ops import kernels
from playground.ui.inputs import canvas_drawing
from playground.untrusted import MAX_DEPTH, MAX_DIGITS, InputError, check_text, load_json

DEEP = "[" * 5000 + "]" * 5000
HUGE_INT = "9" * 5000
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_cli_error(capsys, *argv: str, says: str) -> None:
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1, (code, out, err)
    assert says in err, err


# ---------------------------------------------------------------- the parsing boundary
def test_load_json_checks_depth_digits_items_and_length_before_parsing():
    assert load_json('{"a": [[1, -2.5]], "b": "[[[["}', "spec") == {"a": [[1, -2.5]], "b": "[[[["}
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, "x") == eval("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(InputError, match=f"nested {MAX_DEPTH + 1} levels deep; at most {MAX_DEPTH}"):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "kernel")
    assert load_json("[" + "9" * MAX_DIGITS + "]", "x") == [int("9" * MAX_DIGITS)]
    with pytest.raises(InputError, match=f"more than {MAX_DIGITS} digits"):
        load_json("[" + "9" * (MAX_DIGITS + 1) + "]", "x")
    with pytest.raises(InputError, match="holds about 100,001 values; at most 100,000"):
        load_json("[" + "0," * 99_999 + "0]", "x", max_chars=10**6)
    with pytest.raises(InputError, match="is 200,001 characters long; at most 200,000"):
        load_json(" " * 200_001, "x")
    with pytest.raises(InputError, match=r"^--input is not valid JSON \(Expecting value at column 2\); write it"):
        load_json("[}", "--input", hint="write it like [[1, 2], [3, 4]]")
    with pytest.raises(InputError, match="must be text; got int"):
        load_json(5, "x")
    with pytest.raises(InputError, match="not UTF-8 text"):
        load_json(b"\xff[1]", "x")


def test_typographic_minus_signs_read_as_minus():
    assert check_text("−1 ‒2 –3 ﹣4 －5", "x") == "-1 -2 -3 -4 -5"
    assert kernels.parse_matrix("−1 2\n3 −4").tolist() == [[-1, 2], [3, -4]]
    assert kernels.parse_matrix("[[−1, 2]]").tolist() == [[-1, 2]]
    assert kernels.parse_kernel([["−0.5", "1/−2"]]).tolist() == [[-0.5, -0.5]]


# ---------------------------------------------------------------- named regression cases
@pytest.mark.parametrize(
    "text,says",
    [
        (f"[[{HUGE_INT}]]", "more than 400 digits"),
        (f"{HUGE_INT} 1", "more than 400 digits"),
        (DEEP, "nested 5000 levels deep"),
        ("[[1, 2], [3, " + "[" * 3000 + "]", "nested 3002 levels deep"),
    ],
    ids=["5000-digit JSON", "5000-digit text", "5000 brackets", "3000 open brackets"],
)
def test_typed_matrices_that_broke_the_pages(text, says):
    for parse in (kernels.parse_matrix, kernels.parse_channels, kernels.parse_kernel):
        with pytest.raises(kernels.KernelError, match=says):
            parse(text)


def _with_header(change) -> bytes:
    """The shipped-like model file with its JSON header edited by ``change(header)``."""
    data = checkpoint_bytes(build(get_preset("lenet5"), seed=0), get_preset("lenet5"), {"metrics": {}})
    (n,) = struct.unpack("<Q", data[:8])
    header, body = json.loads(data[8 : 8 + n]), data[8 + n :]
    change(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


@pytest.mark.parametrize(
    "change,says",
    [
        (lambda h: h["__metadata__"].update(metadata=DEEP), "is nested 5000 levels deep"),
        (lambda h: h["__metadata__"].update(metadata=5), "the value of 'metadata' is not text"),
        (lambda h: h["__metadata__"].update(created={"a": [1]}), "the value of 'created' is not text"),
        (lambda h: h["__metadata__"].update(spec=DEEP), "architecture is nested 5000 levels deep"),
    ],
    ids=["deep metadata", "number metadata", "object metadata", "deep spec"],
)
def test_model_files_that_broke_the_train_page_and_predict(change, says, tmp_path, capsys):
    data = _with_header(change)
    with pytest.raises(CheckpointError, match=says):
        load_checkpoint(data)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    digit = tmp_path / "d.png"
    digit.write_bytes(png(Image.new("L", (28, 28))))
    assert_cli_error(capsys, "predict", str(digit), "--model", str(path), says=says)


def test_a_deeply_nested_header_is_refused_before_parsing():
    raw = b'{"__metadata__": {"spec": "{}"}, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    raw += b" " * (-len(raw) % 8)
    with pytest.raises(CheckpointError, match="header of the uploaded file is nested 5001 levels deep"):
        load_checkpoint(struct.pack("<Q", len(raw)) + raw)


def test_a_header_larger_than_any_model_is_refused_unread():
    raw = b'{"a": "' + b"x" * 2_000_000 + b'"}'
    with pytest.raises(CheckpointError, match="2,000,009-byte header"):
        load_checkpoint(struct.pack("<Q", len(raw)) + raw)


@pytest.mark.parametrize("side", [20_000, 100_000])
def test_images_declaring_20000_pixels_a_side_are_refused_everywhere(side):
    with pytest.raises(images.ImageError, match="far more pixels than the 280×280 canvas"):
        images.decode_canvas(png_declaring(side, side))
    with pytest.raises(images.ImageError, match="too many pixels"):
        images.open_image(png_declaring(side, side))


def test_svg_is_named_and_refused():
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'
    with pytest.raises(images.ImageError, match="SVG drawing.*export it as a PNG"):
        images.open_image(svg)


@pytest.mark.parametrize(
    "value,says",
    [
        (5, "not a PNG image"),
        (["data:image/png;base64,"], "not a PNG image"),
        ("data:image/jpeg;base64,AAAA", "not a PNG image"),
        ("data:image/png;base64,!!!", "not valid base64"),
        ("data:image/png;base64," + "A" * 4_000_000, "more than a canvas makes"),
    ],
)
def test_canvas_values_that_are_not_what_the_canvas_sends(value, says):
    with pytest.raises(images.ImageError, match=says):
        images.canvas_png(value)


def test_canvas_url_and_strokes_as_the_canvas_sends_them():
    data = png(Image.new("RGBA", (280, 280)))
    assert images.canvas_png("data:image/png;base64," + base64.b64encode(data).decode()) == data
    assert images.canvas_png(None) is None
    assert canvas_drawing({"objects": [{"type": "path"}]}) == {"objects": [{"type": "path"}]}
    for raw in (None, [1], {"objects": "x"}, {"objects": [1]}, {"objects": [{}] * 2001}):
        assert canvas_drawing(raw) is None


# ---------------------------------------------------------------- work limits (bounded time and memory)
@pytest.mark.parametrize(
    "call",
    [
        lambda: ops.pool_steps(
            np.random.default_rng(0).random((28, 28)), ops.PoolSettings(size=701, padding=350, stride=1)
        ),
        lambda: ops.pool2d(np.ones((1, 1, 28, 28)), ops.PoolSettings(size=1001, padding=500, stride=1)),
        lambda: ops.pool2d(np.ones((1, 1, 1, 1)), ops.PoolSettings(size=1_000_000_000, padding=500_000_000)),
        lambda: ops.pool_steps(np.ones((1, 1)), ops.PoolSettings(size=20_001, padding=10_000)),
        lambda: ops.conv_steps(np.ones((28, 28)), np.ones((3, 3)), 0, ops.ConvSettings(padding=256)),
        lambda: ops.conv_steps(np.ones((16, 64, 64)), np.ones((16, 7, 7)), 0, ops.ConvSettings(padding=200)),
    ],
    ids=["pool 701 pad 350", "pool 1001", "pool 1e9", "pool 20001 on 1x1", "conv pad 256 steps", "16 channels"],
)
def test_work_beyond_the_limits_is_refused_before_it_is_allocated(call):
    tracemalloc.start()
    try:
        with pytest.raises(ops.OpError, match="this playground (handles|computes) at most"):
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB allocated before refusing"


def test_the_largest_allowed_work_still_runs():
    x = np.random.default_rng(0).random((28, 28))
    steps = ops.pool_steps(x, ops.PoolSettings(size=28, stride=1, padding=14))  # 29×29 windows of 784
    assert len(steps) == 29 * 29
    assert len(ops.conv_steps(x, np.ones((3, 3)), 0, ops.ConvSettings(padding=36))) == 98 * 98  # 9,604


# ---------------------------------------------------------------- the CLI
@pytest.mark.parametrize(
    "argv,says",
    [
        (["conv", "--input", f"[[{HUGE_INT}]]", "--kernel", "[[1]]"], "--input holds a number with more than 400"),
        (["conv", "--input", "[[1]]", "--kernel", DEEP], "--kernel is nested 5000 levels deep"),
        (["pool", "--input", DEEP, "--size", "2"], "--input is nested 5000 levels deep"),
        (["pool", "--input", "[[1]]", "--size", "1000000000", "--padding", "500000000"], "at most 1,000,000"),
        (["pool", "--input", "[[1]]", "--size", "20001", "--padding", "10000"], "at most 1,000,000"),
    ],
    ids=["huge int", "deep kernel", "deep input", "pool 1e9", "pool 20001"],
)
def test_cli_ops_cases_that_gave_tracebacks(capsys, argv, says):
    assert_cli_error(capsys, *argv, says=says)


def test_cli_train_refuses_a_deeply_nested_spec_file(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text('{"layers": ' + DEEP + "}")
    out = tmp_path / "m.safetensors"
    args = ("train", "--arch", str(spec), "--dataset", "synthetic", "--out", str(out))
    assert_cli_error(capsys, *args, says="architecture is nested 5001 levels deep")


@pytest.mark.parametrize(
    "out,says",
    [
        ("/proc/x.safetensors", "A model cannot be written in /proc"),
        ("{tmp}/missing/m.safetensors", "missing does not exist"),
        ("{tmp}/file.txt/m.safetensors", "file.txt is a file, not a folder"),
        ("{tmp}", "is a folder; give a file name"),
    ],
    ids=["proc", "missing folder", "under a file", "a folder"],
)
def test_cli_train_checks_the_output_before_training(tmp_path, capsys, out, says):
    (tmp_path / "file.txt").write_text("x")
    argv = ("train", "--arch", "lenet5", "--dataset", "synthetic", "--epochs", "1", "--subset", "64")
    code, _, err = cli(capsys, *argv, "--out", out.format(tmp=tmp_path))
    assert code == 2 and says in err and err.count("\n") == 1, err  # one line: no epoch was trained


def test_cli_train_saves_elsewhere_when_saving_fails_at_the_end(tmp_path, capsys, monkeypatch):
    real = ck.save_checkpoint
    wanted = tmp_path / "out" / "m.safetensors"
    wanted.parent.mkdir()

    def failing(path, *a, **kw):
        if Path(path) == wanted:
            raise CheckpointError(f"Could not save the model in {wanted.parent} (No space left on device)")
        return real(path, *a, **kw)

    monkeypatch.setattr(ck, "save_checkpoint", failing)
    monkeypatch.chdir(tmp_path)
    argv = ("train", "--arch", "lenet5", "--dataset", "synthetic", "--epochs", "1", "--subset", "64")
    code, _, err = cli(capsys, *argv, "--out", str(wanted))
    rescued = sorted(tmp_path.glob("m-*.safetensors"))
    assert code == 2 and len(rescued) == 1, err
    assert f"No space left on device). The trained model was saved as {rescued[0]} instead." in err
    assert load_checkpoint(rescued[0]).spec == get_preset("lenet5")


# ---------------------------------------------------------------- fuzz (bounded)
MATRIX_ALPHABET = "[]{},;. \n-−0123456789e/\"'ax"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(st.one_of(st.text(MATRIX_ALPHABET, max_size=80), json_values.map(json.dumps), json_values))
def test_fuzz_typed_matrices_end_as_a_kernel_error_or_an_array(text):
    for parse in (kernels.parse_matrix, kernels.parse_channels, kernels.parse_kernel):
        try:
            arr = parse(text)
        except kernels.KernelError as e:
            assert str(e).endswith(".") and "\n" not in str(e)
        else:
            assert np.isfinite(arr).all() and arr.dtype == np.float64


layer_dicts = st.fixed_dictionaries(
    {"type": st.sampled_from(["conv", "pool", "act", "dense", "flatten", "dropout", "batchnorm", "x"])},
    optional={k: json_values for k in ("filters", "kernel", "stride", "padding", "units", "fn", "p", "size")},
)


@FUZZ
@given(
    st.one_of(
        json_values.map(json.dumps),
        st.fixed_dictionaries({"layers": st.lists(layer_dicts, max_size=6)}, optional={"input_shape": json_values}).map(
            json.dumps
        ),
        st.text('[]{}":,0123456789layers', max_size=60),
    )
)
def test_fuzz_architectures_end_as_a_spec_error_or_a_checked_spec(text):
    try:
        infer_shapes(ModelSpec.from_json(text))
    except PlaygroundError as e:
        assert "\n" not in str(e)


@FUZZ
@given(st.binary(max_size=64), st.integers(0, 2**64 - 1))
def test_fuzz_model_file_headers_end_as_a_checkpoint_error(junk, length):
    for data in (junk, struct.pack("<Q", length) + junk, struct.pack("<Q", len(junk)) + junk):
        with pytest.raises(CheckpointError):
            load_checkpoint(data)


@FUZZ
@given(st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1), st.binary(max_size=32))
def test_fuzz_image_headers_end_as_an_image_error_or_an_image(width, height, tail):
    for data in (png_declaring(width, height), png_declaring(width, height)[:33] + tail):
        for decode in (images.open_image, images.decode_canvas):
            try:
                decode(data)
            except images.ImageError:
                pass


@FUZZ
@given(json_values)
def test_fuzz_canvas_values_end_as_an_image_error_or_a_png(value):
    assert canvas_drawing(value) is None or isinstance(value, dict)
    try:
        images.canvas_png(value)
    except images.ImageError:
        pass


option_values = st.one_of(
    st.text(MATRIX_ALPHABET, max_size=40),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["[[1, 2], [3, 4]]", "same", "valid", "1e9", "-1", "0", "nan", HUGE_INT, DEEP]),
)


@FUZZ
@given(
    st.sampled_from(["conv", "pool"]),
    st.lists(
        st.tuples(
            st.sampled_from(["--input", "--kernel", "--size", "--stride", "--padding", "--dilation"]), option_values
        ),
        max_size=4,
    ),
    st.booleans(),
)
def test_fuzz_cli_ops_exit_0_or_2_with_one_line(command, options, as_json):
    argv = [command, "--input", "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]"]
    argv += ["--kernel", "[[1, 0], [0, 1]]"] if command == "conv" else ["--size", "2"]
    for name, value in options:
        argv += [name, value] if not value.startswith("-") else [f"{name}={value}"]
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, *(["--json"] if as_json else [])])
    except SystemExit as e:  # argparse: an option the command does not take
        assert e.code == 2
        return
    out, err = out.getvalue(), err.getvalue()
    assert code in (0, 2), (argv, err)
    if code == 2:
        assert out == "" and err.startswith("error: ") and err.count("\n") == 1, (argv, err)
