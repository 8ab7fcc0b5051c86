"""CNN Playground router: page config, navigation, and each tab's fair share of the server."""

import streamlit as st

from playground.serve import heap, sockets
from playground.ui import display, fairness, page_helpers, state

st.set_page_config(page_title="CNN Playground", page_icon="🧠", layout="wide")
sockets.no_delay_once()  # the server's messages leave at once, not 40 ms later (see playground/serve/sockets.py)

pages = [
    st.Page("playground/pages/draw.py", title="Draw & Predict", url_path="home", default=True),  # served at /
    st.Page("playground/pages/convolution.py", title="Convolution", url_path="convolution"),
    st.Page("playground/pages/pooling.py", title="Pooling", url_path="pooling"),
    st.Page("playground/pages/backprop.py", title="Backpropagation", url_path="backprop"),
    st.Page("playground/pages/build.py", title="Build", url_path="build"),
    st.Page("playground/pages/train.py", title="Train", url_path="train"),
    st.Page("playground/pages/classroom.py", title="Class", url_path="class"),
    # the default page answers only at /, so /draw (a link people type or share) gets this hidden twin
    st.Page("playground/pages/draw.py", title="Draw & Predict", url_path="draw", visibility="hidden"),
]
with fairness.fair_share(fairness.budget()) as waited:
    fairness.waited_note(waited)
    if state.restarted_under_the_page():
        st.info(state.RESTART_NOTE, icon=":material/restart_alt:")
    display.read_address()  # presenter mode, palette, numbers: before any widget
    display.publish()
    display.presenter_style()
    if not display.presenting():  # presenting: the switches and the helpers sit in the page's header
        with st.sidebar:
            display.switches()
            page_helpers.mount()  # cell numbers that fit the screen, a clicker's keys
    try:
        st.navigation(pages, position="top" if display.presenting() else "sidebar").run()
    finally:  # the first run has loaded what every session shares: out of the collector's way (serve/heap.py)
        heap.freeze_once()
