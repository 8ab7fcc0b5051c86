"""Layout at the sizes people use (1366×768 laptop, 1024×768 projector, 390×844 phone with touch), in
Chromium: labels whole, controls on screen. Screenshots land in test-results/<test name>/."""

from __future__ import annotations

import numpy as np
import pytest
from waiting import wait_until

from benchmarks.harness import wait_for_app

SIZES = {
    "laptop-1366": dict(viewport={"width": 1366, "height": 768}),
    "projector-1024": dict(viewport={"width": 1024, "height": 768}),
    "phone-390": dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2),
}
ZOOMED = {"projector-1024-at-150%": dict(viewport={"width": 683, "height": 512}, device_scale_factor=1.5)}


def _out(request):
    """This test's folder for screenshots under test-results/."""
    from conftest import ARTIFACTS

    out = ARTIFACTS / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    return out


def _page(browser, size: str):
    context = browser.new_context(**{**SIZES, **ZOOMED}[size])
    return context, context.new_page()


STEP_LABELS = {"first": "First", "previous": "Previous", "next": "Next", "last": "Last"}
# Streamlit keeps a zero-size twin of a button that has a tooltip: only the drawn one counts
WHOLE = """(css) => [...document.querySelectorAll(css)].filter(b => b.getBoundingClientRect().width > 0).map(b => {
    const label = b.querySelector('[data-testid=stMarkdownContainer]') || b;
    const r = b.getBoundingClientRect();
    return {text: label.innerText, clipped: label.scrollWidth > label.clientWidth + 1, top: r.top, left: r.left,
            right: r.right};
})"""


@pytest.mark.parametrize("size", sorted(SIZES))
def test_step_buttons_keep_their_labels_whole(browser, app_url, size, request):
    context, page = _page(browser, size)
    try:
        page.goto(app_url + "/convolution")
        wait_for_app(page)
        page.wait_for_function(
            "keys => keys.every(k => [...document.querySelectorAll(`.st-key-conv-${k} button`)]"
            ".some(b => b.getBoundingClientRect().width))",
            arg=list(STEP_LABELS),
            timeout=90_000,
        )
        wait_for_app(page)
        buttons = [page.evaluate(WHOLE, f".st-key-conv-{key} button")[0] for key in STEP_LABELS]
        out = _out(request)
        page.locator(".st-key-conv-step-buttons").scroll_into_view_if_needed()
        page.screenshot(path=str(out / f"step-buttons-{size}.png"))
        width = SIZES[size]["viewport"]["width"]
        for (key, label), b in zip(STEP_LABELS.items(), buttons):
            assert label in b["text"] and not b["clipped"], (size, key, b)
            assert 0 <= b["left"] and b["right"] <= width, (size, key, b)  # on screen
        if size != "phone-390":
            assert len({round(b["top"]) for b in buttons}) == 1, buttons  # one row
    finally:
        context.close()


