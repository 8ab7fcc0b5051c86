"""playground.nn.checkpoints: round trip, atomic writes, and every kind of bad file refused without running code."""

from __future__ import annotations

import errno
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

import playground.nn.checkpoints as ck
from playground.nn.checkpoints import CheckpointError, checkpoint_bytes, load_checkpoint, save_checkpoint
from playground.nn.model import build
from playground.nn.presets import PRESETS

SPEC = PRESETS["playground"]  # has batch norm: running statistics must survive too


def trained_model(spec=SPEC, seed=0):
    """A model whose weights and batch-norm statistics differ from a fresh build."""
    model = build(spec, seed=seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, *spec.input_shape, generator=torch.Generator().manual_seed(seed)))
    return model.eval()


META = {
    "config": {"lr": 0.001, "optimizer": "adam"},
    "data": {"train": {"source": "MNIST t10k images 0–6,999", "index_ranges": [[0, 6999]]}},
    "metrics": {"val_acc": 0.991},
}


def test_round_trip_same_logits_and_metadata(tmp_path):
    model = trained_model()
    path = save_checkpoint(tmp_path / "m.safetensors", model, SPEC, META)
    loaded = load_checkpoint(path)
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), model(x))
    assert loaded.spec == SPEC and loaded.metadata == META and not loaded.model.training
    assert loaded.created.endswith("+00:00")
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left behind
    from_bytes = load_checkpoint(checkpoint_bytes(model, SPEC, META))
    with torch.no_grad():
        assert torch.equal(from_bytes.model(x), model(x))


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, trained_model(seed=0), SPEC)
    second = trained_model(seed=1)
    save_checkpoint(path, second, SPEC, {"run": 2})
    loaded = load_checkpoint(path)
    assert loaded.metadata == {"run": 2}
    assert torch.equal(loaded.model.conv1.weight, second.conv1.weight)


def refused(source, *words: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(source)
    msg = str(info.value)
    for w in words:
        assert w in msg, msg
    assert msg.endswith(".") and "\n" not in msg
    return msg


def test_missing_and_empty_files(tmp_path):
    refused(tmp_path / "nope.safetensors", "no model file")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    refused(tmp_path / "empty.safetensors", "empty.safetensors", "is empty")
    refused(b"", "uploaded file", "empty")
    refused(tmp_path, "no model file")  # a folder is not a model file


@pytest.mark.parametrize("keep", [4, 12, 200, 0.5, 0.99])
def test_truncated_files_are_refused(tmp_path, keep):
    data = checkpoint_bytes(trained_model(), SPEC, META)
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:cut])
    refused(path, "truncated")


def test_random_bytes_and_foreign_files(tmp_path):
    rng = np.random.default_rng(0)
    for _ in range(20):
        refused(rng.integers(0, 256, int(rng.integers(1, 5000)), dtype=np.uint8).tobytes(), "not a safetensors")
    refused(b"<html>404 Not Found</html>", "not a safetensors")
    refused(json.dumps({"layers": []}).encode(), "not a safetensors")
    foreign = st_save({"weight": torch.zeros(3)})  # safetensors, but not ours
    refused(foreign, "not a CNN Playground model")
    bad_spec = st_save({"w": torch.zeros(1)}, metadata={"spec": '{"layers": [{"type": "dense", "units": 10}]}'})
    refused(bad_spec, "cannot be built", "Layer 1 (dense1)")


def _with_tensors(tensors, spec_json: str) -> bytes:
    return st_save(tensors, metadata={"format": ck.FORMAT, "spec": spec_json, "metadata": "{}", "created": "now"})


def test_wrong_architecture_is_refused():
    keras = build(PRESETS["keras-mnist"]).state_dict()
    refused(_with_tensors(keras, PRESETS["tinyvgg"].to_json()), "does not match its architecture")
    lenet = PRESETS["lenet5"]
    narrower = lenet.__class__("lenet5", (type(lenet.layers[0])(5, 5, padding=2),) + lenet.layers[1:])
    msg = refused(_with_tensors(build(narrower).state_dict(), lenet.to_json()), "does not match", "conv1.weight")
    assert "(5, 1, 5, 5)" in msg and "(6, 1, 5, 5)" in msg
    extra = {**keras, "conv9.weight": torch.zeros(2)}
    refused(_with_tensors(extra, PRESETS["keras-mnist"].to_json()), "conv9.weight")
    as_double = {k: v.double() for k, v in keras.items()}
    refused(_with_tensors(as_double, PRESETS["keras-mnist"].to_json()), "float64")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(bad, tmp_path):
    state = {k: v.clone() for k, v in trained_model().state_dict().items()}
    state["dense1.weight"][3, 7] = bad
    refused(_with_tensors(state, SPEC.to_json()), "NaN or infinite", "dense1.weight")
    model = trained_model()
    with torch.no_grad():
        model.conv2.bias[0] = bad
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        save_checkpoint(tmp_path / "nan.safetensors", model, SPEC)
    assert not list(tmp_path.iterdir())


