"""A server that restarts under an open page (a class server's replica restarted by its supervisor, or the one
server): the tab reconnects by itself, and its next action says in one sentence that it started afresh."""

from __future__ import annotations

import signal
from urllib.parse import urlsplit

from benchmarks.harness import start_server, stop_server, wait_for_app
from playground.ui.state import RESTART_NOTE

NEXT = "[...document.querySelectorAll('.st-key-conv-next button')].find(b => b.offsetParent)"


def test_a_restarted_server_says_the_tab_started_afresh(page, mnist_path):
    proc, url = start_server(extra_env={"PLAYGROUND_DATA_DIR": str(mnist_path)})
    port = urlsplit(url).port
    try:
        page.goto(url + "/convolution")
        wait_for_app(page)
        nxt = page.locator(".st-key-conv-next button").filter(visible=True)
        nxt.click()
        wait_for_app(page)
        assert RESTART_NOTE[:40] not in page.locator("body").inner_text()  # a fresh page says nothing
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        page.wait_for_function(f"() => {NEXT}.disabled", timeout=30_000)  # disconnected: widgets are disabled
        proc, url = start_server(extra_env={"PLAYGROUND_DATA_DIR": str(mnist_path)}, port=port)
        page.wait_for_function(f"() => !{NEXT}.disabled", timeout=60_000)  # reconnected by itself
        nxt.click()
        page.get_by_text(RESTART_NOTE[:60]).wait_for(timeout=30_000)
        page.shot("restarted")
        nxt.click()  # the next run is an ordinary one
        wait_for_app(page)
        page.get_by_text(RESTART_NOTE[:60]).wait_for(state="detached", timeout=30_000)
    finally:
        stop_server(proc)
