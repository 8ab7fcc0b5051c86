"""The Class page in AppTest: a lecturer's session and students' sessions sharing one class store (a SQLite file
here; the store's own tests cover PostgreSQL), every control and every bad input."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import zxingcpp
from apptest_support import ROOT, charts, errors, rerun, shown, trace_z
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_pages_draw import payload, stroke_png

from playground.serve import class_store
from playground.serve.class_store import open_store

PAGE = str(ROOT / "playground" / "pages" / "classroom.py")


@pytest.fixture()
def db(tmp_path, monkeypatch):
    location = str(tmp_path / "class.sqlite3")
    monkeypatch.setenv(class_store.ENV_DB, location)
    return open_store(location)


def session(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return rerun(at)


def param(at: AppTest, name: str) -> str | None:
    v = at.query_params.get(name)
    return v[-1] if isinstance(v, list) else v


def lecturer() -> tuple[AppTest, str]:
    at = session()
    rerun(at.button(key="class.open").click())
    code = param(at, "room")
    assert code and f"{code}</div>" in shown(at)
    return at, code


def canvas_key(at: AppTest) -> str:
    return [c.key for c in at.get("bidi_component") if c.key.startswith("class.canvas.")][0]


def send(at: AppTest, kind: str | None = "1", meant: int | None = None) -> AppTest:
    if kind is not None:
        at.session_state[canvas_key(at)] = payload(stroke_png(kind))
        rerun(at)
    if meant is not None:
        rerun(at.button_group(key="class.meant").set_value(meant))
    return rerun(at.button(key="class.send").click())


def picture(image) -> np.ndarray:
    """An st.image element's picture (the page sends small pictures inline, as PNG data URLs)."""
    url = image.proto.imgs[0].url
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L"))


