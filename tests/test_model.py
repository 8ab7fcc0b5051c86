"""playground.nn.model: shape inference against the real modules, spec validation, JSON, presets, export."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from playground.nn.architecture import (
    ACTIVATIONS,
    MAX_PARAMS,
    Act,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    ModelSpec,
    Pool,
    SpecError,
    describe,
    layer_names,
)
from playground.nn.export import to_pytorch_source
from playground.nn.model import SeededDropout, build, forward_all
from playground.nn.presets import DEFAULT_PRESET, PRESETS, get_preset
from playground.nn.shapes import infer_shapes, summary_totals

# torch notes that "same" padding with an even kernel copies the input; expected for such specs
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def check_against_module(spec: ModelSpec) -> None:
    """infer_shapes must equal what the built module really produces, layer by layer."""
    infos = infer_shapes(spec)
    model = build(spec, seed=0).eval()
    x = torch.randn(2, *spec.input_shape)
    with torch.no_grad():
        acts = forward_all(model, x)
        logits = model(x)
    assert list(acts) == [i.name for i in infos]
    for info, (name, act) in zip(infos, acts.items()):
        assert tuple(act.shape[1:]) == info.out_shape, name
        module = getattr(model, name)
        assert info.params == sum(p.numel() for p in module.parameters()), name
    assert torch.equal(acts[infos[-1].name], logits)
    assert tuple(logits.shape) == (2, spec.num_classes)
    params, _ = summary_totals(infos)
    assert params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_shapes_and_params_match_module(name):
    check_against_module(PRESETS[name])


def test_preset_figures_by_hand():
    # keras-mnist: conv 1->32 3×3 on 28×28 -> 26×26, pool -> 13×13, 5408 -> 10
    infos = infer_shapes(PRESETS["keras-mnist"])
    assert [i.out_shape for i in infos] == [(32, 26, 26), (32, 26, 26), (32, 13, 13), (5408,), (10,)]
    assert infos[0].params == 32 * 9 + 32 and infos[0].macs == 26 * 26 * 32 * 9
    assert infos[-1].params == 5408 * 10 + 10 and infos[-1].macs == 54080
    assert summary_totals(infos) == (320 + 54090, 194688 + 54080)
    assert summary_totals(infer_shapes(PRESETS["lenet5"]))[0] == 61706  # the textbook LeNet-5 count
    tf = infer_shapes(PRESETS["tf-tutorial"])
    assert tf[6].out_shape == (3136,) and tf[7].params == 3136 * 1024 + 1024
    tiny = infer_shapes(PRESETS["tinyvgg"])
    assert [i.out_shape for i in tiny if i.kind in ("conv", "pool")] == [
        (10, 26, 26),
        (10, 24, 24),
        (10, 12, 12),
        (10, 10, 10),
        (10, 8, 8),
        (10, 4, 4),
    ]
    assert DEFAULT_PRESET in PRESETS
    params, _ = summary_totals(infer_shapes(PRESETS[DEFAULT_PRESET]))
    assert params * 4 < 1_000_000  # shipped weights well under 5 MB


def test_layer_names_and_descriptions():
    spec = PRESETS["playground"]
    names = layer_names(spec.layers)
    assert names[:7] == ["conv1", "bn1", "relu1", "conv2", "bn2", "relu2", "pool1"]
    assert "flatten" in names and names[-3:] == ["relu5", "dropout1", "dense2"]
    assert describe(Conv(32, 3, padding=1)) == "Conv 32 3×3, stride 1, pad 1"
    assert describe(Pool("avg", 2)) == "Avg pool 2×2, stride 2"
    assert describe(Act("leaky_relu")) == "Leaky ReLU" and describe(Dense(10)) == "Dense 10"


@st.composite
def random_specs(draw):
    layers = []
    for _ in range(draw(st.integers(0, 4))):
        layers.append(
            Conv(
                draw(st.integers(1, 8)),
                draw(st.integers(1, 5)),
                draw(st.integers(1, 3)),
                draw(st.one_of(st.integers(0, 2), st.just("same"))),
                draw(st.integers(1, 2)),
            )
        )
        if draw(st.booleans()):
            layers.append(BatchNorm())
        layers.append(Act(draw(st.sampled_from(ACTIVATIONS))))
        if draw(st.booleans()):
            layers.append(
                Pool(
                    draw(st.sampled_from(["max", "avg"])),
                    draw(st.integers(1, 3)),
                    draw(st.one_of(st.none(), st.integers(1, 3))),
                )
            )
        if draw(st.booleans()):
            layers.append(Dropout(draw(st.floats(0, 0.9))))
    layers.append(Flatten())
    for _ in range(draw(st.integers(0, 2))):
        layers += (
            [Dense(draw(st.integers(1, 32))), BatchNorm()] if draw(st.booleans()) else [Dense(draw(st.integers(1, 32)))]
        )
        layers.append(Act(draw(st.sampled_from(ACTIVATIONS))))
    layers.append(Dense(draw(st.integers(2, 12))))
    size = draw(st.integers(8, 28))
    return ModelSpec("random", tuple(layers), (draw(st.integers(1, 3)), size, size), layers[-1].units)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_valid_specs_match_module(spec):
    try:
        infer_shapes(spec)
    except SpecError:
        assume(False)
    check_against_module(spec)
    assert ModelSpec.from_json(spec.to_json()) == spec


BAD = [
    # (layers, layer index at fault, words the message must contain)
    ((Conv(8, 5), Pool("max", 2), Conv(8, 5), Pool("max", 2), Conv(8, 5), Flatten(), Dense(10)), 4, "0×0"),
    ((Conv(8, 3), Dense(10)), 1, "Flatten"),
    ((Conv(0, 3), Flatten(), Dense(10)), 0, "filters"),
    ((Conv(8, 3, padding=-1), Flatten(), Dense(10)), 0, "padding"),
    ((Conv(8, -3), Flatten(), Dense(10)), 0, "kernel"),
    ((Conv(8, 3, stride=0), Flatten(), Dense(10)), 0, "stride"),
    ((Conv(8, 3), Act("swish"), Flatten(), Dense(10)), 1, "activation"),
    ((Flatten(), Conv(8, 3), Dense(10)), 1, "flat"),
    ((Flatten(), Flatten(), Dense(10)), 1, "flat"),
    ((Pool("max", 30), Flatten(), Dense(10)), 0, "0×0"),
    ((Pool("median", 2), Flatten(), Dense(10)), 0, "max"),
    ((Conv(8, 3, stride=2, padding="same"), Flatten(), Dense(10)), 0, "stride 1"),
    ((Conv(2.5, 3), Flatten(), Dense(10)), 0, "whole number"),
    ((Conv(True, 3), Flatten(), Dense(10)), 0, "whole number"),
    ((Flatten(), Dropout(1.0), Dense(10)), 1, "dropout"),
    ((Flatten(), Dense(-4), Dense(10)), 1, "units"),
    ((Flatten(), Dense(64)), 1, "10 values"),
    ((Conv(10, 28),), 0, "feature maps"),
    ((Flatten(), Dense(4096), Dense(4096), Dense(4096), Dense(4096), Dense(10)), 2, "limit"),
]


@pytest.mark.parametrize("layers,index,words", BAD)
def test_invalid_specs_name_the_layer(layers, index, words):
    spec = ModelSpec("bad", layers)
    with pytest.raises(SpecError) as info:
        infer_shapes(spec)
    err = info.value
    name = layer_names(layers)[index]
    assert str(err).startswith(f"Layer {index + 1} ({name}):"), str(err)
    assert words in str(err)
    assert err.layer_index == index and err.layer_name == name
    assert str(err).count(". ") == 0 and str(err).endswith(".")  # one sentence
    with pytest.raises(SpecError):
        build(spec)


def test_limits_are_what_they_say():
    assert MAX_PARAMS == 50_000_000
    with pytest.raises(SpecError, match="no layers"):
        infer_shapes(ModelSpec("empty", ()))
    with pytest.raises(SpecError, match="classes"):
        infer_shapes(ModelSpec("x", (Flatten(), Dense(1)), num_classes=1))
    with pytest.raises(SpecError, match="height"):
        infer_shapes(ModelSpec("x", (Flatten(), Dense(10)), input_shape=(1, 0, 28)))


def test_json_round_trip_and_errors():
    for spec in PRESETS.values():
        assert ModelSpec.from_json(spec.to_json()) == spec
        assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(SpecError, match="not valid JSON"):
        ModelSpec.from_json("{layers: oops")
    with pytest.raises(SpecError, match="list of layers"):
        ModelSpec.from_json("[1, 2]")
    with pytest.raises(SpecError, match=r"Layer 2: unknown layer type 'lstm'"):
        ModelSpec.from_json('{"layers": [{"type": "flatten"}, {"type": "lstm"}]}')
    with pytest.raises(SpecError, match=r"Layer 1 \(conv\): unknown setting 'size'"):
        ModelSpec.from_json('{"layers": [{"type": "conv", "filters": 3, "size": 3}]}')
    with pytest.raises(SpecError, match="missing a setting"):
        ModelSpec.from_json('{"layers": [{"type": "dense"}]}')
    with pytest.raises(SpecError, match="unknown layer type"):
        ModelSpec.from_json('{"layers": [{"type": ["conv"]}]}')
    bad_values = ModelSpec.from_json('{"layers": [{"type": "conv", "filters": "many"}, {"type": "flatten"}]}')
    with pytest.raises(SpecError, match=r"Layer 1 \(conv1\): the number of filters must be a whole number"):
        infer_shapes(bad_values)


def test_get_preset_and_dropout_override():
    assert get_preset("lenet5") is PRESETS["lenet5"]
    with pytest.raises(SpecError, match="Unknown preset 'vgg16'"):
        get_preset("vgg16")
    spec = PRESETS["tf-tutorial"].with_dropout(0.1)
    assert [layer.p for layer in spec.layers if isinstance(layer, Dropout)] == [0.1]
    assert isinstance(build(spec).dropout1, SeededDropout) and build(spec).dropout1.p == 0.1


def test_build_seed_is_reproducible_and_leaves_global_rng_alone():
    spec = PRESETS["keras-mnist"]
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b, c = build(spec, seed=5), build(spec, seed=5), build(spec, seed=6)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_seeded_dropout_uses_its_generator():
    drop = SeededDropout(0.5).train()
    x = torch.ones(1000)
    drop.generator = torch.Generator().manual_seed(1)
    first = drop(x)
    drop.generator = torch.Generator().manual_seed(1)
    assert torch.equal(first, drop(x))
    assert set(first.unique().tolist()) == {0.0, 2.0}  # kept values scaled by 1 / (1 - p)
    assert 400 < int((first == 0).sum()) < 600
    assert torch.equal(drop.eval()(x), x)


def _exec_source(spec: ModelSpec) -> torch.nn.Module:
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_pytorch_source(spec), "<exported>", "exec"), namespace)
    return namespace["model"]


@pytest.mark.parametrize(
    "spec",
    list(PRESETS.values())
    + [
        ModelSpec(
            "odd",
            (
                Conv(4, 4, padding="same", dilation=2),
                Act("gelu"),
                Pool("avg", 3, 2),
                Conv(3, 3, stride=2),
                Act("leaky_relu"),
                Flatten(),
                BatchNorm(),
                Dropout(0.2),
                Dense(10),
            ),
        )
    ],
    ids=lambda s: s.name,
)
def test_exported_source_runs_and_matches_build(spec):
    exported, built = _exec_source(spec).eval(), build(spec, seed=0).eval()
    ours, theirs = built.state_dict(), exported.state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)
    exported.load_state_dict(ours)
    x = torch.randn(3, *spec.input_shape)
    with torch.no_grad():
        assert torch.allclose(exported(x), built(x), atol=1e-6)
    assert f"{summary_totals(infer_shapes(spec))[0]:,} parameters" in to_pytorch_source(spec)


def test_exported_source_survives_a_hostile_name():
    spec = ModelSpec('x"""\nimport os; os.remove("/")\n', PRESETS["keras-mnist"].layers)
    model = _exec_source(spec)
    assert sum(p.numel() for p in model.parameters()) == 54410


