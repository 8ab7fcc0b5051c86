"""The Build page's editor: a CNN as a list of layer rows (settings, move up / down, remove), an
"Add layer" control, presets with Undo, the live shape table, the PyTorch code, JSON save and load.

The design is one ``ModelSpec`` in session state (``state.put("build", "spec", ...)``); every change
goes through an ``on_click`` / ``on_change`` callback, so the rows drawn and the spec stored never
differ by a rerun. Each layer carries a stable id that is part of its widget keys, so moving a row
moves its widgets' values with it. Shapes, parameters and multiply-accumulates all come from
``shapes.infer_shapes``; an invalid design shows the engine's sentence under the layer at fault.

The Train page calls :func:`current_design`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from playground.nn import architecture, export, presets, shapes
from playground.nn.architecture import KINDS, ModelSpec, SpecError
from playground.nn.design import (  # noqa: F401  (END, NEW_LAYER, check, parse_upload: used by tests too)
    _KIND,
    END,
    INPUT,
    INPUTS,
    KIND_LABELS,
    MAX_LAYERS,
    NEW_LAYER,
    SETTINGS,
    UNDO_DEPTH,
    Checked,
    Setting,
    check,
    parse_upload,
)
from playground.nn.presets import DEFAULT_PRESET, PRESETS
from playground.nn.shapes import LayerInfo
from playground.ui import state, widgets

PAGE = "build"


# ------------------------------------------------------------------ the design in session state
def _spec() -> ModelSpec:
    return state.get(PAGE, "spec", presets.get_preset(DEFAULT_PRESET))


def current_design() -> tuple[ModelSpec, str | None]:
    """The design on the Build page and None when the engine accepts it, else its one-sentence error.
    Works before the Build page was ever opened (the "playground" preset)."""
    checked = check(_spec())
    return checked.spec, None if checked.valid else str(checked.error)


def design() -> ModelSpec:
    """The design on the Build page as it stands (valid or not)."""
    return _spec()


def open_design(spec: ModelSpec) -> None:
    """Make ``spec`` the Build page's design (a link opened); the previous one goes on the undo stack."""
    if spec != _spec():
        origin = next(
            (n for n, p in PRESETS.items() if p.layers == spec.layers and p.input_shape == spec.input_shape), None
        )
        _replace(spec, origin)
        if origin:
            state.seed_widget(PAGE, "preset", origin)


def _fresh_ids(n: int) -> tuple[int, ...]:
    start = state.get(PAGE, "next_id", 0)
    state.put(PAGE, "next_id", start + n)
    return tuple(range(start, start + n))


def _ids(spec: ModelSpec) -> tuple[int, ...]:
    """One stable id per layer (part of its widget keys); renewed when they no longer match the spec."""
    ids = state.get(PAGE, "ids", ())
    if len(ids) != len(spec.layers):
        ids = _fresh_ids(len(spec.layers))
        state.put(PAGE, "ids", ids)
    return ids


def _commit(spec: ModelSpec, ids: tuple[int, ...], origin: str | None = None) -> None:
    """Store a new design, keeping the old one (and the preset it started from) on the undo stack."""
    undo = state.get(PAGE, "undo", [])
    old_origin = state.get(PAGE, "origin", DEFAULT_PRESET)
    state.put(PAGE, "undo", (undo + [(_spec(), old_origin)])[-UNDO_DEPTH:])
    state.put(PAGE, "spec", spec)
    state.put(PAGE, "ids", ids)
    state.put(PAGE, "origin", origin or old_origin)


def _replace(spec: ModelSpec, origin: str | None = None) -> None:
    """A whole new design (preset, upload): new ids, so no widget keeps an old layer's value."""
    _commit(spec, _fresh_ids(len(spec.layers)), origin)


def _edited(spec: ModelSpec, layers: tuple) -> ModelSpec:
    name = f"{spec.name} (edited)" if spec.name in PRESETS else spec.name
    return replace(spec, name=name, layers=tuple(layers))


def _widget(layer_id: int, name: str) -> str:
    return f"layer{layer_id}.{name}"


# ------------------------------------------------------------------ callbacks
def _on_preset() -> None:
    name = state.get(PAGE, "preset", DEFAULT_PRESET)
    _replace(presets.get_preset(name), name)


def _on_input() -> None:
    shape = next(s for s, label in INPUTS.items() if label == state.get(PAGE, "input", INPUTS[INPUT]))
    spec = _spec()
    if shape != spec.input_shape:
        _commit(replace(_edited(spec, spec.layers), input_shape=shape), _ids(spec))


def _on_undo() -> None:
    undo = state.get(PAGE, "undo", [])
    if undo:
        spec, origin = undo.pop()
        state.put(PAGE, "spec", spec)
        state.put(PAGE, "ids", _fresh_ids(len(spec.layers)))
        state.put(PAGE, "origin", origin)
        state.seed_widget(PAGE, "preset", origin)


