"""Draw & Predict in a real Chromium: draw with the mouse, read the prediction, click a feature map,
switch pages and come back to the same drawing, step through a map on the Convolution page.
Screenshots land in test-results/<test name>/."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import wait_for_app

PREDICTION = ".st-key-draw-prediction"

CANVAS_HAS_INK = """canvases => canvases.some(c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 200) return true;
    return false;
})"""

PROBABILITIES = """() => {
    const gd = document.querySelector('.st-key-draw-prediction .js-plotly-plot');
    return gd && gd.data ? gd.data[0].y : null;
}"""

# page coordinates of the centre of map `ch` of layer `li` in the feature-map overview
TILE_CENTRE = """([li, ch]) => {
    const gd = document.querySelector('.st-key-draw-maps .js-plotly-plot');
    const t = gd.data.find(d => d.type === 'scatter' && d.name === 'maps' && d.customdata[0][0] === li);
    const i = t.customdata.findIndex(c => c[0] === li && c[1] === ch);  // one marker trace per layer
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    return [box.left + xa._offset + xa.l2p(t.x[i]), box.top + ya._offset + ya.l2p(t.y[i])];
}"""


def open_draw_page(page, url: str):
    page.goto(url)
    wait_for_app(page)
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=30_000)
    return canvas


def stroke(page, canvas, points) -> None:
    """Draw one stroke through ``points`` given as fractions of the canvas (x, y)."""
    canvas.scroll_into_view_if_needed()  # the mouse only reaches what is in the window
    box = canvas.bounding_box()
    xy = [(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
        for t in np.linspace(0, 1, 8)[1:]:
            page.mouse.move(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
    page.mouse.up()


def wait_for_prediction(page, text: str) -> str:
    page.wait_for_function(
        "([css, text]) => { const e = document.querySelector(css); return e && e.innerText.includes(text); }",
        arg=[PREDICTION, text],
        timeout=30_000,
    )
    wait_for_app(page)
    return page.locator(PREDICTION).inner_text()


def test_a_vertical_stroke_is_read_as_a_one(page, app_url):
    canvas = open_draw_page(page, app_url)
    wait_for_prediction(page, "Prediction: none yet")
    page.shot("empty-canvas")
    stroke(page, canvas, [(0.5, 0.15), (0.5, 0.85)])
    wait_for_prediction(page, "Prediction: 1")
    page.wait_for_function(f"() => ({PROBABILITIES})() !== null", timeout=30_000)
    probs = page.evaluate(PROBABILITIES)
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-6 and int(np.argmax(probs)) == 1
    page.wait_for_selector(".st-key-draw-maps .js-plotly-plot", timeout=30_000)
    page.wait_for_timeout(1000)
    page.shot("drawn-one", height=3400)


def test_clicking_a_feature_map_opens_it_large(page, app_url):
    canvas = open_draw_page(page, app_url)
    stroke(page, canvas, [(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)])
    wait_for_prediction(page, "Prediction: 7")
    page.wait_for_selector(".st-key-draw-maps .js-plotly-plot", timeout=30_000)
    page.set_viewport_size({"width": 1400, "height": 2400})  # the whole overview on screen
    page.wait_for_timeout(800)
    x, y = page.evaluate(TILE_CENTRE, [1, 2])  # relu1, map 3
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => { const e = document.querySelector('.st-key-draw-opened'); "
        "return e && e.innerText.includes('relu1 map 3: real values'); }",
        timeout=30_000,
    )
    wait_for_app(page)
    assert page.locator(".st-key-draw-open_map input").input_value() == "3"
    page.shot("opened-relu1-map-3", height=2400)


def test_drawing_survives_a_page_switch_and_opens_on_the_convolution_page(page, app_url):
    canvas = open_draw_page(page, app_url)
    stroke(page, canvas, [(0.5, 0.15), (0.5, 0.85)])
    wait_for_prediction(page, "Prediction: 1")
    page.locator("[data-testid=stSidebarNav] a[href$='pooling']").click()
    page.wait_for_function("() => document.body.innerText.includes('Pooling slides a window')", timeout=30_000)
    wait_for_app(page)
    page.locator("[data-testid=stSidebarNav] a").first.click()
    page.locator("canvas.upper-canvas").wait_for(timeout=30_000)
    wait_for_prediction(page, "Prediction: 1")
    # the strokes are back on the canvas (it sits in a shadow root: reach it through a locator)
    lower = page.locator("canvas.lower-canvas")
    for _ in range(50):
        if lower.evaluate_all(CANVAS_HAS_INK):
            break
        page.wait_for_timeout(200)
    assert lower.evaluate_all(CANVAS_HAS_INK)
    page.shot("after-page-switch")
    page.get_by_role("button", name="Step through it on the Convolution page").click()
    page.wait_for_function(
        "() => document.body.innerText.includes('Input: the input of conv1 map 1 (28×28). "
        "Kernel: the learned kernel of conv1 map 1.')",
        timeout=30_000,
    )
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    page.wait_for_timeout(800)
    page.shot("conv1-map-1-on-the-convolution-page")


CELL_CENTRE = """([row, col]) => {
    const gd = document.querySelector('.st-key-draw-opened .js-plotly-plot');
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    return [box.left + xa._offset + xa.l2p(col), box.top + ya._offset + ya.l2p(row)];
}"""


def test_clicking_a_cell_of_the_opened_map_shows_its_receptive_field(page, app_url):
    canvas = open_draw_page(page, app_url)
    stroke(page, canvas, [(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)])
    wait_for_prediction(page, "Prediction: 7")
    page.wait_for_selector(".st-key-draw-opened .js-plotly-plot", timeout=30_000)
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.wait_for_timeout(800)
    x, y = page.evaluate(CELL_CENTRE, [10, 12])  # conv1 map 1 opens first: its cell (10, 12)
    page.mouse.click(x, y)
    text = "conv1 cell (10, 12) sees input rows 9–11 and columns 11–13: a 3×3 field."
    page.wait_for_function(
        "t => { const e = document.querySelector('.st-key-draw-receptive-field'); return e && e.innerText.includes(t); }",
        arg=text,
        timeout=30_000,
    )
    wait_for_app(page)
    page.shot("receptive-field-conv1-10-12", height=2400)