def test_local_response_norm_is_alexnets_and_needs_feature_maps():
    from playground.nn.architecture import LRN

    spec = ModelSpec("lrn", (Conv(6, 3), Act("relu"), LRN(3), Flatten(), Dense(10)))
    model = build(spec, seed=0)
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    a = model.relu1(model.conv1(x))
    # by hand: b = a / (k + α/n · Σ over the n channels around c of a²)^β, zero-padded at the ends
    sq = torch.nn.functional.pad(a**2, (0, 0, 0, 0, 1, 1))
    window = sq[:, :-2] + sq[:, 1:-1] + sq[:, 2:]
    expected = a / (2.0 + 1e-4 / 3 * window) ** 0.75
    torch.testing.assert_close(model.lrn1(a), expected)
    info = {i.name: i for i in infer_shapes(spec)}["lrn1"]
    assert info.params == 0 and info.out_shape == (6, 26, 26)
    with pytest.raises(SpecError, match="local response norm needs feature maps"):
        infer_shapes(ModelSpec("late", (Conv(6, 3), Flatten(), LRN(), Dense(10))))
    assert ModelSpec.from_json(spec.to_json()) == spec


def test_the_lecture_presets_are_the_published_networks():
    assert describe_all("alexnet-28").count("Local response norm n=5") == 2
    assert "Dropout p=0.5" in describe_all("alexnet-28")
    assert describe_all("lenet5")[:3] == ["Conv 6 5×5, stride 1, pad 2", "Tanh", "Avg pool 2×2, stride 2"]
    assert describe_all("lenet5-modern")[:3] == ["Conv 6 5×5, stride 1, pad 2", "ReLU", "Max pool 2×2, stride 2"]
    assert describe_all("keras-lecture") == [
        "Conv 32 3×3, stride 1, pad 0", "ReLU", "Max pool 2×2, stride 2",
        "Conv 25 3×3, stride 1, pad 0", "ReLU", "Max pool 2×2, stride 2", "Flatten", "Dense 10",
    ]  # fmt: skip
    assert describe_all("simple-convnet") == [
        "Conv 30 5×5, stride 1, pad 0", "ReLU", "Max pool 2×2, stride 2", "Flatten", "Dense 100", "ReLU", "Dense 10",
    ]  # fmt: skip


def describe_all(name: str) -> list[str]:
    from playground.nn.architecture import describe

    return [describe(layer) for layer in PRESETS[name].layers]
