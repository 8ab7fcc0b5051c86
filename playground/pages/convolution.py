"""Convolution: watch a kernel slide over an image, one output cell at a time."""

import streamlit as st

from playground.ui import conv_view, display, inputs, links, quiz, widgets

PAGE = "conv"

INTRO = (
    "A convolution slides a small grid of weights, the **kernel**, over the image. At every position it "
    "multiplies the pixels under the kernel by the weights and adds the products up (plus a bias): that "
    "sum is one cell of the output. Like PyTorch and Keras this computes *cross-correlation*; switch on "
    "*True convolution* to rotate the kernel first. Step through the cells below, or press Play."
)
head = display.header("Convolution", INTRO)

links.restore(PAGE)  # an opened link sets the widgets below
with head.controls:
    st.header("Input")
    source = inputs.input_chooser(PAGE)
    st.header("Kernel")
    kernel = widgets.kernel_chooser(PAGE)
    st.header("Settings")
    controls = widgets.conv_controls(PAGE)
    problems = st.empty()  # the engine's message about the settings appears here

run = conv_view.run_conv(PAGE, source.array, kernel.array, controls, problems)
head.note(f"Input: {source.label}. Kernel: {kernel.name}.")

with st.container(horizontal=True, wrap=True, vertical_alignment="center", key="conv-view-bar"):
    view = widgets.view_chooser(PAGE, conv_view.VIEWS)
    links.publish(PAGE)  # the address follows every setting
    quizzing = quiz.switch(PAGE) and view == "Step by step"  # predict first: asks in the stepping view
if view == "Step by step":
    conv_view.show_steps(PAGE, run, quizzing)
    conv_view.show_export(PAGE, run)
elif view == "Play":
    conv_view.show_play(PAGE, run)
    conv_view.show_export(PAGE, run)
elif view == "Several channels":
    conv_view.show_channels(PAGE, run, source.rgb)
else:
    conv_view.show_im2col(PAGE, run)
