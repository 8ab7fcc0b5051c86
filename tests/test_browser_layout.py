"""Layout at the sizes people use (1366×768 laptop, 1024×768 projector, 390×844 phone with touch), in
Chromium: labels whole, controls on screen. Screenshots land in test-results/<test name>/."""

from __future__ import annotations

import pytest

from benchmarks.harness import wait_for_app

SIZES = {
    "laptop-1366": dict(viewport={"width": 1366, "height": 768}),
    "projector-1024": dict(viewport={"width": 1024, "height": 768}),
    "phone-390": dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2),
}


def _page(browser, size: str):
    context = browser.new_context(**SIZES[size])
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
    from conftest import ARTIFACTS

    context, page = _page(browser, size)
    try:
        page.goto(app_url + "/convolution")
        wait_for_app(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.st-key-conv-next button')].some(b => b.getBoundingClientRect().width)",
            timeout=90_000,
        )
        wait_for_app(page)
        buttons = [page.evaluate(WHOLE, f".st-key-conv-{key} button")[0] for key in STEP_LABELS]
        out = ARTIFACTS / request.node.name
        out.mkdir(parents=True, exist_ok=True)
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