def test_phone_undo_and_clear_are_always_visible_and_work_by_touch(browser, app_url, request):
    """The canvas's own toolbar only shows on hover, which a touch screen never does."""
    from test_browser_draw import CANVAS_HAS_INK, open_draw_page, wait_for_prediction

    context, page = _page(browser, "phone-390")
    out = _out(request)
    try:
        canvas = open_draw_page(page, app_url)
        wait_for_prediction(page, "Prediction: none yet")
        box = canvas.bounding_box()

        def touch_stroke(points):
            pts = [(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for x, y in points]
            page.mouse.move(*pts[0])  # Chromium turns these into the canvas's pointer events
            page.mouse.down()
            for x, y in pts[1:]:
                page.mouse.move(x, y, steps=8)
            page.mouse.up()

        touch_stroke([(0.5, 0.15), (0.5, 0.85)])
        wait_for_prediction(page, "Prediction: 1")
        touch_stroke([(0.2, 0.5), (0.8, 0.5)])  # a second stroke across: no longer a 1
        page.wait_for_function(
            "() => !document.querySelector('.st-key-draw-prediction').innerText.includes('Prediction: 1')",
            timeout=30_000,
        )
        wait_for_app(page)
        buttons = {}
        for key in ("undo_stroke", "clear_canvas"):
            (b,) = page.evaluate(WHOLE, f".st-key-draw-{key} button")
            assert b["right"] <= 390 and b["left"] >= 0, b
            buttons[key] = page.locator(f".st-key-draw-{key} button").filter(visible=True)
            height = buttons[key].bounding_box()["height"]
            assert height >= 40, (key, height)  # a finger's size, not the toolbar's 22 px icons
        page.screenshot(path=str(out / "two-strokes.png"))
        buttons["undo_stroke"].tap()
        wait_for_prediction(page, "Prediction: 1")  # back to the vertical stroke alone
        lower = page.locator("canvas.lower-canvas")  # inside the component's shadow root
        wait_until(lambda: lower.evaluate_all(CANVAS_HAS_INK), 30, what="the remaining stroke on the remounted canvas")
        page.screenshot(path=str(out / "after-undo.png"))
        page.locator(".st-key-draw-clear_canvas button").filter(visible=True).tap()
        wait_for_prediction(page, "Prediction: none yet")
        page.screenshot(path=str(out / "after-clear.png"))
    finally:
        context.close()


PANELS = """() => Object.fromEntries(['canvas', 'answer'].map(k => {
    const r = document.querySelector('.st-key-draw-' + k + '-panel').getBoundingClientRect();
    return [k, {x: r.x, y: r.y, right: r.right, bottom: r.bottom}];
}))"""
CANVAS_UNCOVERED = """() => {
    const host = document.querySelector('.st-key-draw-canvas-panel');
    const r = host.querySelector('[data-testid=stBidiComponent], .stBidiComponent') || host;
    const box = r.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + 270, box.top + 140);  // the canvas's right edge
    return {width: box.width, inside: !!hit && host.contains(hit)};
}"""


@pytest.mark.parametrize("size", [*sorted(SIZES), *ZOOMED])
def test_the_canvas_is_whole_and_the_answer_beside_or_right_under_it(browser, app_url, size, request):
    from test_browser_draw import PROBABILITIES, open_draw_page, stroke, wait_for_prediction

    context, page = _page(browser, size)
    out = _out(request)
    try:
        canvas = open_draw_page(page, app_url)
        stroke(page, canvas, [(0.9, 0.15), (0.9, 0.85)])  # along the right edge: it used to be covered there
        wait_for_prediction(page, "Confidence")  # a prediction for the drawing, not "none yet"
        box = canvas.bounding_box()
        assert box["width"] >= 279, box  # whole, not squeezed
        p = page.evaluate(PANELS)
        canvas.scroll_into_view_if_needed()  # elementFromPoint only sees the window
        covered = page.evaluate(CANVAS_UNCOVERED)
        assert covered["inside"], covered  # nothing sits over the canvas's right edge
        beside = abs(p["answer"]["y"] - p["canvas"]["y"]) < 2 and p["answer"]["x"] >= p["canvas"]["right"]
        under = p["answer"]["y"] >= p["canvas"]["bottom"] - 1 and p["answer"]["y"] - p["canvas"]["bottom"] < 40
        assert beside or under, p
        if size.startswith(("laptop", "projector")):
            assert beside, p  # wide enough: side by side
        page.wait_for_function(f"() => ({PROBABILITIES})() !== null", timeout=60_000)  # the chart is drawn
        assert len(page.evaluate(PROBABILITIES)) == 10
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / f"draw-{size}.png"))
    finally:
        context.close()


