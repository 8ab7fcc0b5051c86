"""Re-take the README's screenshots of Draw & Predict, Convolution, Backpropagation, Class and Train in Chromium at 1366 px wide.

Run: python -m benchmarks.screenshots   (writes assets/screenshot-draw.png, -convolution.png, -colour.png, -backprop.png, -class.png, -train.png)
Starts its own server on 127.0.0.1 (with the MNIST folder, as the load client does) and stops it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.harness import BROWSER_ARGS, mnist_dir, open_class_room, wait_for_app
from benchmarks.loadclient import start_app, stop_app
from playground.data.datasets import load_dataset
from playground.imaging.canvas_style import canvas_style_digits
from playground.serve.class_store import open_store

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]  # a 7, as fractions of the canvas


def _stroke(page, canvas, points) -> None:
    box = canvas.bounding_box()
    xy = [(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=12)
    page.mouse.up()


def _backprop(page, url: str) -> None:
    """The convolution's weight gradient of the default network on the digit 3, at its fifth cell."""
    page.set_viewport_size({"width": 1366, "height": 1200})  # down to the cell's arithmetic
    page.goto(url + "/backprop")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.locator(".st-key-backprop-stage").get_by_text("Convolution: dW1", exact=True).click()
    wait_for_app(page)
    for _ in range(4):
        page.locator(".st-key-backprop-next button").first.click()
        page.wait_for_timeout(400)
        wait_for_app(page)
    page.mouse.move(5, 5)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ASSETS / "screenshot-backprop.png"))


POINTS = ".st-key-train-curve-points"


def _train(page, url: str) -> None:
    """keras-mnist on all 7,000 training images for 40 epochs, photographed after a few epochs."""
    page.set_viewport_size({"width": 1366, "height": 1900})
    page.goto(url + "/train")
    wait_for_app(page)
    page.locator(".st-key-train-model_source label").filter(has_text="A preset").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stSidebar]').innerText.includes('validation on')", timeout=90_000
    )
    wait_for_app(page)
    box = page.locator(".st-key-train-epochs input")
    box.fill("40")
    box.press("Enter")
    page.wait_for_timeout(500)
    wait_for_app(page)
    page.locator(".st-key-train-start button").first.click()
    page.wait_for_function(
        "css => { const e = document.querySelector(css); const m = e && e.innerText.match(/([\\d,]+) validation/);"
        " return m && parseInt(m[1].replace(/,/g, '')) >= 3; }",
        arg=POINTS,
        timeout=180_000,
    )  # three validation points: the training and validation accuracy curves both show
    page.wait_for_timeout(2500)
    page.mouse.move(5, 5)
    page.screenshot(path=str(ASSETS / "screenshot-train.png"))
    page.locator(".st-key-train-stop button").first.click()


def _class(page, url: str, location: str) -> None:
    """A class room with 48 drawings: held-out MNIST test digits redrawn as canvas drawings (seeded), each
    sent with the digit it is, most of them by one of 20 "students", a few with no digit said."""
    page.set_viewport_size({"width": 1366, "height": 1500})
    code = open_class_room(page, url)
    test = load_dataset("mnist", mnist_dir(), split="test", download_ok=False)
    drawn = canvas_style_digits(test.images[:48], seed=3, elastic_px=1.0)
    store = open_store(location)
    for i, img in enumerate(drawn):
        store.send(code, f"student-{i % 20}", img, None if i % 9 == 4 else int(test.labels[i]), now=1000.0 + 4 * i)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.includes('48'))",
        timeout=60_000,
    )
    wait_for_app(page)
    page.mouse.move(5, 5)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ASSETS / "screenshot-class.png"))


def _colour(page, url: str) -> None:
    """The colour model reading an uploaded photo: the photo, its centre square, the 32×32 input, the answer."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    wall = np.linspace(90, 150, 400)[None, :, None] * np.array([0.6, 0.7, 1.0])[None, None, :]
    photo = Image.fromarray(np.repeat(wall, 260, axis=0).astype(np.uint8))
    ImageDraw.Draw(photo).ellipse([120, 50, 280, 210], outline=(240, 140, 30), width=30)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92)
    page.set_viewport_size({"width": 1366, "height": 1500})
    page.goto(url)
    wait_for_app(page)
    page.get_by_text("Pretrained colour: playground-shapes", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Upload a photo").click()
    wait_for_app(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": "ring.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}]
    )
    page.wait_for_function("() => document.body.innerText.includes('The picture is 400×260 pixels')", timeout=60_000)
    page.wait_for_selector(".st-key-draw-maps .js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(2000)
    wait_for_app(page)
    page.mouse.move(5, 5)
    page.screenshot(path=str(ASSETS / "screenshot-colour.png"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        location = str(Path(tmp) / "class.sqlite3")
        proc, url = start_app({"PLAYGROUND_CLASS_DB": location})
        _all(proc, url, location)


def _all(proc, url: str, location: str) -> None:
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url)
            wait_for_app(page)
            canvas = page.locator("canvas.upper-canvas")
            canvas.wait_for(timeout=60_000)
            _stroke(page, canvas, SEVEN)
            page.wait_for_function(
                "() => document.querySelector('.st-key-draw-prediction').innerText.includes('Prediction: 7')",
                timeout=60_000,
            )
            page.wait_for_selector(".st-key-draw-maps .js-plotly-plot", timeout=60_000)
            page.set_viewport_size({"width": 1366, "height": 2300})
            page.wait_for_timeout(2500)
            wait_for_app(page)
            page.screenshot(path=str(ASSETS / "screenshot-draw.png"))

            page.set_viewport_size({"width": 1366, "height": 1100})
            page.goto(url + "/convolution")
            wait_for_app(page)
            box = page.locator(".st-key-conv-source [role=combobox]")
            box.click()
            page.keyboard.type("Sample image")
            page.get_by_role("option", name="Sample image", exact=True).click()
            wait_for_app(page)
            box = page.locator(".st-key-conv-kernel [role=combobox]")
            box.click()
            page.keyboard.type("Sobel x")
            page.get_by_role("option", name="Sobel x", exact=True).click()
            wait_for_app(page)
            for _ in range(3):
                page.locator(".st-key-conv-next button").filter(visible=True).click()
                page.wait_for_timeout(400)
                wait_for_app(page)
            page.mouse.move(5, 5)  # no tooltip over the buttons
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ASSETS / "screenshot-convolution.png"))
            _colour(page, url)
            _backprop(page, url)
            _class(page, url, location)
            _train(page, url)
            browser.close()
    finally:
        stop_app(proc)


if __name__ == "__main__":
    main()
