"""What a training run is made of, apart from the loop: the settings (`TrainConfig`, validated in one
place), the data as normalised tensors, seeded augmentation, evaluation, and the record of data used.

playground.nn.trainer re-exports every public name here; import them from there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from playground.data.datasets import image_shape
from playground.errors import PlaygroundError
from playground.imaging.photo import COLOUR_MEAN, COLOUR_STD
from playground.imaging.preprocess import MNIST_MEAN, MNIST_STD
from playground.ops.layers import LOSS_FORMULAS, LOSS_LABELS, LOSSES  # noqa: F401 - the one table of losses
from playground.ops.network import INIT_LABELS as NUMPY_INIT_LABELS
from playground.ops.network import INITS as NUMPY_INITS

SCHEDULES = ("constant", "cosine", "onecycle")
ENGINES = ("torch", "numpy")  # PyTorch, or the numpy teaching engine written out (conv/act/pool/flatten/dense)
ENGINE_LABELS = {"torch": "PyTorch", "numpy": "numpy, from scratch"}
INITS = ("default", *NUMPY_INITS)  # PyTorch's own, or normal with std σ, Xavier/Glorot, He/Kaiming
INIT_LABELS = {"default": "PyTorch's default", **NUMPY_INIT_LABELS}
AUG_SHIFT_PX, AUG_ROTATE_DEG = 2.0, 10.0
MAX_CANVAS_COPIES = 8
CANVAS_ELASTIC_PX = 1.5  # largest elastic shift of a canvas-style copy, px at 28×28


@dataclass(frozen=True)
class OptimizerChoice:
    """One optimizer the playground offers: what the pages call it and how to make it for a config."""

    label: str
    make: Callable[[Iterable[torch.Tensor], TrainConfig], torch.optim.Optimizer]
    usual: tuple[float, float]  # learning rates this optimizer usually trains these networks with


# The one optimizer table: the names TrainConfig accepts, the pages' labels, how each is built (learning
# rate and weight decay from the config; decoupled weight decay for AdamW) and its usual learning rates.
OPTIMIZERS: dict[str, OptimizerChoice] = {
    "sgd": OptimizerChoice("SGD", lambda p, c: torch.optim.SGD(p, lr=c.lr, weight_decay=c.weight_decay), (1e-3, 1.0)),
    "sgd-momentum": OptimizerChoice(
        "SGD with momentum 0.9",
        lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
        (1e-4, 0.3),
    ),
    "adam": OptimizerChoice(
        "Adam", lambda p, c: torch.optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay), (1e-5, 1e-2)
    ),
    "adamw": OptimizerChoice(
        "AdamW", lambda p, c: torch.optim.AdamW(p, lr=c.lr, weight_decay=c.weight_decay), (1e-5, 1e-2)
    ),
    "rmsprop": OptimizerChoice(
        "RMSprop", lambda p, c: torch.optim.RMSprop(p, lr=c.lr, weight_decay=c.weight_decay), (1e-5, 1e-2)
    ),
}


def smaller_rates(lr: float, optimizer: str) -> str:
    """What to try after a run blew up: the rate 10× and 100× smaller ("try 0.05 or 0.005"), or, when even
    those are above the optimizer's usual range, the top of that range ("try 0.01 or less (Adam usually
    trains with 1e-05 to 0.01)")."""
    low, high = OPTIMIZERS[optimizer].usual
    if lr / 100 > high:
        return f"try {high:g} or less ({OPTIMIZERS[optimizer].label} usually trains with {low:g} to {high:g})"
    return f"try {lr / 10:g} or {lr / 100:g}"


def rate_warning(lr: float, optimizer: str) -> str | None:
    """One sentence when the learning rate is far outside what the optimizer usually trains with."""
    low, high = OPTIMIZERS[optimizer].usual
    name = OPTIMIZERS[optimizer].label
    if lr > 10 * high:
        return f"{lr:g} is far above the {low:g} to {high:g} {name} usually trains with: expect the loss to explode."
    if 0 < lr < low / 10:
        return (
            f"{lr:g} is far below the {low:g} to {high:g} {name} usually trains with: expect it to learn very slowly."
        )
    return None


