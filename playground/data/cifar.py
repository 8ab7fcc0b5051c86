"""CIFAR-10 from its binary distribution (``cifar-10-binary.tar.gz``), never the pickled Python version.

Each of ``data_batch_1.bin`` … ``data_batch_5.bin`` and ``test_batch.bin`` is a run of 3,073-byte records: one
label byte (0–9), then 3,072 pixel bytes, the red 32×32 plane first, then green, then blue (channels first, rows
top to bottom). The archive is looked for like MNIST's files (--data-dir, $PLAYGROUND_DATA_DIR, the user cache),
downloaded to ``<archive>.part`` with progress, checked against the published md5, and unpacked member by member
without trusting its paths: only regular files and folders, and none may land outside the target folder.

Splits, fixed like MNIST's: train = training images 0–44,999, val = 45,000–49,999 (for choosing between runs),
test = ``test_batch.bin``, the 10,000 held-out images, never used for training or selection.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from playground.data.download import DEFAULT_TIMEOUT, Progress, RemoteFile, fetch_files
from playground.data.idx import DataError

ARCHIVE = RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
FOLDER = "cifar-10-batches-bin"  # what the archive unpacks to
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SIDE, CHANNELS = 32, 3
RECORD = 1 + CHANNELS * SIDE * SIDE  # 3,073 bytes
TRAIN_END = 45_000  # training images 0..44,999; 45,000..49,999 are the validation split
MAX_MEMBER_BYTES = 200_000_000  # a batch file is 30.7 MB


@dataclass(frozen=True)
class ColourSplit:
    """One split of CIFAR-10: images (N, 3, 32, 32) uint8 channels first, labels (N,) int64, which images."""

    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray  # image numbers: 0..49,999 in the training files, 0..9,999 in test_batch.bin
    source: str
    classes: tuple[str, ...] = CLASSES


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch file -> images (N, 3, 32, 32) uint8 and labels (N,) int64; DataError (one sentence)
    for a file that is not whole records or holds a label outside 0–9."""
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err.strerror or err}.") from None
    if raw.size == 0 or raw.size % RECORD:
        raise DataError(
            f"{path.name} is {raw.size:,} bytes, not a whole number of {RECORD:,}-byte CIFAR-10 records "
            f"(cut short?): delete it and unpack {ARCHIVE.name} again."
        )
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CLASSES):
        bad = int(np.flatnonzero(labels >= len(CLASSES))[0])
        raise DataError(f"{path.name}: record {bad:,} has label {labels[bad]}, not one of 0–9; the file is damaged.")
    return records[:, 1:].reshape(-1, CHANNELS, SIDE, SIDE), labels


