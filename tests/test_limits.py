"""No single student can take the server: designs and model files within the layer, parameter, MAC and
feature-map limits (checked before anything is built), and settings that would destroy work refused."""

from __future__ import annotations

import json
import struct
import tomllib
import tracemalloc
from pathlib import Path

import pytest
from apptest_support import ROOT

from playground.cli.main import main
from playground.nn import architecture, presets
from playground.nn.architecture import Conv, Dense, Flatten, ModelSpec, SpecError
from playground.nn.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from playground.nn.model import build
from playground.nn.presets import get_preset
from playground.nn.shapes import infer_shapes
from playground.ui import train_view, widgets


def spec_of(*layers) -> ModelSpec:
    return ModelSpec("test", tuple(layers))


def bounded(call, limit_mb: float = 20):
    """Run ``call`` (which must raise) and return (the error, peak MB traced while it ran)."""
    tracemalloc.start()
    try:
        with pytest.raises((SpecError, CheckpointError)) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert peak < limit_mb, f"{peak:.0f} MB allocated before refusing"
    return str(info.value)


# ---------------------------------------------------------------- designs
def test_the_presets_are_well_inside_the_limits():
    for name, spec in presets.PRESETS.items():
        infos = infer_shapes(spec)
        assert len(spec.layers) <= architecture.MAX_LAYERS // 2, name
        assert sum(i.macs for i in infos) <= architecture.MAX_MACS // 5, name


@pytest.mark.parametrize(
    "spec,says",
    [
        (spec_of(*([Conv(1, 1, padding=0)] * 40), Flatten(), Dense(10)), "42 layers; at most 40"),
        (spec_of(Conv(4096, 7, padding=3), Flatten(), Dense(10)), "multiply-accumulates per image, over the limit"),
        (spec_of(Conv(2048, 1, padding=0), Flatten(), Dense(10)), "values in its feature maps per image"),
        (spec_of(Conv(4096, 3), Conv(256, 3), Flatten(), Dense(10)), "5,462,212,608 multiply-accumulates"),
    ],
    ids=["41+ layers", "189 M MACs", "1.6 M feature-map values", "5 G MACs, 11 M parameters"],
)
def test_designs_beyond_the_limits_are_refused_with_the_layer_at_fault(spec, says):
    message = bounded(lambda: infer_shapes(spec), limit_mb=5)
    assert says in message, message


# ---------------------------------------------------------------- model files
def _file(spec_json: str, tensors: dict | None = None) -> bytes:
    header = {"__metadata__": {"format": "cnn-playground/1", "spec": spec_json}, **(tensors or {})}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def test_a_tiny_file_claiming_a_huge_model_builds_nothing():
    big = spec_of(Flatten(), Dense(4096), Dense(4096), Dense(4096), Dense(10))  # 37.8 M parameters
    assert sum(i.params for i in infer_shapes(big)) > 30_000_000
    data = _file(big.to_json())
    assert len(data) < 600
    message = bounded(lambda: load_checkpoint(data))
    assert "lacks the weights 'dense1.bias'" in message, message


def test_a_file_with_120000_layers_is_refused_unread():
    layers = [{"type": "act", "fn": "relu"}] * 120_000
    data = _file(json.dumps({"name": "x", "layers": layers}))
    message = bounded(lambda: load_checkpoint(data), limit_mb=60)  # the file itself is 3.4 MB
    assert "byte header" in message and "at most 1,000,000" in message, message


def test_a_file_over_the_mac_limit_is_refused_before_it_is_built():
    heavy = spec_of(Conv(4096, 3), Conv(256, 3), Flatten(), Dense(10))
    message = bounded(lambda: load_checkpoint(_file(heavy.to_json())))
    assert "cannot be built" in message and "multiply-accumulates per image" in message, message


def test_a_good_model_still_loads():
    spec = get_preset("lenet5")
    path = save_checkpoint(ROOT / ".pytest-limits.safetensors", build(spec, seed=1), spec)
    try:
        assert load_checkpoint(path).spec == spec
    finally:
        path.unlink()


# ---------------------------------------------------------------- settings that would lose work
def test_train_refuses_the_same_file_for_the_log_and_the_model(tmp_path, capsys):
    good = tmp_path / "m.safetensors"
    spec = get_preset("lenet5")
    save_checkpoint(good, build(spec, seed=0), spec)
    before = good.read_bytes()
    argv = ["train", "--arch", "lenet5", "--dataset", "synthetic", "--epochs", "1", "--subset", "64"]
    code = main([*argv, "--out", str(good), "--json-log", str(tmp_path / "." / "m.safetensors")])
    err = capsys.readouterr().err
    assert code == 2 and "--json-log and --out are the same file" in err and err.count("\n") == 1, err
    assert good.read_bytes() == before  # the good model is untouched


def test_upload_limits_agree_with_the_server():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server_mb = config["server"]["maxUploadSize"]
    assert train_view.UPLOAD_MB <= server_mb  # a model downloaded from Train can be loaded back
    assert widgets.UPLOAD_MB <= server_mb
    tf_tutorial = sum(i.params for i in infer_shapes(get_preset("tf-tutorial"))) * 4 / 2**20
    assert tf_tutorial < train_view.UPLOAD_MB, tf_tutorial


def test_limits_are_stated_on_the_build_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "playground" / "pages" / "build.py"), default_timeout=60)
    at.run()
    assert not at.exception
    text = "\n".join(c.value for c in at.caption)
    assert (
        f"{architecture.MAX_MACS:,} multiply-accumulates" in text
        and f"{architecture.MAX_ACTIVATIONS:,} feature-map" in text
    )
    assert Path(ROOT / "README.md").read_text().count("100 million multiply-accumulates") == 1