def make_optimizer(params: Iterable[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer `config` names, over `params`."""
    return OPTIMIZERS[config.optimizer].make(params, config)


class ConfigError(PlaygroundError):
    """A training setting out of range; str(e) is one sentence, `field` names the setting ("lr")."""


class Dataset(Protocol):
    """What the engine reads from playground.data.datasets.Dataset."""

    name: str
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N,) int64
    indices: np.ndarray  # (N,) positions in the source file
    source: str
    synthetic: bool
    classes: tuple[str, ...]


_LABELS = {
    "lr": "learning rate",
    "val_every_steps": "validation interval (steps)",
    "log_every_steps": "loss-logging interval (steps)",
    "max_steps": "step limit",
    "subset": "subset size",
    "threads": "number of threads",
    "dropout": "dropout probability",
    "canvas_copies": "number of canvas-style copies",
}


def _num(
    cfg: Any,
    name: str,
    low: float,
    high: float,
    *,
    integer: bool = False,
    high_open: bool = False,
    optional: bool = False,
) -> None:
    value, label = getattr(cfg, name), _LABELS.get(name, name.replace("_", " "))
    if value is None and optional:
        return
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not integer and not math.isfinite(value)):
        raise ConfigError(f"The {label} must be a {'whole ' if integer else ''}number, not {value!r}.", name)
    if value < low or value > high or (high_open and value == high):
        hi = "below" if high_open else "at most"
        raise ConfigError(f"The {label} must be at least {low:g} and {hi} {high:g}, not {value:g}.", name)


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting, validated in one place (ConfigError names the setting at fault)."""

    optimizer: str = "adam"  # one of OPTIMIZERS; "momentum" is accepted for "sgd-momentum"
    lr: float = 1e-3  # learning rate, 1e-7 .. 1e6 (huge values allowed: the NaN guard shows why not)
    batch_size: int = 64  # images per optimizer step, 1 .. 4096
    epochs: int = 3  # passes over the training images, 1 .. 500
    weight_decay: float = 0.0  # 0 .. 1; L2 penalty (decoupled for adamw)
    momentum: float = 0.9  # 0 .. <1, used by sgd-momentum
    dropout: float | None = None  # 0 .. <1 overrides every Dropout layer's p; None keeps the spec's
    augment: bool = False  # random shift ±2 px and rotation ±10° per training image
    subset: int | None = None  # train on the first `subset` training images; None: all of them
    seed: int = 0  # one seed for weights, data order, augmentation and dropout
    threads: int = 1  # torch threads for the training thread (see module docstring)
    val_every_steps: int | None = None  # validate every N steps as well as after each epoch
    lr_schedule: str = "constant"  # "constant", "cosine" (decay to 0 over the run) or "onecycle"
    log_every_steps: int | None = None  # a train-loss point every N steps; None: about 250 points per run
    max_steps: int | None = None  # end the run after this many steps (quick checks); None: all epochs
    canvas_copies: int = 0  # canvas-style copies of every training digit, drawn before training (0 .. 8)
    engine: str = "torch"  # "torch", or "numpy": the from-scratch engine (playground.nn.numpy_trainer)
    init: str = "default"  # initial weights: one of INITS ("default" is PyTorch's own)
    init_std: float = 0.01  # σ of the "std" initialisation (SimpleConvNet's 0.01)
    loss: str = "cross_entropy"  # or "mse": mean squared error of the softmax against the one-hot target
    l1: float = 0.0  # λ₁ of the explicit penalty λ₁·Σ|w| over the weights (not biases), added to the loss
    l2: float = 0.0  # λ₂ of the explicit penalty (λ₂/2)·Σw² (weight decay is the optimizer's own, apart)

    def __post_init__(self) -> None:
        opt = self.optimizer.lower().strip() if isinstance(self.optimizer, str) else self.optimizer
        opt = {"momentum": "sgd-momentum", "sgd+momentum": "sgd-momentum"}.get(opt, opt)
        if opt not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer {self.optimizer!r}; use one of {', '.join(OPTIMIZERS)}.", "optimizer")
        object.__setattr__(self, "optimizer", opt)
        if self.lr_schedule not in SCHEDULES:
            raise ConfigError(
                f"Unknown learning-rate schedule {self.lr_schedule!r}; use one of {', '.join(SCHEDULES)}.",
                "lr_schedule",
            )
        _num(self, "lr", 1e-7, 1e6)
        _num(self, "batch_size", 1, 4096, integer=True)
        _num(self, "epochs", 1, 500, integer=True)
        _num(self, "weight_decay", 0, 1)
        _num(self, "momentum", 0, 1, high_open=True)
        _num(self, "dropout", 0, 1, high_open=True, optional=True)
        _num(self, "subset", 1, 10_000_000, integer=True, optional=True)
        _num(self, "seed", 0, 2**32 - 1, integer=True)
        _num(self, "threads", 1, 256, integer=True)
        for name in ("val_every_steps", "log_every_steps", "max_steps"):
            _num(self, name, 1, 10_000_000, integer=True, optional=True)
        _num(self, "canvas_copies", 0, MAX_CANVAS_COPIES, integer=True)
        if self.init not in INITS:
            raise ConfigError(f"Unknown initialisation {self.init!r}; use one of {', '.join(INITS)}.", "init")
        if self.loss not in LOSSES:
            raise ConfigError(f"Unknown loss {self.loss!r}; use one of {', '.join(LOSSES)}.", "loss")
        _num(self, "init_std", 1e-6, 10)
        _num(self, "l1", 0, 1)
        _num(self, "l2", 0, 1)
        if self.engine not in ENGINES:
            raise ConfigError(f"Unknown engine {self.engine!r}; use one of {', '.join(ENGINES)}.", "engine")
        if not isinstance(self.augment, bool):
            raise ConfigError(f"Augment must be true or false, not {self.augment!r}.", "augment")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown training setting {unknown[0]!r}.", unknown[0])
        return cls(**data)


# Settings the shipped "playground" preset is trained with (99.3-99.5 % on MNIST 8,000-9,999 from the
# 8,000 images before them); callers choose `threads` (dataclasses.replace).
RECOMMENDED_CONFIG = TrainConfig(
    optimizer="adam", lr=3e-3, batch_size=64, epochs=8, augment=True, lr_schedule="onecycle"
)


def data_loss(logits: torch.Tensor, y: torch.Tensor, kind: str = "cross_entropy", reduction: str = "mean"):
    """The config's loss of (N, K) logits against labels: cross-entropy, or the mean squared error of the
    softmax against the one-hot target (as ``ops.layers.loss_and_grad``, which the numpy engine uses)."""
    if kind == "mse":
        target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
        per_image = ((torch.softmax(logits, 1) - target) ** 2).mean(1)
        return per_image.mean() if reduction == "mean" else per_image.sum()
    return F.cross_entropy(logits, y, reduction=reduction)


def penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor:
    """λ₁·Σ|w| + (λ₂/2)·Σw² over the weights of convolutions and dense layers (matrices and kernels, not
    biases or batch norm's scales): the explicit regularisation term of the training loss."""
    weights = [p for p in model.parameters() if p.dim() > 1]
    return sum(l1 * w.abs().sum() + 0.5 * l2 * (w * w).sum() for w in weights)


def initialise(model: nn.Module, scheme: str, std: float, seed: int) -> nn.Module:
    """Redraw every convolution and dense weight from N(0, σ²) — σ = ``std``, Xavier √(2/(fan_in + fan_out))
    or He √(2/fan_in), fans as ``ops.network.Network.init`` counts them — with zero biases; "default" keeps
    PyTorch's own initialisation."""
    if scheme == "default":
        return model
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = m.weight
                area = int(np.prod(w.shape[2:])) if w.dim() > 2 else 1
                fan_in, fan_out = w.shape[1] * area, w.shape[0] * area
                sigma = {"std": std, "xavier": math.sqrt(2.0 / (fan_in + fan_out)), "he": math.sqrt(2.0 / fan_in)}
                w.copy_(torch.randn(w.shape, generator=gen, dtype=w.dtype) * sigma[scheme])
                if m.bias is not None:
                    m.bias.zero_()
    return model


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """Grey (N, H, W) uint8 -> (N, 1, H, W) float32 normalised with the MNIST mean and std; colour
    (N, 3, H, W) uint8 -> (N, 3, H, W) normalised channel by channel with CIFAR-10's (``imaging.photo``)."""
    x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255.0)
    if x.dim() == 4:
        mean, std = torch.tensor(COLOUR_MEAN).view(1, 3, 1, 1), torch.tensor(COLOUR_STD).view(1, 3, 1, 1)
        return x.sub_(mean).div_(std).contiguous()
    return x.sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1).contiguous()


