"""AppTest for the Build page: the layer editor, the live shape table, the code, JSON save / load,
and ``builder.current_design()`` as the Train page sees it.

Expected rows, totals, code and messages come from ``playground.nn.model`` (and the parameter totals
also from the torch model itself), never from the page's own arithmetic.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from apptest_support import ROOT, errors, rerun
from streamlit.testing.v1 import AppTest

from playground.nn import architecture, design, export, model, presets, shapes
from playground.nn.architecture import Act, Conv, Dense, Dropout, Flatten, ModelSpec, Pool, SpecError
from playground.ui import builder

BUILD = str(ROOT / "playground" / "pages" / "build.py")
PROBE = """
import streamlit as st
from playground.ui import builder
spec, error = builder.current_design()
st.text(spec.to_json())
st.text(f"error: {error}")
"""


# ---------------------------------------------------------------- helpers
def page() -> AppTest:
    at = AppTest.from_file(BUILD, default_timeout=30)
    return rerun(at)


def spec_of(at: AppTest) -> ModelSpec:
    return at.session_state["build.spec"]


def widget(at: AppTest, i: int, name: str) -> str:
    """Key of layer i's widget ``name`` (filters, kernel, up, down, remove, ...)."""
    return f"build.layer{at.session_state['build.ids'][i]}.{name}"


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return rerun(at)


def choose(at: AppTest, key: str, value) -> AppTest:
    at.selectbox(key=key).set_value(value)
    return rerun(at)


def table_rows(at: AppTest) -> list[tuple]:
    if not at.dataframe:
        return []
    assert len(at.dataframe) == 1
    df = at.dataframe[0].value
    return [
        (
            int(r["#"]),
            r["Layer"],
            r["Description"],
            r["Output shape"],
            int(r["Parameters"]),
            int(r["Multiply-accumulates"]),
        )
        for _, r in df.iterrows()
    ]


def engine_rows(infos) -> list[tuple]:
    return [(i.index + 1, i.name, i.text, "×".join(map(str, i.out_shape)), i.params, i.macs) for i in infos]


def row_shapes(at: AppTest) -> list[str]:
    """The output shape each layer row shows (the `code` after the arrow in its header)."""
    heads = [m.value for m in at.markdown if m.value.startswith("**") and "→ `" in m.value]
    return [h.rsplit("`", 2)[1] for h in heads]


def block_before_error(at: AppTest) -> list[tuple[str | None, str]]:
    """(key of the element just above, message) for every error in the layer column."""

    def blocks(node):
        for child in getattr(node, "children", {}).values():
            yield child
            yield from blocks(child)

    column = next(  # the layers panel: the block that holds the "Layers" subheader directly
        b
        for b in blocks(at.main)
        if any(
            getattr(c, "type", "") == "subheader" and c.value == "Layers" for c in getattr(b, "children", {}).values()
        )
    )
    children = list(column.children.values())
    return [
        (children[k - 1].key if k else None, child.value) for k, child in enumerate(children) if child.type == "error"
    ]


def upload(at: AppTest, data: bytes, name: str = "design.json") -> AppTest:
    at.file_uploader(key="build.upload").set_value((name, data, "application/json"))
    return rerun(at)


def torch_params(spec: ModelSpec) -> int:
    return sum(p.numel() for p in model.build(spec, seed=0).parameters())


