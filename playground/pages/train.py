"""Train: train a network in the background and watch it learn, then test it on held-out images."""

import streamlit as st

from playground.ui import display, links, train_runs, train_view, training

PAGE = training.PAGE

INTRO = (
    "Training shows the network batches of labelled images and nudges every weight to make the **loss** "
    "(cross-entropy: how wrong the predictions are) a little smaller. The training loss should fall; the "
    "**validation** loss and accuracy, measured on images the network never trains on, tell you whether it "
    "learns or only memorises its examples. Training runs on the server in the background, so you can watch "
    "the curves, the first layer's kernels and its feature maps change while it learns. At the end it is "
    "scored once on the held-out **test** images (how many: under the data set)."
)
head = display.header("Train", INTRO)

links.restore(PAGE)  # an opened link sets the controls below
sess = train_runs.session()
sess.finalize()  # runs that ended since the last rerun: keep weights, score them
slots: dict = {}
with head.controls:
    st.header("Model")
    spec, model_label = training.model_chooser(PAGE, slots)
    st.header("Data")
    data = training.data_chooser(PAGE)
    st.header("Settings")
    kwargs, setting_slots = training.settings_controls(PAGE, len(data.train) if data else 7_000)
slots.update(setting_slots)
plan = training.plan_or_errors(spec, model_label, kwargs, data, slots)
training.start_if_asked(PAGE, sess, plan)
training.run_buttons(PAGE, sess, plan)
if kwargs["engine"] == "numpy":
    training.engine_source()  # what the from-scratch engine runs, as a student can read it
links.publish(PAGE, all_images=len(data.train) if data else None)  # the address follows every setting

train_view.initial_activations(PAGE, plan)
train_view.live(PAGE, sess)
train_view.timeline(PAGE, sess)
train_view.results(PAGE, sess)
train_view.history(PAGE, sess)
train_view.upload(PAGE, data)
