"""How every page is shown to a room: presenter mode, the colour palette, heatmaps as numbers, and the
one way a chart is drawn (restyled, with a 2× PNG download).

Presenter mode (the switch, or ``?present=1``) moves the navigation to a bar at the top and the page's
controls from the sidebar into a "Settings" popover beside the title, folds the explanation into an
expander, and enlarges type, cell numbers and the arithmetic for the back row. The three choices travel
in the address (``present``, ``palette``, ``numbers``) beside each page's own settings.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground import address
from playground.address import Field
from playground.figures import style
from playground.ui import page_helpers, state, widgets

PAGE = "app"
SCREENS = (720, 900, 1080, 1440)  # px: the projector's height, chosen in the Presenter popover
FIELDS = (
    Field("present", "present", "bool", False),
    Field("palette", "palette", "choice", style.STANDARD.key, tuple(style.PALETTES)),
    Field("numbers", "numbers", "bool", False),
    Field("screen", "screen", "int", SCREENS[0], SCREENS),
)
PARAMS = frozenset(f.param for f in FIELDS)
PRESENTER_TEXT = 20  # px: cell numbers, panel titles and the arithmetic line at least this size
ABOVE_AND_BELOW = 300  # px of a presenter page that are not the stepping figure: bars, buttons, arithmetic
PRESENTER_HEIGHT = SCREENS[0] - ABOVE_AND_BELOW  # 420 px: title, steps, figure and arithmetic fit 1280×720 and 1024×768
PNG_SCALE = 2


def read_address() -> None:
    """Once per session, before any widget: take presenter mode, palette and numbers from the address."""
    if state.has(PAGE, "address_read"):
        return
    state.put(PAGE, "address_read", True)
    query = {k: v for k, v in st.query_params.to_dict().items() if k in PARAMS}
    values, problem = address.decode(query, FIELDS)
    for name, value in values.items():
        state.put(PAGE, name, value)
    if problem:
        st.warning(problem)


def page_query() -> dict[str, str]:
    """The query string minus the display's own parameters: what a page's settings are read from."""
    return {k: v for k, v in st.query_params.to_dict().items() if k not in PARAMS}


def query() -> dict[str, str]:
    """The display's choices as query parameters (only those that differ from the defaults)."""
    return address.encode({f.name: state.peek(PAGE, f.name, f.default) for f in FIELDS}, FIELDS)


def publish() -> None:
    """Write the display's choices into the address, leaving the page's own parameters alone."""
    mine = query()
    for param in PARAMS:
        if param in mine and st.query_params.get(param) != mine[param]:
            st.query_params[param] = mine[param]
        elif param not in mine and param in st.query_params:
            del st.query_params[param]


def presenting() -> bool:
    return bool(state.peek(PAGE, "present", False))


def controls_place() -> str:
    """Where the page's controls are, in words for a message ("in the sidebar")."""
    if presenting():
        return "under Settings beside the title"
    return "in the sidebar (on a phone the arrow at the top left opens it)"


def palette() -> style.Palette:
    return style.PALETTES.get(state.peek(PAGE, "palette", style.STANDARD.key), style.STANDARD)


def saliency_scale() -> style.Scale | None:
    """The Draw page's saliency colours: red-yellow in the standard palette, else its magnitude scale."""
    return None if palette() is style.STANDARD else palette().magnitude


def look(*, stepping: bool = False) -> style.Look:
    """How figures are shown now; ``stepping`` figures are one screen's part in presenter mode (small grids
    grow, large ones shrink)."""
    if not presenting():
        return style.Look(palette())
    screen = int(state.peek(PAGE, "screen", SCREENS[0]))
    return style.Look(palette(), PRESENTER_TEXT, screen - ABOVE_AND_BELOW if stepping else None)


def _chosen(name: str) -> None:
    state.put(PAGE, name, state.peek(PAGE, f"{name}.switch"))


def _switch(name: str) -> dict:
    """A display switch's widget arguments: its value comes from (and goes to) the display's own state,
    not the widget's, because the widget moves between the sidebar and the presenter's header (a moved
    widget is a new widget and would start from its default)."""
    return dict(key=state.key(PAGE, f"{name}.switch"), on_change=_chosen, args=(name,))