PLAYER_BOXES = """() => { for (const e of document.querySelectorAll('.st-key-conv-player *')) {
    const p = e.shadowRoot && e.shadowRoot.querySelector('.player'); if (!p) continue;
    const box = el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    return {controls: [...p.querySelectorAll('button, select, input')].map(box), canvas: box(p.querySelector('canvas')),
            layout: p.dataset.layout}; } return null; }"""


@pytest.mark.parametrize("size", [*sorted(SIZES), *ZOOMED])
def test_every_play_control_and_the_whole_figure_fit_the_screen(browser, app_url, size, request):
    """Phone: Play used to start a playback whose Pause sat off the right edge (x 370–522 of 390)."""
    from test_browser import PLAYER, choose, open_page

    context, page = _page(browser, size)
    out = _out(request)
    try:
        width, height = (SIZES | ZOOMED)[size]["viewport"].values()
        page.set_viewport_size({"width": 1366, "height": 768})  # the settings live in the sidebar
        open_page(page, app_url + "/convolution")
        choose(page, "conv.source", "Sample image")
        page.set_viewport_size({"width": width, "height": height})
        page.get_by_text("Play", exact=True).click()
        page.wait_for_selector(f"{PLAYER}[data-step='1']", timeout=30_000)
        page.locator(f"{PLAYER} button[data-act=play]").click()
        page.wait_for_selector(f"{PLAYER}[data-playing='true']", timeout=5_000)
        page.locator(f"{PLAYER} .bar").scroll_into_view_if_needed()
        boxes = page.evaluate(PLAYER_BOXES)
        for b in [*boxes["controls"], boxes["canvas"]]:
            assert 0 <= b["left"] and b["right"] <= width + 0.5, (size, b)
        controls = boxes["controls"]
        assert max(b["bottom"] for b in controls) - min(b["top"] for b in controls) < height, boxes  # one screen
        page.locator(f"{PLAYER} button[data-act=play]").click()  # Pause, reached without scrolling sideways
        page.wait_for_selector(f"{PLAYER}[data-playing='false']", timeout=5_000)
        if width >= 1300 or width < 450:  # a 14×14 input: side by side on a laptop, stacked on a phone
            assert boxes["layout"] == ("row" if width >= 1300 else "stacked"), boxes
        page.screenshot(path=str(out / f"play-{size}.png"))
    finally:
        context.close()


STEP_VIEW = """() => { const r = css => { const e = [...document.querySelectorAll(css)].find(e => e.getBoundingClientRect().width);
    const b = e.getBoundingClientRect(); return {top: b.top, bottom: b.bottom}; };
    return {next: r('.st-key-conv-next button'), figure: r('.stPlotlyChart'), arithmetic: r('.st-key-conv-arithmetic')}; }"""


@pytest.mark.parametrize("input_size", [3, 28])
def test_phone_step_figure_next_and_arithmetic_share_one_screen(browser, app_url, input_size, request):
    """Stepping on a phone: Next, the figure it changes and the cell's arithmetic are seen together."""
    from test_browser import choose, open_page

    context, page = _page(browser, "phone-390")
    out = _out(request)
    try:
        if input_size != 3:
            page.set_viewport_size({"width": 1366, "height": 768})  # the settings live in the sidebar
            open_page(page, app_url + "/convolution")
            choose(page, "conv.source", "Random numbers")
            box = page.locator(".st-key-conv-random_size input")
            box.fill(str(input_size))
            box.press("Enter")
            page.wait_for_function(
                "t => document.body.innerText.includes(t)", arg=f"{input_size}×{input_size}, seed", timeout=30_000
            )
            page.set_viewport_size(SIZES["phone-390"]["viewport"])
        else:
            open_page(page, app_url + "/convolution")
        wait_for_app(page)
        page.locator(".st-key-conv-next button").last.click()
        page.wait_for_function(
            "() => document.querySelector('.st-key-conv-arithmetic').innerText.includes('Output (0, 1)')",
            timeout=30_000,
        )
        wait_for_app(page)
        page.locator(".st-key-conv-step-buttons").scroll_into_view_if_needed()
        view = page.evaluate(STEP_VIEW)
        assert view["arithmetic"]["bottom"] - view["next"]["top"] <= 844 - 40, view
        assert view["next"]["top"] < view["figure"]["top"] < view["arithmetic"]["top"], view
        page.evaluate("y => document.querySelector('[data-testid=stMain]').scrollBy(0, y)", view["next"]["top"] - 20)
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / f"step-view-{input_size}x{input_size}-phone.png"))
    finally:
        context.close()


