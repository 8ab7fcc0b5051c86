"""A class room's drawings read by a model: the report's numbers against the model itself, the live screen's
figures read back from their specs, the export read back with the project's own IDX reader, the QR code read
back by a barcode reader, and the link students open."""

from __future__ import annotations

import base64
import csv
import io
import zipfile

import numpy as np
import pytest
import torch
import zxingcpp
from PIL import Image

from playground.data.idx import read_idx
from playground.figures import classroom as fig
from playground.imaging.preprocess import normalise
from playground.imaging.qr import qr_picture
from playground.nn import class_report
from playground.nn.checkpoints import load_checkpoint
from playground.nn.shipped import SHIPPED_MODEL
from playground.serve import class_room
from playground.serve.class_store import open_store


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(SHIPPED_MODEL).model.eval()


@pytest.fixture(scope="module")
def digits(mnist_path):
    from playground.data.datasets import load_dataset

    test = load_dataset("mnist", mnist_path, split="test", download_ok=False)
    return test.images[:40], test.labels[:40]


def drawings(digits, meant_every: int = 1):
    images, labels = digits
    meant = [int(y) if i % meant_every == 0 else None for i, y in enumerate(labels)]
    return list(range(1, len(images) + 1)), images, meant, [f"s{i % 7}" for i in range(len(images))]


def test_the_report_holds_the_models_own_answers(model, digits):
    ids, images, meant, senders = drawings(digits, meant_every=2)
    r, probs = class_report.report(model, ids, images, meant, senders)
    with torch.no_grad():
        want = torch.softmax(model(torch.from_numpy(normalise(images))), 1).double().numpy()
    np.testing.assert_allclose(r.probabilities, want, atol=1e-6)
    assert np.array_equal(r.predicted, want.argmax(1)) and r.students == 7
    labelled = np.array([m is not None for m in meant])
    assert int(r.labelled.sum()) == labelled.sum() == 20
    y = np.array([m if m is not None else -1 for m in meant])
    conf = r.confusion()
    assert conf.sum() == 20 and all(conf[y[i], want[i].argmax()] >= 1 for i in np.flatnonzero(labelled))
    assert r.accuracy() == pytest.approx(np.mean(want[labelled].argmax(1) == y[labelled]))
    least = r.least_confident(5)
    assert list(least) == list(np.argsort(want.max(1), kind="stable")[:5])
    groups = r.groups()
    assert sorted(np.concatenate(groups).tolist()) == list(range(40))
    for k, g in enumerate(groups):
        assert all(r.predicted[g] == k) and list(r.confidence[g]) == sorted(r.confidence[g], reverse=True)
    # a later call reads only the new drawings; deleted ones are forgotten
    known = {i: probs[i] for i in ids[:30]}
    calls = []
    real = class_report.probabilities

    def counting(m, imgs, batch=256):
        calls.append(len(imgs))
        return real(m, imgs, batch)

    class_report.probabilities = counting
    try:
        again, kept = class_report.report(model, ids[5:], images[5:], meant[5:], senders[5:], known)
    finally:
        class_report.probabilities = real
    assert calls == [10] and set(kept) == set(ids[5:])
    np.testing.assert_allclose(again.probabilities, r.probabilities[5:], atol=1e-12)


def test_an_empty_room_reports_nothing(model):
    r, probs = class_report.report(model, [], np.zeros((0, 28, 28), np.uint8), [], [])
    assert len(r.ids) == 0 and r.accuracy() is None and r.confusion().sum() == 0 and probs == {}
    assert [len(g) for g in r.groups()] == [0] * 10 and len(r.least_confident(12)) == 0


def test_fine_tuning_data_keep_every_fifth_drawing_out(model, digits):
    from playground.data.datasets import load_dataset  # noqa: F401 (the Dataset type comes with it)

    ids, images, meant, senders = drawings(digits)
    r, _ = class_report.report(model, ids, images, meant, senders)
    mnist = class_report.class_dataset(r, np.ones(len(ids), bool), "AAAAA", "train")  # any data set will do
    data = class_report.fine_tune_data(r, mnist, "AAAAA", repeat=3)
    out = class_report.held_out(r)
    assert out.sum() == 8 and list(r.ids[out]) == [5, 10, 15, 20, 25, 30, 35, 40]
    half, _ = class_report.report(model, ids, images, [m if i % 2 else None for i, m in enumerate(meant)], senders)
    assert list(half.ids[class_report.held_out(half)]) == [10, 20, 30, 40]  # the 5th, 10th, ... labelled ones
    assert len(data) == 40 + 3 * 32 and not set(r.ids[out]) & set(data.indices[40:].tolist())
    held = class_report.class_dataset(r, out, "AAAAA", "val")
    assert list(held.indices) == [5, 10, 15, 20, 25, 30, 35, 40] and np.array_equal(held.labels, r.meant[out])