def augment_batch(
    x: torch.Tensor, generator: torch.Generator, shift_px: float = AUG_SHIFT_PX, degrees: float = AUG_ROTATE_DEG
) -> torch.Tensor:
    """Random shift (±shift_px, each axis) and rotation (±degrees) per image of x (N, C, H, W), seeded."""
    n, _, h, w = x.shape
    r = torch.rand(n, 3, generator=generator).mul_(2).sub_(1)
    angle = r[:, 0] * (degrees * math.pi / 180)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [
            torch.stack([cos, -sin, r[:, 1] * (2 * shift_px / w)], 1),
            torch.stack([sin, cos, r[:, 2] * (2 * shift_px / h)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@dataclass(frozen=True)
class EvalResult:
    """Scores of a model on a data set; rows of `confusion` are true labels, columns predictions."""

    accuracy: float  # share correct, 0..1
    per_class_accuracy: np.ndarray  # (classes,) float64; NaN for classes absent from the data
    confusion: np.ndarray  # (classes, classes) int64
    predictions: np.ndarray  # (N,) int64
    loss: float  # mean cross-entropy


EVAL_BATCH_MACS = 1_000_000_000  # multiply-accumulates per evaluation batch: a tenth of a second or so here


def eval_batch_size(macs_per_image: int, most: int = 512) -> int:
    """Images per evaluation batch so that one batch costs about EVAL_BATCH_MACS: a stop request waits for
    one batch at most (512 images of the playground preset, 10 of a design at the MAC limit)."""
    return max(1, min(most, EVAL_BATCH_MACS // max(int(macs_per_image), 1)))


@torch.no_grad()
def _predict(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    stop: Callable[[], bool] | None = None,
    loss: str = "cross_entropy",
) -> tuple[torch.Tensor, float] | None:
    """Predictions (N,) and mean cross-entropy, in eval mode; the model's mode is restored.
    None when ``stop()`` turned true between two batches."""
    was_training = model.training
    model.eval()
    try:
        preds, total = [], 0.0
        for i in range(0, len(x), batch_size):
            if stop is not None and stop():
                return None
            logits = model(x[i : i + batch_size])
            total += data_loss(logits, y[i : i + batch_size], loss, reduction="sum").item()
            preds.append(logits.argmax(1))
        return torch.cat(preds), total / max(len(x), 1)
    finally:
        model.train(was_training)


def evaluate(
    model: nn.Module, dataset: Dataset, batch_size: int = 512, stop: Callable[[], bool] | None = None
) -> EvalResult | None:
    """Accuracy, per-class accuracy, confusion matrix, predictions and loss of `model` on `dataset`;
    None when ``stop()`` turned true between two batches."""
    k = len(dataset.classes) if getattr(dataset, "classes", None) else 10
    y = torch.from_numpy(np.asarray(dataset.labels, dtype=np.int64))
    scored = _predict(model, images_to_tensor(dataset.images), y, batch_size, stop)
    if scored is None:
        return None
    preds, loss = scored
    p, t = preds.numpy().astype(np.int64), y.numpy()
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    per_class = np.full(k, np.nan)
    counts = confusion.sum(1)
    per_class[counts > 0] = np.diag(confusion)[counts > 0] / counts[counts > 0]
    return EvalResult(float((p == t).mean()) if len(t) else float("nan"), per_class, confusion, p, loss)


def _check_images(spec: Any, data: Dataset, what: str) -> int:
    images, labels = np.asarray(data.images), np.asarray(data.labels)
    c, h, w = spec.input_shape
    if images.ndim not in (3, 4) or image_shape(images) != (c, h, w) or c not in (1, 3) or images.dtype != np.uint8:
        kind = {1: "grey", 3: "colour"}.get(image_shape(images)[0] if images.ndim == 4 else 1, "")
        shown = "×".join(map(str, image_shape(images))) if images.ndim in (3, 4) else str(images.shape)
        raise ConfigError(
            f"The {what} images are {kind} {shown} ({images.dtype}) but this model reads {c}×{h}×{w} "
            f"{'grey' if c == 1 else 'colour'} images: choose a data set of that shape, or change the model's input.",
            "data",
        )
    if len(images) < 2 or len(labels) != len(images):
        raise ConfigError(f"The {what} data needs at least 2 images, each with one label.", "data")
    if labels.min() < 0 or labels.max() >= spec.num_classes:
        raise ConfigError(f"The {what} labels must lie between 0 and {spec.num_classes - 1}.", "data")
    return len(images)


def check_data(spec: Any, config: TrainConfig, train: Dataset, val: Dataset | None) -> int:
    """Check that the data fit the model (ModelSpec) and the settings; returns the number of training images."""
    n = _check_images(spec, train, "training")
    if val is not None:
        _check_images(spec, val, "validation")
    if config.subset is not None and not 2 <= config.subset <= n:
        raise ConfigError(
            f"The subset size must be between 2 and the {n:,} training images, not {config.subset:,}.", "subset"
        )
    used = n if config.subset is None else config.subset
    if config.canvas_copies and tuple(getattr(train, "classes", ())) != tuple(str(d) for d in range(10)):
        raise ConfigError(
            "Canvas-style copies redraw handwritten digits; use them with MNIST or the synthetic digits, "
            "or set them to 0.",
            "canvas_copies",
        )
    if min(config.batch_size, used) < 2 and _bn_after_flatten(spec):
        raise ConfigError(
            "A batch-norm layer after Flatten needs at least 2 images per batch; raise the batch size.", "batch_size"
        )
    return used


def _bn_after_flatten(spec: Any) -> bool:
    names = [type(layer).__name__ for layer in spec.layers]
    return "Flatten" in names and "BatchNorm" in names[names.index("Flatten") :]


def index_ranges(indices: np.ndarray) -> list[list[int]]:
    """Sorted indices compressed to inclusive [first, last] runs: [0..99, 200] -> [[0, 99], [200, 200]]."""
    idx = np.unique(np.asarray(indices, dtype=np.int64))
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) != 1)
    starts, ends = np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]]
    return [[int(a), int(b)] for a, b in zip(starts, ends)]


def data_record(dataset: Dataset, count: int | None = None) -> dict[str, Any]:
    """What a checkpoint records about the images used: name, source, synthetic, count, index ranges."""
    n = len(dataset.labels) if count is None else count
    return {
        "name": dataset.name,
        "source": dataset.source,
        "synthetic": bool(dataset.synthetic),
        "count": n,
        "index_ranges": index_ranges(np.asarray(dataset.indices)[:n]),
    }
