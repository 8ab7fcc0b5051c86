"""`python -m playground train|evaluate|predict`: the PyTorch engine from the command line.

torch and the engine modules are imported inside the command functions, so that building the parser
(and running ``conv`` / ``pool``) never loads torch. Bad input prints one line, "error: ...", on stderr
and exits with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from playground.cli.ops import EXIT_USAGE, _one_line_errors
from playground.errors import PlaygroundError
from playground.nn.shipped import MODEL_ENV, PROJECT_ROOT, SHIPPED_MODEL, default_model_path

DATASET_NAMES = ("mnist", "fashion-mnist", "synthetic")
EXIT_INTERRUPTED = 130


class EngineCliError(PlaygroundError):
    """A command-line value or file that cannot be used; str(e) is one sentence for the user."""


# ---------------------------------------------------------------- parsers


def add_engine_commands(subparsers: Any) -> None:
    """Register ``train``, ``evaluate`` and ``predict``; each sets ``func(args) -> exit code``."""
    train = subparsers.add_parser(
        "train",
        help="train a CNN on MNIST, Fashion-MNIST or synthetic digits and save it",
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
        "--data-dir", default=None, help="folder with the IDX files (default $PLAYGROUND_DATA_DIR or the user cache)"
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
        help="classify image files (canvas drawings or scans of digits)",
        description="Label and the ten class probabilities for each image, after MNIST-style preprocessing.",
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


# ---------------------------------------------------------------- shared


def _fail(message: str) -> int:
    text = " ".join(str(message).split()) or "unknown error"
    print(f"error: {text}", file=sys.stderr)
    return EXIT_USAGE


def _guard(command: Any, args: argparse.Namespace) -> int:
    """Run a command; the engine's user-facing errors become one stderr line and exit 2."""

    try:
        return command(args)
    except PlaygroundError as err:
        return _fail(str(err))
    except OSError as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return _fail(f"{err.strerror or err}{where}.")
    except KeyboardInterrupt:
        print("\nerror: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _load_spec(arch: str) -> Any:
    """A preset name or a SPEC.json path -> ModelSpec (SpecError / EngineCliError otherwise)."""
    from playground.nn.model import PRESETS, ModelSpec, get_preset

    if arch in PRESETS:
        return get_preset(arch)
    path = Path(arch)
    if path.suffix.lower() == ".json" or path.exists():
        if not path.is_file():
            raise EngineCliError(f"Architecture file not found: {arch}.")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise EngineCliError(f"{arch} is not a text (JSON) file.") from None
        return ModelSpec.from_json(text)
    return get_preset(arch)  # SpecError naming the known presets


def _save_or_rescue(out: Path, trainer: Any, metadata: dict[str, Any]) -> Path:
    """Save to ``out``; when that fails after all (the disk filled, the folder went away), save the trained
    model in the working folder under a unique name instead and say so (exit 2), so the work is not lost."""
    from playground.nn.checkpoints import CheckpointError, save_checkpoint

    try:
        return save_checkpoint(out, trainer.model, trainer.spec, metadata)
    except CheckpointError as err:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for folder in (Path.cwd(), Path(tempfile.gettempdir())):
            rescue = folder / f"{out.stem or 'model'}-{stamp}-{os.getpid()}.safetensors"
            try:
                save_checkpoint(rescue, trainer.model, trainer.spec, metadata)
            except CheckpointError:
                continue
            raise EngineCliError(f"{str(err).rstrip('.')}. The trained model was saved as {rescue} instead.") from None
        raise EngineCliError(f"{str(err).rstrip('.')}. No other folder could take it either.") from None


def _progress_line(done: int, total: int, extra: str, width: int = 30) -> str:
    frac = done / total if total else 1.0
    filled = int(round(width * frac))
    return f"\rtraining [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} steps {extra}".ljust(100)


# ---------------------------------------------------------------- train


def run_train(args: argparse.Namespace) -> int:
    """The ``train`` command: 0 after saving the checkpoint, 2 after one error line."""
    return _guard(_train, args)


def _train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from playground.data.datasets import SPLIT_TRAIN, SPLIT_VAL, ProgressBar, load_dataset
    from playground.nn.checkpoints import check_writable
    from playground.nn.numpy_trainer import NumpyTrainer, network_of
    from playground.nn.trainer import RECOMMENDED_CONFIG, Trainer, TrainEvent

    spec = _load_spec(args.arch)
    if args.engine == "numpy":
        network_of(spec)  # a layer the numpy engine cannot train is refused before any data is read
    overrides = {
        k: getattr(args, k)
        for k in (
            "epochs",
            "batch_size",
            "lr",
            "optimizer",
            "seed",
            "subset",
            "augment",
            "canvas_copies",
            "threads",
            "engine",
            "init",
            "init_std",
            "loss",
            "l1",
            "l2",
        )
        if getattr(args, k) is not None
    }
    config = replace(RECOMMENDED_CONFIG, **overrides)
    out = Path(args.out)
    check_writable(out)  # before the training, not after it
    if args.json_log and Path(args.json_log).resolve() == out.resolve():
        raise EngineCliError(f"--json-log and --out are the same file ({args.out}); give the log another name.")
    bar = ProgressBar("downloading")
    train_data = load_dataset(args.dataset, args.data_dir, split=SPLIT_TRAIN, progress=bar, seed=config.seed)
    val_data = load_dataset(args.dataset, args.data_dir, split=SPLIT_VAL, progress=bar, seed=config.seed)
    log: TextIO | None = open(args.json_log, "w", encoding="utf-8") if args.json_log else None
    try:

        def write_log(record: dict[str, Any]) -> None:
            if log is not None:
                log.write(json.dumps(record, allow_nan=False) + "\n")
                log.flush()

        trainer_box: list[Any] = []
        tty = sys.stderr.isatty()
        state = {"last": 0.0, "val": ""}

        def on_event(event: TrainEvent) -> None:
            rec = {"event": event.kind, "step": event.step, "epoch": event.epoch, "time": round(time.time(), 3)}
            for key in ("loss", "val_loss", "val_acc"):
                value = getattr(event, key)
                if value is not None:
                    rec[key] = value if math.isfinite(value) else None
            if event.message:
                rec["message"] = event.message
            write_log(rec)
            if event.val_acc is not None:
                state["val"] = f"val acc {100 * event.val_acc:.2f} %"
            trainer = trainer_box[0]
            if not tty:  # a log file: one line per epoch, no carriage returns
                if event.kind == "epoch":
                    loss = f", train loss {event.loss:.4f}" if event.loss is not None else ""
                    print(
                        f"epoch {event.epoch}/{config.epochs}: step {event.step:,}/{trainer.total_steps:,}"
                        f"{loss}{', ' + state['val'] if state['val'] else ''}",
                        file=sys.stderr,
                        flush=True,
                    )
                return
            now = time.monotonic()
            if event.kind == "step" and now - state["last"] < 0.1 and event.step < trainer.total_steps:
                return
            state["last"] = now
            loss = f"loss {event.loss:.4f} " if event.loss is not None and event.kind == "step" else ""
            sys.stderr.write(
                _progress_line(
                    event.step,
                    trainer.total_steps,
                    f"epoch {event.epoch}/{config.epochs} {loss}{state['val']}".rstrip(),
                )
            )
            if event.kind == "end":
                sys.stderr.write("\n")
            sys.stderr.flush()

        if config.canvas_copies:
            n = min(len(train_data), config.subset or len(train_data)) * config.canvas_copies
            print(f"drawing {n:,} canvas-style copies of the training digits ...", file=sys.stderr, flush=True)
        engine = NumpyTrainer if config.engine == "numpy" else Trainer
        trainer = engine(spec, config, train_data, val_data, callbacks=[on_event])
        trainer_box.append(trainer)
        write_log(
            {
                "event": "start",
                "arch": trainer.spec.name,
                "engine": args.engine,
                "dataset": args.dataset,
                "train": train_data.source,
                "val": val_data.source,
                "train_images": trainer.n_train,
                "config": config.to_dict(),
                "total_steps": trainer.total_steps,
            }
        )
        result = trainer.run()
        if result.state != "finished":
            write_log({"event": "failed", "state": result.state, "message": result.message})
            raise EngineCliError(f"{result.message} Nothing was saved.")
        metadata = trainer.metadata()
        metadata["command"] = "python -m playground " + shlex.join(sys.argv[1:] if _is_cli() else _argv(args))
        path = _save_or_rescue(out, trainer, metadata)
        size_kb = path.stat().st_size / 1024
        write_log(
            {
                "event": "saved",
                "file": str(path),
                "bytes": path.stat().st_size,
                "val_acc": result.val_acc,
                "elapsed_s": round(result.elapsed_s, 3),
            }
        )
    finally:
        if log is not None:
            log.close()
    val = f"{100 * result.val_acc:.2f} %" if result.val_acc is not None else "n/a"
    print(
        f"trained {trainer.spec.name}{' with the numpy engine' if args.engine == 'numpy' else ''} on "
        f"{trainer.n_train:,} {args.dataset} images: val accuracy {val} "
        f"({len(val_data):,} val images), {result.elapsed_s:.1f} s, {result.images_per_s:,.0f} images/s; "
        f"saved {path} ({size_kb:.0f} KB)"
    )
    return 0


def _is_cli() -> bool:
    return bool(sys.argv) and sys.argv[0].endswith(("__main__.py", "playground"))


def _argv(args: argparse.Namespace) -> list[str]:
    """The train command's settings as argv (when called in-process, e.g. from tests)."""
    words = ["train"]
    for key, value in sorted(vars(args).items()):
        if key in ("func", "command") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    return words


# ---------------------------------------------------------------- evaluate


def run_evaluate(args: argparse.Namespace) -> int:
    """The ``evaluate`` command: 0 after printing the scores, 2 after one error line."""
    return _guard(_evaluate, args)


def _load_model(path: str | Path) -> Any:
    from playground.nn.checkpoints import load_checkpoint

    p = Path(path)
    if not p.exists():
        raise EngineCliError(f"Model file not found: {path}.")
    if p.is_dir():
        raise EngineCliError(f"{path} is a folder, not a model file.")
    return load_checkpoint(p)


def overlap_warnings(metadata: dict[str, Any], dataset: str, indices: Any, split: str) -> list[str]:
    """Sentences saying which of the evaluated images (``indices``) the model was trained or validated on."""
    import numpy as np

    idx = np.asarray(indices, dtype=np.int64)
    out = []
    data = metadata.get("data") if isinstance(metadata, dict) else None
    if not isinstance(data, dict):
        return out
    for role, verb in (("train", "trained"), ("val", "selected (validated)")):
        rec = data.get(role)
        if not isinstance(rec, dict) or rec.get("name") != dataset:
            continue
        seen = np.zeros(len(idx), dtype=bool)
        for pair in rec.get("index_ranges") or []:
            try:
                a, b = int(pair[0]), int(pair[1])
            except (TypeError, ValueError, IndexError):
                continue
            seen |= (idx >= a) & (idx <= b)
        n = int(seen.sum())
        if n:
            out.append(
                f"the model was {verb} on {n:,} of the {len(idx):,} images of the {split} split, "
                f"so this score overstates how it does on new images."
            )
    return out


def _evaluate(args: argparse.Namespace) -> int:
    from playground.data.datasets import ProgressBar, load_dataset
    from playground.nn.trainer import evaluate

    loaded = _load_model(args.model)
    data = load_dataset(
        args.dataset,
        args.data_dir,
        split=args.split,
        progress=ProgressBar("downloading"),
        seed=int((loaded.metadata.get("config") or {}).get("seed", 0) or 0),
    )
    n_out = int(loaded.model(_dummy()).shape[-1])
    if n_out != len(data.classes):
        raise EngineCliError(f"The model has {n_out} outputs but {args.dataset} has {len(data.classes)} classes.")
    for warning in overlap_warnings(loaded.metadata, data.name, data.indices, args.split):
        print(f"warning: {warning}", file=sys.stderr)
    res = evaluate(loaded.model, data)
    per_class = [None if math.isnan(v) else float(v) for v in res.per_class_accuracy]
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.model),
                    "dataset": data.name,
                    "split": args.split,
                    "source": data.source,
                    "synthetic": data.synthetic,
                    "count": len(data),
                    "accuracy": res.accuracy,
                    "loss": res.loss if math.isfinite(res.loss) else None,
                    "classes": list(data.classes),
                    "per_class_accuracy": per_class,
                    "confusion": res.confusion.tolist(),
                }
            )
        )
        return 0
    print(
        f"{data.source}{' (synthetic)' if data.synthetic and 'ynthetic' not in data.source else ''}: "
        f"{len(data):,} images"
    )
    print(f"accuracy {100 * res.accuracy:.2f} % ({int(res.confusion.trace()):,}/{len(data):,}), loss {res.loss:.4f}")
    print("per class:")
    for name, acc, total in zip(data.classes, per_class, res.confusion.sum(1)):
        print(f"  {name:>12}  {'n/a' if acc is None else f'{100 * acc:6.2f} %'}  ({int(total):,} images)")
    k = len(data.classes)
    print("confusion matrix (rows: true class, columns: predicted class):")
    print("      " + "".join(f"{j:>6}" for j in range(k)))
    for i in range(k):
        print(f"{i:>6}" + "".join(f"{int(v):>6}" for v in res.confusion[i]))
    return 0


