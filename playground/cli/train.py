"""``python -m playground train``: train a CNN (PyTorch, or the numpy engine) and save the checkpoint, with
a progress bar on a terminal, one line per epoch in a log, and ``--json-log`` events.

torch and the engine modules are imported inside the command, so building the parser never loads torch.
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

from playground.cli.common import EngineCliError, guard


def run_train(args: argparse.Namespace) -> int:
    """The ``train`` command: 0 after saving the checkpoint, 2 after one error line."""
    return guard(_train, args)


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


def _load_spec(arch: str) -> Any:
    """A preset name or a SPEC.json path -> ModelSpec (SpecError / EngineCliError otherwise)."""
    from playground.nn.architecture import ModelSpec
    from playground.nn.presets import PRESETS, get_preset

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
