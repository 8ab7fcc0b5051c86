"""Draw & Predict with a colour model, in AppTest: held-out test images and uploaded photos (every good and
bad file), the answer and probabilities checked against the engine, the colour first-layer kernels read back
from their figures, a model whose test images are not on this machine, and the hand-over of a first-layer
map to the Convolution page's several-channels view with the network's own numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from apptest_support import ROOT, charts, errors, png, rerun, shown, trace_z, upload_files
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from playground import ops
from playground.data import cifar
from playground.data.datasets import DATASETS, held_out_image
from playground.data.shapes import CLASSES
from playground.imaging import images
from playground.imaging.photo import channels_last, fit_photo
from playground.nn import insight
from playground.nn.checkpoints import load_checkpoint
from playground.nn.model import build
from playground.nn.presets import get_preset
from playground.nn.shipped import SHIPPED_COLOUR_MODEL
from playground.ui import models

DRAW = str(ROOT / "playground" / "pages" / "draw.py")


@pytest.fixture(scope="module")
def colour():
    return load_checkpoint(SHIPPED_COLOUR_MODEL)


def colour_page(path: str = DRAW) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.run()
    at.radio(key="draw.model").set_value(models.SHIPPED_COLOUR)
    return rerun(at)


def headline(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### Prediction"))


def probabilities(at: AppTest) -> np.ndarray:
    return np.array(charts(at)[0]["data"][0]["y"], dtype=float)


def reading(loaded, image: np.ndarray) -> insight.DigitAnalysis:
    """What the engine makes of a (3, 32, 32) test image, straight from the checkpoint."""
    return insight.analyse_photo(loaded.model, loaded.spec, fit_photo(Image.fromarray(channels_last(image)), (32, 32)))


def test_test_images_are_read_with_the_engines_numbers(colour):
    at = colour_page()
    assert not at.exception
    assert "It knows ten synthetic shapes and textures" in shown(at)
    assert "A colour network reads a picture" in shown(at) and "Draw a digit and" not in shown(at)
    for number in (1, 7, 2000):
        at.number_input(key="draw.test_number").set_value(number)
        rerun(at)
        image, label, _ = held_out_image("shapes", number - 1)
        want = reading(colour, image).prediction
        assert headline(at) == f"### Prediction: {want.label} ({CLASSES[want.label]})"
        np.testing.assert_allclose(probabilities(at), want.probabilities, atol=1e-6)
        assert list(charts(at)[0]["data"][0]["x"]) == list(CLASSES)
        assert (
            f"test image {number:,} of 2,000 (image {7999 + number:,}); its true class: **{CLASSES[label]}**"
            in shown(at)
        )
    assert "It is read as it is: 32×32, the model's input size." in shown(at)
    assert not at.exception


def test_the_shortcut_test_images_can_be_chosen_for_the_same_classes(colour):
    at = colour_page()
    at.selectbox(key="draw.test_set").set_value("shapes-shortcut")
    rerun(at)
    image, _, _ = held_out_image("shapes-shortcut", 0)
    assert DATASETS["shapes-shortcut"].title in shown(at)
    want = reading(colour, image).prediction
    np.testing.assert_allclose(probabilities(at), want.probabilities, atol=1e-6)


def photo(size=(300, 200)) -> bytes:
    img = Image.new("RGBA", size, (40, 90, 160, 255))
    w, h = size
    ImageDraw.Draw(img).ellipse([w // 2 - 70, h // 2 - 70, w // 2 + 70, h // 2 + 70], fill=(250, 200, 40, 255))
    return png(img)


def test_photos_are_fitted_and_read_and_bad_files_keep_the_last_one(colour):
    at = colour_page()
    at.button_group(key="draw.colour_source").set_value("Upload a photo")
    rerun(at)
    assert "Upload a photo: its largest centred square is cut out" in shown(at)
    assert headline(at) == "### Prediction: none yet"
    at.file_uploader(key="draw.photo").set_value(("disc.png", photo(), "image/png"))
    rerun(at)
    want = insight.analyse_photo(colour.model, colour.spec, fit_photo(images.open_photo(photo()), (32, 32))).prediction
    assert headline(at) == f"### Prediction: {want.label} ({CLASSES[want.label]})"
    np.testing.assert_allclose(probabilities(at), want.probabilities, atol=1e-6)
    assert "The picture is 300×200 pixels. Its largest centred square (200×200, from column 50, row 0)" in shown(at)
    last = headline(at)
    for name, data in upload_files().items():
        at.file_uploader(key="draw.photo").set_value((name, data, "image/png"))
        rerun(at)
        assert not at.exception, name
        try:
            fitted = fit_photo(images.open_photo(data), (32, 32))
        except images.ImageError as e:
            assert str(e) in errors(at), name
            assert headline(at) == last, name
            assert "Showing the last photo that could be read: " in shown(at), name
            continue
        assert not errors(at), name
        want = insight.analyse_photo(colour.model, colour.spec, fitted).prediction
        last = f"### Prediction: {want.label} ({CLASSES[want.label]})"
        assert headline(at) == last, name


def test_the_first_layer_kernels_are_drawn_in_colour_and_per_channel(colour):
    at = colour_page()
    weights = insight.first_layer_kernels(colour.model)  # (16, 3, 3, 3)
    figures = charts(at)
    patches = next(f for f in figures if "colour kernels" in [t.get("name") for t in f["data"]])
    z = np.array(next(t for t in patches["data"] if t.get("name") == "colour kernels")["z"], dtype=float)
    first = weights[0]
    want = (first - first.min()) / (first.max() - first.min()) * 255
    rows, cols = np.nonzero((z != 255).any(-1))  # the first tile's cells are its top-left block
    top, left = rows.min(), cols.min()
    np.testing.assert_allclose(z[top : top + 3, left : left + 3], np.rint(want.transpose(1, 2, 0)), atol=0.5)
    per_channel = [
        f for f in figures if any("channel" in a.get("text", "") for a in f["layout"].get("annotations", []))
    ]
    assert len(per_channel) == 3
    for c, fig in enumerate(per_channel):
        grid = trace_z(fig, "weights")
        rows, cols = np.nonzero(~np.isnan(grid))
        top, left = rows.min(), cols.min()
        np.testing.assert_allclose(grid[top : top + 3, left : left + 3], weights[0, c], atol=1e-9)


def cifar_model_page(monkeypatch, folder, seed: int):
    """The Draw page with an untrained CIFAR-10 colour model in use and ``folder`` as the data folder."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(folder))
    spec = get_preset("keras-notes")
    model = build(spec, seed=seed).eval()
    at = AppTest.from_file(DRAW, default_timeout=60)
    at.session_state["models.session"] = {
        "cifar": models.ModelChoice("cifar", model, spec, "a CIFAR-10 model.", DATASETS["cifar10"].classes)
    }
    at.session_state["models.draw_choice"] = "cifar"
    return rerun(at), model, spec