def record_count(path: str | Path) -> int:
    """How many whole records a batch file holds; DataError when it cannot be read or is cut short."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err.strerror or err}.") from None
    if size == 0 or size % RECORD:
        raise DataError(
            f"{path.name} is {size:,} bytes, not a whole number of {RECORD:,}-byte CIFAR-10 records "
            f"(cut short?): delete it and unpack {ARCHIVE.name} again."
        )
    return size // RECORD


def read_record(path: str | Path, number: int) -> tuple[np.ndarray, int]:
    """Record ``number`` (0-based) of a batch file alone: image (3, 32, 32) uint8 and its label."""
    path = Path(path)
    count = record_count(path)
    if not 0 <= number < count:
        raise DataError(f"{path.name} holds {count:,} images; image {number + 1:,} is not one of them.")
    try:
        raw = np.fromfile(path, dtype=np.uint8, count=RECORD, offset=number * RECORD)
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err.strerror or err}.") from None
    if raw[0] >= len(CLASSES):
        raise DataError(f"{path.name}: record {number:,} has label {raw[0]}, not one of 0–9; the file is damaged.")
    return raw[1:].reshape(CHANNELS, SIDE, SIDE), int(raw[0])


def batches_folder(root: str | Path) -> Path | None:
    """The folder holding all six batch files: ``root`` itself, or ``root/cifar-10-batches-bin``, or
    ``root/cifar10/cifar-10-batches-bin``; None when the files are not there."""
    root = Path(root).expanduser()
    for folder in (root, root / FOLDER, root / "cifar10" / FOLDER):
        if all((folder / name).is_file() for name in (*TRAIN_FILES, TEST_FILE)):
            return folder
    return None


def unpack(archive: str | Path, dest: str | Path) -> Path:
    """Unpack the archive's batch files into ``dest``/cifar-10-batches-bin without trusting it: a member
    with an absolute path, a ``..`` part, a link, a device, or one too large is refused (DataError) and
    nothing is left behind; the files land in a temporary folder first and are moved in at the end."""
    dest = Path(dest)
    archive = Path(archive)
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".cifar-unpack-", dir=dest))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar:
                    _check_member(member, archive.name)
                    if member.isdir():
                        continue
                    target = (work / member.name).resolve()
                    if work.resolve() not in target.parents:
                        raise DataError(f"{archive.name} holds {member.name!r}, which would land outside {dest}.")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as src, open(target, "wb") as out:  # type: ignore[union-attr]
                        shutil.copyfileobj(src, out)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise DataError(f"{archive.name} cannot be unpacked ({err}): delete it and download it again.") from None
        found = batches_folder(work)
        if found is None:
            raise DataError(f"{archive.name} does not hold the six CIFAR-10 batch files ({FOLDER}/data_batch_1.bin …).")
        final = dest / FOLDER
        try:
            if final.is_symlink() or final.is_file():
                final.unlink()
            elif final.exists():
                shutil.rmtree(final)
            found.rename(final)
        except OSError as err:
            raise DataError(f"Cannot put the unpacked files in {final}: {err.strerror or err}.") from None
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_member(member: tarfile.TarInfo, archive: str) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or member.name.startswith(("/", "\\")):
        raise DataError(f"{archive} holds {member.name!r}, which would land outside the data folder; it is refused.")
    if not (member.isfile() or member.isdir()):
        raise DataError(f"{archive} holds {member.name!r}, a link or device, not a data file; it is refused.")
    if member.size > MAX_MEMBER_BYTES:
        raise DataError(f"{archive} holds {member.name!r} of {member.size:,} bytes, far more than a batch file.")


def fetch(
    dest: str | Path,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    base_urls: tuple[str, ...] | list[str] = MIRRORS,
    archive: RemoteFile = ARCHIVE,
) -> Path:
    """Download the archive into ``dest`` (``.part``, md5-checked, renamed), unpack it; the batches' folder."""
    (path,) = fetch_files([archive], dest, base_urls, title="CIFAR-10", progress=progress, timeout=timeout)
    folder = unpack(path, dest)
    path.unlink()  # the unpacked files are what is read; 170 MB less on disk
    return folder


def locate(root: str | Path, *, download_ok: bool = False, **fetch_options) -> Path:
    """The batches' folder under data folder ``root``, downloaded when missing and ``download_ok``; else
    DataError naming the folder and the files to put there."""
    root = Path(root).expanduser()
    found = batches_folder(root)
    if found is not None:
        return found
    archive = root / ARCHIVE.name
    if archive.is_file():
        return unpack(archive, root)
    if not download_ok:
        raise DataError(
            f"CIFAR-10 is not in {root}: put {ARCHIVE.name} there (from {MIRRORS[0]}), or its unpacked folder "
            f"{FOLDER} with {', '.join(TRAIN_FILES)} and {TEST_FILE}."
        )
    return fetch(root, **fetch_options)


def load_split(folder: str | Path, split: str) -> ColourSplit:
    """``split`` ("train", "val" or "test") of the batch files in ``folder``."""
    folder = Path(folder)
    if split == "test":
        images, labels = read_batch(folder / TEST_FILE)
        return ColourSplit(
            images, labels, np.arange(len(labels)), f"CIFAR-10 test_batch.bin images 0–{len(labels) - 1:,}"
        )
    if split not in ("train", "val"):
        raise DataError(f"Unknown split {split!r}; choose one of train, val, test.")
    parts = [read_batch(folder / name) for name in TRAIN_FILES]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    end = min(TRAIN_END, len(labels) * 9 // 10)  # small test files keep the same nine-to-one shape
    span = range(0, end) if split == "train" else range(end, len(labels))
    return ColourSplit(
        images[span.start : span.stop],
        labels[span.start : span.stop],
        np.arange(span.start, span.stop),
        f"CIFAR-10 training images {span.start:,}–{span.stop - 1:,}",
    )
