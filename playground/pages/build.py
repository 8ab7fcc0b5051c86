"""Build: design a CNN layer by layer and see every shape, parameter count and the PyTorch code."""

import streamlit as st

from playground.ui import builder, display, links

INTRO = (
    "A CNN is a list of layers: **convolutions** find patterns, **activations** bend the numbers, "
    "**pooling** shrinks the maps, **Flatten** turns the maps into one long vector and **Dense** layers "
    "turn that into 10 scores, one per class. Start from a preset, change a setting, add, move or "
    "remove layers: each layer shows the shape the input (a 1×28×28 digit, or a 3×32×32 colour image) has "
    "after it, and the table counts the "
    "weights (parameters) and multiply-accumulates each layer costs. A valid design can be trained on the "
    "Train page, or copied as PyTorch code."
)
display.header("Build a CNN", INTRO, controls=False)

links.restore(builder.PAGE)  # an opened link brings its design
builder.preset_controls()
links.publish(builder.PAGE)  # the address follows the design
# Two fixed-width panels in a row that wraps: side by side on a laptop; at 1024 px and on a phone the
# shapes come first and the layer cards keep room for their fields (in two columns the table was cut
# and every card stacked one field per row; on a phone the table came after all the cards).
row = st.container(horizontal=True, wrap=True, gap="medium", key="build-panels")
sizes, layers = row.container(width=452, key="build-sizes-panel"), row.container(width=410, key="build-layers-panel")
with layers:
    st.subheader("Layers")
    checked = builder.layer_editor()
with sizes:
    st.subheader("Shapes and sizes")
    builder.design_status(checked)
    shapes, code, files = st.tabs(["Table", "PyTorch code", "Save / load (JSON)"])
    with shapes:
        builder.shape_table(checked)
    with code:
        builder.code_view(checked)
    with files:
        builder.json_controls(checked)