NUMBERS = """() => [...document.querySelectorAll('.js-plotly-plot g.hm')].filter(g => g.querySelector('text'))
    .map(g => ({state: g.dataset.numbers, texts: g.querySelectorAll('text').length,
                visible: [...g.querySelectorAll('text')].filter(t => t.style.display !== 'none').length}))"""


def test_cell_numbers_show_only_where_they_fit_the_screen(browser, app_url, request):
    """Phone: a 14×14 grid's numbers ran into each other; at 1366 px the same figure holds them."""
    from test_browser import choose, open_page

    context, page = _page(browser, "laptop-1366")
    out = _out(request)
    try:
        open_page(page, app_url + "/convolution")
        choose(page, "conv.source", "Sample image")
        choose(page, "conv.kernel", "Sobel x")
        page.wait_for_function(f"() => ({NUMBERS})().length === 3 && ({NUMBERS})().every(g => g.state)", timeout=30_000)
        wide = page.evaluate(NUMBERS)  # input 14×14 (196 numbers), kernel 3×3, the computed output cell
        assert [g["texts"] for g in wide] == [196, 9, 1] and all(g["visible"] == g["texts"] for g in wide), wide
        page.screenshot(path=str(out / "numbers-1366.png"))
        page.set_viewport_size(SIZES["phone-390"]["viewport"])
        page.wait_for_function(f"() => ({NUMBERS})()[0].state === 'hidden'", timeout=30_000)
        narrow = page.evaluate(NUMBERS)
        assert narrow[0]["visible"] == 0, narrow  # the 14×14 input: colours only
        page.locator(".stPlotlyChart").first.scroll_into_view_if_needed()
        page.screenshot(path=str(out / "numbers-390.png"))
        page.set_viewport_size({"width": 1366, "height": 768})  # and back: Plotly redraws, the numbers return
        page.wait_for_function(f"() => ({NUMBERS})()[0].state === 'shown'", timeout=30_000)
        assert page.evaluate(NUMBERS)[0]["visible"] == 196
    finally:
        context.close()


def test_phone_a_finger_drawn_one_is_read_as_one_and_the_page_holds_still(browser, app_url, request):
    """Real touch events (not mouse events) on a 390×844 phone: the canvas takes the finger instead of
    scrolling the page, and the prediction right under it reads the stroke."""
    from test_browser_draw import PREDICTION, open_draw_page, wait_for_prediction

    context, page = _page(browser, "phone-390")
    out = _out(request)
    try:
        canvas = open_draw_page(page, app_url)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # the canvas fits the screen width
        scrolled = "() => document.querySelector('[data-testid=stMain]').scrollTop"
        before = page.evaluate(scrolled)
        cdp = context.new_cdp_session(page)
        x = box["x"] + box["width"] * 0.5
        points = [box["y"] + box["height"] * t for t in np.linspace(0.15, 0.85, 15)]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": points[0]}]})
        for y in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        assert wait_for_prediction(page, "Prediction: 1").startswith("Prediction: 1")
        assert page.evaluate(scrolled) == before  # the finger drew; the page did not scroll
        answer, drawn = page.locator(PREDICTION).bounding_box(), canvas.bounding_box()
        assert answer["y"] + 40 - drawn["y"] < 844, (answer, drawn)  # canvas and answer share one screen
        page.screenshot(path=str(out / "finger-drawn-one-phone.png"))
    finally:
        context.close()
