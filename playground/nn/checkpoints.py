"""Saving and loading trained models safely: one safetensors file per model, never a pickle.

The weights are the state dict of `build(spec)`; the architecture spec, training config, data used and
metrics travel in the safetensors metadata header (JSON strings), so one file is the whole model. Writes
are atomic (temp file in the same folder, fsync, read back and verify, os.replace): a failed save leaves
the previous file untouched. Loading checks everything before building anything and never runs code
from the file; every problem is a `CheckpointError` whose message is one sentence for the user.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save
from torch import nn

from playground.errors import PlaygroundError
from playground.nn.architecture import ModelSpec, SpecError
from playground.nn.model import build
from playground.untrusted import load_json

FORMAT = "cnn-playground/1"
MAX_BYTES = 512 * 1024 * 1024  # larger than any model the spec limits allow
MAX_HEADER_BYTES = 1_000_000  # the JSON header: tensor offsets, architecture and metadata (a few KB here)


class CheckpointError(PlaygroundError):
    """A model file that cannot be saved or loaded; str(e) is one sentence for the user."""


def trained_classes(metadata: Any) -> tuple[str, ...] | None:
    """The class names of the data set a checkpoint's metadata says it was trained on; None when it does not
    say (or names no data set known here)."""
    from playground.data.datasets import DATASETS

    data = metadata.get("data") if isinstance(metadata, dict) else None
    train = data.get("train") if isinstance(data, dict) else None
    name = train.get("name") if isinstance(train, dict) else None
    return DATASETS[name].classes if isinstance(name, str) and name in DATASETS else None


@dataclass(frozen=True)
class LoadedModel:
    """A validated model from a file: the module is in eval mode and matches `spec` exactly."""

    model: nn.Module
    spec: ModelSpec
    metadata: dict[str, Any]  # what was saved: "config", "data", "metrics", ... (may be empty)
    created: str  # ISO 8601 time of saving (UTC)


def checkpoint_bytes(model: nn.Module, spec: ModelSpec, metadata: dict[str, Any] | None = None) -> bytes:
    """The complete safetensors file for `model` as bytes (what save_checkpoint writes; for downloads)."""
    try:
        expected = build(spec).state_dict()
    except SpecError as err:
        raise CheckpointError(f"Cannot save a model with an invalid architecture: {err}") from None
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    if set(state) != set(expected) or any(state[k].shape != expected[k].shape for k in expected):
        raise CheckpointError("The model's weights do not match the architecture given to save them with.")
    bad = next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if bad is not None:
        raise CheckpointError(f"The model has NaN or infinite weights in {bad!r}, so it was not saved.")
    try:
        extra = json.dumps(metadata or {}, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"The model's metadata cannot be stored as JSON ({err}).") from None
    header = {
        "format": FORMAT,
        "spec": spec.to_json(),
        "metadata": extra,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return _st_save(state, metadata=header)


def check_writable(path: str | Path) -> None:
    """CheckpointError unless a model can be written at ``path``: the folder exists, is a folder, and a
    file can be created in it (tried with a temporary file, removed at once). Call before long work."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give a file name such as model.safetensors.")
    if not folder.exists():
        raise CheckpointError(f"The folder {folder} does not exist; create it or choose another place for the model.")
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is a file, not a folder; choose another place for the model.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=folder)
    except OSError as err:
        raise CheckpointError(
            f"A model cannot be written in {folder} ({err.strerror or err}); choose another place for it."
        ) from None
    os.close(fd)
    os.unlink(tmp)


def save_checkpoint(
    path: str | Path, model: nn.Module, spec: ModelSpec, metadata: dict[str, Any] | None = None
) -> Path:
    """Write the model atomically to `path` (.safetensors); on any failure the old file stays as it was."""
    path = Path(path)
    data = checkpoint_bytes(model, spec, metadata)
    folder = path.parent if str(path.parent) else Path(".")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with open(tmp, "rb") as fh:
            same = fh.read() == data
        try:
            if not same:
                raise CheckpointError("it read back differently")
            load_checkpoint(tmp)  # the file on disk must load as a model
        except CheckpointError as err:
            raise CheckpointError(
                f"The model written to {folder} did not load back correctly "
                f"({str(err).rstrip('.')}); {path.name} was left as it was."
            ) from None
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
    except OSError as err:
        raise CheckpointError(
            f"Could not save the model in {folder} ({err.strerror or err}); {path.name} was left as it was."
        ) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "The uploaded file"
    path = Path(source)
    what = f"The file {path.name}"
    try:
        if not path.is_file():
            raise CheckpointError(f"There is no model file at {path}.")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CheckpointError(f"{what} is {size / 2**20:.0f} MB, larger than any model this playground makes.")
        return path.read_bytes(), what
    except OSError as err:
        raise CheckpointError(f"{what} could not be read ({err.strerror or err}).") from None