def _dummy() -> Any:
    import torch

    return torch.zeros(1, 1, 28, 28)


# ---------------------------------------------------------------- predict


def run_predict(args: argparse.Namespace) -> int:
    """The ``predict`` command: 0 after one result per image, 2 after one error line."""
    return _guard(_predict_files, args)


def _predict_files(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from playground.imaging.images import open_image
    from playground.imaging.preprocess import normalise, preprocess_digit

    prepared = []  # read every file first: a bad one stops before any output
    for name in args.images:
        p = Path(name)
        if not p.is_file():
            raise EngineCliError(f"Image file not found: {name}." if not p.exists() else f"{name} is not a file.")
        try:
            img = open_image(p.read_bytes())
        except ValueError as err:
            raise EngineCliError(f"{name}: {err}") from None
        prepared.append((name, preprocess_digit(np.asarray(img))))
    loaded = _load_model(args.model or default_model_path())
    classes = _classes(loaded.metadata)
    for name, pre in prepared:
        if pre.empty:
            if args.json:
                print(json.dumps({"file": name, "label": None, "probabilities": None, "empty": True}))
            else:
                print(f"{name}: empty image (no ink found), nothing to classify")
            continue
        with torch.no_grad():
            logits = loaded.model(torch.from_numpy(normalise(pre.image)))
        probs = torch.softmax(logits.double(), dim=1)[0].numpy()
        label = int(probs.argmax())
        if args.json:
            print(json.dumps({"file": name, "label": label, "probabilities": [round(float(v), 6) for v in probs]}))
        else:
            shown = " ".join(f"{j}:{v:.3f}" for j, v in enumerate(probs))
            cls = f" ({classes[label]})" if classes and classes[label] != str(label) else ""
            print(
                f"{name}: {label}{cls} {100 * probs[label]:.1f} %{' (inverted scan)' if pre.inverted else ''}"
                f"  [{shown}]"
            )
    return 0


def _classes(metadata: dict[str, Any]) -> tuple[str, ...] | None:
    from playground.data.datasets import DATASETS

    name = ((metadata.get("data") or {}).get("train") or {}).get("name") if isinstance(metadata, dict) else None
    return DATASETS[name].classes if name in DATASETS else None