def switches() -> None:
    """The display's three choices (in the sidebar; in presenter mode in the header's popover)."""
    st.toggle(
        "Presenter mode",
        value=presenting(),
        **_switch("present"),
        help="For a projector: large type, the controls in a Settings button beside the title, the "
        "navigation at the top. Also opened by adding ?present=1 to the address.",
    )
    keys = tuple(style.PALETTES)
    st.selectbox(
        "Colours",
        keys,
        index=keys.index(palette().key),
        format_func=lambda k: style.PALETTES[k].label,
        **_switch("palette"),
        help="The projector palettes keep zero mid-grey (a white zero vanishes on a washed-out screen) and "
        "stay readable for colour-blind viewers.",
    )
    if presenting():
        st.selectbox(
            "Screen height",
            SCREENS,
            index=SCREENS.index(int(state.peek(PAGE, "screen", SCREENS[0]))),
            format_func=lambda h: f"{h} px" + (" (also 768)" if h == SCREENS[0] else ""),
            **_switch("screen"),
            help="The projector's height in pixels: the stepping figures grow to fill it, with the step "
            "buttons and the arithmetic still on the same screen.",
        )
    st.toggle(
        "Heatmaps as numbers too",
        value=bool(state.peek(PAGE, "numbers", False)),
        **_switch("numbers"),
        help="Under every figure, a table of each heatmap's numbers.",
    )


@dataclass(frozen=True)
class Header:
    """Where a page puts its controls (the sidebar, or the Settings popover) and its notes."""

    controls: DeltaGenerator
    about: DeltaGenerator | None = None  # presenter mode: the folded explanation

    def note(self, text: str) -> None:
        """A line about the page's input (under the title; folded away with the explanation when presenting)."""
        (self.about or st).caption(text)


def header(title: str, intro: str, *, controls: bool = True) -> Header:
    """The page's title and explanation, and where its controls go: the sidebar, or in presenter mode a
    Settings popover beside the title (the display's switches in a second one, the explanation folded
    into an expander at the end of the same bar)."""
    read_address()  # done by the router already; here too for a page run on its own (its tests)
    if not presenting():
        st.title(title)
        st.markdown(intro)
        return Header(st.sidebar)
    row = st.container(horizontal=True, wrap=True, vertical_alignment="center", key="present-header")
    row.markdown(f"## {title}")
    where = row.popover("Settings", icon=":material/tune:", key="present-settings") if controls else st.container()
    with row.popover("Presenter", icon=":material/co_present:", key="present-display"):
        switches()
        st.caption(widgets.KEYS_LEGEND)
    with row.container(width="content"):
        page_helpers.mount()
    about = row.expander("About this page", icon=":material/info:")
    about.markdown(intro)
    return Header(where, about)


CSS = f"""<style>
/* presenter mode: the back row reads it, one stepping view fits a 1024×768 projector */
[data-testid="stMainBlockContainer"] {{ padding: 3.6rem 1.5rem 2rem 1.5rem; max-width: none; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.5rem; }}
.st-key-present-header {{ min-height: 3rem; }}
[class*="-keys-legend"] {{ display: none; }}
.st-key-present-header [data-testid="stExpander"] {{ min-width: 16rem; }}
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li {{ font-size: 1.2rem; }}
[class*="-arithmetic"] p {{ font-size: {PRESENTER_TEXT + 4}px !important; }}
.st-key-present-header h2 {{ padding: 0; margin: 0; font-size: 2rem; }}
</style>"""


def presenter_style() -> None:
    """The presenter's type sizes and compact margins (nothing when not presenting)."""
    if presenting():
        st.html(CSS)


def chart_config(name: str) -> dict:
    """Plotly's toolbar with only its camera: a PNG of the figure at twice its size, made in the browser
    (offline too)."""
    return {
        "displaylogo": False,  # the toolbar shows on hover (on a touch screen: on a tap)
        "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "scale": PNG_SCALE, "filename": name},
    }


def _cell(v: float) -> str:
    return "" if np.isnan(v) else f"{v:.4g}".replace("-", "−")


def numbers(fig: go.Figure) -> None:
    """Each heatmap of ``fig`` as a table of its numbers (rows and columns numbered from 0, blank where
    the figure is blank)."""
    grids = style.number_grids(fig)
    if not grids:
        return
    tabs = st.tabs([g.title for g in grids]) if len(grids) > 1 else [st.container()]
    for tab, g in zip(tabs, grids):
        frame = pd.DataFrame([[_cell(v) for v in row] for row in g.values])
        tab.dataframe(frame, hide_index=False, width="content")


def chart(
    fig: go.Figure,
    name: str,
    *,
    where: DeltaGenerator | None = None,
    key: str | None = None,
    stepping: bool = False,
    **kwargs,
):
    """Draw ``fig`` the way the display says (palette, presenter sizes, the numbers under it when asked);
    ``name`` names its PNG. Returns what ``st.plotly_chart`` returns (a selection, with ``on_select``)."""
    with where if where is not None else nullcontext():  # no extra element where the caller's container holds it
        shown = style.restyle(fig, look(stepping=stepping))
        options = {"width": "stretch", "theme": None, **kwargs}
        event = st.plotly_chart(shown, config=chart_config(name), key=key, **options)
        if state.peek(PAGE, "numbers", False):
            numbers(fig)
    return event