def _on_edit(layer_id: int, setting: Setting) -> None:
    spec, ids = _spec(), state.get(PAGE, "ids", ())
    if layer_id not in ids:
        return
    value = state.get(PAGE, _widget(layer_id, setting.field), None)
    if isinstance(value, float):
        value = round(value, 4)
    i = ids.index(layer_id)
    layers = list(spec.layers)
    layers[i] = replace(layers[i], **{setting.field: value})
    _commit(_edited(spec, layers), ids)


def _on_move(layer_id: int, delta: int) -> None:
    spec, ids = _spec(), list(state.get(PAGE, "ids", ()))
    if layer_id not in ids:
        return
    i = ids.index(layer_id)
    j = i + delta
    if 0 <= j < len(ids):
        layers = list(spec.layers)
        layers[i], layers[j] = layers[j], layers[i]
        ids[i], ids[j] = ids[j], ids[i]
        _commit(_edited(spec, layers), tuple(ids))


def _on_remove(layer_id: int) -> None:
    spec, ids = _spec(), list(state.get(PAGE, "ids", ()))
    if layer_id in ids:
        i = ids.index(layer_id)
        _commit(_edited(spec, spec.layers[:i] + spec.layers[i + 1 :]), tuple(ids[:i] + ids[i + 1 :]))


def _on_add() -> None:
    spec, ids = _spec(), state.get(PAGE, "ids", ())
    if len(spec.layers) >= MAX_LAYERS:
        return
    at = state.get(PAGE, "add_at", END)
    i = len(spec.layers) if at == END or not isinstance(at, int) else min(at, len(spec.layers))
    layer = NEW_LAYER[state.get(PAGE, "add_kind", "conv")]
    _commit(_edited(spec, spec.layers[:i] + (layer,) + spec.layers[i:]), ids[:i] + _fresh_ids(1) + ids[i:])


def _on_upload() -> None:
    file = state.get(PAGE, "upload", None)
    state.drop(PAGE, "upload_error")
    if file is None:
        return
    try:
        _replace(parse_upload(file.getvalue()))
    except SpecError as err:
        state.put(PAGE, "upload_error", str(err))


# ------------------------------------------------------------------ widgets
def preset_controls() -> None:
    """Start from a preset (replaces the design), the input it reads, and Undo the last change."""
    cells = st.columns([3, 3, 1], vertical_alignment="bottom")
    state.seed_widget(PAGE, "input", INPUTS.get(_spec().input_shape, INPUTS[INPUT]))  # follows the design
    cells[1].selectbox(
        "Input",
        tuple(INPUTS.values()),
        on_change=_on_input,
        key=state.key(PAGE, "input"),
        help="What one image is: channels × height × width. Shapes, parameters and costs follow.",
    )
    cells[0].selectbox(
        "Start from a preset",
        tuple(PRESETS),
        on_change=_on_preset,
        **state.keep(PAGE, "preset"),
        help="Choosing a preset replaces the design; Undo brings the previous one back.",
    )
    cells[2].button(
        "↶ Undo",
        key=state.key(PAGE, "undo_button"),
        on_click=_on_undo,
        width="stretch",
        disabled=not state.get(PAGE, "undo", []),
        help="Undo the last change to the design.",
    )


def _setting_widget(layer: Any, layer_id: int, setting: Setting) -> None:
    common = dict(
        key=state.key(PAGE, _widget(layer_id, setting.field)),
        on_change=_on_edit,
        args=(layer_id, setting),
        help=setting.help,
        width=96,
    )
    value = getattr(layer, setting.field)
    if setting.options:
        st.selectbox(
            setting.label, setting.options, index=setting.options.index(value), format_func=setting.label_of, **common
        )
    elif isinstance(setting.step, float):
        st.number_input(
            setting.label,
            min_value=setting.low,
            max_value=setting.high,
            value=float(value),
            step=setting.step,
            format="%.2f",
            **common,
        )
    else:
        st.number_input(
            setting.label,
            min_value=int(setting.low),
            max_value=int(setting.high),
            value=value,
            step=1,
            placeholder="= size" if setting.optional else None,
            **common,
        )


def _layer_row(i: int, layer: Any, layer_id: int, name: str, n: int, info: LayerInfo | None) -> None:
    """A card: number, name, kind and output shape with move / remove buttons, then the settings."""
    with st.container(border=True, gap="xxsmall", key=f"build-row-{layer_id}"):
        with st.container(horizontal=True, vertical_alignment="center", gap="xxsmall"):
            shape = "×".join(map(str, info.out_shape)) if info else "?"
            st.markdown(f"**{i + 1}. {name}** · {KIND_LABELS[_KIND[type(layer)]]} → `{shape}`", width="stretch")
            st.button(
                "↑",
                key=state.key(PAGE, _widget(layer_id, "up")),
                on_click=_on_move,
                args=(layer_id, -1),
                disabled=i == 0,
                help="Move up",
                type="tertiary",
            )
            st.button(
                "↓",
                key=state.key(PAGE, _widget(layer_id, "down")),
                on_click=_on_move,
                args=(layer_id, 1),
                disabled=i == n - 1,
                help="Move down",
                type="tertiary",
            )
            st.button(
                "✕",
                key=state.key(PAGE, _widget(layer_id, "remove")),
                on_click=_on_remove,
                args=(layer_id,),
                help="Remove this layer",
                type="tertiary",
            )
        settings = SETTINGS.get(type(layer), ())
        if settings:
            with st.container(horizontal=True, gap="small"):
                for setting in settings:
                    _setting_widget(layer, layer_id, setting)


