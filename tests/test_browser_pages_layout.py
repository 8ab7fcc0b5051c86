"""Draw and Pooling at the sizes where their panels collided (issue: 1024×768 projector, 150 % zoom,
390×844 phone): nothing overlaps, labels sit in their own room, deep feature maps stay big enough to
see. Screenshots land in test-results/<test name>/."""

from __future__ import annotations

import pytest
from test_browser_layout import SIZES, ZOOMED, _out, _page

from benchmarks.harness import wait_for_app
from playground.figures import draw

BOXES = """css => [...document.querySelectorAll(css)].map(e => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"""


def _apart(a: dict, b: dict) -> bool:
    return (
        a["right"] <= b["left"] + 0.5
        or b["right"] <= a["left"] + 0.5
        or a["bottom"] <= b["top"] + 0.5
        or b["bottom"] <= a["top"] + 0.5
    )


def _drawn(page, app_url):
    from test_browser_draw import open_draw_page, stroke, wait_for_prediction

    canvas = open_draw_page(page, app_url)
    stroke(page, canvas, [(0.5, 0.15), (0.5, 0.85)])
    wait_for_prediction(page, "Confidence")
    page.wait_for_selector(".st-key-draw-kernels-panel .js-plotly-plot", timeout=60_000)
    page.wait_for_selector(".st-key-draw-maps .js-plotly-plot", timeout=60_000)
    wait_for_app(page)


@pytest.mark.parametrize("size", [*sorted(SIZES), *ZOOMED])
def test_saliency_and_first_layer_kernels_never_cover_each_other(browser, app_url, size, request):
    """1024 px: the 336 px saliency picture used to cover the kernels and their caption."""
    context, page = _page(browser, size)
    try:
        _drawn(page, app_url)
        width = (SIZES | ZOOMED)[size]["viewport"]["width"]
        saliency = page.evaluate(BOXES, ".st-key-draw-saliency-panel img")[0]
        kernels = page.evaluate(BOXES, ".st-key-draw-kernels-panel")[0]
        caption = page.evaluate(BOXES, ".st-key-draw-kernels-panel [data-testid=stCaptionContainer]")[0]
        assert _apart(saliency, kernels) and _apart(saliency, caption), (saliency, kernels)
        for b in (saliency, kernels):
            assert 0 <= b["left"] and b["right"] <= width + 0.5, (size, b)
        if size == "laptop-1366":
            assert abs(saliency["top"] - kernels["top"]) < 80, (saliency, kernels)  # side by side where they fit
        page.locator(".st-key-draw-why").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(_out(request) / f"why-{size}.png"))
    finally:
        context.close()


OVERVIEW = """() => { const gd = document.querySelector('.st-key-draw-maps .js-plotly-plot');
    const ya = gd._fullLayout.yaxis, px = ya._length / Math.abs(ya.range[0] - ya.range[1]);
    return {px, labels: [...gd.querySelectorAll('g.annotation')].map(a => a.getBoundingClientRect().height)}; }"""


@pytest.mark.parametrize("size", ["laptop-1366", "projector-1024", "projector-1024-at-150%"])
def test_feature_map_overview_labels_have_room_and_deep_maps_stay_visible(browser, app_url, size, request):
    """Layer names used to overlap the maps above them at 150 %; pool2's 7×7 maps were ≈15 px."""
    context, page = _page(browser, size)
    try:
        _drawn(page, app_url)
        view = page.evaluate(OVERVIEW)
        room = (round(draw.LABEL_PX / draw.CELL_PX) - 1.5) * view[
            "px"
        ]  # px between a layer's maps and its label's baseline
        assert len(view["labels"]) == 10 and max(view["labels"]) <= room, view
        if size == "laptop-1366":
            assert 7 * round(draw.MIN_TILE / 7) * view["px"] >= 40, view  # a pool2 tile is at least 40 px
        page.locator(".st-key-draw-maps").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(_out(request) / f"maps-{size}.png"))
    finally:
        context.close()


SHIFT_TITLES = """() => { const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => (g.data || []).some(t => t.name === 'Pooled'));
    if (!gd) return {titles: []};
    const r = gd.getBoundingClientRect();
    return {figure: {left: r.left, right: r.right}, titles: [...gd.querySelectorAll('g.annotation')]
        .map(a => { const b = a.getBoundingClientRect(); return {text: a.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom}; })}; }"""


