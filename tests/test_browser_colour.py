"""A colour model on Draw & Predict in a real Chromium: pick the shipped colour model, read a held-out test
image's answer and probabilities off the page and check them against the engine, upload a photo of another
size and shape and see the steps that fit it, open the colour first-layer kernels. Screenshots at 1366×768,
1024×768 and a 390×844 phone land in test-results/<test name>/."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.harness import wait_for_app
from playground.data.datasets import held_out_image
from playground.imaging import images
from playground.imaging.photo import channels_last, fit_photo
from playground.nn import insight
from playground.nn.checkpoints import load_checkpoint
from playground.nn.shipped import SHIPPED_COLOUR_MODEL
from playground.ui.models import SHIPPED_COLOUR

PREDICTION = ".st-key-draw-prediction"
PROBABILITIES = """() => {
    const gd = document.querySelector('.st-key-draw-prediction .js-plotly-plot');
    return gd && gd.data ? gd.data[0].y : null;
}"""
OUTPUT_Z = """() => {
    const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullData && g._fullData.some(t => t.name === 'output'));
    if (!gd) return null;
    const t = gd._fullData.find(t => t.name === 'output');
    return Array.from(t.z, r => Array.from(r));
}"""
KERNEL_TRACES = """() => {
    const gd = document.querySelector('.st-key-draw-kernels .js-plotly-plot');
    return gd && gd.data ? gd.data.map(t => t.type) : null;
}"""


def engine_reading(fitted):
    loaded = load_checkpoint(SHIPPED_COLOUR_MODEL)
    classes = loaded.metadata["data"]["train"]["name"]
    assert classes == "shapes"
    return insight.analyse_photo(loaded.model, loaded.spec, fitted)


def photo_png() -> bytes:
    """A 400×260 photo-like picture: a thick orange ring on a blue-grey wall with a gradient."""
    wall = np.linspace(90, 150, 400)[None, :, None] * np.array([0.6, 0.7, 1.0])[None, None, :]
    img = Image.fromarray(np.repeat(wall, 260, axis=0).astype(np.uint8))
    ImageDraw.Draw(img).ellipse([120, 50, 280, 210], outline=(240, 140, 30), width=30)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def choose_colour_model(page, url: str, phone: bool = False) -> None:
    """In the sidebar's model picker; on a phone, where the sidebar is folded away, by the lecturer's link."""
    page.goto(url + ("/?model=colour" if phone else ""))
    wait_for_app(page)
    if not phone:
        page.get_by_text(SHIPPED_COLOUR, exact=True).click()
    page.wait_for_function(
        "css => { const e = document.querySelector(css); return e && e.innerText.includes('Prediction: ') "
        "&& !e.innerText.includes('none yet'); }",
        arg=PREDICTION,
        timeout=30_000,
    )
    wait_for_app(page)


def shown_probabilities(page) -> list[float]:
    page.wait_for_function(f"() => ({PROBABILITIES})() !== null", timeout=30_000)
    return page.evaluate(PROBABILITIES)


def test_a_colour_model_reads_a_test_image_and_a_photo(page, app_url):
    choose_colour_model(page, app_url)
    image, label, _ = held_out_image("shapes", 0)
    want = engine_reading(fit_photo(Image.fromarray(channels_last(image)), (32, 32)))
    text = page.locator(PREDICTION).inner_text()
    name = want.prediction.label
    assert f"Prediction: {name} (" in text
    probs = shown_probabilities(page)
    np.testing.assert_allclose(probs, want.prediction.probabilities, atol=1e-6)
    assert "its true class" in page.locator("section.main, [data-testid='stMain']").first.inner_text()
    page.wait_for_selector(".st-key-draw-maps .js-plotly-plot", timeout=30_000)
    page.wait_for_function(f"() => ({KERNEL_TRACES})() !== null", timeout=30_000)
    assert page.evaluate(KERNEL_TRACES) == ["image"]  # the colour patches
    page.shot("test-image", height=3600)
    panel = page.locator(".st-key-draw-kernels-panel")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(page.folder / "colour-kernels.png"))

    # a photo of another size and shape: cut to its centre square, shrunk to 32×32
    page.get_by_text("Upload a photo").click()
    wait_for_app(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": "ring.jpg", "mimeType": "image/jpeg", "buffer": photo_png()}]
    )
    page.wait_for_function("() => document.body.innerText.includes('The picture is 400×260 pixels')", timeout=30_000)
    wait_for_app(page)
    want = engine_reading(fit_photo(images.open_photo(photo_png()), (32, 32)))
    assert f"Prediction: {want.prediction.label} (" in page.locator(PREDICTION).inner_text()
    np.testing.assert_allclose(shown_probabilities(page), want.prediction.probabilities, atol=1e-6)
    body = page.locator("body").inner_text()
    assert "largest centred square (260×260, from column 70, row 0) is shrunk to 32×32" in body
    page.shot("photo", height=3600)

    # conv1 map 1 opens in the Convolution page's several-channels view with the network's own numbers
    page.get_by_role("button", name="Step through it on the Convolution page").click()
    page.wait_for_function(
        '() => document.body.innerText.includes("Input: the three channels of conv1 map 1\'s input")', timeout=30_000
    )
    wait_for_app(page)
    page.locator(".st-key-conv-last button").filter(visible=True).click()
    wait_for_app(page)
    page.wait_for_function(
        f"() => {{ const z = ({OUTPUT_Z})(); return z && z.flat().every(v => v !== null && !Number.isNaN(v)); }}",
        timeout=30_000,
    )
    shown = np.array(page.evaluate(OUTPUT_Z), dtype=float)
    np.testing.assert_allclose(shown, want.layers[0].maps[0], atol=1e-5)
    page.shot("several-channels", height=2400)


def test_the_colour_page_at_the_sizes_people_use(browser, app_url, request):
    from conftest import ARTIFACTS

    out = ARTIFACTS / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    for name, size, phone in (
        ("laptop-1366x768", (1366, 768), False),
        ("projector-1024x768", (1024, 768), False),
        ("phone-390x844", (390, 844), True),
    ):
        context = browser.new_context(viewport={"width": size[0], "height": size[1]}, is_mobile=phone, has_touch=phone)
        page = context.new_page()
        choose_colour_model(page, app_url, phone)
        assert len(shown_probabilities(page)) == 10
        page.wait_for_selector(f"{PREDICTION} .js-plotly-plot .main-svg .bars", timeout=30_000)  # drawn
        box = page.locator(PREDICTION).bounding_box()
        assert box["width"] > 200 and box["x"] >= 0 and box["x"] + box["width"] <= size[0] + 1
        page.screenshot(path=str(out / f"{name}.png"))
        context.close()


def choose_option(page, key: str, option: str) -> None:
    """Pick ``option`` in the selectbox whose widget key is ``key``, as a user does: click, type, choose."""
    box = page.locator(f".st-key-{key.replace('.', '-')} [role=combobox]")
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def test_a_colour_model_trained_on_the_train_page_reads_test_images_on_the_draw_page(page, app_url):
    from test_browser_train import CHECKED_RADIO, LONG, POINTS, css, set_number, wait_text

    page.goto(app_url + "/train")
    wait_for_app(page, timeout=LONG)
    choose_option(page, "train.dataset", "Colour shapes (synthetic)")
    wait_text(page, "[data-testid=stSidebar]", "Colour shapes (generated by CNN Playground, seed 0)")
    page.locator(f"{css('train.model_source')} label").filter(has_text="A preset").click()
    wait_for_app(page, timeout=LONG)
    choose_option(page, "train.preset", "keras-notes")
    set_number(page, "train.subset", 1000)
    set_number(page, "train.epochs", 2)
    start = page.locator(f"{css('train.start')} button").first
    assert start.is_enabled()
    start.click()
    wait_text(page, POINTS, "state: finished")
    wait_text(page, "[data-testid=stMain]", "Results on the held-out test images")
    wait_for_app(page, timeout=LONG)
    page.shot("colour-run-finished", height=2600)
    page.locator(f"{css('train.use_run')} button").first.click()
    wait_text(page, "[data-testid=stMain]", "This model is in use on the Draw page.")

    page.locator("[data-testid=stSidebarNav] a").filter(has_text="Draw & Predict").click()
    wait_text(page, PREDICTION, "Prediction: ")
    page.wait_for_function(
        "css => !document.querySelector(css).innerText.includes('none yet')", arg=PREDICTION, timeout=LONG
    )
    wait_for_app(page, timeout=LONG)
    chosen = page.evaluate(CHECKED_RADIO, css("draw.model"))
    assert chosen.startswith("Trained: run 1 (keras-notes, ")
    assert "its true class" in page.locator("[data-testid=stMain]").inner_text()
    probs = shown_probabilities(page)
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-6
    page.shot("colour-run-on-the-draw-page", height=1600)