def counts(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_landing_page_offers_both_roles_and_refuses_bad_codes(db):
    at = session()
    assert [b.label for b in at.button] == ["Join", "Open a new room", "Open its screen"]
    at.text_input(key="class.code_typed").input("K7Q")
    rerun(at.button(key="class.join").click())
    assert any("A room code is 5 letters" in e for e in errors(at)) and param(at, "room") is None
    at.text_input(key="class.code_typed").input("k7qmp")
    rerun(at.button(key="class.join").click())
    assert any("There is no room K7QMP" in e for e in errors(at))


def test_a_lecturer_opens_a_room_and_a_student_sends_to_it(db):
    lect, code = lecturer()
    assert "No drawings yet" in shown(lect) and counts(lect)["Drawings"] == "0"
    (qr,) = [zxingcpp.read_barcodes(picture(i)) for i in lect.get("image") if zxingcpp.read_barcodes(picture(i))]
    assert qr[0].text.endswith(f"/class?room={code}") and f"{qr[0].text}**" in shown(lect)  # the QR code is the link

    stu = session({"room": code})
    assert [s.value for s in stu.subheader] == [f"Room {code}"]
    send(stu, "1", meant=1)
    assert any("Sent as a 1: drawing 1, your 1" in s.value for s in stu.success)
    assert canvas_key(stu) == "class.canvas.1" and stu.button_group(key="class.meant").value is None
    (drawing,) = db.drawings(code)
    assert drawing.meant == 1 and drawing.image.dtype == np.uint8 and drawing.image.max() == 255

    rerun(lect)
    assert counts(lect) == {"Drawings": "1", "Students": "1", "Digit said": "1", "Read as meant": "100%"}
    grouped, confusion, least = charts(lect)[:3]
    assert list(grouped["data"][1]["customdata"]) == [drawing.id]
    assert [a["text"] for a in grouped["layout"]["annotations"]][1] == "<b>1</b> · 1"
    z = trace_z(confusion, "confusion")
    assert z[1, 1] == 1 and z.sum() == 1 and confusion["layout"]["yaxis"]["title"]["text"] == "meant"
    assert list(least["data"][1]["customdata"]) == [drawing.id]


def test_sending_too_fast_empty_or_covered_is_refused_with_one_sentence(db):
    _, code = lecturer()
    stu = session({"room": code})
    send(stu, None)
    assert errors(stu) == ["The canvas is empty: draw a digit before sending it."]
    send(stu, "white")
    assert any("Most of the canvas is covered" in e for e in errors(stu))
    send(stu, "dot")
    assert errors(stu) == ["The canvas is empty: draw a digit before sending it."]
    send(stu, "1")
    send(stu, "0")
    assert any(e.startswith("One drawing every 3 s: send again in") for e in errors(stu))
    assert len(db.drawings(code)) == 1 and not stu.exception


def test_the_lecturer_opens_deletes_closes_and_reopens(db):
    lect, code = lecturer()
    key = lect.session_state["class.lecturer"][1]
    first = db.send(code, "a", np.pad(np.full((20, 4), 255, np.uint8), ((4, 4), (12, 12))), meant=7, now=1.0)
    rerun(lect)
    rerun(lect.number_input(key="class.pick_number").set_value(first))
    assert f"**Drawing {first}**: answer **1**" in shown(lect) and "meant 7" in shown(lect)
    assert counts(lect)["Read as meant"] == "0%"
    rerun(lect.number_input(key="class.pick_number").set_value(99))
    assert "There is no drawing 99 in this room" in shown(lect)
    rerun(lect.number_input(key="class.pick_number").set_value(first))
    rerun(lect.button(key="class.delete_drawing").click())
    assert any(f"Drawing {first} is deleted." in s.value for s in lect.success) and db.drawings(code) == []

    rerun(lect.button(key="class.close_room").click())
    assert db.room(code).closed and "is closed: students cannot send" in shown(lect)
    stu = session({"room": code})
    send(stu, "1")
    assert any(f"Room {code} is closed" in e for e in errors(stu))
    rerun(lect.button(key="class.reopen_room").click())
    assert not db.room(code).closed
    send(stu, "1")
    assert len(db.drawings(code)) == 1

    assert lect.button(key="class.delete_room").disabled
    rerun(lect.checkbox(key="class.delete_sure").check())
    rerun(lect.button(key="class.delete_room").click())
    assert db.room(code) is None and f"Room {code} and its 1 drawings are deleted." in [s.value for s in lect.success]
    assert [b.label for b in lect.button][:2] == ["Join", "Open a new room"]
    # the student's next send says the room is gone
    send(stu, "0")
    assert any(f"There is no room {code}" in e for e in errors(stu)) and not stu.exception
    with pytest.raises(class_store.ClassError, match="no room"):
        db.close_room(code, key)  # the key no longer opens anything


def test_the_lecturers_link_opens_the_screen_and_leaves_the_address(db):
    lect, code = lecturer()
    key = lect.session_state["class.lecturer"][1]
    assert f"?room={code}&key={key}" in [c.value for c in lect.code][0]
    again = session({"room": code, "key": key})
    assert again.session_state["class.lecturer"] == (code, key)
    assert param(again, "key") is None and param(again, "room") == code and "Drawings" in counts(again)
    wrong = session({"room": code, "key": "forged"})
    assert any("That lecturer's link does not open room" in e for e in errors(wrong))
    assert param(wrong, "key") is None and "class.lecturer" not in wrong.session_state
    for bad in ("??", "ZZZZZ"):
        at = session({"room": bad})
        assert any("room" in e.lower() for e in errors(at)) and param(at, "room") is None and not at.exception
    rerun(lect.button(key="class.stop_lecturing").click())
    assert param(lect, "room") is None and "Open a new room" in [b.label for b in lect.button]
    # back through the expander, with the code and the key typed
    lect.text_input(key="class.reopen_code").input(code)
    lect.text_input(key="class.reopen_key").input("nope")
    rerun(lect.button(key="class.reopen").click())
    assert any("That key does not open room" in e for e in errors(lect))
    lect.text_input(key="class.reopen_key").input(key)
    rerun(lect.button(key="class.reopen").click())
    assert lect.session_state["class.lecturer"] == (code, key)


def test_a_student_joins_by_typing_and_leaves(db):
    _, code = lecturer()
    stu = session()
    stu.text_input(key="class.code_typed").input(code.lower())
    rerun(stu.button(key="class.join").click())
    assert [s.value for s in stu.subheader] == [f"Room {code}"] and param(stu, "room") == code
    rerun(stu.button(key="class.leave").click())
    assert param(stu, "room") is None and "Join" in [b.label for b in stu.button]


def test_an_unreachable_store_is_one_sentence_on_the_page(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(class_store.ENV_DB, str(blocker / "class.sqlite3"))
    at = session()
    rerun(at.button(key="class.open").click())
    assert any("The class store" in e and "cannot be reached" in e for e in errors(at)) and not at.exception


def test_the_address_students_open_can_be_changed(db):
    lect, code = lecturer()
    lect.text_input(key="class.base").input("http://lab-pc.local:8501")
    rerun(lect)
    assert f"http://lab-pc.local:8501/class?room={code}" in shown(lect)


def test_fine_tuning_on_the_class_shows_before_and_after_and_the_model_can_read_the_room(
    db, mnist_env, release_sessions
):
    from train_page_support import until

    from playground.data.datasets import load_dataset

    lect, code = lecturer()
    test = load_dataset("mnist", mnist_env, split="test", download_ok=False)
    ids = [db.send(code, f"s{i}", test.images[i], meant=int(test.labels[i]), now=float(i)) for i in range(9)]
    rerun(lect)
    assert lect.button(key="class.tune_start").disabled and "this room has 9" in shown(lect)
    ids += [db.send(code, f"s{i}", test.images[i], meant=int(test.labels[i]), now=float(i)) for i in range(9, 15)]
    rerun(lect)
    assert not lect.button(key="class.tune_start").disabled
    rerun(lect.button(key="class.tune_start").click())
    until(lect, lambda at: "class drawings it never trained on" in shown(at), timeout=240)
    table = [m.value for m in lect.markdown if "never trained on" in m.value][0]
    n_held = len(ids) // 5
    assert f"| {n_held} class drawings it never trained on |" in table and "| 1,000 MNIST validation images |" in table
    assert f"Trained on {15 - n_held} of the class's labelled drawings" in shown(lect)
    name = f"Fine-tuned on class {code} ({15 - n_held} drawings)"
    assert name in lect.radio(key="class.model").options
    rerun(lect.button(key="class.tune_use").click())
    assert lect.radio(key="class.model").value == name and f"({name})" in shown(lect)
    rerun(lect.button(key="class.tune_again").click())
    assert not lect.button(key="class.tune_start").disabled and name in lect.button(key="class.tune_start").label


def test_fine_tuning_without_mnist_says_where_the_files_go(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "no-mnist"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lect, code = lecturer()
    img = np.pad(np.full((20, 4), 255, np.uint8), ((4, 4), (12, 12)))
    for i in range(12):
        db.send(code, f"s{i}", img, meant=1, now=float(i))
    rerun(lect)
    rerun(lect.button(key="class.tune_start").click())
    assert any("MNIST" in e for e in errors(lect)) and not lect.exception


def test_only_digit_models_are_offered_to_read_the_room(db):
    from playground.data.datasets import FASHION
    from playground.nn.model import build
    from playground.nn.presets import get_preset
    from playground.ui import models

    lect, code = lecturer()
    assert not lect.get("radio") or models.SHIPPED_COLOUR not in lect.radio(key="class.model").options
    grey, colour = get_preset("keras-mnist"), get_preset("keras-notes")
    lect.session_state["models.session"] = {
        "digits": models.ModelChoice("digits", build(grey, seed=1).eval(), grey, "a digit model."),
        "garments": models.ModelChoice("garments", build(grey, seed=2).eval(), grey, "a Fashion model.", FASHION),
        # ten classes named as digits, but it reads 3×32×32 colour pictures, not drawings
        "colour": models.ModelChoice("colour", build(colour, seed=3).eval(), colour, "a colour model."),
    }
    rerun(lect)
    assert lect.radio(key="class.model").options == [models.SHIPPED, "digits"]
    send(session({"room": code}), "1", meant=1)
    rerun(lect)
    assert counts(lect)["Drawings"] == "1" and not lect.exception
