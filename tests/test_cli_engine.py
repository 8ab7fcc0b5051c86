"""`python -m playground train|evaluate|predict`: exit codes, outputs, the shipped model's accuracy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from playground.cli.evaluate import overlap_warnings
from playground.nn.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "assets" / "models" / "playground-mnist.safetensors"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "playground", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def assert_one_line_error(res: subprocess.CompletedProcess) -> None:
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""


def one_image(path: Path) -> Path:
    """A canvas-style '1': white stroke on a black 280×280 image, drawn like a mouse would."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    d = ImageDraw.Draw(img)
    d.line([(120, 70), (150, 45), (150, 235)], fill=(255, 255, 255, 255), width=22)
    img.save(path)
    return path


def test_train_writes_a_loadable_checkpoint(tmp_path, mnist_path):
    out, log = tmp_path / "m.safetensors", tmp_path / "log.jsonl"
    res = cli(
        "train",
        "--arch",
        "keras-mnist",
        "--dataset",
        "mnist",
        "--data-dir",
        str(mnist_path),
        "--epochs",
        "1",
        "--subset",
        "256",
        "--batch-size",
        "32",
        "--seed",
        "3",
        "--threads",
        "1",
        "--out",
        str(out),
        "--json-log",
        str(log),
    )
    assert res.returncode == 0, res.stderr
    assert "val accuracy" in res.stdout and str(out) in res.stdout
    loaded = load_checkpoint(out)
    assert loaded.spec.name == "keras-mnist"
    assert loaded.metadata["config"]["subset"] == 256 and loaded.metadata["config"]["epochs"] == 1
    assert loaded.metadata["data"]["train"]["index_ranges"] == [[0, 255]]  # first 256 of the train split
    assert loaded.metadata["data"]["val"]["index_ranges"] == [[7000, 7999]]  # never the test split
    events = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "saved"
    assert {"step", "val", "epoch", "end"} <= set(kinds)
    assert sum(k == "step" for k in kinds) == 256 // 32
    assert events[-1]["bytes"] == out.stat().st_size