def thumbs(n: int, wrong: int = 0) -> list[fig.Thumb]:
    img = np.zeros((28, 28), np.uint8)
    img[4:24, 13:15] = 255
    return [fig.Thumb(img, i + 1, (7 if i < wrong else 1) if i % 3 else -1, 1, 0.5 + i / 100) for i in range(n)]


def png_pixels(source: str) -> np.ndarray:
    picture = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
    return np.asarray(picture.convert("RGB"))


def test_grouped_figure_puts_each_drawing_under_its_answer(model):
    groups = [[] for _ in range(10)]
    groups[1] = thumbs(5, wrong=2)
    groups[7] = thumbs(30)[5:]  # 25 drawings: three across, eight rows shown, one more counted
    f = fig.grouped_figure(groups, [str(d) for d in range(10)], selected=3).to_dict()
    picture, targets = f["data"]
    assert picture["type"] == "image" and targets["type"] == "scatter"
    ids = list(targets["customdata"])
    assert ids[:5] == [1, 2, 3, 4, 5] and len(ids) == 5 + 24
    heads = [a["text"] for a in f["layout"]["annotations"]]
    assert heads[1] == "<b>1</b> · 5" and heads[7].startswith("<b>7</b> · 25") and "+1" in heads[7]
    assert heads[0] == "<b>0</b> · 0"
    # frames: drawings 1 and 4 not said (grey), 2 meant 7 but read 1 (vermillion), 3 and 5 right (green)
    pixels = png_pixels(picture["source"])
    x, y = np.asarray(targets["x"]), np.asarray(targets["y"])
    half = (fig.SIDE + 2 * fig.FRAME - 1) / 2
    corner = [tuple(pixels[int(y[i] - half), int(x[i] - half)]) for i in range(5)]
    grey, vermillion, green = (156, 163, 175), (213, 94, 0), (0, 158, 115)
    assert corner == [grey, vermillion, green, grey, green]
    assert "drawing 2: answer 1 (51%), meant 7" in targets["text"][1]
    assert len(f["layout"]["shapes"]) == 2  # the selected drawing's outline


def test_strip_figure_captions_each_drawing_and_clicks_read_back():
    f = fig.strip_figure(thumbs(8), [str(d) for d in range(10)], per_row=6).to_dict()
    assert [a["text"] for a in f["layout"]["annotations"]][:2] == ["1 · 50.0%", "1 · 51.0%"]
    assert list(f["data"][1]["customdata"]) == list(range(1, 9))
    sure = fig.strip_figure([fig.Thumb(thumbs(1)[0].image, 9, 1, 1, 0.99971)], [str(d) for d in range(10)]).to_dict()
    assert sure["layout"]["annotations"][0]["text"] == "1 · > 99.9%"
    assert fig.clicked_drawing({"selection": {"points": [{"customdata": 4}]}}) == 4
    assert fig.clicked_drawing({"selection": {"points": [{"customdata": [6]}]}}) == 6
    for bad in (None, {}, {"selection": {"points": []}}, {"selection": {"points": [{"customdata": "x"}]}}, 3):
        assert fig.clicked_drawing(bad) is None


