"""Speed of the Backpropagation page (goals: ≤ 50 ms server side for one recomputation — forward, backward
and every stage's records of the default network on 8×8 — and ≤ 300 ms per step in a real browser).

Run: python -m benchmarks.backprop_page [--runs N] [--no-browser]
1. Server side: ``backprop_run.compute`` (a new seed each run, so nothing is reused), the same plus the
   convolution stage's step figure serialised the way ``st.plotly_chart`` does, and the whole script
   rerun through AppTest on the Next button.
2. Browser (Playwright + Chromium against ``streamlit run app.py``): ms per step with the Next button in
   the convolution's dW1 stage, until the new arithmetic is on screen.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time

import plotly.io as pio

from benchmarks.conv_page import ROOT, median_ms
from playground.figures import backprop as figures
from playground.ops import samples
from playground.ops.backprop_run import BackpropSettings, compute

GOALS = {"server": 50.0, "step": 300.0}
X = samples.digit(3, 8)


def server_side(runs: int) -> list[tuple[str, float, float, str]]:
    def engine(i: int) -> None:
        compute(X, BackpropSettings(seed=i))

    def with_figure(i: int) -> None:
        run = compute(X, BackpropSettings(seed=i))
        records = run.stages["conv_w"]
        fig = figures.stage_figure(run.arrays, "conv_w", records, i % len(records))
        pio.to_json(fig.to_dict(), validate=False)

    return [
        ("engine: forward + backward + all records, 8×8", *median_ms(engine, runs), f"≤ {GOALS['server']:.0f}"),
        ("engine + dW1 step figure + JSON (a setting changed)", *median_ms(with_figure, runs), ""),
        ("whole page rerun in AppTest (Next button)", *apptest_rerun(max(5, runs // 4)), ""),
    ]


def apptest_rerun(runs: int) -> tuple[float, float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "playground" / "pages" / "backprop.py"), default_timeout=60)
    at.run()
    at.radio(key="backprop.stage").set_value("conv_w").run()
    return median_ms(lambda i: at.button(key="backprop.next").click().run(), runs)


def browser(steps: int) -> list[tuple[str, float, float, str]]:
    from playwright.sync_api import sync_playwright

    from benchmarks.harness import BROWSER_ARGS, start_server, stop_server, wait_for_app

    records = compute(X).stages["conv_w"]
    proc, url = start_server()
    try:
        with sync_playwright() as p:
            kwargs = {"args": BROWSER_ARGS}
            if shutil.which("chromium"):
                kwargs["executable_path"] = shutil.which("chromium")
            b = p.chromium.launch(**kwargs)
            page = b.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url + "/backprop")
            wait_for_app(page)
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            page.locator(".st-key-backprop-stage").get_by_text("Convolution: dW1", exact=True).click()
            page.wait_for_function(
                "t => document.querySelector('.st-key-backprop-arithmetic')?.innerText.includes(t)",
                arg=records[0].numbers,
                timeout=30_000,
            )
            wait_for_app(page)
            times = []
            for i in range(1, min(steps, len(records) - 1) + 1):
                t = time.perf_counter()
                page.locator(".st-key-backprop-next button").first.click()
                page.wait_for_function(
                    "t => { const e = document.querySelector('.st-key-backprop-arithmetic');"
                    " return e && e.innerText.includes(t) && !document.querySelector('[data-testid=stStatusWidget]'); }",
                    arg=records[i].numbers,
                    timeout=30_000,
                )
                times.append((time.perf_counter() - t) * 1000)
            b.close()
    finally:
        stop_server(proc)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    return [("browser: one step with the Next button (ms)", statistics.median(times), p95, f"≤ {GOALS['step']:.0f}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="server-side repetitions")
    parser.add_argument("--steps", type=int, default=15, help="Next-button clicks timed in the browser")
    parser.add_argument("--no-browser", action="store_true", help="server side only")
    args = parser.parse_args()
    rows = server_side(args.runs)
    if not args.no_browser:
        rows += browser(args.steps)
    print(
        f"CNN Playground, Backpropagation page: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{'measure':52} {'median':>9} {'p95':>9}  goal")
    for name, med, p95, goal in rows:
        print(f"{name:52} {med:9.1f} {p95:9.1f}  {goal}")


if __name__ == "__main__":
    main()
