"""The Build page's design in the address (nn.design_code): decode(encode(d)) == d for random designs the
editor can make, presets by name, and a hand-edited or forged text refused with one sentence."""

from __future__ import annotations

import random

import pytest

from playground.nn import design_code
from playground.nn.architecture import (
    ACTIVATIONS,
    MAX_LAYERS,
    Act,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    Pool,
    SpecError,
)
from playground.nn.design import PADDINGS
from playground.nn.presets import PRESETS


def random_layer(rng: random.Random):
    kind = rng.choice(["conv", "pool", "act", "bn", "dropout", "flatten", "dense"])
    if kind == "conv":
        return Conv(
            rng.randint(1, 4096), rng.randint(1, 64), rng.randint(1, 64), rng.choice(PADDINGS), rng.randint(1, 64)
        )
    if kind == "pool":
        return Pool(rng.choice(["max", "avg"]), rng.randint(1, 64), rng.choice([None, rng.randint(1, 64)]))
    if kind == "act":
        return Act(rng.choice(ACTIVATIONS))
    if kind == "dropout":
        return Dropout(min(0.99, round(rng.uniform(0, 0.99), rng.choice([1, 2, 4]))))
    if kind == "dense":
        return Dense(rng.randint(1, 4096))
    return BatchNorm() if kind == "bn" else Flatten()


def test_every_design_the_editor_can_make_comes_back_from_its_text():
    rng = random.Random(7)
    for _ in range(300):
        layers = tuple(random_layer(rng) for _ in range(rng.randint(1, MAX_LAYERS)))
        text = design_code.encode(design_code.ModelSpec("x", layers))
        assert len(text) <= design_code.MAX_CHARS
        assert design_code.decode(text).layers == layers, text


def test_colour_designs_carry_their_input_in_the_text():
    rng = random.Random(8)
    for _ in range(50):
        layers = tuple(random_layer(rng) for _ in range(rng.randint(1, MAX_LAYERS - 1)))
        spec = design_code.ModelSpec("x", layers, (3, 32, 32))
        text = design_code.encode(spec)
        assert text.startswith("in3x32x32-") and len(text) <= design_code.MAX_CHARS
        back = design_code.decode(text)
        assert back.layers == layers and back.input_shape == (3, 32, 32), text
    grey = design_code.ModelSpec("x", (Flatten(), Dense(10)))
    assert design_code.encode(grey) == "f-d10" and design_code.decode("f-d10").input_shape == (1, 28, 28)


def test_presets_travel_by_name():
    for name, preset in PRESETS.items():
        assert design_code.encode(preset) == name and design_code.decode(name) == preset


def test_the_text_is_short_and_readable():
    spec = design_code.ModelSpec(
        "x", (Conv(16, 3, padding=1), BatchNorm(), Act("relu"), Pool("max", 2), Dropout(0.25), Flatten(), Dense(10))
    )
    assert design_code.encode(spec) == "c16p1-bn-relu-mp2-do0.25-f-d10"
    assert design_code.decode("c8k5s2psd2-ap3s1").layers == (Conv(8, 5, 2, "same", 2), Pool("avg", 3, 1))


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "no layers"),
        ("c16-x9-d10", "Layer 2"),
        ("c99999-d10", "Layer 1"),  # more filters than the editor allows
        ("c16k65", "Layer 1"),
        ("do1.5", "Layer 1"),
        ("c" + "9" * 50, "Layer 1"),
        ("-".join(["relu"] * (MAX_LAYERS + 1)), f"at most {MAX_LAYERS}"),
        ("relu-" * 200, "longer than"),
        ("<script>alert(1)</script>", "Layer 1"),
        ("in3x64x64-f-d10", "reads 3×64×64 images"),
        ("in3x32x32", "no layers"),
    ],
)
def test_a_forged_design_is_refused_with_one_sentence(text, words):
    with pytest.raises(SpecError) as e:
        design_code.decode(text)
    assert words in str(e.value) and str(e.value).count(".") >= 1 and "\n" not in str(e.value)
