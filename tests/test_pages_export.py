"""'On a slide' on Convolution and Pooling (AppTest): Make the GIF offers the download for the chosen
cells, a bad range is one sentence beside the controls and nothing is offered, and the numpy and
PyTorch code shown reproduces the page's output when run."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest
import torch
from apptest_support import CONV, POOL, app, errors, rerun, shown

from playground import ops
from playground.figures import gif
from playground.ops import samples

PAGES = {"conv": CONV, "pool": POOL}


def downloads(at) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


def run_code(code: str) -> np.ndarray:
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<page snippet>", "exec"), scope)  # noqa: S102 - code the page showed
    out = scope["out"]
    return out.numpy() if isinstance(out, torch.Tensor) else np.asarray(out)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_make_the_gif_offers_the_chosen_cells_and_refuses_a_bad_range(page):
    at = app(PAGES[page])
    assert downloads(at) == [] and "a GIF holds up to 120" in shown(at)
    at.button(key=f"{page}.gif_make").click()
    rerun(at)
    n = 4  # both worked examples have a 2×2 output
    [label] = downloads(at)
    assert re.fullmatch(rf"⬇ Download the GIF \(\d+ KB, cells 1–{n} of {n}\)", label), label
    at.number_input(key=f"{page}.gif_from").set_value(3)
    at.number_input(key=f"{page}.gif_to").set_value(9)
    rerun(at)
    assert downloads(at) == []  # the GIF made for other cells is not offered for these
    at.button(key=f"{page}.gif_make").click()
    rerun(at)
    assert any("between 1 and 4" in e for e in errors(at)) and downloads(at) == [] and not at.exception
    at.number_input(key=f"{page}.gif_from").set_value(1)
    at.number_input(key=f"{page}.gif_to").set_value(500)  # more than the server makes: one sentence
    at.button(key=f"{page}.gif_make").click()
    rerun(at)
    assert any("at most 120 cells" in e or "between 1 and 4" in e for e in errors(at)) and downloads(at) == []
    at.number_input(key=f"{page}.gif_from").set_value(3)
    at.number_input(key=f"{page}.gif_to").set_value(4)
    at.button(key=f"{page}.gif_make").click()
    rerun(at)
    assert downloads(at)[0].endswith("cells 3–4 of 4)") and not errors(at)


def test_the_gif_is_what_the_export_module_makes():
    """The page's bytes are figures.gif's frames for the page's run: 4 cells + the final frame."""
    from playground.ui import slides
    from playground.ui.conv_view import compute_conv
    from playground.ui.widgets import ConvControls

    run = compute_conv(samples.WORKED_3X3, samples.WORKED_KERNEL_2X2, ConvControls())
    from playground import figures

    data = figures.conv_player_data(run.padded, run.pads, run.applied_kernel, run.output, run.steps)
    from PIL import Image, ImageSequence

    frames = list(ImageSequence.Iterator(Image.open(io.BytesIO(slides._make_gif(data, 1, 4, 5)))))
    assert len(frames) == 5 and frames[0].size[0] == gif.WIDTH


def test_convolution_code_reproduces_the_page_after_a_settings_change():
    at = app(CONV)
    at.number_input(key="conv.bias").set_value(0.5)
    at.toggle(key="conv.flip").set_value(True)
    at.toggle(key="conv.show_code").set_value(True)
    rerun(at)
    numpy_code, torch_code = (c.value for c in at.code[-2:])  # the export's two, after the engine source
    want = ops.conv2d(
        samples.WORKED_3X3[None, None],
        samples.WORKED_KERNEL_2X2[None, None],
        np.array([0.5]),
        ops.ConvSettings(flip=True),
    )[0, 0]
    for code in (numpy_code, torch_code):
        assert np.allclose(run_code(code), want, rtol=0, atol=1e-12), code


def test_pooling_code_reproduces_the_page():
    at = app(POOL)
    assert not [c for c in at.code if c.language == "python"]  # written only on request, not resent every step
    rerun(at.toggle(key="pool.show_code").set_value(True))
    numpy_code, torch_code = (c.value for c in at.code[-2:])  # the export's two, after the engine source
    for code in (numpy_code, torch_code):
        assert run_code(code).tolist() == [[6.0, 8.0], [14.0, 16.0]]