def test_train_with_the_numpy_engine_writes_a_checkpoint_pytorch_scores(tmp_path, mnist_path):
    out, log = tmp_path / "numpy.safetensors", tmp_path / "log.jsonl"
    res = cli(
        "train", "--engine", "numpy", "--arch", "simple-convnet", "--dataset", "mnist", "--data-dir", str(mnist_path),
        "--epochs", "1", "--subset", "256", "--batch-size", "32", "--out", str(out), "--json-log", str(log),
        "--init", "std", "--init-std", "0.01", "--loss", "mse", "--l2", "0.001", "--optimizer", "sgd", "--lr", "0.1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "trained simple-convnet with the numpy engine on 256 mnist images: val accuracy" in res.stdout
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[0]["engine"] == "numpy" and sum(e["event"] == "step" for e in events) == 256 // 32
    val_acc = next(e["val_acc"] for e in events if e["event"] == "val")
    loaded = load_checkpoint(out)
    assert loaded.spec.name == "simple-convnet" and loaded.metadata["engine"] == "numpy"
    config = loaded.metadata["config"]
    assert (config["init"], config["init_std"], config["loss"], config["l2"]) == ("std", 0.01, "mse", 0.001)
    scored = cli("evaluate", "--model", str(out), "--dataset", "mnist", "--data-dir", str(mnist_path), "--split",
                 "val", "--json")  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["accuracy"] == pytest.approx(val_acc, abs=1.5e-3)  # float32 in PyTorch


def test_shipped_model_reaches_target_on_held_out_test_split(mnist_path):
    res = cli("evaluate", "--model", str(SHIPPED), "--dataset", "mnist", "--data-dir", str(mnist_path), "--json")
    assert res.returncode == 0, res.stderr
    assert "warning" not in res.stderr  # trained on 0–6,999, validated on 7,000–7,999 only
    out = json.loads(res.stdout)
    assert out["split"] == "test" and out["count"] == 2000
    assert out["accuracy"] >= 0.992
    conf = np.array(out["confusion"])
    assert conf.shape == (10, 10) and conf.sum() == 2000
    assert np.trace(conf) / 2000 == pytest.approx(out["accuracy"])
    np.testing.assert_allclose(out["per_class_accuracy"], np.diag(conf) / conf.sum(1))


def test_evaluate_warns_on_the_training_images(mnist_path):
    res = cli(
        "evaluate", "--model", str(SHIPPED), "--dataset", "mnist", "--data-dir", str(mnist_path), "--split", "train"
    )
    assert res.returncode == 0, res.stderr
    assert "warning: the model was trained on 7,000 of the 7,000 images of the train split" in res.stderr
    assert "confusion matrix" in res.stdout and "accuracy" in res.stdout


def test_overlap_warnings_compare_index_ranges():
    meta = {
        "data": {
            "train": {"name": "mnist", "index_ranges": [[0, 99], [500, 509]]},
            "val": {"name": "mnist", "index_ranges": [[7000, 7999]]},
        }
    }
    assert overlap_warnings(meta, "mnist", np.arange(8000, 10000), "test") == []
    warn = overlap_warnings(meta, "mnist", np.arange(50, 600), "x")
    assert len(warn) == 1 and "trained on 60 of the 550" in warn[0]
    assert "validated" in overlap_warnings(meta, "mnist", np.arange(7990, 8010), "x")[0]
    assert overlap_warnings(meta, "fashion-mnist", np.arange(0, 100), "x") == []  # other data set


def test_predict_canvas_and_scan_style_one(tmp_path):
    canvas = one_image(tmp_path / "canvas.png")
    scan = tmp_path / "scan.jpg"
    ImageOps.invert(Image.open(canvas).convert("RGB")).save(scan, quality=90)  # dark ink on white paper
    res = cli("predict", str(canvas), str(scan), "--json")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(canvas), str(scan)]
    for r in rows:
        assert r["label"] == 1, r
        assert len(r["probabilities"]) == 10 and sum(r["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert max(r["probabilities"]) == r["probabilities"][1]


def test_predict_says_when_image_is_empty(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (280, 280), (0, 0, 0, 255)).save(blank)
    res = cli("predict", str(blank))
    assert res.returncode == 0 and "empty image" in res.stdout


@pytest.mark.parametrize(
    "case",
    [
        "missing-image",
        "not-an-image",
        "bad-spec",
        "unknown-preset",
        "unreadable-checkpoint",
        "missing-model",
        "data-missing",
        "numpy-batchnorm",
        "unknown-engine",
        "unknown-loss",
        "negative-l1",
        "unknown-init",
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, case):
    text = tmp_path / "notes.png"
    text.write_text("hello, not a picture")
    spec = tmp_path / "spec.json"
    spec.write_text('{"name": "x", "layers": [{"kind": "dense", "units": 10}, {"kind": "flatten"}]}')
    bad_ckpt = tmp_path / "bad.safetensors"
    bad_ckpt.write_bytes(b"\x80\x04garbage" * 10)
    empty_dir = tmp_path / "nodata"
    empty_dir.mkdir()
    out = str(tmp_path / "m.safetensors")
    args = {
        "missing-image": ["predict", str(tmp_path / "nope.png")],
        "not-an-image": ["predict", str(text)],
        "bad-spec": ["train", "--arch", str(spec), "--dataset", "synthetic", "--out", out],
        "unknown-preset": ["train", "--arch", "resnet9000", "--dataset", "synthetic", "--out", out],
        "numpy-batchnorm": [
            "train",
            "--engine",
            "numpy",
            "--arch",
            "playground",
            "--dataset",
            "synthetic",
            "--out",
            out,
        ],
        "unknown-loss": ["train", "--arch", "keras-mnist", "--dataset", "synthetic", "--loss", "hinge", "--out", out],
        "negative-l1": ["train", "--arch", "keras-mnist", "--dataset", "synthetic", "--l1", "-1", "--out", out],
        "unknown-init": ["train", "--arch", "keras-mnist", "--dataset", "synthetic", "--init", "lecun", "--out", out],
        "unknown-engine": [
            "train",
            "--engine",
            "jax",
            "--arch",
            "simple-convnet",
            "--dataset",
            "synthetic",
            "--out",
            out,
        ],
        "unreadable-checkpoint": ["predict", str(one_image(tmp_path / "one.png")), "--model", str(bad_ckpt)],
        "missing-model": ["evaluate", "--model", str(tmp_path / "none.safetensors"), "--dataset", "synthetic"],
        # a .part file download would need the network: point at an unreachable mirror folder instead
        "data-missing": [
            "train",
            "--arch",
            "keras-mnist",
            "--dataset",
            "mnist",
            "--data-dir",
            str(empty_dir / "file-not-dir.txt"),
            "--out",
            out,
        ],
    }[case]
    if case == "data-missing":
        (empty_dir / "file-not-dir.txt").write_text("x")  # --data-dir is a file: no data can be there
    res = cli(*args)
    assert_one_line_error(res)
    assert not Path(out).exists()


def test_predict_uses_the_model_named_by_playground_model(tmp_path):
    """The CLI honours PLAYGROUND_MODEL like the pages: a missing file there is named, one line, exit 2."""
    canvas = one_image(tmp_path / "canvas.png")
    env = {**os.environ, "PLAYGROUND_MODEL": str(tmp_path / "lecturer.safetensors")}
    res = subprocess.run([sys.executable, "-m", "playground", "predict", str(canvas)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert_one_line_error(res)
    assert "lecturer.safetensors" in res.stderr
    shutil.copy(SHIPPED, tmp_path / "lecturer.safetensors")
    res = subprocess.run([sys.executable, "-m", "playground", "predict", str(canvas), "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0 and json.loads(res.stdout)["label"] == 1


def test_train_with_canvas_copies_records_them(tmp_path, mnist_path):
    out = tmp_path / "m.safetensors"
    res = cli("train", "--arch", "keras-mnist", "--dataset", "mnist", "--data-dir", str(mnist_path), "--epochs", "1",
              "--subset", "128", "--canvas-copies", "2", "--threads", "1", "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "drawing 256 canvas-style copies" in res.stderr
    loaded = load_checkpoint(out)
    assert loaded.metadata["config"]["canvas_copies"] == 2 and loaded.metadata["metrics"]["steps"] == 384 // 64
    assert_one_line_error(cli("train", "--dataset", "mnist", "--canvas-copies", "9", "--out", str(out)))


# ---------------------------------------------------------------- colour
COLOUR = ROOT / "assets" / "models" / "playground-shapes.safetensors"


def write_cifar_files(tmp_path: Path) -> Path:
    from test_colour_data import write_cifar

    write_cifar(tmp_path / "cifar" / "cifar-10-batches-bin")
    return tmp_path / "cifar"


def test_the_command_line_knows_every_data_set():
    from playground.cli.engine import DATASET_NAMES
    from playground.data.datasets import DATASETS

    assert DATASET_NAMES == tuple(DATASETS)


def test_colour_train_evaluate_and_predict_on_the_synthetic_colour_shapes(tmp_path):
    out = tmp_path / "notes.safetensors"
    res = cli(
        "train", "--arch", "keras-notes", "--dataset", "shapes", "--subset", "300", "--epochs", "1",
        "--optimizer", "adam", "--lr", "1e-3", "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "trained keras-notes on 300 shapes images" in res.stdout
    loaded = load_checkpoint(out)
    assert loaded.spec.input_shape == (3, 32, 32) and loaded.metadata["data"]["train"]["name"] == "shapes"
    res = cli("evaluate", "--model", str(out), "--dataset", "shapes-shortcut", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    from playground.data.datasets import DATASETS

    assert report["count"] == 2000 and report["classes"] == list(DATASETS["shapes"].classes)
    assert sum(map(sum, report["confusion"])) == 2000 and "warning" not in res.stderr  # the same ten classes
    res = cli(
        "evaluate", "--model", str(COLOUR), "--dataset", "cifar10", "--data-dir", str(write_cifar_files(tmp_path))
    )
    assert res.returncode == 0, res.stderr
    assert "trained to tell disc, ring, square, … apart, not cifar10's airplane, automobile, bird" in res.stderr
    res = cli("evaluate", "--model", str(out), "--dataset", "synthetic", "--split", "val")
    assert_one_line_error(res)  # a colour model on grey data: one sentence, no traceback


def test_predict_reads_photos_with_a_colour_model(tmp_path):
    ring = Image.new("RGB", (300, 200), (40, 90, 160))
    ImageDraw.Draw(ring).ellipse([80, 30, 220, 170], outline=(250, 200, 40), width=25)
    ring.save(tmp_path / "ring.png")
    res = cli("predict", str(tmp_path / "ring.png"), "--model", str(COLOUR), "--json")
    assert res.returncode == 0, res.stderr
    record = json.loads(res.stdout)
    import torch

    from playground.imaging.photo import fit_photo
    from playground.nn.config import images_to_tensor

    loaded = load_checkpoint(COLOUR)
    with torch.no_grad():
        want = torch.softmax(loaded.model(images_to_tensor(fit_photo(ring, (32, 32)).image[None])).double(), 1)[0]
    assert record["label"] == int(want.argmax()) and record["class"] == "ring"
    assert np.allclose(record["probabilities"], want.numpy(), atol=1e-6)
    assert len(record["probabilities"]) == 10