class _Exploit:
    """Unpickling this object creates a marker file: it stands for any code a pickle may run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_malicious_pickles_are_refused_and_run_nothing(tmp_path):
    marker = tmp_path / "marker"
    torch_file, raw_file = tmp_path / "model.pt", tmp_path / "model.pkl"
    torch.save({"state": _Exploit(marker)}, torch_file)
    raw_file.write_bytes(pickle.dumps(_Exploit(marker), protocol=2))
    for path in (torch_file, raw_file, tmp_path / "renamed.safetensors"):
        if path.name == "renamed.safetensors":
            path.write_bytes(torch_file.read_bytes())
        refused(path, "pickle", "refused")
        assert not marker.exists()
    refused(torch_file.read_bytes(), "pickle")
    assert not marker.exists()
    # the files really are malicious: an unsafe loader would have run the code
    with open(raw_file, "rb") as fh:
        pickle.load(fh)
    assert marker.exists()


def test_save_refuses_mismatched_model_or_metadata(tmp_path):
    with pytest.raises(CheckpointError, match="do not match"):
        save_checkpoint(tmp_path / "m.safetensors", build(PRESETS["keras-mnist"]), SPEC)
    with pytest.raises(CheckpointError, match="JSON"):
        save_checkpoint(tmp_path / "m.safetensors", build(SPEC), SPEC, {"when": {1, 2}})
    assert not list(tmp_path.iterdir())


def _old_file(folder: Path) -> tuple[Path, bytes]:
    path = folder / "model.safetensors"
    save_checkpoint(path, trained_model(seed=0), SPEC, {"version": "old"})
    return path, path.read_bytes()


def test_read_only_folder_keeps_old_file(tmp_path, monkeypatch):
    path, before = _old_file(tmp_path)
    os.chmod(tmp_path, 0o555)
    try:
        if os.access(tmp_path, os.W_OK):  # root ignores permissions: make the OS say no instead

            def denied(*args, **kwargs):
                raise PermissionError(errno.EACCES, "Permission denied")

            monkeypatch.setattr(ck.tempfile, "mkstemp", denied)
        with pytest.raises(CheckpointError) as info:
            save_checkpoint(path, trained_model(seed=1), SPEC, {"version": "new"})
    finally:
        os.chmod(tmp_path, 0o755)
    assert "Permission denied" in str(info.value) and "model.safetensors was left as it was" in str(info.value)
    assert path.read_bytes() == before
    assert load_checkpoint(path).metadata == {"version": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_disk_full_during_write_keeps_old_file(tmp_path, monkeypatch):
    path, before = _old_file(tmp_path)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ck.os, "fsync", full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint(path, trained_model(seed=1), SPEC)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_failed_verification_keeps_old_file(tmp_path, monkeypatch):
    path, before = _old_file(tmp_path)
    real_open = open

    def corrupting_open(file, mode="r", *args, **kwargs):  # the disk hands back other bytes
        fh = real_open(file, mode, *args, **kwargs)
        if "r" in mode and str(file).endswith(".tmp"):
            data = fh.read()
            fh.close()
            import io

            return io.BytesIO(data[:-10])
        return fh

    monkeypatch.setattr("builtins.open", corrupting_open)
    with pytest.raises(CheckpointError, match="did not load back correctly"):
        save_checkpoint(path, trained_model(seed=1), SPEC)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_trainer_metadata_survives(tmp_path):
    from types import SimpleNamespace

    from playground.nn.trainer import TrainConfig, Trainer

    rng = np.random.default_rng(0)
    data = SimpleNamespace(
        name="noise",
        images=rng.integers(0, 256, (96, 28, 28), dtype=np.uint8),
        labels=rng.integers(0, 10, 96),
        indices=np.arange(500, 596),
        source="noise 500-595",
        synthetic=True,
        classes=tuple("0123456789"),
    )
    spec = PRESETS["keras-mnist"]
    trainer = Trainer(spec, TrainConfig(epochs=1, batch_size=32, threads=1), data)
    trainer.run()
    path = save_checkpoint(tmp_path / "t.safetensors", trainer.model, trainer.spec, trainer.metadata())
    loaded = load_checkpoint(path)
    assert loaded.metadata["data"]["train"] == {
        "name": "noise",
        "source": "noise 500-595",
        "synthetic": True,
        "count": 96,
        "index_ranges": [[500, 595]],
    }
    assert loaded.metadata["config"] == trainer.config.to_dict() and loaded.spec == spec
    assert loaded.metadata["metrics"]["steps"] == 3
