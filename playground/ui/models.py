"""Which network the Draw & Predict page uses: the shipped pretrained model, loaded once per server
and shared read-only by every session, or a model trained or loaded in this browser session.

Session models live in this session's state only: another user never sees them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch
from torch import nn

from playground.data.datasets import DIGITS
from playground.errors import PlaygroundError
from playground.nn.architecture import ModelSpec
from playground.nn.checkpoints import CheckpointError, LoadedModel, load_checkpoint, trained_classes
from playground.nn.shipped import MODEL_ENV, PROJECT_ROOT, SHIPPED_COLOUR_MODEL, SHIPPED_MODEL, default_model_path
from playground.ui import state

SHIPPED = "Pretrained: playground-mnist"
SHIPPED_COLOUR = "Pretrained colour: playground-shapes"
PAGE = "models"


@dataclass(frozen=True)
class ModelChoice:
    """A model ready for inference (eval mode, weights frozen) with what the page says about it."""

    name: str
    model: nn.Module
    spec: ModelSpec
    about: str  # one sentence: where it comes from and how good it is
    classes: tuple[str, ...] = DIGITS  # what each output means (Fashion-MNIST: "T-shirt/top", ...)
    token: str = ""  # names this model among all this session has used (what is computed from it is kept under it)


class ModelUnavailable(PlaygroundError):
    """The chosen model cannot be used; str(e) says which file and how to restore it."""


def _freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)  # shared by all sessions: nothing may train it or keep gradients on it
    return model


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_shared(path: str, stamp: tuple[int, int]) -> LoadedModel:
    """One copy per server (per file version): loading raises, and nothing is cached, when the file is bad."""
    loaded = load_checkpoint(path)
    _freeze(loaded.model)
    return loaded


def _restore_hint(path: Path) -> str:
    for shipped_path, command in (
        (SHIPPED_MODEL, "--dataset mnist --augment"),
        (SHIPPED_COLOUR_MODEL, "--arch playground-colour --dataset shapes --augment --epochs 12"),
    ):
        if path.resolve() == shipped_path.resolve():
            rel = shipped_path.relative_to(PROJECT_ROOT)
            return (
                f"Restore it with `git checkout -- {rel}`, or train a new one with "
                f"`python -m playground train {command} --out {rel}`."
            )
    return f"Point {MODEL_ENV} at a .safetensors model saved by this playground, or unset it."


def trained_on(metadata: dict) -> tuple[str, ...]:
    """The class names of the data set a checkpoint was trained on (digits when it does not say)."""
    return trained_classes(metadata) or DIGITS


def shipped(name: str = SHIPPED) -> ModelChoice:
    """A pretrained model (the digit one, or ``SHIPPED_COLOUR``); ModelUnavailable naming the file and the
    fix when it is missing or unreadable."""
    path = default_model_path() if name == SHIPPED else SHIPPED_COLOUR_MODEL
    try:
        st_ = path.stat()
    except OSError:
        raise ModelUnavailable(f"The model file {path} is missing. {_restore_hint(path)}") from None
    try:
        loaded = _load_shared(str(path), (st_.st_mtime_ns, st_.st_size))
    except CheckpointError as err:
        raise ModelUnavailable(f"The model file {path} cannot be used: {err} {_restore_hint(path)}") from None
    metrics = loaded.metadata.get("metrics", {})
    acc = metrics.get("val_acc") if isinstance(metrics, dict) else None
    about = f"{loaded.spec.name} architecture, loaded from {path.name}"
    if isinstance(acc, (int, float)):
        about += f", {acc:.2%} accuracy on its validation images"
    if name == SHIPPED_COLOUR:
        about += (
            ". It knows ten synthetic shapes and textures (disc, ring, … grid) in any colour: a photo of "
            "something else gets the nearest of those names"
        )
    classes = trained_on(loaded.metadata)
    token = f"{path}|{st_.st_mtime_ns}|{st_.st_size}"
    return ModelChoice(name, loaded.model, loaded.spec, about + ".", classes, token)


# ---------------------------------------------------------------- this session's models
def add_session_model(
    name: str,
    model: nn.Module,
    spec: ModelSpec,
    about: str,
    *,
    use_on_draw: bool = True,
    classes: tuple[str, ...] = DIGITS,
) -> None:
    """Keep a model trained or loaded in this session (pass a copy, not a module still training)."""
    models = dict(state.get(PAGE, "session", {}))
    models[name] = ModelChoice(name, _freeze(model), spec, about, tuple(classes), uuid.uuid4().hex)
    state.put(PAGE, "session", models)
    if use_on_draw:
        state.put(PAGE, "draw_choice", name)


def session_models() -> dict[str, ModelChoice]:
    return dict(state.get(PAGE, "session", {}))


def names() -> list[str]:
    """Every model the Draw page can use, the pretrained ones first."""
    return [SHIPPED, SHIPPED_COLOUR, *session_models()]


def chosen_name() -> str:
    """The model picked for the Draw page (falls back to the pretrained one if it went away)."""
    name = state.get(PAGE, "draw_choice", SHIPPED)
    return name if name in names() else SHIPPED


def choose(name: str) -> None:
    state.put(PAGE, "draw_choice", name)


def in_use() -> ModelChoice | None:
    """The model the Draw page will use, or None when it cannot be loaded (the picker says why)."""
    try:
        return get(chosen_name())
    except ModelUnavailable:
        return None


INFERENCE_THREADS = 1


def get(name: str) -> ModelChoice:
    """The model called ``name``; ModelUnavailable when it cannot be loaded.

    Also puts this script thread's torch on one thread: a drawing is a 1-image forward pass, and
    torch's default pool (one thread per core, in every session's thread at once) oversubscribes a
    shared server. Measured with the other core busy: 348 ms per drawing with 2 threads, 3.4 ms with 1.
    """
    torch.set_num_threads(INFERENCE_THREADS)
    if name in (SHIPPED, SHIPPED_COLOUR):
        return shipped(name)
    try:
        return session_models()[name]
    except KeyError:
        raise ModelUnavailable(f"The model {name!r} is not in this session any more; pick another.") from None