def _lower(what: str) -> str:
    """ "The uploaded file" -> "the uploaded file", for use inside a sentence."""
    return what[:1].lower() + what[1:]


def _looks_like_pickle(data: bytes) -> bool:
    """torch.save's zip archive, or a raw pickle (PROTO 2-5 then an opcode; 4 and 5 open with FRAME).

    A safetensors file opens with its header length (little-endian u64): it may start with 0x80 too,
    but its third byte is 0 for any header under 64 KB, and a valid header is parsed before this is asked.
    """
    if data.startswith(b"PK\x03\x04"):
        return True
    if len(data) < 3 or data[0] != 0x80 or data[1] not in (2, 3, 4, 5) or data[2] == 0:
        return False
    return data[1] < 4 or data[2] == 0x95


def _header(data: bytes, what: str) -> dict[str, Any]:
    """The safetensors JSON header, parsed by hand so every malformed file gets a clear sentence."""
    if not data:
        raise CheckpointError(f"{what} is empty.")
    header = None
    if len(data) >= 8:
        (n,) = struct.unpack("<Q", data[:8])
        if 2 <= n <= len(data) - 8 and n > MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{what} has a {n:,}-byte header; a CNN Playground model's is a few KB (at most "
                f"{MAX_HEADER_BYTES:,} accepted)."
            )
        if 2 <= n <= len(data) - 8:
            try:
                header = load_json(
                    data[8 : 8 + n], f"header of {_lower(what)}", max_chars=MAX_HEADER_BYTES, error=CheckpointError
                )
            except CheckpointError:
                if data[8:9] == b"{":  # it looks like safetensors: say what is wrong with its header
                    raise
                header = None
    if isinstance(header, dict):
        return header
    if _looks_like_pickle(data):
        raise CheckpointError(
            f"{what} is a Python pickle (torch.save) file, which can run code when opened, so it "
            "was refused; use a .safetensors model saved by this playground."
        )
    raise CheckpointError(f"{what} is not a safetensors model file, or it is truncated.")


_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def _check_entries(header: dict[str, Any], expected: dict[str, torch.Tensor], what: str) -> None:
    """Every tensor the header declares has the name, shape and dtype the architecture expects."""
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    missing, unexpected = sorted(set(expected) - set(entries)), sorted(set(entries) - set(expected))
    if missing or unexpected:
        name = missing[0] if missing else unexpected[0]
        kind = "lacks the weights" if missing else "has weights"
        raise CheckpointError(
            f"{what} does not match its architecture: it {kind} {name!r} that the "
            f"architecture {'needs' if missing else 'does not have'}."
        )
    for name, want in expected.items():
        entry = entries[name] if isinstance(entries[name], dict) else {}
        shape, dtype = entry.get("shape"), _DTYPES.get(entry.get("dtype"))
        if not isinstance(shape, list) or tuple(shape) != tuple(want.shape) or dtype != want.dtype:
            got = f"{dtype or entry.get('dtype')} {tuple(shape) if isinstance(shape, list) else shape}"
            raise CheckpointError(
                f"{what} does not match its architecture: {name!r} is {got} but the architecture needs "
                f"{want.dtype} {tuple(want.shape)}."
            )


def load_checkpoint(source: str | Path | bytes) -> LoadedModel:
    """Validate and load a model from a path or the bytes of an upload; CheckpointError when anything is off.

    Checks, in order: readable and non-empty; not a pickle; a well-formed safetensors header and body;
    a CNN Playground architecture in the metadata; every tensor name, shape and dtype as build(spec)
    expects; all values finite. Nothing in the file is executed.
    """
    data, what = _read(source)
    header = _header(data, what)
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or "spec" not in meta:
        raise CheckpointError(
            f"{what} is a safetensors file but not a CNN Playground model (no architecture in its metadata)."
        )
    odd = next((k for k, v in meta.items() if not isinstance(v, str)), None)
    if odd is not None:  # safetensors metadata maps text to text
        raise CheckpointError(f"{what} has damaged metadata: the value of {odd!r} is not text.")
    try:
        spec = ModelSpec.from_json(meta["spec"])  # checks the layer, parameter and MAC limits too
        with torch.device("meta"):  # names, shapes and dtypes only: nothing is allocated yet
            expected = build(spec).state_dict()
    except SpecError as err:
        raise CheckpointError(f"{what} holds an architecture that cannot be built: {err}") from None
    extra = load_json(meta.get("metadata", "{}"), f"metadata of {_lower(what)}", error=CheckpointError)
    _check_entries(header, expected, what)  # as the header declares them, before any tensor is read
    try:
        tensors = _st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{what} is damaged or truncated ({str(err).splitlines()[0][:120]}).") from None
    for name, got in tensors.items():
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{what} contains NaN or infinite weights in {name!r}; it cannot be used.")
    model = build(spec)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return LoadedModel(model, spec, extra if isinstance(extra, dict) else {}, str(meta.get("created", "")))
