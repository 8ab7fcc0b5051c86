"""Build: design a CNN layer by layer and see every shape, parameter count and the PyTorch code."""

import streamlit as st

from playground.ui import builder

st.title("Build a CNN")
st.markdown(
    "A CNN is a list of layers: **convolutions** find patterns, **activations** bend the numbers, "
    "**pooling** shrinks the maps, **Flatten** turns the maps into one long vector and **Dense** layers "
    "turn that into 10 scores, one per digit. Start from a preset, change a setting, add, move or "
    "remove layers: each layer shows the shape the 1×28×28 digit has after it, and the table counts the "
    "weights (parameters) and multiply-accumulates each layer costs. A valid design can be trained on the "
    "Train page, or copied as PyTorch code."
)

builder.preset_controls()
left, right = st.columns([4, 5], gap="medium")
with left:
    st.subheader("Layers")
    checked = builder.layer_editor()
with right:
    st.subheader("Shapes and sizes")
    builder.design_status(checked)
    shapes, code, files = st.tabs(["Table", "PyTorch code", "Save / load (JSON)"])
    with shapes:
        builder.shape_table(checked)
    with code:
        builder.code_view(checked)
    with files:
        builder.json_controls(checked)