def test_the_export_is_read_back_by_the_projects_idx_reader(tmp_path, model, digits):
    store = open_store(str(tmp_path / "class.sqlite3"))
    room, _ = store.open_room()
    images, labels = digits
    for i in range(6):
        store.send(room.code, f"s{i}", images[i], meant=int(labels[i]) if i != 2 else None, now=1_700_000_000.0 + i)
    data = class_room.export_room(store, room.code, model, "Pretrained")
    z = zipfile.ZipFile(io.BytesIO(data))
    names = set(z.namelist())
    folder = room.code
    pngs = sorted(n for n in names if n.endswith(".png"))
    assert len(pngs) == 6
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(z.read(pngs[0])))), images[0])
    rows = list(csv.DictReader(io.StringIO(z.read(f"{folder}/labels.csv").decode())))
    assert [r["meant"] for r in rows] == [str(int(labels[i])) if i != 2 else "" for i in range(6)]
    with torch.no_grad():
        want = model(torch.from_numpy(normalise(images[:6]))).argmax(1).tolist()
    assert [int(r["predicted"]) for r in rows] == want
    assert rows[0]["sent_at_utc"] == "2023-11-14T22:13:20+00:00"
    for name in ("class-images-idx3-ubyte.gz", "class-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(z.read(f"{folder}/{name}"))
    got_images = read_idx(tmp_path / "class-images-idx3-ubyte.gz")
    got_labels = read_idx(tmp_path / "class-labels-idx1-ubyte.gz")
    keep = [0, 1, 3, 4, 5]
    assert np.array_equal(got_images, images[keep]) and got_labels.tolist() == labels[keep].tolist()
    assert "No names" in z.read(f"{folder}/README.txt").decode()
    store.close()


def test_the_qr_code_reads_back_as_the_link():
    for link in ("http://192.168.1.20:8501/class?room=K7QMP", "https://playground.example.edu/app/class?room=2GAQY"):
        picture = qr_picture(link)
        assert picture.dtype == np.uint8 and set(np.unique(picture)) == {0, 255}
        assert [r.text for r in zxingcpp.read_barcodes(picture)] == [link]


def test_the_link_students_open():
    base = class_room.students_base
    assert base("http://10.0.0.2:8501/class?room=X") == ("http://10.0.0.2:8501", "")
    assert base("https://x.edu/app/class") == ("https://x.edu/app", "")
    url, note = base("http://localhost:8501/class", lan="192.168.1.5")
    assert url == "http://192.168.1.5:8501" and "localhost" in note and "192.168.1.5" in note
    url, note = base("http://127.0.0.1:8501/", lan=None)
    assert url == "http://127.0.0.1:8501" and "type this machine's address" in note
    assert base("http://localhost:8501/class", public="https://ai.example.edu/") == ("https://ai.example.edu", "")
    assert class_room.room_link("http://a:1/", "K7QMP") == "http://a:1/class?room=K7QMP"


def test_fine_tuning_on_the_class_runs_in_the_queue_and_is_judged_on_held_out_drawings(model, digits, mnist_path):
    from waiting import wait_until

    from playground.data.datasets import load_dataset
    from playground.nn.config import ConfigError, TrainConfig, evaluate
    from playground.nn.shapes import infer_shapes  # noqa: F401 (the spec travels with the checkpoint)
    from playground.serve import class_tune, jobs

    loaded = load_checkpoint(SHIPPED_MODEL)
    ids, images, meant, senders = drawings(digits)
    few, _ = class_report.report(model, ids[:9], images[:9], meant[:9], senders[:9])
    assert "at least 10 drawings" in class_tune.check(few)
    with pytest.raises(ConfigError, match="at least 10 drawings"):
        class_tune.start("AAAAA", "m", model, loaded.spec, few, None, None)
    with pytest.raises(ConfigError, match="Only a digit model"):
        r0, _ = class_report.report(model, ids, images, meant, senders)
        class_tune.start("AAAAA", "m", model, loaded.spec, r0, None, None, classes=tuple("abcdefghij"))
    r, _ = class_report.report(model, ids, images, meant, senders)
    assert class_tune.check(r) == ""
    train = load_dataset("mnist", mnist_path, split="train", download_ok=False)
    val = load_dataset("mnist", mnist_path, split="val", download_ok=False)
    queue = jobs.JobQueue(cap=1)
    config = TrainConfig(optimizer="adam", lr=3e-4, batch_size=64, epochs=1, seed=0, threads=1)
    tuning = class_tune.start("AAAAA", "Pretrained", model, loaded.spec, r, train, val, queue, config)
    assert tuning.trained_on == 32 and tuning.before.held_out_n == 8 and tuning.before.mnist_n == 1000
    assert tuning.before.held_out == r.accuracy(class_report.held_out(r))
    assert tuning.before.mnist_val == evaluate(model, val).accuracy
    wait_until(lambda: tuning.trainer.result is not None, what="the fine-tuning to end")
    assert tuning.finish() and not tuning.finish()
    assert tuning.trainer.result.state == "finished", tuning.trainer.result.message
    tuned = tuning.model
    held = class_report.class_dataset(r, class_report.held_out(r), "AAAAA", "test")
    assert tuning.after.held_out == evaluate(tuned, held).accuracy
    assert tuning.after.mnist_val == evaluate(tuned, val).accuracy
    # it started from the model's own weights (not the seed's fresh ones) and changed them
    start = dict(model.state_dict())
    sent = tuning.trainer.setup.start_weights
    assert set(sent) == set(start) and all(np.array_equal(sent[k], start[k].numpy()) for k in start)
    assert any(not torch.equal(start[k], v) for k, v in tuned.state_dict().items())
    assert tuning.after.mnist_val > 0.95
    queue.shutdown()
