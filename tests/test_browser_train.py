"""The Train and Build pages in a real Chromium: train keras-mnist in the background and watch the curve grow,
stop it and keep its points, use a trained model on the Draw page, and edit a layer on the Build page.
Screenshots land in test-results/<test name>/."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from benchmarks.harness import wait_for_app
from playground.nn import architecture, presets, shapes

LONG = 60_000  # ms: another agent may be loading the machine
POINTS = ".st-key-train-curve-points"
CURVES = ".st-key-train-curves .js-plotly-plot"
POINTS_RE = re.compile(r"([\d,]+) training-loss points · ([\d,]+) validation points? · state: (\w+)")

# the caption and, read in the same tick, how many points the curves chart holds per trace
READ_LIVE = """() => {
    const e = document.querySelector('.st-key-train-curve-points');
    const gd = document.querySelector('.st-key-train-curves .js-plotly-plot');
    const size = v => {
        if (!v) return 0;
        if (Array.isArray(v) || ArrayBuffer.isView(v)) return v.length;
        if (v.bdata) {
            const bytes = {f8: 8, f4: 4, i4: 4, u4: 4, i2: 2, u2: 2, i1: 1, u1: 1}[v.dtype] || 8;
            return atob(v.bdata).length / bytes;
        }
        return 0;
    };
    const traces = gd && gd.data ? gd.data.map(d => [d.name, size(d.x), size(d.y)]) : [];
    return [e ? e.innerText : '', traces];
}"""

# the label of the checked option of a keyed radio
CHECKED_RADIO = """css => {
    const i = document.querySelector(css + ' input[type=radio]:checked');
    return i ? i.closest('label').innerText.trim() : null;
}"""

# the rows of the Build page's shape table (the data grid keeps an accessible copy of its cells in the DOM)
TABLE_ROWS = """() => [...document.querySelectorAll('[data-testid=stDataFrame] table tbody tr')]
    .map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))"""


def css(key: str) -> str:
    return f".st-key-{key.replace('.', '-')}"


def wait_text(page, selector: str, text: str, timeout: float = LONG) -> str:
    """Wait until the first element matching ``selector`` contains ``text``; return its text."""
    page.wait_for_function(
        "([css, text]) => { const e = document.querySelector(css); return e && e.innerText.includes(text); }",
        arg=[selector, text],
        timeout=timeout,
    )
    return page.locator(selector).first.inner_text()


def live(page) -> tuple[int, int, str, dict[str, int]]:
    """(training-loss points, validation points, state) from the caption, and the points per chart trace."""
    text, traces = page.evaluate(READ_LIVE)
    m = POINTS_RE.search(text)
    assert m, f"no points caption in {text!r}"
    n, v = (int(g.replace(",", "")) for g in m.group(1, 2))
    for name, nx, ny in traces:
        assert nx == ny, f"trace {name}: {nx} x values but {ny} y values"
    return n, v, m.group(3), {name: nx for name, nx, _ in traces}


def set_number(page, key: str, value: int) -> None:
    """Type ``value`` into the number box whose widget key is ``key`` and let the script rerun."""
    box = page.locator(f"{css(key)} input")
    box.scroll_into_view_if_needed()
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(
        "([css, v]) => { const i = document.querySelector(css + ' input'); "
        "return i && i.value.replace(/,/g, '') === v; }",
        arg=[css(key), str(value)],
        timeout=LONG,
    )
    page.wait_for_timeout(300)
    wait_for_app(page, timeout=LONG)


def open_train_page(page, url: str, subset: int, epochs: int) -> None:
    """The Train page with a preset (keras-mnist), ``subset`` MNIST images and ``epochs`` epochs."""
    page.goto(url + "/train")
    wait_for_app(page, timeout=LONG)
    page.locator(f"{css('train.model_source')} label").filter(has_text="A preset").click()
    wait_text(page, "[data-testid=stSidebar]", "Preset")
    wait_for_app(page, timeout=LONG)
    assert page.evaluate(CHECKED_RADIO, css("train.model_source")) == "A preset"
    preset = page.locator(f"{css('train.preset')} [role=combobox]")
    assert "keras-mnist" in (
        preset.inner_text() + " " + (preset.input_value() if preset.evaluate("e => e.tagName") == "INPUT" else "")
    )
    wait_text(page, "[data-testid=stSidebar]", "training images; validation on")  # the data set has loaded
    set_number(page, "train.subset", subset)
    set_number(page, "train.epochs", epochs)
    assert page.locator(f"{css('train.start')} button").first.is_enabled()


def start(page) -> None:
    page.locator(f"{css('train.start')} button").first.click()
    wait_text(page, POINTS, "state: running")


def wait_until(page, predicate, what: str, timeout_s: float = 60.0, every_ms: int = 250):
    """Poll ``predicate()`` (Python, reading the page) until it returns something truthy."""
    for _ in range(int(timeout_s * 1000 / every_ms)):
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(every_ms)
    raise AssertionError(f"timed out waiting for {what}")


def test_training_curve_grows_live_and_stop_keeps_the_points(page, app_url):
    # 7,000 images × 40 epochs = 4,360 steps of batch 64: over a minute even on an idle core (about 4,500
    # images/s), so it is certainly still running while the curve is read and Stop is pressed
    open_train_page(page, app_url, subset=7000, epochs=40)
    start(page)
    page.wait_for_selector(CURVES, timeout=LONG)

    # the caption and the chart are separate elements: wait until the browser has drawn both
    def drawn(after: int):
        r = live(page)
        return r[0] > after and "training loss" in r[3] and r

    first = wait_until(page, lambda: drawn(0), "the first training-loss points")
    second = wait_until(page, lambda: drawn(first[0]), "the curve to grow")
    third = wait_until(page, lambda: drawn(second[0]), "the curve to grow again")
    for n, _, run_state, traces in (first, second, third):
        assert run_state == "running"
        # the chart is redrawn from the same snapshot as the caption; allow one refresh of lag
        assert abs(traces["training loss"] - n) <= max(5, n // 5), (n, traces)
    assert first[0] < second[0] < third[0]
    assert "Epoch " in page.locator("[data-testid=stProgress]").first.inner_text()
    page.wait_for_timeout(1200)  # let the kernels and feature maps arrive
    page.shot("training", height=1800)  # curves, kernels, maps and the runs table
    n_running = live(page)[0]
    # the runs table says what the run is doing now, not what it was when Start was pressed
    table = page.locator("[data-testid=stDataFrame] table")
    wait_until(page, lambda: "running" in table.inner_text(), "the runs table to say running")
    assert "queued" not in table.inner_text()

    page.locator(f"{css('train.stop')} button").first.click()
    wait_text(page, POINTS, "state: stopped")
    wait_for_app(page, timeout=LONG)
    n, v, run_state, traces = live(page)
    assert run_state == "stopped"
    assert n >= n_running > 0, "the points recorded before Stop are kept"
    # nothing refreshes any more: the chart holds exactly what the caption counts
    wait_until(page, lambda: live(page)[3].get("training loss") == n, "the chart to show every point")
    assert live(page)[3]["validation loss"] == v
    assert live(page)[3]["validation accuracy"] == v
    page.wait_for_timeout(2000)
    assert live(page)[:3] == (n, v, "stopped"), "no more points after Stop"
    page.shot("stopped", height=2600)


def test_a_finished_run_is_used_on_the_draw_page(page, app_url):
    open_train_page(page, app_url, subset=1000, epochs=1)
    start(page)
    wait_text(page, POINTS, "state: finished")
    wait_text(page, "[data-testid=stMain]", "Results on the held-out test images")
    wait_for_app(page, timeout=LONG)
    n, v, _, traces = live(page)
    assert n > 0 and v > 0 and traces["training loss"] == n
    steps = int(
        re.search(r"step ([\d,]+) of ([\d,]+)", page.locator("[data-testid=stProgress]").first.inner_text())
        .group(1)
        .replace(",", "")
    )
    accuracy = float(page.locator("[data-testid=stMetricValue]").first.inner_text().strip().rstrip("%"))
    page.locator(f"{css('train.use_run')} button").first.click()
    wait_text(page, "[data-testid=stMain]", "This model is in use on the Draw page.")
    wait_for_app(page, timeout=LONG)
    page.shot("finished", height=2600)

    page.locator("[data-testid=stSidebarNav] a").filter(has_text="Draw & Predict").click()
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=LONG)
    wait_text(page, css("draw.prediction"), "Prediction: none yet")
    wait_for_app(page, timeout=LONG)
    chosen = page.evaluate(CHECKED_RADIO, css("draw.model"))
    assert chosen is not None and chosen.startswith("Trained: run 1 (keras-mnist, ")
    shown = float(re.search(r"([\d.]+)% on test images", chosen).group(1))
    assert abs(shown - accuracy) <= 0.051, (chosen, accuracy)  # the same score, one decimal fewer
    sidebar = page.locator("[data-testid=stSidebar]").inner_text()
    assert f"(1,000 images, {steps:,} steps)" in sidebar

    box = canvas.bounding_box()
    xy = [(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * t) for t in np.linspace(0.15, 0.85, 15)]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y)
    page.mouse.up()
    text = page.locator(css("draw.prediction"))
    page.wait_for_function(
        "css => { const e = document.querySelector(css); return e && /Prediction: \\d/.test(e.innerText); }",
        arg=css("draw.prediction"),
        timeout=LONG,
    )
    assert re.search(r"Prediction: \d", text.inner_text())
    wait_for_app(page, timeout=LONG)
    assert page.evaluate(CHECKED_RADIO, css("draw.model")) == chosen
    page.wait_for_timeout(1000)
    page.shot("draw-with-trained-model", height=1600)


def expected_rows(spec: architecture.ModelSpec) -> list[list[str]]:
    """The first columns of the shape table, as the engine computes them (the grid's accessible copy holds
    the raw numbers; the canvas draws them with thousands separators)."""
    return [
        [i.name, i.text, "×".join(map(str, i.out_shape)), str(i.params), str(i.macs)]  # (the "#" column is hidden)
        for i in shapes.infer_shapes(spec)
    ]


def table(page) -> list[list[str]]:
    return [row[:5] for row in page.evaluate(TABLE_ROWS)]


def test_build_page_table_follows_a_filter_change(page, app_url):
    page.goto(app_url + "/build")
    wait_for_app(page, timeout=LONG)
    page.wait_for_selector("[data-testid=stDataFrame] table", state="attached", timeout=LONG)
    spec = presets.get_preset(presets.DEFAULT_PRESET)
    before = expected_rows(spec)
    wait_until(page, lambda: table(page) == before, "the preset's shape table")
    page.wait_for_timeout(800)
    page.shot("build-preset", height=2000)

    filters = page.locator("[class*='st-key-build-layer'][class*='-filters'] input").first
    assert filters.input_value() == str(spec.layers[0].filters)
    filters.fill("24")
    filters.press("Enter")
    edited = replace(spec, layers=(replace(spec.layers[0], filters=24), *spec.layers[1:]))
    after = expected_rows(edited)
    assert after != before
    got = wait_until(page, lambda: (t := table(page)) == after and t, "the table to show 24 filters")
    assert got[0][2] == "24×28×28" and got[0][3] == "240"
    wait_text(page, "[data-testid=stMain]", "1. conv1 · Convolution → 24×28×28")
    params, macs = shapes.summary_totals(shapes.infer_shapes(edited))
    wait_text(page, "[data-testid=stMain]", f"Total: {params:,} parameters, {macs:,} multiply-accumulates")
    wait_for_app(page, timeout=LONG)
    page.wait_for_timeout(800)
    page.shot("build-24-filters", height=2000)


def test_a_stopped_run_is_scored_without_another_click(page, app_url):
    """After Stop the page shows the run's test results by itself, whenever in the script run the training
    ends. Three stops in one session: the end of a run can fall on either side of the page's own reads."""
    open_train_page(page, app_url, subset=7000, epochs=40)
    for number in (1, 2, 3):
        start(page)
        wait_until(page, lambda: live(page)[0] > 0, "the first training-loss points")
        page.locator(f"{css('train.stop')} button").first.click()
        wait_text(page, POINTS, "state: stopped")
        try:
            wait_text(page, "[data-testid=stMain]", f"Run {number} (keras-mnist): ", timeout=30_000)
        except Exception:
            page.shot(f"run-{number}-stopped-without-results", height=2600)
            raise AssertionError(
                f"Run {number} was stopped, but its test results never appeared and the page "
                "stopped refreshing (see the screenshot)"
            ) from None
        wait_for_app(page, timeout=LONG)
        assert page.locator(f"{css('train.start')} button").first.is_enabled()
        assert not page.locator(f"{css('train.stop')} button").first.is_enabled()
        assert page.locator(f"{css('train.use_run')} button").count() == 1
    page.wait_for_timeout(1000)
    page.shot("three-stopped-runs", height=4200)


