"""Presenter mode in Chromium at projector sizes (1024×768, 1280×720, 1920×1080, each at 100 % and 150 %
browser zoom): the stepping view — input with its window, kernel, output and the arithmetic — on one
screen at 100 %, type at least 20 px, nothing overlapping or cut; the clicker steps it; a figure
downloads as a PNG at twice its size. Screenshots land in test-results/<test name>/."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from test_browser import expect_text
from test_browser_layout import WHOLE, _out

from benchmarks.harness import wait_for_app
from playground.ui import display

SCREENS = {f"{w}x{h}": (w, h) for w, h in ((1024, 768), (1280, 720), (1920, 1080))}
CASES = [(name, zoom) for name in SCREENS for zoom in (1.0, 1.5)]

MEASURE = """() => {
    const box = (e) => { const r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
    const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const header = document.querySelector('.st-key-present-header');
    const parts = [header.querySelector('h2'), ...header.querySelectorAll('[data-testid=stPopover] button'),
                   header.querySelector('[data-testid=stExpander] summary')].filter(shown);
    const plot = document.querySelector('.js-plotly-plot');
    const numbers = [...plot.querySelectorAll('g.hm text')].filter(t => t.style.display !== 'none');
    const titles = [...plot.querySelectorAll('g.annotation')].filter(shown);
    const arithmetic = document.querySelector('.st-key-conv-arithmetic p');
    const main = document.querySelector('[data-testid=stMain]');
    return {
        header: parts.map(box),
        plot: box(plot), arithmetic: box(arithmetic),
        arithmeticPx: parseFloat(getComputedStyle(arithmetic).fontSize),
        numbersPx: numbers.map(t => parseFloat(t.style.fontSize)),
        titles: titles.map(box),
        steps: box(document.querySelector('.st-key-conv-step-buttons')),
        width: innerWidth, height: innerHeight, scrolled: main.scrollTop,
        overflowX: document.documentElement.scrollWidth - innerWidth,
    };
}"""


def apart(a: dict, b: dict) -> bool:
    return a["r"] <= b["l"] + 1 or b["r"] <= a["l"] + 1 or a["b"] <= b["t"] + 1 or b["b"] <= a["t"] + 1


def inside(a: dict, outer: dict) -> bool:
    return (
        a["l"] >= outer["l"] - 1 and a["r"] <= outer["r"] + 1 and a["t"] >= outer["t"] - 1 and a["b"] <= outer["b"] + 1
    )


def presenter(browser, size: str, zoom: float):
    w, h = SCREENS[size]
    context = browser.new_context(
        viewport={"width": round(w / zoom), "height": round(h / zoom)}, device_scale_factor=zoom
    )
    return context, context.new_page()


def open_presenting(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page, timeout=90_000)
    page.wait_for_function(
        "() => document.querySelector('.js-plotly-plot g.hm text') && document.querySelector('.st-key-conv-arithmetic p')",
        timeout=90_000,
    )
    wait_for_app(page)


@pytest.mark.parametrize("size,zoom", CASES, ids=[f"{n}-at-{round(z * 100)}%" for n, z in CASES])
def test_presenter_convolution_fits_one_screen_in_large_type_and_nothing_overlaps(
    browser, app_url, size, zoom, request
):
    w, h = SCREENS[size]
    screen = max(
        (s for s in display.SCREENS if s <= h / zoom), default=display.SCREENS[0]
    )  # the Presenter popover's "Screen height" for this screen
    context, page = presenter(browser, size, zoom)
    try:
        open_presenting(
            page, f"{app_url}/convolution?present=1" + (f"&screen={screen}" if screen != display.SCREENS[0] else "")
        )
        m = page.evaluate(MEASURE)
        out = _out(request)
        page.screenshot(path=str(out / f"presenter-{size}-at-{round(zoom * 100)}%.png"))
        assert m["arithmeticPx"] >= display.PRESENTER_TEXT and m["numbersPx"], m
        assert min(m["numbersPx"]) >= display.PRESENTER_TEXT, m["numbersPx"]  # the cell numbers, as drawn
        assert m["overflowX"] <= 0, m  # nothing cut at the right edge
        for i, a in enumerate(m["header"]):  # title, Settings, Presenter, About: side by side or wrapped, never on top
            assert a["r"] <= m["width"] + 1, (a, m["width"])
            for b in m["header"][i + 1 :]:
                assert apart(a, b), (a, b)
        for i, a in enumerate(m["titles"]):  # panel titles, the step's caption, the ∗ and = signs
            assert inside(a, m["plot"]), (a, m["plot"])
            for b in m["titles"][i + 1 :]:
                assert apart(a, b), (a, b)
        for b in page.evaluate(WHOLE, ".st-key-conv-step-buttons button"):
            assert not b["clipped"] and b["right"] <= m["width"] + 1, b
        if zoom == 1.0:  # the whole stepping view on one screen, nothing scrolled
            assert m["scrolled"] == 0 and m["steps"]["t"] >= 0
            assert m["plot"]["b"] <= m["height"] and m["arithmetic"]["b"] <= m["height"], m
    finally:
        context.close()


def test_presenter_steps_with_a_clicker_and_the_switch_leaves_presenter_mode(browser, app_url, request):
    context, page = presenter(browser, "1024x768", 1.0)
    try:
        open_presenting(page, f"{app_url}/convolution?present=1")
        for cell in ("(0, 1)", "(1, 0)", "(1, 1)"):
            page.keyboard.press("PageDown")
            expect_text(page, ".st-key-conv-arithmetic", f"Output {cell}")
        assert "present=1" in page.url and "step=4" in page.url
        page.locator(".st-key-present-display button").first.click()
        page.get_by_test_id("stPopoverBody").get_by_text("Keys: → or Page Down next").wait_for(timeout=30_000)  # listed
        page.get_by_test_id("stPopoverBody").get_by_text("Screen height").wait_for(timeout=30_000)
        wait_for_app(page)
        page.screenshot(path=str(_out(request) / "presenter-popover.png"))
        page.get_by_role("switch", name="Presenter mode").click(force=True)
        page.wait_for_selector(
            "[data-testid=stSidebar] .st-key-conv-kernel", timeout=60_000
        )  # controls back in the sidebar
        page.wait_for_function("() => !location.search.includes('present=1')", timeout=30_000)
        expect_text(page, ".st-key-conv-arithmetic", "Output (1, 1)")  # the same step, now in the laptop layout
    finally:
        context.close()


def test_a_figure_downloads_as_a_png_at_twice_its_size(page, app_url, tmp_path):
    page.goto(app_url + "/convolution")
    wait_for_app(page, timeout=90_000)
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for(timeout=60_000)
    box = plot.bounding_box()
    plot.hover()
    with page.expect_download(timeout=60_000) as made:
        page.locator(".js-plotly-plot .modebar-btn[data-title='Download plot as a PNG']").first.click()
    path = Path(tmp_path) / made.value.suggested_filename
    made.value.save_as(path)
    assert made.value.suggested_filename == "convolution-step-1.png"
    img = Image.open(io.BytesIO(path.read_bytes()))
    assert img.format == "PNG"
    assert (
        abs(img.width - display.PNG_SCALE * box["width"]) <= 4
        and abs(img.height - display.PNG_SCALE * box["height"]) <= 4
    )


def test_predict_first_asks_the_size_and_a_cell_then_shows_the_arithmetic(page, app_url):
    page.goto(app_url + "/convolution")
    wait_for_app(page, timeout=90_000)
    page.get_by_role("switch", name="Predict first (quiz)").click(force=True)
    size = page.locator(".st-key-conv-quiz-size")
    size.wait_for(timeout=60_000)
    assert "Input 3×3, kernel 2×2, stride 1, padding 0, dilation 1." in size.inner_text()
    size.get_by_label("Height").fill("2")
    size.get_by_label("Width").fill("2")
    size.get_by_role("button", name="Check").click()
    expect_text(page, "[data-testid=stMain]", "Output size 2×2 — right.")
    cell = page.locator(".st-key-conv-quiz-cell")
    cell.wait_for(timeout=60_000)
    cell.get_by_label("Predict first: output (0, 0) = ?").fill("37")
    cell.get_by_role("button", name="Check").click()
    expect_text(page, "[data-testid=stMain]", "Right: 37.")
    assert "= 1×1 + 2×2 + 4×3 + 5×4 = 37" in expect_text(page, ".st-key-conv-arithmetic", "Output (0, 0)")
    assert "Score this session: 2 right of 2 (100 %)." in page.locator("[data-testid=stMain]").inner_text()
    page.shot("predict-first")


def test_a_projector_palette_from_the_address_colours_the_figure_in_the_browser(page, app_url):
    from playground.figures import style

    page.goto(app_url + "/convolution?palette=cividis&numbers=1")
    wait_for_app(page, timeout=90_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    scales = page.evaluate(
        "() => Object.fromEntries(document.querySelector('.js-plotly-plot').data"
        ".filter(t => t.type === 'heatmap').map(t => [t.name, t.colorscale]))"
    )
    assert scales["kernel"] == style.BLUE_GREY_YELLOW and scales["input"] == style.CIVIDIS
    assert page.locator("[data-testid=stDataFrame]").count() >= 3  # input, kernel, output as numbers
    page.shot("projector-palette")
