"""The app in a real Chromium: pick Sobel x, step with the buttons and the keyboard, draw on the
canvas, play, pause, scrub and step the player, and the Pooling page's worked example. Screenshots land in
test-results/<test name>/."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.harness import wait_for_app
from playground import ops
from playground.ops import kernels, samples

SOBEL_X = kernels.PRESETS["Sobel x"].array


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)


def choose(page, key: str, option: str) -> None:
    """Pick ``option`` in the selectbox whose widget key is ``key`` ('conv.kernel')."""
    box = page.locator(f".st-key-{key.replace('.', '-')} [role=combobox]")
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.type(option)  # filter the list: a long list may not render options scrolled out of view
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_timeout(200)
    wait_for_app(page)


def expect_text(page, css: str, text: str, timeout: float = 30_000) -> str:
    """Wait until the element's text contains ``text``; return the text."""
    page.wait_for_function(
        "([css, text]) => { const e = document.querySelector(css); return e && e.innerText.includes(text); }",
        arg=[css, text],
        timeout=timeout,
    )
    wait_for_app(page)
    return page.locator(css).first.inner_text()


def click(page, key: str) -> None:
    """Click the button whose widget key is ``key`` once the script has finished running."""
    wait_for_app(page)
    page.locator(f".st-key-{key.replace('.', '-')} button").first.click()


INPUT_HAS_INK = """() => {
    const gd = document.querySelector('.js-plotly-plot');
    const t = gd && gd.data && gd.data.find(d => d.name === 'input');
    if (!t || !t.z || !t.z.bdata) return false;
    const bin = atob(t.z.bdata), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return Array.from(new Float64Array(bytes.buffer)).some(v => v > 0.5);
}"""


def cell_text(step) -> str:
    r, c = step.out_pos
    return f"Output ({r}, {c}) = {step.arithmetic()}"


def sobel_on_sample(page, url: str):
    open_page(page, url + "/convolution")
    choose(page, "conv.source", "Sample image")
    expect_text(page, "[data-testid=stMain]", "the digit 3 sample (14×14)")
    choose(page, "conv.kernel", "Sobel x")
    steps = ops.conv_steps(samples.digit(3, 14), SOBEL_X)
    expect_text(page, ".st-key-conv-arithmetic", cell_text(steps[0]))
    return steps


def test_sobel_x_three_steps_with_next(page, app_url):
    steps = sobel_on_sample(page, app_url)
    page.shot("sobel-step-0")
    for i in (1, 2, 3):
        click(page, "conv.next")
        expect_text(page, ".st-key-conv-arithmetic", f"Output {steps[i].out_pos}")
    shown = expect_text(page, ".st-key-conv-arithmetic", cell_text(steps[3]))
    assert shown.strip() == cell_text(steps[3])
    page.wait_for_timeout(500)
    page.shot("sobel-step-3")


def test_keyboard_shortcuts_step_forward_and_back(page, app_url):
    steps = sobel_on_sample(page, app_url)
    page.locator("h1").first.click()  # focus the page, not a widget
    for key, index in (("ArrowRight", 1), ("ArrowRight", 2), ("ArrowLeft", 1), ("End", len(steps) - 1), ("Home", 0)):
        page.keyboard.press(key)
        expect_text(page, ".st-key-conv-arithmetic", cell_text(steps[index]))
    page.shot("after-shortcuts")


def test_drawing_on_the_canvas_feeds_the_convolution(page, app_url):
    open_page(page, app_url + "/convolution")
    choose(page, "conv.source", "Draw a digit")
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for t in np.linspace(0.15, 0.85, 12):
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * t)
    page.mouse.up()
    page.wait_for_function(INPUT_HAS_INK, timeout=30_000)
    choose(page, "conv.kernel", "Sobel y")
    page.wait_for_function(INPUT_HAS_INK, timeout=30_000)
    page.shot("drawn-digit")
    # to Pooling and back: the drawing, the input choice and the kernel are all still there
    page.locator("[data-testid=stSidebarNav] a[href$='pooling']").click()
    expect_text(page, "[data-testid=stMain]", "Pooling slides a window")
    page.locator("[data-testid=stSidebarNav] a[href$='convolution']").click()
    expect_text(page, "[data-testid=stMain]", "Input: your drawing (14×14). Kernel: Sobel y.")
    page.wait_for_function(INPUT_HAS_INK, timeout=30_000)
    page.locator("canvas.upper-canvas").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    page.shot("drawing-after-page-switch")