def test_the_checkpoint_timeline_steps_with_a_clicker_and_reads_the_drawn_digit(page, app_url):
    page.goto(app_url)  # a digit on the Draw page first: the timeline shows how each snapshot reads it
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=LONG)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for t in np.linspace(0.15, 0.85, 15):
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * t)
    page.mouse.up()
    wait_text(page, css("draw.prediction"), "Prediction: 1")
    wait_for_app(page, timeout=LONG)
    page.locator("[data-testid=stSidebarNav] a").filter(has_text="Train").click()
    wait_for_app(page, timeout=LONG)
    page.locator(f"{css('train.model_source')} label").filter(has_text="A preset").click()
    wait_text(page, "[data-testid=stSidebar]", "training images; validation on")
    wait_for_app(page, timeout=LONG)
    set_number(page, "train.subset", 256)
    set_number(page, "train.epochs", 1)
    start(page)
    wait_text(page, POINTS, "state: finished")
    step = css("train-timeline-step")
    wait_text(page, step, "Snapshot 1 of 5: step 0")  # 256 images, batch 64: 4 steps and the initial weights
    wait_for_app(page, timeout=LONG)
    for k in (2, 3):
        page.keyboard.press("PageDown")  # a presentation clicker's Next
        wait_text(page, step, f"Snapshot {k} of 5: step {k - 1}")
        wait_for_app(page, timeout=LONG)
    said = wait_text(page, css("train-timeline-prediction"), "At step 2 the network reads it as")
    assert re.search(r"At step 2 the network reads it as \d \(\d+%\)\.", said)
    page.shot("timeline-step-2", height=2600)
