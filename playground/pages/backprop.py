"""Backpropagation: one training step of a small CNN, forward and then backward, one gradient cell at a time."""

import streamlit as st

from playground.ui import backprop_view, display, inputs

PAGE = "backprop"

INTRO = (
    "How does a network learn? It runs forward, measures its **loss**, then sends the loss's gradient "
    "**backward** through every layer (the chain rule, one layer at a time) and moves each weight a small step "
    "against its gradient. This page runs one such step of a small network, conv → activation → pooling → "
    "dense → softmax, on one image and shows every stage, cell by cell, with its arithmetic."
)
head = display.header("Backpropagation", INTRO)

with head.controls:
    st.header("Input")
    source = inputs.input_chooser(PAGE, default=inputs.SAMPLE, size=8)
    st.header("Network")
    settings = backprop_view.network_controls(PAGE)
    problems = st.empty()  # the engine's message about the settings appears here

run = backprop_view.run_step(PAGE, source.array, settings, problems)
head.note(f"Input: {source.label}. Network: {backprop_view.describe(run)}.")

stage = backprop_view.stage_chooser(PAGE)
backprop_view.show_stage(PAGE, run, stage)
backprop_view.show_source(stage)
