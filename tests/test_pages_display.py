"""Presenter mode, colour palettes and heatmaps as numbers on the pages (AppTest): the switch and the
address turn them on, the controls move out of the sidebar, figures follow the choice, and a forged
address gives the defaults plus one sentence."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_support import CONV, POOL, ROOT, chart, opened, query, rerun

from playground.figures import style
from playground.ops import samples
from playground.ui import display

APP = str(ROOT / "app.py")
PAGES = {name: str(ROOT / "playground" / "pages" / f"{name}.py") for name in ("draw", "backprop", "build", "train")}


def heatmaps(spec: dict) -> list[dict]:
    return [t for t in spec["data"] if t.get("type") == "heatmap"]


def scale(trace: dict) -> list[tuple[float, str]]:
    return [(round(float(p), 6), str(c).lower()) for p, c in trace["colorscale"]]


def test_the_switch_turns_presenter_mode_on_and_off_and_the_address_follows():
    at = opened(APP, {})
    assert [t.label for t in at.sidebar.toggle] == ["Presenter mode", "Heatmaps as numbers too"]
    rerun(at.toggle(key="app.present.switch").set_value(True))
    assert query(at) == {"present": "1"}
    assert not at.sidebar.toggle and not at.sidebar.selectbox  # the switches moved into the header
    assert at.toggle(key="app.present.switch").value is True
    rerun(at.toggle(key="app.present.switch").set_value(False))
    assert query(at) == {} and at.sidebar.toggle


@pytest.mark.parametrize("path", [CONV, POOL, *PAGES.values()], ids=["conv", "pool", *PAGES])
def test_every_page_in_presenter_mode_keeps_nothing_in_the_sidebar(path):
    at = opened(path, dict(present="1"))
    sidebar = at.sidebar
    assert not (sidebar.selectbox or sidebar.number_input or sidebar.radio or sidebar.toggle), path
    about = next(e for e in at.expander if e.label == "About this page")
    assert about.markdown and len(about.markdown[0].value) > 100  # the explanation, folded away
    assert not at.title  # the page's title sits in the header bar, smaller


def test_presenter_convolution_has_its_controls_and_enlarged_step_figure():
    at = opened(CONV, dict(present="1"))
    assert at.selectbox(key="conv.kernel").value  # in the Settings popover, and working
    rerun(at.number_input(key="conv.stride_rows").set_value(2))
    assert query(at) == {"present": "1", "stride_rows": "2"}
    spec = chart(at)
    assert spec["layout"]["height"] == display.PRESENTER_HEIGHT
    for trace in heatmaps(spec):
        if "textfont" in trace:
            assert trace["textfont"]["size"] >= display.PRESENTER_TEXT
    assert all(a["font"]["size"] >= display.PRESENTER_TEXT for a in spec["layout"]["annotations"])


def test_a_projector_palette_recolours_every_heatmap_and_travels_in_the_address():
    at = opened(CONV, dict(palette="cividis", input="Sample image"))
    spec = chart(at)
    by_name = {t["name"]: scale(t) for t in heatmaps(spec)}
    assert by_name["input"] == [(p, c) for p, c in style.CIVIDIS]
    assert by_name["kernel"] == by_name["output"] == [(p, c) for p, c in style.BLUE_GREY_YELLOW]
    assert query(at)["palette"] == "cividis"
    plain = chart(opened(CONV, dict(input="Sample image")))
    assert {t["name"]: scale(t) for t in heatmaps(plain)}["kernel"] == [(p, c) for p, c in style.STANDARD.signed]


def test_heatmaps_as_numbers_show_the_engine_numbers_of_the_current_step():
    at = opened(CONV, dict(numbers="1"))
    rerun(at.button(key="conv.next").click())  # step 2 of the worked example: 37 then 47
    tables = [t.value for t in at.dataframe]
    grid = lambda frame: [[v for v in row] for row in frame.to_numpy().tolist()]  # noqa: E731
    assert grid(tables[0]) == [[f"{v:g}" for v in row] for row in samples.WORKED_3X3]
    assert grid(tables[1]) == [[f"{v:g}" for v in row] for row in samples.WORKED_KERNEL_2X2]
    assert grid(tables[2]) == [["37", "47"], ["", ""]]  # the cells computed so far


def test_a_forged_display_address_gives_the_defaults_and_one_sentence():
    at = opened(CONV, dict(present="maybe", palette="rainbow<script>", numbers="1" * 700))
    warning = " ".join(w.value for w in at.warning)
    assert "present" in warning and "palette" in warning and "numbers" in warning
    assert at.title  # not presenting: the page's own title
    assert at.sidebar.selectbox  # the controls stayed in the sidebar
    assert np.isfinite(chart(at)["layout"]["height"])
