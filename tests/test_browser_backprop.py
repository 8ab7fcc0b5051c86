"""The Backpropagation page in Chromium: the convolution's backward pass stepped three cells with Next,
the keyboard and a clicker, its arithmetic read from the page and its gradient read from the Plotly
figure; the page at laptop, projector and phone sizes. Screenshots land in test-results/<test name>/."""

from __future__ import annotations

import numpy as np
from test_browser import expect_text, open_page
from test_browser_layout import _out

from benchmarks.harness import wait_for_app
from playground.ops import samples
from playground.ops.backprop_run import compute

RECORDS = compute(samples.digit(3, 8)).stages["conv_w"]
ARITHMETIC = ".st-key-backprop-arithmetic"
GRADIENT = """name => {  // the heatmap's z as the browser holds it: base64 float64 with its shape
    const t = document.querySelector('.js-plotly-plot').data.find(t => t.name === name);
    const bin = atob(t.z.bdata), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const values = Array.from(new Float64Array(bytes.buffer), v => (Number.isNaN(v) ? null : v));
    const [rows, cols] = t.z.shape.split(',').map(Number);
    return Array.from({length: rows}, (_, r) => values.slice(r * cols, (r + 1) * cols));
}"""


def choose_stage(page, label: str) -> None:
    wait_for_app(page)
    page.locator(".st-key-backprop-stage").get_by_text(label, exact=True).click()


def shown(record) -> str:
    return f"{record.formula}\n{record.numbers}"


def test_the_convolutions_weight_gradient_steps_three_cells_with_its_arithmetic(page, app_url):
    open_page(page, app_url + "/backprop")
    choose_stage(page, "Convolution: dW1")
    text = expect_text(page, ARITHMETIC, RECORDS[0].numbers)
    assert " ".join(text.split()) == " ".join(shown(RECORDS[0]).split())
    page.shot("conv-dW1-step-1")
    for i, press in ((1, "button"), (2, "ArrowRight"), (3, "PageDown")):  # Next, the → key, a clicker
        if press == "button":
            page.locator(".st-key-backprop-next button").first.click()
        else:
            wait_for_app(page)
            page.keyboard.press(press)
        text = expect_text(page, ARITHMETIC, RECORDS[i].numbers)
        assert " ".join(text.split()) == " ".join(shown(RECORDS[i]).split())
    wait_for_app(page)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')?.data?.some(t => t.name === 'dW1[0]')")
    z = np.array(page.evaluate(GRADIENT, "dW1[0]"), dtype=float)
    filled = np.isfinite(z)
    assert filled.sum() == 4  # the four cells stepped so far, in row-major order
    expected = {r.cell[1:]: r.result for r in RECORDS[:4]}
    assert {tuple(map(int, c)): z[tuple(c)] for c in np.argwhere(filled)} == expected
    page.shot("conv-dW1-step-4")


def test_the_page_fits_laptop_projector_and_phone(browser, app_url, request):
    for w, h, phone in ((1366, 768, False), (1024, 768, False), (390, 844, True)):
        context = browser.new_context(viewport={"width": w, "height": h}, has_touch=phone, is_mobile=phone)
        page = context.new_page()
        page.goto(app_url + "/backprop")
        wait_for_app(page, timeout=90_000)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        choose_stage(page, "Pooling: dp1 → da1")
        expect_text(page, ARITHMETIC, "goes to a1[")
        wait_for_app(page)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 1, (w, overflow)
        plot = page.locator(".js-plotly-plot").first.bounding_box()
        assert plot["width"] <= w and plot["height"] > 150
        page.locator(ARITHMETIC).scroll_into_view_if_needed()
        page.screenshot(path=str(_out(request) / f"pool-stage-{w}x{h}.png"))
        context.close()