def test_a_colour_model_whose_test_images_are_not_here_still_reads_photos(tmp_path, monkeypatch):
    at, model, spec = cifar_model_page(monkeypatch, tmp_path, seed=3)
    assert at.radio(key="draw.model").value == "cifar"
    assert not at.exception
    assert any(f"CIFAR-10 is not in {tmp_path}" in i.value and "Upload a photo instead." in i.value for i in at.info)
    at.button_group(key="draw.colour_source").set_value("Upload a photo")
    rerun(at)
    at.file_uploader(key="draw.photo").set_value(("disc.png", photo((64, 64)), "image/png"))
    rerun(at)
    want = insight.analyse_photo(model, spec, fit_photo(images.open_photo(photo((64, 64))), (32, 32))).prediction
    assert headline(at) == f"### Prediction: {want.label} ({cifar.CLASSES[want.label]})"


def test_a_first_layer_map_opens_in_the_several_channels_view_with_the_networks_numbers(colour):
    at = colour_page(str(ROOT / "app.py"))
    at.number_input(key="draw.test_number").set_value(5)
    rerun(at)
    at.number_input(key="draw.open_map").set_value(4)
    rerun(at)
    at.button(key="draw.to_conv").click()
    rerun(at)
    assert at.title[0].value == "Convolution" and not at.exception
    assert at.radio(key="conv.view").value == "Several channels"
    assert "Input: the three channels of conv1 map 4's input as the network computed them" in shown(at)
    image, _, _ = held_out_image("shapes", 4)
    want = reading(colour, image)
    h = insight.handoff(colour.model, colour.spec, want, "conv1", 3)
    assert h.channels.shape == (3, 32, 32) and h.kernels.shape == (3, 3, 3)
    out = ops.conv2d(h.channels[None], h.kernels[None], np.array([h.full_bias]), h.settings)[0, 0]
    np.testing.assert_allclose(out, want.layers[0].maps[3], atol=1e-5)  # the engine gives the network's map
    at.button(key="conv.last").click()
    rerun(at)
    figure = next(f for f in charts(at) if "output" in [t.get("name") for t in f["data"]])
    np.testing.assert_allclose(trace_z(figure, "output"), out, atol=1e-9)


def test_cifar_test_images_are_counted_from_the_file_that_is_there(tmp_path, monkeypatch):
    from test_colour_data import write_cifar

    written = write_cifar(tmp_path / cifar.FOLDER, per_batch=20)
    at, model, spec = cifar_model_page(monkeypatch, tmp_path, seed=5)
    assert at.number_input(key="draw.test_number").label == "Test image (1 to 20)"
    at.number_input(key="draw.test_number").set_value(20)
    rerun(at)
    images_, labels = written[cifar.TEST_FILE]
    assert f"CIFAR-10 test image 20 of 20; its true class: **{cifar.CLASSES[labels[19]]}**" in shown(at)
    want = reading(SimpleNamespace(model=model, spec=spec), images_[19]).prediction
    np.testing.assert_allclose(probabilities(at), want.probabilities, atol=1e-6)


def test_before_a_photo_the_answer_panel_asks_for_one_and_a_model_of_another_shape_is_refused():
    at = colour_page()
    at.button_group(key="draw.colour_source").set_value("Upload a photo")
    rerun(at)
    assert "Choose a test image, or upload a photo." in [i.value for i in at.info]
    assert not any("Draw a digit" in i.value for i in at.info)
    from playground.nn.architecture import Dense, Flatten, ModelSpec

    odd = ModelSpec("odd", (Flatten(), Dense(10)), (1, 32, 32))
    at = AppTest.from_file(DRAW, default_timeout=60)
    at.session_state["models.session"] = {"odd": models.ModelChoice("odd", build(odd, seed=1).eval(), odd, "odd.")}
    at.session_state["models.draw_choice"] = "odd"
    rerun(at)
    assert not at.exception
    assert any(e.startswith("This model reads 1×32×32 images") for e in errors(at))
