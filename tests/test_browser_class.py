"""The class room in a real Chromium: a lecturer opens a room on a laptop screen, two students on phones (touch,
390×844) scan its QR code, draw and send; the lecturer's screen shows their drawings without a reload, a click
opens one, and the export downloads. Screenshots at the sizes a lecture uses land in test-results/."""

from __future__ import annotations

import csv
import io
import zipfile
from urllib.parse import urlsplit

import numpy as np
import zxingcpp
from PIL import Image
from test_browser_draw import stroke

from benchmarks.harness import open_class_room, wait_for_app

FIGURE = """(key) => { const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
    return gd && gd._fullData ? gd._fullData.map(t => ({type: t.type, name: t.name,
    customdata: t.customdata ? Array.from(t.customdata) : null,
    z: t.z ? Array.from(t.z, r => Array.from(r)) : null})) : null; }"""  # _fullData: binary arrays decoded
# page coordinates of drawing `id`'s thumbnail in the figure under key
THUMB = """([key, id]) => {
    const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
    const t = gd.data.find(d => d.type === 'scatter');
    const i = Array.from(t.customdata).indexOf(id);
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
    return [box.left + xa._offset + xa.l2p(t.x[i]), box.top + ya._offset + ya.l2p(t.y[i])];
}"""
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}


def shown_link(page) -> str:
    """The room's link as the QR code on the lecturer's screen says it (read from a screenshot of it)."""
    png = page.locator(".st-key-class-banner img").first.screenshot()
    found = zxingcpp.read_barcodes(np.asarray(Image.open(io.BytesIO(png)).convert("L")))
    assert len(found) == 1
    return found[0].text


def student_sends(browser, app_url: str, link: str, points, digit: int, shot) -> None:
    context = browser.new_context(**PHONE)
    try:
        phone = context.new_page()
        parts = urlsplit(link)
        phone.goto(f"{app_url}{parts.path}?{parts.query}")  # the server here listens on 127.0.0.1 only
        wait_for_app(phone)
        canvas = phone.locator("canvas.upper-canvas")
        canvas.wait_for(timeout=30_000)
        stroke(phone, canvas, points)
        wait_for_app(phone)
        phone.locator(".st-key-class-meant button").filter(has_text=str(digit)).first.tap()
        wait_for_app(phone)
        phone.get_by_role("button", name="Send to the class").tap()
        phone.get_by_text(f"Sent as a {digit}").wait_for(timeout=30_000)
        if shot:
            phone.screenshot(path=str(shot))
    finally:
        context.close()


def count(page, label: str) -> str:
    return (
        page.locator('[data-testid="stMetric"]', has_text=label).locator('[data-testid="stMetricValue"]').inner_text()
    )


def test_students_drawings_reach_the_lecturers_screen(browser, page, app_url, tmp_path):
    page.set_viewport_size({"width": 1366, "height": 768})
    code = open_class_room(page, app_url)
    link = shown_link(page)
    assert link.endswith(f"/class?room={code}") and link in page.locator(".st-key-class-banner").inner_text()
    page.shot("lecturer-room-open")

    phone_shot = page.folder / "student-phone-390x844.png"
    student_sends(browser, app_url, link, [(0.5, 0.15), (0.5, 0.85)], 1, phone_shot)
    student_sends(browser, app_url, link, [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)], 7, None)

    # no reload: the screen refreshes by itself
    page.wait_for_function(
        "() => document.body.innerText.includes('Drawings\\n\\n2') || "
        "[...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.startsWith('Drawings') && m.innerText.trim().endsWith('2'))",
        timeout=30_000,
    )
    wait_for_app(page)
    assert count(page, "Students") == "2" and count(page, "Read as meant") == "100%"
    grouped = page.evaluate(FIGURE, "class-grouped")
    ids = [t for t in grouped if t["type"] == "scatter"][0]["customdata"]
    assert sorted(ids) == [1, 2]
    confusion = page.evaluate(FIGURE, "class-confusion")[0]["z"]
    assert confusion[1][1] == 1 and confusion[7][7] == 1 and sum(map(sum, confusion)) == 2
    page.shot("lecturer-two-drawings-1366x768")

    x, y = page.evaluate(THUMB, ["class-grouped", 2])
    page.mouse.click(x, y)
    # the panel is redrawn by the room's live refresh too: wait until it holds drawing 2, then read it
    picked = "() => document.querySelector('.st-key-class-picked')?.innerText || ''"
    page.wait_for_function(f"() => ({picked})().includes('Drawing 2')", timeout=30_000)
    assert "answer 7" in page.evaluate(picked)

    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Export the drawings (ZIP)").filter(visible=True).first.click()
    data = download.value.path().read_bytes()
    z = zipfile.ZipFile(io.BytesIO(data))
    rows = list(csv.DictReader(io.StringIO(z.read(f"{code}/labels.csv").decode())))
    assert [(r["meant"], r["predicted"]) for r in rows] == [("1", "1"), ("7", "7")]
    assert sum(n.endswith(".png") for n in z.namelist()) == 2

    # on the projector, in presenter mode: the code, the QR code and the counts on the first screen
    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("switch", name="Presenter mode").click(force=True)
    page.locator(".st-key-present-header").wait_for(timeout=30_000)
    wait_for_app(page)
    assert shown_link(page) == link
    for part in (".st-key-class-banner img", ".st-key-class-counts"):
        box = page.locator(part).first.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1024, (part, box)
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0
    page.screenshot(path=str(page.folder / "projector-presenting-1024x768.png"))