# ---------------------------------------------------------------- presets and the table
def model_code(at) -> list[str]:
    """The PyTorch code shown (the page's other code block is the link to this view)."""
    return [c.value for c in at.code if "import torch" in c.value]


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_preset_table_code_and_totals_match_engine(name):
    at = page()
    if name != presets.DEFAULT_PRESET:
        choose(at, "build.preset", name)
    spec = presets.get_preset(name)
    infos = shapes.infer_shapes(spec)
    assert spec_of(at) == spec
    assert table_rows(at) == engine_rows(infos)
    assert row_shapes(at) == ["×".join(map(str, i.out_shape)) for i in infos]
    params, macs = shapes.summary_totals(infos)
    assert params == torch_params(spec)  # the engine's count agrees with the real nn.Module
    total = f"**Total: {params:,} parameters, {macs:,} multiply-accumulates** per image."
    assert total in [m.value for m in at.markdown]
    assert model_code(at) == [
        export.to_pytorch_source(spec).rstrip("\n")
    ]  # st.code drops the final newline (the other code block is the link to this view)
    assert {d.label for d in at.download_button} == {"Download model.py", "Download design.json"}
    assert [s.value for s in at.success] and not at.warning and not errors(at)


def test_default_design_is_the_playground_preset_and_api_works_unvisited(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    at = rerun(AppTest.from_file(str(probe), default_timeout=30))
    assert ModelSpec.from_json(at.text[0].value) == presets.get_preset("playground")
    assert at.text[1].value == "error: None"


# ---------------------------------------------------------------- editing
def test_edit_a_setting_updates_rows_table_and_code():
    at = page()
    choose(at, "build.preset", "lenet5")
    at.number_input(key=widget(at, 0, "filters")).set_value(8)
    rerun(at)
    at.selectbox(key=widget(at, 1, "fn")).set_value("relu")
    rerun(at)
    at.selectbox(key=widget(at, 2, "kind")).set_value("max")
    rerun(at)
    lenet = presets.get_preset("lenet5")
    expected = replace(lenet, layers=(Conv(8, 5, padding=2), Act("relu"), Pool("max", 2)) + lenet.layers[3:])
    assert spec_of(at).layers == expected.layers
    infos = shapes.infer_shapes(expected)
    assert table_rows(at) == engine_rows(infos)
    assert table_rows(at)[0][4] == 8 * 1 * 5 * 5 + 8  # weights + biases of an 8-filter 5×5 conv on 1 channel
    assert table_rows(at)[3][4] == 16 * 8 * 5 * 5 + 16  # the next conv now sees 8 channels
    assert model_code(at) == [export.to_pytorch_source(spec_of(at)).rstrip("\n")]
    assert spec_of(at).name == "lenet5 (edited)"


def test_padding_same_and_dropout_and_pool_stride():
    at = page()
    choose(at, "build.preset", "tf-tutorial")
    at.selectbox(key=widget(at, 0, "padding")).set_value("same")
    rerun(at)
    at.number_input(key=widget(at, 9, "p")).set_value(0.25)
    rerun(at)
    at.number_input(key=widget(at, 2, "stride")).set_value(1)
    rerun(at)
    layers = spec_of(at).layers
    assert layers[0] == Conv(32, 5, padding="same") and layers[9] == Dropout(0.25) and layers[2] == Pool("max", 2, 1)
    assert table_rows(at) == engine_rows(shapes.infer_shapes(spec_of(at)))
    assert table_rows(at)[2][3] == "32×27×27"  # 2×2 windows moving by 1 over 28×28


def test_add_remove_and_reorder_layers():
    at = page()
    choose(at, "build.preset", "keras-mnist")
    before = spec_of(at).layers
    # add a dropout before layer 4 (flatten)
    choose(at, "build.add_kind", "dropout")
    choose(at, "build.add_at", 3)
    click(at, "build.add")
    assert spec_of(at).layers == before[:3] + (builder.NEW_LAYER["dropout"],) + before[3:]
    assert [r[1] for r in table_rows(at)] == ["conv1", "relu1", "pool1", "dropout1", "flatten", "dense1"]
    # a conv at the end breaks the design (after Dense): the engine's message, under layer 7
    choose(at, "build.add_kind", "conv")
    choose(at, "build.add_at", builder.END)
    click(at, "build.add")
    assert len(spec_of(at).layers) == 7
    with pytest.raises(SpecError) as err:
        shapes.infer_shapes(spec_of(at))
    assert block_before_error(at) == [(f"build-row-{at.session_state['build.ids'][6]}", str(err.value))]
    click(at, widget(at, 6, "remove"))
    click(at, widget(at, 3, "remove"))
    assert spec_of(at).layers == before
    assert table_rows(at) == engine_rows(shapes.infer_shapes(spec_of(at)))
    # move ReLU below the pool: names follow the order, numbers are the engine's
    click(at, widget(at, 1, "down"))
    assert spec_of(at).layers == (before[0], before[2], before[1], *before[3:])
    assert [r[1] for r in table_rows(at)] == ["conv1", "pool1", "relu1", "flatten", "dense1"]
    assert table_rows(at) == engine_rows(shapes.infer_shapes(spec_of(at)))
    click(at, widget(at, 2, "up"))
    assert spec_of(at).layers == before


def test_widget_values_follow_their_layer_when_moved():
    at = page()
    choose(at, "build.preset", "tinyvgg")
    at.number_input(key=widget(at, 2, "filters")).set_value(7)  # conv2
    rerun(at)
    conv2 = widget(at, 2, "filters")
    click(at, widget(at, 2, "up"))
    click(at, widget(at, 1, "up"))  # conv2 is now first
    assert widget(at, 0, "filters") == conv2 and at.number_input(key=conv2).value == 7
    assert at.number_input(key=widget(at, 1, "filters")).value == 10  # the old first conv, now second
    assert spec_of(at).layers[0] == Conv(7, 3)
    assert table_rows(at) == engine_rows(shapes.infer_shapes(spec_of(at)))


def test_undo_restores_design_preset_and_widgets():
    at = page()
    assert at.button(key="build.undo_button").disabled
    choose(at, "build.preset", "lenet5")
    at.number_input(key=widget(at, 0, "kernel")).set_value(3)
    rerun(at)
    click(at, "build.undo_button")
    assert spec_of(at) == presets.get_preset("lenet5")
    assert at.number_input(key=widget(at, 0, "kernel")).value == 5
    click(at, "build.undo_button")
    assert spec_of(at) == presets.get_preset("playground")
    assert at.selectbox(key="build.preset").value == "playground"
    assert table_rows(at) == engine_rows(shapes.infer_shapes(presets.get_preset("playground")))


# ---------------------------------------------------------------- invalid designs
def test_kernel_larger_than_input_is_explained_under_the_layer(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    router = tmp_path / "router.py"
    router.write_text(
        "import streamlit as st\n"
        f"st.navigation([st.Page({BUILD!r}, url_path='build', default=True), "
        f"st.Page({str(probe)!r}, url_path='probe')]).run()\n"
    )
    at = rerun(AppTest.from_file(str(router), default_timeout=30))
    choose(at, "build.preset", "keras-mnist")
    at.number_input(key=widget(at, 0, "kernel")).set_value(29)
    rerun(at)
    bad = replace(
        presets.get_preset("keras-mnist"),
        name="keras-mnist (edited)",
        layers=(Conv(32, 29),) + presets.get_preset("keras-mnist").layers[1:],
    )
    with pytest.raises(SpecError) as err:
        shapes.infer_shapes(bad)
    message = str(err.value)
    assert "29×29 kernel does not fit the 28×28 input" in message
    assert block_before_error(at) == [(f"build-row-{at.session_state['build.ids'][0]}", message)]
    assert table_rows(at) == [] and not model_code(at) and not at.success
    assert "Not trainable yet: fix layer 1 (conv1)" in at.warning[0].value
    # the Train page's view of it
    rerun(at.switch_page("probe.py"))
    assert ModelSpec.from_json(at.text[0].value) == bad
    assert at.text[1].value == f"error: {message}"
    # back on Build, fix it: valid again, for the API too
    rerun(at.switch_page(BUILD))
    at.number_input(key=widget(at, 0, "kernel")).set_value(3)
    rerun(at)
    assert not errors(at) and table_rows(at) == engine_rows(shapes.infer_shapes(presets.get_preset("keras-mnist")))
    rerun(at.switch_page("probe.py"))
    assert at.text[1].value == "error: None"


def test_dense_before_flatten_keeps_the_valid_part_of_the_table():
    at = page()
    choose(at, "build.preset", "keras-mnist")
    click(at, widget(at, 3, "remove"))  # Flatten
    spec = spec_of(at)
    with pytest.raises(SpecError) as err:
        shapes.infer_shapes(spec)
    assert "add a Flatten layer before it" in str(err.value)
    assert block_before_error(at) == [(f"build-row-{at.session_state['build.ids'][3]}", str(err.value))]
    # the rows before the fault are the valid preset's first three rows
    assert table_rows(at) == engine_rows(shapes.infer_shapes(presets.get_preset("keras-mnist"))[:3])
    assert row_shapes(at)[-1] == "?"
    assert builder.check(spec).error.layer_index == 3
    assert not model_code(at) and any("once the design is valid" in i.value for i in at.info)


def test_empty_design_and_padding_same_with_stride():
    at = page()
    choose(at, "build.preset", "keras-mnist")
    at.selectbox(key=widget(at, 0, "padding")).set_value("same")
    rerun(at)
    at.number_input(key=widget(at, 0, "stride")).set_value(2)
    rerun(at)
    with pytest.raises(SpecError) as err:
        shapes.infer_shapes(spec_of(at))
    assert errors(at) == [str(err.value)] and "needs stride 1" in str(err.value)
    for _ in range(5):
        click(at, widget(at, 0, "remove"))
    with pytest.raises(SpecError) as err:
        shapes.infer_shapes(spec_of(at))
    assert errors(at) == [str(err.value)] and "no layers" in str(err.value)
    assert table_rows(at) == [] and "fix the problem shown above the layers" in at.warning[0].value
    choose(at, "build.add_kind", "flatten")
    click(at, "build.add")
    choose(at, "build.add_kind", "dense")
    click(at, "build.add")
    at.number_input(key=widget(at, 1, "units")).set_value(10)
    rerun(at)
    assert spec_of(at).layers == (Flatten(), Dense(10)) and not errors(at)
    assert table_rows(at) == engine_rows(shapes.infer_shapes(spec_of(at)))
    assert table_rows(at)[1][4] == 28 * 28 * 10 + 10


# ---------------------------------------------------------------- JSON save / load
def test_json_upload_round_trip_and_shape_problems_accepted():
    at = page()
    mine = ModelSpec("mine", (Conv(4, 3, padding="same"), Act("gelu"), Pool("avg", 4), Flatten(), Dense(10)))
    upload(at, mine.to_json().encode())
    assert spec_of(at) == mine and not errors(at)
    assert table_rows(at) == engine_rows(shapes.infer_shapes(mine))
    click(at, "build.undo_button")
    assert spec_of(at) == presets.get_preset("playground")
    # a design with a shape problem loads, and shows the problem under its layer
    broken = ModelSpec("broken", (Conv(4, 3), Dense(10)))
    upload(at, broken.to_json().encode(), "broken.json")
    assert spec_of(at) == broken
    assert block_before_error(at)[0][0] == f"build-row-{at.session_state['build.ids'][1]}"


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"{not json", None),
        (b'{"layers": [{"type": "conv3d", "filters": 4}]}', None),
        (b'{"layers": [{"type": "conv", "filters": 4, "colour": "red"}]}', None),
        (
            b'{"layers": [{"type": "conv", "filters": 4, "kernel": 0}, {"type": "flatten"}]}',
            "Layer 1 (conv): kernel is 0, but the editor allows 1 to 64.",
        ),
        (
            b'{"layers": [{"type": "dropout", "p": true}]}',
            "Layer 1 (dropout): drop rate is True, but the editor allows 0.0 to 0.99.",
        ),
        (
            b'{"input_shape": [3, 64, 64], "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}',
            "This playground trains on 1×28×28 grey (MNIST, Fashion-MNIST, Synthetic digits) or 3×32×32 colour "
            "(CIFAR-10, Colour shapes) images with 10 classes",
        ),
        (
            b'{"input_shape": {"a": 1}, "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}',
            "This playground trains on 1×28×28 grey",
        ),
        (
            b'{"input_shape": [[1], 28, 28], "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}',
            "This playground trains on 1×28×28 grey",
        ),
        (b'{"layers": [' + b", ".join([b'{"type": "flatten"}'] * 41) + b"]}", "The design has 41 layers"),
        (b"\xff\xfe\x00binary", "The file is not a text file"),
        (b" " * 70_000, "The file is 70,000 bytes, too large for a design"),
    ],
)
def test_bad_json_upload_is_one_sentence_and_keeps_the_design(data, expected):
    at = page()
    choose(at, "build.preset", "lenet5")
    if expected is None:  # the engine's own message
        with pytest.raises(SpecError) as err:
            ModelSpec.from_json(data.decode())
        expected = str(err.value)
    upload(at, data, "bad.json")
    shown = errors(at)
    assert len(shown) == 1 and shown[0].startswith(expected), shown
    assert shown[0].count(". ") == 0 and shown[0].endswith(".")  # one sentence
    assert spec_of(at) == presets.get_preset("lenet5")
    assert table_rows(at) == engine_rows(shapes.infer_shapes(presets.get_preset("lenet5")))
    with pytest.raises(SpecError) as err:
        builder.parse_upload(data)
    assert str(err.value) == shown[0]


