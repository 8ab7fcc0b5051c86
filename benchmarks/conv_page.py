"""Speed of the Convolution page (goals: ≤ 50 ms server side per parameter change on a 28×28 input,
≤ 300 ms per step in a real browser, ≥ 15 steps/s playback for 3×3 over 28×28).

Run: python -m benchmarks.conv_page [--runs N] [--no-browser]
1. Server side: what one rerun after a parameter change costs, using the functions the page calls:
   ``conv_view.compute_conv`` (engine: padding, 676 step records, output, formulas) and
   ``figures.conv_step_figure`` serialised the way ``st.plotly_chart`` does (``to_dict`` + JSON),
   plus the Play view's player data for 676 steps; and the whole script rerun through AppTest.
2. Browser (Playwright + Chromium against ``streamlit run app.py``): ms per step with the Next
   button, and steps/s of the Play view's player, read from the step it shows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

import plotly.io as pio

from playground import figures, ops
from playground.ops import kernels, samples
from playground.ui import conv_view, widgets

ROOT = Path(__file__).resolve().parents[1]

GOALS = {"server": 50.0, "step": 300.0, "fps": 15.0}


def median_ms(fn, runs: int) -> tuple[float, float]:
    times = []
    for i in range(runs):
        t = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]


def server_side(runs: int) -> list[tuple[str, float, float, str]]:
    x = samples.digit(3, 28)
    names = [n for n, p in kernels.PRESETS.items() if p.array.shape == (3, 3)]
    # each run changes a parameter (kernel, stride, padding, bias) so nothing is reused
    configs = [
        (
            kernels.PRESETS[names[i % len(names)]].array,
            widgets.ConvControls(ops.ConvSettings(stride=1 + i % 2, padding=i % 2), bias=0.1 * i),
        )
        for i in range(runs)
    ]

    def rerun(i: int) -> None:
        k, controls = configs[i]
        run = conv_view.compute_conv(x, k, controls)
        fig = figures.conv_step_figure(run.padded, run.pads, run.applied_kernel, run.output, run.steps, i)
        pio.to_json(fig.to_dict(), validate=False)

    def engine(i: int) -> None:
        conv_view.compute_conv(x, *configs[i])

    fixed = conv_view.compute_conv(x, kernels.PRESETS["Sobel x"].array, widgets.ConvControls())

    def animation(i: int) -> None:
        data = figures.conv_player_data(fixed.padded, fixed.pads, fixed.applied_kernel, fixed.output, fixed.steps)
        json.dumps(data)

    rows = [
        ("engine: compute_conv, 28×28, 3×3", *median_ms(engine, runs), ""),
        ("engine + step figure + JSON (a parameter change)", *median_ms(rerun, runs), f"≤ {GOALS['server']:.0f}"),
        ("Play view: player data for 676 steps + JSON", *median_ms(animation, max(3, runs // 5)), ""),
    ]
    rows.append(("whole page rerun in AppTest (Next button)", *apptest_rerun(max(5, runs // 4)), ""))
    return rows


def apptest_rerun(runs: int) -> tuple[float, float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "playground" / "pages" / "convolution.py"), default_timeout=60)
    at.run()
    at.selectbox(key="conv.source").set_value("Random numbers").run()
    at.number_input(key="conv.random_size").set_value(28)
    at.selectbox(key="conv.kernel").set_value("Sobel x").run()
    return median_ms(lambda i: at.button(key="conv.next").click().run(), runs)


def browser(steps: int, seconds: float) -> list[tuple[str, float, float, str]]:
    from playwright.sync_api import sync_playwright

    from benchmarks.harness import BROWSER_ARGS, start_server, stop_server, wait_for_app

    proc, url = start_server()
    rows = []
    try:
        with sync_playwright() as p:
            kwargs = {"args": BROWSER_ARGS}
            if shutil.which("chromium"):
                kwargs["executable_path"] = shutil.which("chromium")
            b = p.chromium.launch(**kwargs)
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "/convolution")
            wait_for_app(page)
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            page.locator(".st-key-conv-source [role=combobox]").click()
            page.get_by_role("option", name="Random numbers", exact=True).click()
            page.wait_for_selector(".st-key-conv-random_size input", timeout=30_000)
            size = page.locator(".st-key-conv-random_size input")
            size.fill("28")
            size.press("Enter")
            page.wait_for_function("() => document.body.innerText.includes('28×28, seed 0')", timeout=30_000)
            wait_for_app(page)
            page.locator(".st-key-conv-kernel [role=combobox]").click()
            page.get_by_role("option", name="Sobel x", exact=True).click()
            page.wait_for_function("() => document.body.innerText.includes('Kernel: Sobel x')", timeout=30_000)
            wait_for_app(page)
            run = conv_view.compute_conv(
                samples.random_integers(28, 0), kernels.PRESETS["Sobel x"].array, widgets.ConvControls()
            )
            times = []
            for i in range(1, steps + 1):
                r, c = run.steps[i].out_pos
                t = time.perf_counter()
                page.locator(".st-key-conv-next button").first.click()
                page.wait_for_function(
                    "t => { const e = document.querySelector('.st-key-conv-arithmetic');"
                    " return e && e.innerText.includes(t) && !document.querySelector('[data-testid=stStatusWidget]'); }",
                    arg=f"Output ({r}, {c})",
                    timeout=30_000,
                )
                page.wait_for_function(
                    "() => { const gd = document.querySelector('.js-plotly-plot'); return gd && gd._fullLayout; }"
                )
                times.append((time.perf_counter() - t) * 1000)
            rows.append(
                (
                    "browser: one step with the Next button (ms)",
                    statistics.median(times),
                    sorted(times)[int(0.95 * (len(times) - 1))],
                    f"≤ {GOALS['step']:.0f}",
                )
            )
            page.get_by_text("Play", exact=True).click()
            player = page.locator(".player")
            player.wait_for(timeout=60_000)
            for speed in ("20", "40"):
                player.locator("button[data-act=first]").click()
                player.locator("select").select_option(speed)
                player.locator("button[data-act=play]").click()
                first, t = int(player.get_attribute("data-step")), time.perf_counter()
                page.wait_for_timeout(seconds * 1000)
                rate = (int(player.get_attribute("data-step")) - first) / (time.perf_counter() - t)
                player.locator("button[data-act=play]").click()  # pause
                rows.append((f"browser: playback at '{speed}/s' (steps/s)", rate, rate, f"≥ {GOALS['fps']:.0f}"))
            b.close()
    finally:
        stop_server(proc)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="server-side repetitions")
    parser.add_argument("--steps", type=int, default=15, help="Next-button clicks timed in the browser")
    parser.add_argument("--seconds", type=float, default=5.0, help="playback time per speed")
    parser.add_argument("--no-browser", action="store_true", help="server-side figures only")
    args = parser.parse_args()
    rows = server_side(args.runs)
    if not args.no_browser:
        rows += browser(args.steps, args.seconds)
    print(
        f"CNN Playground, Convolution page: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{'measure':52} {'median':>9} {'p95':>9}  goal")
    for name, med, p95, goal in rows:
        print(f"{name:52} {med:9.1f} {p95:9.1f}  {goal}")


if __name__ == "__main__":
    main()