PLAYER = ".player"
# the player lives in its component's shadow root, which document.querySelector does not enter
PLAYER_STEP = """() => { for (const e of document.querySelectorAll('.st-key-conv-player *')) {
    const p = e.shadowRoot && e.shadowRoot.querySelector('.player'); if (p) return +p.dataset.step; } return 0; }"""


def player_at(page, step: int) -> str:
    """Wait until the player shows ``step`` (1-based); return its arithmetic line."""
    page.wait_for_selector(f"{PLAYER}[data-step='{step}']", timeout=15_000)
    return page.locator(f"{PLAYER} .arithmetic").inner_text()


def test_play_pause_step_back_scrub_and_clicker_keys_in_the_browser(page, app_url):
    steps = sobel_on_sample(page, app_url)
    page.get_by_text("Play", exact=True).click()
    page.wait_for_selector(PLAYER, timeout=30_000)
    assert player_at(page, 1) == cell_text(steps[0])
    assert page.locator(f"{PLAYER} .counter").inner_text() == f"Step 1 of {len(steps)}"
    page.locator(f"{PLAYER} select").select_option("40")
    page.locator(f"{PLAYER} button[data-act=play]").click()
    page.wait_for_selector(f"{PLAYER}[data-playing='true']", timeout=5_000)
    page.wait_for_function(f"() => ({PLAYER_STEP})() >= 6", timeout=15_000)
    page.shot("playing")
    page.locator(f"{PLAYER} button[data-act=play]").click()  # Pause
    page.wait_for_selector(f"{PLAYER}[data-playing='false']", timeout=5_000)
    at = int(page.locator(PLAYER).get_attribute("data-step"))
    assert at < len(steps) and page.locator(f"{PLAYER} button[data-act=play]").inner_text() == "▶ Play"
    page.locator(f"{PLAYER} button[data-act=previous]").click()
    assert player_at(page, at - 1) == cell_text(steps[at - 2])
    # a presentation clicker's keys, without clicking into the player first
    page.locator("h1").first.click()
    page.keyboard.press("Home")
    player_at(page, 1)
    for _ in range(3):
        page.keyboard.press("PageDown")
    assert player_at(page, 4) == cell_text(steps[3])
    page.keyboard.press("PageUp")
    player_at(page, 3)
    page.keyboard.press("End")
    assert player_at(page, len(steps)) == cell_text(steps[-1])
    page.keyboard.press(" ")  # Space plays from the start again
    page.wait_for_selector(f"{PLAYER}[data-playing='true']", timeout=5_000)
    page.keyboard.press(" ")
    page.wait_for_selector(f"{PLAYER}[data-playing='false']", timeout=5_000)
    # scrubbing: the slider jumps anywhere; where the player rests, Step by step carries on
    page.locator(f"{PLAYER} input[type=range]").fill("50")
    assert player_at(page, 50) == cell_text(steps[49])
    page.shot("scrubbed-to-50")
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=30_000)
    page.wait_for_timeout(1000)  # the player reports its resting step 0.7 s after the last move
    wait_for_app(page)
    page.get_by_text("Step by step", exact=True).click()
    assert expect_text(page, ".st-key-conv-arithmetic", cell_text(steps[49])).strip() == cell_text(steps[49])


def test_pooling_page_worked_example(page, app_url):
    open_page(page, app_url + "/pooling")
    results = [expect_text(page, ".st-key-pool-arithmetic", "max(1, 2, 5, 6) = 6")]
    for text in ("max(3, 4, 7, 8) = 8", "max(9, 10, 13, 14) = 14", "max(11, 12, 15, 16) = 16"):
        click(page, "pool.next")
        results.append(expect_text(page, ".st-key-pool-arithmetic", text))
    assert [r.rsplit("= ", 1)[1].strip() for r in results] == ["6", "8", "14", "16"]
    expect_text(page, ".st-key-pool-overlap", "of the pooled cells are unchanged")
    page.wait_for_timeout(500)
    page.shot("pooling")