def test_a_local_response_norm_layer_is_added_and_its_channels_edited():
    at = page()
    choose(at, "build.preset", "keras-mnist")
    before = spec_of(at).layers
    choose(at, "build.add_kind", "lrn")
    choose(at, "build.add_at", 2)  # after the ReLU, as in AlexNet
    click(at, "build.add")
    assert spec_of(at).layers == before[:2] + (architecture.LRN(5),) + before[2:]
    assert [r[1] for r in table_rows(at)][:4] == ["conv1", "relu1", "lrn1", "pool1"]
    rerun(at.number_input(key=widget(at, 2, "size")).set_value(3))
    assert spec_of(at).layers[2] == architecture.LRN(3)
    assert table_rows(at) == engine_rows(shapes.infer_shapes(spec_of(at)))
    assert any("nn.LocalResponseNorm(3, alpha=0.0001, beta=0.75, k=2.0)" in c for c in model_code(at))


def test_the_input_can_be_grey_digits_or_colour_images_and_shapes_follow():
    at = page()
    assert at.selectbox(key="build.input").value.startswith("1×28×28 grey")
    choose(at, "build.input", design.INPUTS[(3, 32, 32)])
    spec = spec_of(at)
    assert spec.input_shape == (3, 32, 32) and spec.layers == presets.get_preset("playground").layers
    infos = shapes.infer_shapes(spec)
    assert table_rows(at) == engine_rows(infos)
    assert infos[0].params == 16 * 3 * 9 + 16  # the first convolution's kernels now span three channels
    assert "Trainable: a 3×32×32 colour image becomes 10 class scores." in [s.value for s in at.success]
    at.button(key="build.undo_button").click()
    rerun(at)
    assert spec_of(at).input_shape == (1, 28, 28) and at.selectbox(key="build.input").value.startswith("1×28×28")
    choose(at, "build.preset", "keras-notes")  # a colour preset brings its input
    assert at.selectbox(key="build.input").value == design.INPUTS[(3, 32, 32)]
    assert row_shapes(at)[0] == "32×30×30"
    assert not at.exception and not errors(at)


def test_a_colour_design_upload_keeps_its_input():
    at = page()
    data = presets.get_preset("tinyvgg-rgb").to_json().encode()
    upload(at, data, "colour.json")
    assert spec_of(at).input_shape == (3, 32, 32) and not errors(at)
