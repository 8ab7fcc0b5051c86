"""`python -m playground train|evaluate|predict`: the PyTorch engine from the command line: the three
parsers here, each command in its own module (``train``, ``evaluate``, ``predict``).

torch and the engine modules are imported inside the command functions, so that building the parser
(and running ``conv`` / ``pool``) never loads torch. Bad input prints one line, "error: ...", on stderr
and exits with status 2; never a traceback.
"""

from __future__ import annotations

from typing import Any

from playground.cli.evaluate import run_evaluate
from playground.cli.ops import _one_line_errors
from playground.cli.predict import run_predict
from playground.cli.train import run_train
from playground.nn.shipped import MODEL_ENV, PROJECT_ROOT, SHIPPED_MODEL

DATASET_NAMES = ("mnist", "fashion-mnist", "synthetic", "cifar10", "shapes", "shapes-shortcut")  # = data.DATASETS


def add_engine_commands(subparsers: Any) -> None:
    """Register ``train``, ``evaluate`` and ``predict``; each sets ``func(args) -> exit code``."""
    train = subparsers.add_parser(
        "train",
        help="train a CNN on MNIST, Fashion-MNIST, CIFAR-10 or a synthetic set and save it",
        description="Train on the 'train' split, validate on the 'val' split (the test split is never used), "
        "save a safetensors checkpoint. Settings default to the recommended configuration.",
    )
    train.add_argument("--arch", default="playground", help="preset name or path to a SPEC.json (default playground)")
    train.add_argument(
        "--engine",
        default="torch",
        choices=("torch", "numpy"),
        help="torch (default), or numpy: the from-scratch engine (im2col forward, col2im backward, numpy "
        "optimizers) for networks of conv, activation, pooling, flatten and dense layers, e.g. simple-convnet",
    )
    train.add_argument("--dataset", required=True, choices=DATASET_NAMES, help="data set to train on")
    train.add_argument(
        "--data-dir",
        default=None,
        help="folder with the IDX files or CIFAR-10 (default $PLAYGROUND_DATA_DIR or the user cache)",
    )
    train.add_argument("--epochs", type=int, default=None, help="passes over the training images")
    train.add_argument("--batch-size", type=int, default=None, help="images per optimizer step")
    train.add_argument("--lr", type=float, default=None, help="learning rate")
    train.add_argument("--optimizer", default=None, help="sgd, sgd-momentum, adam, adamw or rmsprop")
    train.add_argument("--seed", type=int, default=None, help="one seed for weights, order, augmentation, dropout")
    train.add_argument("--subset", type=int, default=None, help="train on the first N training images only")
    train.add_argument("--augment", action="store_true", default=None, help="random shift ±2 px and rotation ±10°")
    train.add_argument("--no-augment", dest="augment", action="store_false", help="no augmentation")
    train.add_argument(
        "--canvas-copies",
        type=int,
        default=None,
        help="add N canvas-style copies of every training digit (solid strokes of varied width, any size and "
        "place, slightly bent, through the Draw page's preprocessing), so the model reads drawings well",
    )
    train.add_argument("--threads", type=int, default=None, help="torch threads (default: the recommended config's)")
    train.add_argument(
        "--init", default=None, help="initial weights: default (PyTorch's), std (normal, --init-std), xavier or he"
    )
    train.add_argument("--init-std", type=float, default=None, help="σ of --init std (default 0.01)")
    train.add_argument("--loss", default=None, help="cross_entropy (default) or mse (squared error of the softmax)")
    train.add_argument("--l1", type=float, default=None, help="λ of the L1 penalty λ·Σ|w| added to the loss")
    train.add_argument("--l2", type=float, default=None, help="λ of the L2 penalty (λ/2)·Σw² added to the loss")
    train.add_argument("--out", required=True, help="where to write the checkpoint (.safetensors)")
    train.add_argument("--json-log", default=None, help="write one JSON object per training event to this file")
    train.set_defaults(func=run_train)
    _one_line_errors(train)

    ev = subparsers.add_parser(
        "evaluate",
        help="accuracy, per-class accuracy and confusion matrix of a saved model",
        description="Evaluate a checkpoint on one split; warns when the model was trained on those images.",
    )
    ev.add_argument("--model", required=True, help="checkpoint file (.safetensors)")
    ev.add_argument("--dataset", required=True, choices=DATASET_NAMES, help="data set to evaluate on")
    ev.add_argument("--data-dir", default=None, help="folder with the IDX files")
    ev.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "trainval", "test"),
        help="which images (default test: MNIST t10k images 8,000–9,999)",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=run_evaluate)
    _one_line_errors(ev)

    pr = subparsers.add_parser(
        "predict",
        help="classify image files (drawings or scans of digits; photos for a colour model)",
        description="Label and the class probabilities for each image, after MNIST-style preprocessing (a colour "
        "model: the photo's centre square, resized to its input).",
    )
    pr.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, ... files")
    pr.add_argument(
        "--model",
        default=None,
        help=f"checkpoint (default: ${MODEL_ENV} when set, else {SHIPPED_MODEL.relative_to(PROJECT_ROOT)})",
    )
    pr.add_argument("--json", action="store_true", help='one {"file", "label", "probabilities"} object per line')
    pr.set_defaults(func=run_predict)
    _one_line_errors(pr)