def layer_editor() -> Checked:
    """One row per layer, the engine's error under the layer at fault, and the "Add layer" control."""
    spec = _spec()
    ids, checked = _ids(spec), check(spec)
    err = checked.error
    if err is not None and err.layer_index is None:
        st.error(str(err))
    names = architecture.layer_names(spec.layers)
    for i, (layer, layer_id, name) in enumerate(zip(spec.layers, ids, names)):
        _layer_row(i, layer, layer_id, name, len(ids), checked.infos[i] if i < len(checked.infos) else None)
        if err is not None and err.layer_index == i:
            st.error(str(err))
    _add_control(names)
    return checked


def _add_control(names: list[str]) -> None:
    positions = (END, *range(len(names)))
    label = {END: "at the end", **{i: f"before {i + 1}. {name}" for i, name in enumerate(names)}}
    full = len(names) >= MAX_LAYERS
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.selectbox(
            "Add a layer", tuple(KINDS), format_func=KIND_LABELS.get, width=180, **state.keep(PAGE, "add_kind")
        )
        st.selectbox("Where", positions, format_func=label.get, width=220, **state.keep(PAGE, "add_at"))
        st.button("+ Add layer", key=state.key(PAGE, "add"), on_click=_on_add, disabled=full, type="primary")
    if full:
        st.caption(f"The editor holds at most {MAX_LAYERS} layers; remove one to add another.")


def design_status(checked: Checked) -> None:
    """Whether the design can be trained, and if not, where its problem is."""
    if checked.valid:
        st.success(
            f"Trainable: a {'×'.join(map(str, checked.spec.input_shape))} "
            f"{'digit' if checked.spec.input_shape[0] == 1 else 'colour image'} becomes "
            f"{checked.spec.num_classes} class scores."
        )
    elif checked.error.layer_index is None:
        st.warning("Not trainable yet: fix the problem shown above the layers.")
    else:
        st.warning(
            f"Not trainable yet: fix layer {checked.error.layer_index + 1} ({checked.error.layer_name}); "
            "its problem is shown under it and the table stops before it."
        )


def shape_table(checked: Checked) -> None:
    """Each layer's name, description, output shape, parameters and multiply-accumulates (from the
    engine), and the totals when the design is valid."""
    rows = [
        {
            "#": info.index + 1,
            "Layer": info.name,
            "Description": info.text,
            "Output shape": "×".join(map(str, info.out_shape)),
            "Parameters": info.params,
            "Multiply-accumulates": info.macs,
        }
        for info in checked.infos
    ]
    if rows:
        config = {
            "#": None,  # the layer names are numbered already, on the cards
            "Layer": st.column_config.TextColumn(width=62),
            "Description": st.column_config.TextColumn(width=170),
            "Output shape": st.column_config.TextColumn("Output", width=72),
            "Parameters": st.column_config.NumberColumn(
                "Params", format="localized", help="Trainable weights and biases", width=60
            ),
            "Multiply-accumulates": st.column_config.NumberColumn(
                "MACs", format="localized", help="Multiply-accumulates per image", width=76
            ),
        }
        st.dataframe(pd.DataFrame(rows), hide_index=True, height="content", column_config=config)
    if checked.valid:
        params, macs = shapes.summary_totals(list(checked.infos))
        st.markdown(f"**Total: {params:,} parameters, {macs:,} multiply-accumulates** per image.")
    if rows or checked.valid:
        st.caption(
            f"Limits on this shared server: {architecture.MAX_LAYERS} layers, {architecture.MAX_PARAMS:,} parameters, "
            f"{architecture.MAX_MACS:,} multiply-accumulates and {architecture.MAX_ACTIVATIONS:,} feature-map values per image."
        )
    elif not rows:
        st.caption("No layer before the problem, so the table is empty.")


def code_view(checked: Checked) -> None:
    """The design as runnable PyTorch source, with a copy button (st.code) and a download."""
    if not checked.valid:
        st.info("The PyTorch code appears here once the design is valid.")
        return
    spec = checked.spec
    source = state.memo(PAGE, "source", spec.to_json(), lambda: export.to_pytorch_source(spec))
    st.code(source, language="python")
    st.download_button(
        "Download model.py",
        source,
        file_name="model.py",
        mime="text/x-python",
        key=state.key(PAGE, "download_py"),
        on_click="ignore",
    )


def json_controls(checked: Checked) -> None:
    """Save the design as JSON (also an invalid one, to finish later) and load one back."""
    st.download_button(
        "Download design.json",
        checked.spec.to_json(),
        file_name="design.json",
        mime="application/json",
        key=state.key(PAGE, "download_json"),
        on_click="ignore",
    )
    widgets.file_upload(
        PAGE, "upload", "Load a design saved from this page", ["json"], on_change=_on_upload, max_upload_size=1
    )
    error = state.get(PAGE, "upload_error", None)
    if error is not None:
        st.error(error)
