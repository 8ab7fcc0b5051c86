"""What the Train page shows: the live run (fragments refreshed while it trains), the results on the held-out
test images, the history of this session's runs with overlaid curves, and loading a saved model.

Every number comes from the engine (TrainSnapshot, EvalResult, insight); this module lays it out.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch
from torch import nn

from playground.data.datasets import DATASETS, DIGITS, Dataset
from playground.figures.draw import colour_kernels_figure, kernels_figure, probability_figure
from playground.figures.training import (
    CurveSeries,
    activation_stats_figure,
    confusion_figure,
    curves_figure,
    gallery_figure,
    losses_differ,
    maps_figure,
    per_class_figure,
)
from playground.imaging.preprocess import normalise
from playground.nn.architecture import ModelSpec
from playground.nn.checkpoints import CheckpointError, LoadedModel, load_checkpoint
from playground.nn.config import INIT_LABELS, LOSS_LABELS
from playground.nn.init_stats import BATCH, activation_statistics
from playground.nn.insight import feature_maps, first_layer_kernels, predict
from playground.nn.model import build
from playground.nn.timeline import BUDGET_BYTES, MAX_SNAPSHOTS
from playground.nn.trainer import EvalResult, TrainSnapshot, evaluate, images_to_tensor
from playground.ui import display, draw_view, fairness, models, state, widgets
from playground.ui.conv_view import fingerprint
from playground.ui.train_runs import REFRESH_S, VISUAL_EVERY_S, DataBundle, Plan, Run, TrainingSession, one_thread
from playground.ui.training import progress_text, queue_text

GALLERY_SIZE = 24
UPLOAD_MB = 32  # larger than any preset's file (tf-tutorial: 13 MB)


def series(run: Run, snap: TrainSnapshot | None = None) -> CurveSeries:
    snap = snap or run.snapshot()
    name = LOSS_LABELS[run.plan.config.loss].lower()
    return CurveSeries.of(
        run.label, snap.train_loss, snap.val, snap.steps_per_epoch, snap.train_acc, snap.train_penalty, name
    )


# ================================================================ live
def initial_activations(page: str, plan: Plan | None) -> None:
    """Each activation layer at initialisation, for the chosen model and initial weights, on 256 training images."""
    if plan is None:
        return
    c = plan.config
    with st.expander("Activations at initialisation", expanded=False, key="train-init-stats"):
        key = fingerprint(plan.spec.to_json(), c.init, c.init_std, c.seed, c.dropout, plan.data.train.source)
        stats = state.memo(page, "init_stats", key, lambda: activation_statistics(plan.spec, c, plan.data.train.images))
        init = INIT_LABELS[c.init] + (f" (σ = {c.init_std:g})" if c.init == "std" else "")
        st.caption(
            f"What each activation layer outputs before any training, with {init} weights, on "
            f"{min(BATCH, len(plan.data.train)):,} training images. Values all alike (a tiny std) carry no "
            "information forward; ReLU units that are 0 for every image (dead) pass no gradient back."
        )
        display.chart(activation_stats_figure(stats), "activations-at-initialisation", key="train-init-chart")


def live(page: str, sess: TrainingSession) -> None:
    """The newest run: queue place or progress, curves, kernels and feature maps, refreshed while it trains."""
    run = sess.latest()
    if run is None:
        st.info(
            f"Choose a model, a data set and the settings {display.controls_place()}, then press **Start**. The loss curves "
            "appear here while it trains, with the first layer's kernels and feature maps as they learn."
        )
        return
    polling = run.polling
    for each in sess.runs:  # this full run redraws the runs table (history, below): no state to catch up on
        each.table_state = None
    st.subheader(f"{run.label}: {run.plan.spec.name} on {run.plan.data.title}")
    fairness.fragment(_progress, run_every=REFRESH_S if polling else None)(sess, run, polling)
    fairness.fragment(_visuals, run_every=VISUAL_EVERY_S if polling else None)(page, run)


def _progress(sess: TrainingSession, run: Run, polling: bool) -> None:
    snap = run.snapshot()
    if polling and (run.done or not run.polling or run.table_state not in (None, snap.state)):
        # ended, paused or started since the page was drawn: the whole page (results, buttons, the runs
        # table's state); it wraps an ended run up. Rare, so the table itself need not refresh.
        st.rerun()
    ticket = run.ticket
    if snap.state == "queued" and ticket is not None:
        st.info(queue_text(sess.queue.position(ticket), sess.queue.cap), icon="⏳")
    st.progress(snap.progress, text=progress_text(snap))
    display.chart(curves_figure([series(run, snap)]), "training-curves", key="train-curves")
    with st.container(key="train-curve-points"):
        n_val = len(snap.val)
        st.caption(
            f"{len(snap.train_loss):,} training-loss points · {n_val:,} validation "
            f"point{'' if n_val == 1 else 's'} · state: {snap.state}"
        )
    if snap.state == "failed" and snap.diverged_at is not None:
        st.error(snap.message, icon="⚠️")  # diverged: what happened and which rates to try instead
    elif snap.state == "failed":
        st.error(snap.message)
    elif snap.state == "paused":
        st.info(snap.message)
    elif snap.state == "finished":
        st.success(snap.message)
    elif snap.done:
        st.info(snap.message)


def _visuals(page: str, run: Run) -> None:
    one_thread()
    model = run.visual_model() if (run.model is not None or run.trainer is not None) else None
    if model is not None:
        _model_panels(page, model, run.plan.data, "train")


def _model_panels(page: str, model: nn.Module, data: DataBundle, key: str) -> None:
    """The first layer's kernels (left) and one validation image's feature maps (right) of ``model``;
    ``key`` keeps two such views on a page apart ("train": the live one, "train-timeline")."""
    probe = images_to_tensor(data.val.images[:1])  # (1, C, H, W), a fixed validation image
    layers = feature_maps(model, probe)
    left, right = st.columns(2)
    try:
        k = first_layer_kernels(model)
        if k.shape[1] == 3:  # a colour network: each filter's red, green and blue weights as one colour
            left.caption(f"{len(k)} first-layer kernels ({k.shape[2]}×{k.shape[3]}×3), each stretched black…white")
            kernel_figure = colour_kernels_figure(k, width_px=440)
        else:
            left.caption(f"{len(k)} first-layer kernels ({k.shape[2]}×{k.shape[3]}): {display.palette().signs}")
            kernel_figure = kernels_figure(k, width_px=440)
        display.chart(kernel_figure, "first-layer-kernels", where=left, key=f"{key}-kernels")
    except ValueError:
        left.caption("This model has no convolution layer, so there are no kernels to show.")
    if layers:
        names = [layer.name for layer in layers]
        field = "layer" if key == "train" else f"{key.removeprefix('train-')}_layer"
        if state.has(page, field) and state.get(page, field, names[0]) not in names:
            state.drop(page, field)
        name = right.selectbox("Feature maps of layer", names, key=state.key(page, field))
        shown = next(layer for layer in layers if layer.name == name)
        label = data.val.classes[int(data.val.labels[0])]
        display.chart(
            maps_figure(
                shown.maps,
                f"{name} {shown.shape[0]}×{shown.shape[1]}×{shown.shape[2]}, "
                f"validation image {int(data.val.indices[0]):,} (a {label})",
            ),
            f"{name}-feature-maps",
            where=right,
            key=f"{key}-maps",
        )


def timeline(page: str, sess: TrainingSession) -> None:
    """The newest run's checkpoint timeline: step through its snapshots (buttons, slider, a clicker's keys)
    and see the kernels, one image's feature maps and the Draw page's digit as the network read them then."""
    run = sess.latest()
    if run is None or run.snapshot().step == 0:
        return
    points = run.timeline_so_far()
    st.subheader("Checkpoint timeline")
    if len(points) < 2:
        st.caption("The snapshots of this run are no longer kept (the server keeps those of your last two runs).")
        return
    snap = run.snapshot()
    mb = sum(a.nbytes for _, w in points for a in w.values()) / 2**20
    st.caption(
        f"{len(points)} snapshots of {run.label}'s weights, from the initial ones to step {points[-1][0]:,}"
        f"{'' if run.done else ' so far'}, evenly spread ({mb:.1f} MB; each run keeps at most "
        f"{BUDGET_BYTES / 2**20:.0f} MB and {MAX_SNAPSHOTS} snapshots)."
    )
    index = widgets.step_controls(page, len(points))
    step, weights = points[index]
    model = state.memo(page, "timeline_model", f"{run.number}:{step}", lambda: _load(run.spec, weights))
    epoch = step / max(snap.steps_per_epoch, 1)
    with st.container(key="train-timeline-step"):
        st.markdown(f"**Snapshot {index + 1} of {len(points)}: step {step:,}** (epoch {epoch:.2f})")
    digit = draw_view.last_digit()
    if run.spec.input_shape != (1, 28, 28):
        pass  # a colour run: the first-layer kernels and the maps of a validation image below show each snapshot
    elif digit is None:
        st.caption("Draw a digit on the Draw & Predict page to see how each snapshot reads it.")
    else:
        shown = predict(model, torch.from_numpy(normalise(digit)))
        left, right = st.columns([1, 3])
        left.image(np.clip(digit, 0, 1), caption="Your digit on the Draw page", width=112, clamp=True)
        with right.container(key="train-timeline-prediction"):
            st.markdown(f"At step {step:,} the network reads it as **{shown.label}** ({shown.confidence:.0%}).")
        display.chart(
            probability_figure(shown.probabilities, shown.label, shown.unsure), "timeline-probabilities", where=right
        )
    _model_panels(page, model, run.plan.data, "train-timeline")


def _load(spec: ModelSpec, weights: dict[str, np.ndarray]) -> nn.Module:
    model = build(spec)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
    return model.eval()


# ================================================================ results
def results(page: str, sess: TrainingSession) -> None:
    """Test accuracy, per-class accuracy, confusion matrix and misclassified images of a finished run;
    download it, or use it on the Draw page."""
    done = [r for r in sess.runs if r.final is not None and r.evaluation is not None and r.model is not None]
    if not done:
        return
    st.header("Results on the held-out test images")
    labels = [r.label for r in done]
    pick = st.selectbox(
        "Show the results of", labels, index=len(labels) - 1, key=state.key(page, f"result_run.{labels[-1]}")
    )
    run = done[labels.index(pick)]
    show_evaluation(run.evaluation, run.plan.data.test, f"{run.label} ({run.spec.name})", "train-run")
    a, b = st.columns(2)
    file = run.checkpoint()
    if isinstance(file, bytes):
        a.download_button(
            "⬇ Download the model (.safetensors)",
            file,
            file_name=f"{run.spec.name}-run{run.number}.safetensors",
            mime="application/octet-stream",
            key=state.key(page, "download"),
            on_click="ignore",
            width="stretch",
        )
    else:
        a.error(file)
    name = f"Trained: run {run.number} ({run.spec.name}, {run.evaluation.accuracy:.1%} on test images)"
    about = (
        f"{run.spec.name} trained on this page on {run.plan.data.title} ({run.plan.config.subset:,} images, "
        f"{run.final.step:,} steps), {run.evaluation.accuracy:.2%} accuracy on the held-out test images"
    )
    _use_on_draw(page, b, "use_run", name, run.model, run.spec, about, DATASETS[run.plan.data.name].classes)


def _use_on_draw(
    page: str, cell, key: str, name: str, model, spec, about: str, classes: tuple[str, ...] = DIGITS
) -> None:
    if models.chosen_name() == name:
        cell.success("This model is in use on the Draw page.")
        return
    cell.button(
        "Use this model on the Draw page",
        key=state.key(page, key),
        width="stretch",
        on_click=models.add_session_model,
        args=(name, model, spec, about + "."),
        kwargs={"classes": classes},
    )


def show_evaluation(ev: EvalResult, test: Dataset, title: str, key: str) -> None:
    """The scores of one model on a test split (`key` names its charts: two may be on the page at once)."""
    c1, c2 = st.columns([1, 3])
    c1.metric("Test accuracy", f"{ev.accuracy:.2%}")
    c2.caption(
        f"{title}: {int((ev.predictions == test.labels).sum()):,} of {len(test):,} right on {test.source}, "
        f"images never used for training or for choosing settings. Test loss {ev.loss:.4f}."
    )
    left, right = st.columns(2)
    left.markdown("**Accuracy per class**")
    display.chart(
        per_class_figure(ev.per_class_accuracy, test.classes), "accuracy-per-class", where=left, key=f"{key}-per-class"
    )
    right.markdown("**Confusion matrix** (rows: true class, columns: predicted)")
    display.chart(confusion_figure(ev.confusion, test.classes), "confusion-matrix", where=right, key=f"{key}-confusion")
    wrong = np.flatnonzero(ev.predictions != test.labels)
    st.markdown(
        f"**Misclassified test images** ({len(wrong):,}; the first {min(len(wrong), GALLERY_SIZE)} shown, "
        "true → predicted)"
    )
    shown = wrong[:GALLERY_SIZE]
    display.chart(
        gallery_figure(test.images[shown], test.labels[shown], ev.predictions[shown], test.classes),
        "misclassified",
        key=f"{key}-gallery",
    )


# ================================================================ history
def history(page: str, sess: TrainingSession) -> None:
    """Every run of this session with its settings, and the curves of the chosen runs overlaid."""
    if not sess.runs:
        return
    st.header("Runs in this session")
    rows = []
    for run in sess.runs:  # the progress fragment reruns the page when a run's state moves on from these
        rows.append(run.settings_row())
        run.table_state = rows[-1]["State"]
    st.dataframe(rows, hide_index=True, key=state.key(page, "runs_table"))
    labels = [r.label for r in sess.runs]
    chosen = st.multiselect(
        "Compare the curves of", labels, default=labels, key=state.key(page, f"compare.{len(labels)}")
    )
    picked = [r for r in sess.runs if r.label in chosen and r.done]
    if any(not r.done for r in sess.runs if r.label in chosen):
        st.caption("A run still in progress joins this comparison when it ends; its live curves are above.")
    if picked:
        curves = [series(r) for r in picked]
        log = st.toggle(
            "Logarithmic loss axis",
            value=losses_differ(curves),  # on when one run's losses dwarf the others' (a diverged run)
            key=state.key(page, f"compare_log.{'.'.join(r.label for r in picked)}"),
            help="On by default when one run's losses are 100 times another's, which would flatten the rest.",
        )
        display.chart(curves_figure(curves, log_loss=log), "training-runs", key="train-overlay")


# ================================================================ load a saved model
def upload(page: str, data: DataBundle | None) -> None:
    """Load a .safetensors model saved here (validated; anything else refused with one sentence), score it on
    the chosen data set's test images, and use it on the Draw page."""
    st.header("Load a saved model")
    file = widgets.file_upload(
        page, "upload", "A model saved by this playground (.safetensors)", ["safetensors"], max_upload_size=UPLOAD_MB
    )
    if file is None:
        return
    try:
        loaded: LoadedModel = state.memo(page, "upload", f"{file.file_id}", lambda: load_checkpoint(file.getvalue()))
    except CheckpointError as err:
        st.error(str(err))
        return
    metrics = loaded.metadata.get("metrics", {}) if isinstance(loaded.metadata.get("metrics"), dict) else {}
    st.success(f"Loaded “{loaded.spec.name}” (saved {loaded.created or 'at an unknown time'}).")
    if data is None:
        st.caption("Choose a data set that loads to score this model on its test images.")
    elif tuple(loaded.spec.input_shape) != data.test.input_shape or loaded.spec.num_classes != len(data.test.classes):
        st.warning(
            f"This model reads {'×'.join(map(str, loaded.spec.input_shape))} images into {loaded.spec.num_classes} "
            f"classes, so it cannot be scored on {data.title} ({'×'.join(map(str, data.test.input_shape))} images, "
            f"{len(data.test.classes)} classes): choose a data set of its kind above."
        )
    else:
        ev = state.memo(page, "upload_eval", f"{file.file_id}:{data.name}", lambda: _evaluate(loaded, data))
        show_evaluation(ev, data.test, f"Uploaded {loaded.spec.name}", "train-upload")
    acc = metrics.get("test_acc", metrics.get("val_acc"))
    about = f"{loaded.spec.name} loaded from {file.name}"
    if isinstance(acc, (int, float)):
        about += f", {acc:.2%} accuracy when it was saved"
    classes = models.trained_on(loaded.metadata)
    _use_on_draw(page, st, "use_upload", f"Loaded: {file.name}", loaded.model, loaded.spec, about, classes)


def _evaluate(loaded: LoadedModel, data: DataBundle) -> EvalResult:
    one_thread()
    return evaluate(loaded.model, data.test)