@pytest.mark.parametrize("size", ["phone-390", "projector-1024-at-150%", "laptop-1366"])
@pytest.mark.parametrize("image", ["A digit (14×14)", "The input above"])
def test_pooling_shift_comparison_titles_stay_apart_and_whole(browser, app_url, size, image, request):
    context, page = _page(browser, size)
    try:
        page.goto(app_url + "/pooling")
        wait_for_app(page)
        if image != "A digit (14×14)":
            page.locator(".st-key-pool-shift_image label").filter(has_text=image).click()
            wait_for_app(page)
        page.wait_for_function(f"() => ({SHIFT_TITLES.replace(chr(10), ' ')})().titles.length === 4", timeout=60_000)
        wait_for_app(page)
        view = page.evaluate(SHIFT_TITLES)
        titles = view["titles"]
        assert [t["text"] for t in titles] == ["Input", "Shifted1 px right", "Pooled", "Shifted,pooled"], titles
        for a, b in zip(titles, titles[1:]):
            assert _apart(a, b), (a, b)
        for t in titles:
            assert view["figure"]["left"] - 0.5 <= t["left"] and t["right"] <= view["figure"]["right"] + 0.5, t
        page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()  # the shift comparison is the last figure
        page.wait_for_timeout(500)
        page.screenshot(path=str(_out(request) / f"shift-{size}.png"))
    finally:
        context.close()


TABLE_WIDTH = 62 + 170 + 72 + 60 + 76  # the shape table's columns (playground/ui/builder.py)


@pytest.mark.parametrize("size", ["laptop-1366", "projector-1024", "phone-390"])
def test_build_table_is_whole_and_layer_cards_keep_their_fields_in_rows(browser, app_url, size, request):
    """The MACs column was cut at 1366 ("112,8"), every card stacked one field per row at 1024, and on a
    phone the table came after all 19 layer cards."""
    context, page = _page(browser, size)
    try:
        page.goto(app_url + "/build")
        wait_for_app(page)
        page.wait_for_selector(".st-key-build-sizes-panel [data-testid=stDataFrame]", timeout=60_000)
        page.wait_for_selector(".st-key-build-layers-panel [data-testid=stNumberInput]", timeout=60_000)
        wait_for_app(page)
        width = SIZES[size]["viewport"]["width"]
        table = page.evaluate(BOXES, ".st-key-build-sizes-panel [data-testid=stDataFrame]")[0]
        sizes = page.evaluate(BOXES, ".st-key-build-sizes-panel")[0]
        layers = page.evaluate(BOXES, ".st-key-build-layers-panel")[0]
        assert table["right"] <= width + 0.5 and _apart(sizes, layers), (table, sizes, layers)
        if size != "phone-390":
            assert table["right"] - table["left"] >= TABLE_WIDTH, table  # every column whole
        if size == "laptop-1366":
            assert abs(sizes["top"] - layers["top"]) < 2, (sizes, layers)  # side by side
        else:
            assert sizes["bottom"] <= layers["top"] + 0.5, (sizes, layers)  # the table before the cards
        # the first card (conv1: filters, kernel, stride, padding, dilation) keeps its fields in rows of three or more
        fields = page.evaluate(
            BOXES, ".st-key-build-layers-panel [class*='st-key-build-row-'] [data-testid=stNumberInput]"
        )
        first_row = [f for f in fields[:5] if abs(f["top"] - fields[0]["top"]) < 2]
        assert len(first_row) >= (2 if size == "phone-390" else 3), fields[:5]
        page.set_viewport_size({"width": width, "height": 1600})
        page.wait_for_timeout(800)
        page.screenshot(path=str(_out(request) / f"build-{size}.png"))
    finally:
        context.close()


SIDEBAR_EDGE = """([x, y]) => { const hit = document.elementFromPoint(x, y);  // the canvas sits in a shadow root
    return !!hit && !!hit.closest('[class*=st-key-conv-canvas]'); }"""


def test_the_sidebar_canvas_is_whole_and_draws_to_its_right_edge(browser, app_url, request):
    """Convolution's canvas in the sidebar lost about 40 px on its right."""
    from test_browser import INPUT_HAS_INK, choose, open_page

    from playground.ui import inputs

    context = browser.new_context(viewport={"width": 1366, "height": 1000})  # the whole canvas on screen
    page = context.new_page()
    try:
        open_page(page, app_url + "/convolution")
        choose(page, "conv.source", "Draw a digit")
        canvas = page.locator("[data-testid=stSidebar] canvas.upper-canvas")
        canvas.wait_for(timeout=30_000)
        canvas.scroll_into_view_if_needed()  # the sidebar's length depends on how many pages the navigation lists
        box = canvas.bounding_box()
        side = page.locator("[data-testid=stSidebarUserContent]").bounding_box()
        assert round(box["width"]) == inputs.SIDEBAR_CANVAS_PX, box
        assert side["x"] <= box["x"] and box["x"] + box["width"] <= side["x"] + side["width"] + 0.5, (box, side)
        edge = [box["x"] + box["width"] - 3, box["y"] + box["height"] / 2]
        assert page.evaluate(SIDEBAR_EDGE, edge), (box, side)  # nothing covers its right edge
        x = box["x"] + box["width"] - 12  # a stroke along the right edge
        page.mouse.move(x, box["y"] + box["height"] * 0.15)
        page.mouse.down()
        for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85):
            page.mouse.move(x, box["y"] + box["height"] * t)
        page.mouse.up()
        page.wait_for_function(INPUT_HAS_INK, timeout=30_000)  # it reached the convolution's input
        page.screenshot(path=str(_out(request) / "sidebar-canvas-1366.png"))
    finally:
        context.close()