def test_a_gif_of_the_stepping_downloads_from_the_page(page, app_url, tmp_path):
    """On a slide: the GIF made in the browser is the engine's: frame k shows cell k in its colour."""
    import io

    from PIL import Image, ImageSequence

    from playground.figures import common, gif
    from playground.figures.player import conv_player_data

    open_page(page, app_url + "/convolution")
    page.get_by_text("On a slide: an animated GIF and the code").click()
    click(page, "conv.gif_make")
    button = page.locator(".st-key-conv-gif_download button")
    button.wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as got:
        button.click()
    path = tmp_path / "steps.gif"
    got.value.save_as(path)
    assert got.value.suggested_filename == "convolution-cells-1-4.gif"
    page.shot("gif-offered")
    frames = [
        np.asarray(f.convert("RGB")).astype(int)
        for f in ImageSequence.Iterator(Image.open(io.BytesIO(path.read_bytes())))
    ]
    steps = ops.conv_steps(samples.WORKED_3X3, samples.WORKED_KERNEL_2X2)
    out = ops.conv_output_from_steps(steps, (2, 2))
    data = conv_player_data(samples.WORKED_3X3, (0, 0, 0, 0), samples.WORKED_KERNEL_2X2, out, steps)
    lay = gif.layout(data)
    assert len(frames) == len(steps) + 1
    for k, step in enumerate(steps):
        r, c = step.out_pos
        x, y = int(lay.output.x + c * lay.output.cell + 6), int(lay.output.y + (r + 0.5) * lay.output.cell)
        want = np.array([int(data["output"]["fills"][r][c][i : i + 2], 16) for i in (1, 3, 5)])
        assert np.abs(frames[k][y, x] - want).max() <= 14, (k, frames[k][y, x], want)
        if k + 1 < len(steps):
            r2, c2 = steps[k + 1].out_pos
            x2, y2 = int(lay.output.x + c2 * lay.output.cell + 6), int(lay.output.y + (r2 + 0.5) * lay.output.cell)
            empty = np.array([int(common.EMPTY_SLOT[i : i + 2], 16) for i in (1, 3, 5)])
            assert np.abs(frames[k][y2, x2] - empty).max() <= 14
    slide = page.locator("[data-testid=stExpander]").filter(has_text="On a slide")
    slide.get_by_text("Show the code (numpy and PyTorch)").click()
    slide.locator("[data-testid=stCode]").first.wait_for(timeout=30_000)
    code = slide.locator("[data-testid=stCode]").first.inner_text()
    assert "np.pad(x, ((0, 0), (0, 0))" in code and "out[i, j] = (window * k).sum() + bias" in code


@pytest.mark.parametrize("path,key", [("/convolution", "conv"), ("/pooling", "pool")])
def test_a_clickers_page_down_steps_without_clicking_into_the_page(page, app_url, path, key):
    """Presentation clickers send Page Down / Page Up; the page answers before anything is clicked."""
    open_page(page, app_url + path)
    wait_for_app(page)
    first = page.locator(f".st-key-{key}-arithmetic").inner_text()
    assert "Output (0, 0)" in first
    for cell in ("(0, 1)", "(1, 0)", "(1, 1)"):  # steps 2, 3 and 4 of the 2×2 output
        page.keyboard.press("PageDown")
        expect_text(page, f".st-key-{key}-arithmetic", f"Output {cell}")  # each press lands, then the next
    page.keyboard.press("PageUp")
    expect_text(page, f".st-key-{key}-arithmetic", "Output (1, 0)")
    assert "Page Down next" in page.locator("[data-testid=stMain]").inner_text()  # the keys are listed
    page.shot(f"clicker-{key}")


def test_the_address_reopens_the_exact_view_in_a_fresh_browser(page, app_url, browser):
    """Like TensorFlow Playground: the address holds the state; opened elsewhere it shows the same cell."""
    steps = sobel_on_sample(page, app_url)
    for i in (1, 2, 3):
        click(page, "conv.next")
        expect_text(page, ".st-key-conv-arithmetic", cell_text(steps[i]))
    page.wait_for_function("() => location.search.includes('step=4')", timeout=30_000)
    url = page.url
    assert "kernel=Sobel+x" in url and "input=Sample+image" in url, url
    shown = page.locator(".st-key-conv-arithmetic").inner_text()
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = fresh.new_page()
        other.goto(url)
        wait_for_app(other)
        assert expect_text(other, ".st-key-conv-arithmetic", cell_text(steps[3])) == shown
        other.wait_for_selector(".js-plotly-plot", timeout=30_000)
        other.screenshot(path=str(page.shot("reopened").parent / "reopened-fresh-browser.png"))
    finally:
        fresh.close()
