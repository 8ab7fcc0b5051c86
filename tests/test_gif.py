"""The GIF export (figures/gif.py, `python -m playground conv|pool --gif`): one frame per output cell plus a
final frame, frame k showing cell k's value in its colour with the window where the engine's step k
put it, and one sentence for every range, frame rate or path that cannot be used."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageSequence

from playground import ops
from playground.figures import common, gif
from playground.figures.player import conv_player_data, pool_player_data
from playground.ops import kernels, samples

SOBEL_X = kernels.PRESETS["Sobel x"].array


def conv_data(x=samples.WORKED_3X3, k=samples.WORKED_KERNEL_2X2, settings=ops.ConvSettings()):
    pads = settings.pads(k.shape)
    steps = ops.conv_steps(x, k, 0.0, settings)
    out = ops.conv_output_from_steps(steps, ops.conv_output_shape(x.shape, k.shape, settings))
    return conv_player_data(ops.pad(x, pads, settings.padding_mode), pads, steps[0].kernel[0], out, steps), steps


def decoded(blob: bytes) -> list[np.ndarray]:
    return [np.asarray(f.convert("RGB")).astype(int) for f in ImageSequence.Iterator(Image.open(io.BytesIO(blob)))]


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def inside(panel: gif.Panel, r: int, c: int) -> tuple[int, int]:
    """A point inside cell (r, c) away from its number and its outline: (x, y)."""
    return int(panel.x + c * panel.cell + panel.cell * 0.15) + 1, int(panel.y + r * panel.cell + panel.cell * 0.5)


def close(pixel: np.ndarray, colour: str, tol: int = 14) -> bool:
    return bool(np.abs(pixel - rgb(colour)).max() <= tol)


@pytest.mark.parametrize("unicode", [True, False])  # with a system font, and with Pillow's own (ASCII signs)
def test_frame_k_shows_cell_k_and_its_window(unicode):
    data, steps = conv_data(samples.digit(3, 8), SOBEL_X, ops.ConvSettings(padding=1, stride=2))
    n = len(steps)
    shots = gif.frames(data, unicode=unicode)
    frames = decoded(gif.gif_bytes(shots, fps=5))
    assert len(frames) == n + 1 and {f.shape for f in frames} == {(shots[0].height, gif.WIDTH, 3)}
    lay = gif.layout(data)
    fills = data["output"]["fills"]
    for k, (f, step) in enumerate(zip(frames, steps)):
        r, c = step.out_pos
        x, y = inside(lay.output, r, c)
        assert close(f[y, x], fills[r][c]), (k, f[y, x], fills[r][c])  # cell k in its value's colour
        for later in steps[k + 1 :]:
            lx, ly = inside(lay.output, *later.out_pos)
            assert close(f[ly, lx], common.EMPTY_SLOT), (k, later.out_pos)  # not computed yet
        # the window's orange outline runs along the top edge of step k's window on the input
        wx = int(lay.input.x + (step.cols[0] + 0.5) * lay.input.cell)
        wy = int(lay.input.y + step.rows[0] * lay.input.cell) + 1
        assert close(f[wy, wx], common.WINDOW, tol=40), (k, f[wy, wx])
    final = frames[-1]
    for step in steps:  # the final frame: every cell, no window
        x, y = inside(lay.output, *step.out_pos)
        assert close(final[y, x], fills[step.out_pos[0]][step.out_pos[1]])


def test_a_range_starts_with_the_earlier_cells_computed():
    data, steps = conv_data(samples.WORKED_4X4, samples.WORKED_KERNEL_2X2)
    frames = decoded(gif.gif_bytes(gif.frames(data, 4, 6), fps=10))
    assert len(frames) == 3 + 1
    lay = gif.layout(data)
    first = frames[0]
    for step in steps[:5]:
        x, y = inside(lay.output, *step.out_pos)
        assert close(first[y, x], data["output"]["fills"][step.out_pos[0]][step.out_pos[1]])
    x, y = inside(lay.output, *steps[5].out_pos)
    assert close(first[y, x], common.EMPTY_SLOT)


def test_pooling_gif_has_no_kernel_and_reads_padding_as_minus_infinity():
    x = samples.WORKED_4X4
    settings = ops.PoolSettings(size=2, padding=1)
    steps = ops.pool_steps(x, settings)
    out = ops.conv_output_from_steps(steps, ops.pool_output_shape(x.shape, settings))
    data = pool_player_data(ops.pad(x, (1, 1, 1, 1), "zeros"), (1, 1, 1, 1), out, steps, "max")
    assert "kernel" not in data and data["input"]["labels"][0][0] == "−∞" and data["input"]["labels"][1][1] == "1"
    assert data["output"]["title"] == "Max pooled 3×3"
    lay = gif.layout(data)
    assert lay.kernel is None and [s[0] for s in lay.signs] == ["→"]
    assert len(decoded(gif.gif_bytes(gif.frames(data), fps=2))) == 10


def test_timing_and_size_stay_within_what_a_gif_can_hold():
    data, _ = conv_data()
    blob = gif.gif_bytes(gif.frames(data), fps=5)
    im = Image.open(io.BytesIO(blob))
    durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    assert durations == [200, 200, 200, 200, 2000] and im.info.get("loop") == 0
    assert [
        f.info["duration"] for f in ImageSequence.Iterator(Image.open(io.BytesIO(gif.gif_bytes(gif.frames(data), 50))))
    ][0] == gif.MIN_MS


@pytest.mark.parametrize(
    "first,last,fps,words",
    [(3, 1, 5, "the first no later"), (0, 9, 5, "between 1 and 4"), (0, 3, 0, "frame rate"), (0, 3, 500, "frame rate")],
)
def test_bad_ranges_and_rates_are_one_sentence(first, last, fps, words):
    data, _ = conv_data()
    with pytest.raises(gif.GifError, match=words):
        gif.gif_bytes(gif.frames(data, first, last), fps)


def test_more_cells_than_a_gif_holds_are_refused_before_drawing():
    data, steps = conv_data(samples.digit(2, 28), SOBEL_X, ops.ConvSettings(padding=1))
    assert len(steps) == 784 > gif.MAX_FRAMES
    with pytest.raises(gif.GifError, match="at most 400 cells") as e:
        gif.frames(data)
    assert e.value.field == "cells"
    assert len(gif.frames(data, 0, 99)) == 101


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True, text=True, timeout=120)


def test_cli_writes_the_gif_and_says_what_is_wrong_in_one_line(tmp_path):
    out = tmp_path / "conv.gif"
    done = cli(
        "conv", "--input", "[[1,2,3],[4,5,6],[7,8,9]]", "--kernel", "[[1,2],[3,4]]", "--gif", str(out), "--fps", "2"
    )
    assert done.returncode == 0 and "37  47" in done.stdout, done.stderr
    frames = decoded(out.read_bytes())
    data, steps = conv_data()
    assert len(frames) == 5
    lay = gif.layout(data)
    x, y = inside(lay.output, 0, 1)
    assert close(frames[1][y, x], data["output"]["fills"][0][1]) and close(frames[0][y, x], common.EMPTY_SLOT)
    pool = tmp_path / "pool.gif"
    done = cli("pool", "--input", "[[1,2,3,4],[5,6,7,8],[9,10,11,12],[13,14,15,16]]", "--size", "2", "--gif", str(pool))
    assert done.returncode == 0 and len(decoded(pool.read_bytes())) == 5
    for args, words in [
        (("--gif", str(tmp_path / "no" / "x.gif")), "Cannot write the GIF"),
        (("--gif", str(out), "--cells", "3-9"), "between 1 and 4"),
        (("--gif", str(out), "--cells", "x"), "--cells takes FROM-TO"),
        (("--gif", str(out), "--fps", "0"), "frame rate"),
    ]:
        done = cli("conv", "--input", "[[1,2,3],[4,5,6],[7,8,9]]", "--kernel", "[[1,2],[3,4]]", *args)
        assert done.returncode == 2 and words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    done = cli("conv", "--input", "[[[1,2],[3,4]],[[1,2],[3,4]]]", "--kernel", "[[[1]],[[1]]]", "--gif", str(out))
    assert done.returncode == 2 and "one input channel and one filter" in done.stderr
