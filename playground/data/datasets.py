"""Data sets: MNIST, Fashion-MNIST (standard IDX files), CIFAR-10 (its binary batches), synthetic digits and
synthetic colour shapes (numpy only + urllib).

Where files are looked for: ``--data-dir``, then ``$PLAYGROUND_DATA_DIR``, then the user cache
folder (``$XDG_CACHE_HOME/cnn-playground`` or ``~/.cache/cnn-playground``); see
:func:`find_data_dir` for how a data set's own folder is picked inside it.

Splits (fixed for everything the project trains and reports; indices are image numbers):
  train = t10k images 0–6,999, val = 7,000–7,999, trainval = 0–7,999,
  test = 8,000–9,999 (held out: never used for training or model selection), all = 0–9,999.
Only the 10,000-image t10k pair is required. When the 60,000-image training pair is present too
(and ``use_train_file`` is on), train additionally holds all its images, recorded as indices
10,000 + j (TRAIN_FILE_OFFSET) so that one number always names one image; val and test stay
exactly the same t10k images, so their figures stay comparable. Only the t10k pair is downloaded
automatically. ``.gz`` files are checked against the published md5 whenever they are read.
CIFAR-10 keeps its own splits (``playground.data.cifar``: train 0–44,999 and val 45,000–49,999 of the
training batches, test = test_batch.bin); the synthetic sets use the image numbers above.

Grey images are (N, 28, 28) uint8, white on black; colour images (N, 3, H, W) uint8, channels first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from playground.data import cifar
from playground.data.download import DEFAULT_TIMEOUT, ProgressBar, RemoteFile, fetch_files, format_progress, md5sum
from playground.data.idx import DataError, read_idx, write_idx
from playground.data.shapes import CLASSES as SHAPES
from playground.data.shapes import colour_shapes
from playground.data.synthetic import synthetic_digits

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "ProgressBar",
    "SPLITS",
    "SPLIT_ALL",
    "SPLIT_TEST",
    "SPLIT_TRAIN",
    "SPLIT_TRAINVAL",
    "SPLIT_VAL",
    "TRAIN_FILE_OFFSET",
    "dataset_dir",
    "download",
    "find_data_dir",
    "format_progress",
    "load_dataset",
    "read_idx",
    "synthetic_digits",
    "write_idx",
]

ENV_VAR = "PLAYGROUND_DATA_DIR"
APP_DIR = "cnn-playground"
SPLIT_TRAIN, SPLIT_VAL, SPLIT_TRAINVAL, SPLIT_TEST, SPLIT_ALL = "train", "val", "trainval", "test", "all"
SPLITS: dict[str, range] = {  # image numbers in the 10,000-image t10k file
    SPLIT_TRAIN: range(0, 7_000),
    SPLIT_VAL: range(7_000, 8_000),
    SPLIT_TRAINVAL: range(0, 8_000),
    SPLIT_TEST: range(8_000, 10_000),
    SPLIT_ALL: range(0, 10_000),
}
T10K_SIZE = 10_000
TRAIN_FILE_OFFSET = 10_000  # training-file image j is recorded as index 10,000 + j
DIGITS = tuple(str(d) for d in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: standard file names, published md5s, mirrors, class names."""

    name: str
    title: str
    classes: tuple[str, ...]
    test_files: tuple[RemoteFile, RemoteFile] | None = None  # (images, labels): required
    train_files: tuple[RemoteFile, RemoteFile] | None = None  # (images, labels): optional, never downloaded
    mirrors: tuple[str, ...] = ()
    synthetic: bool = False
    kind: str = "idx"  # how it is read: "idx" files, "cifar" batches, or generated: "digits", "shapes", "shortcut"
    input_shape: tuple[int, int, int] = (1, 28, 28)  # (channels, height, width) of one image

    @property
    def colour(self) -> bool:
        return self.input_shape[0] == 3


def _files(prefix: str, images_md5: str, labels_md5: str) -> tuple[RemoteFile, RemoteFile]:
    return (
        RemoteFile(f"{prefix}-images-idx3-ubyte.gz", images_md5),
        RemoteFile(f"{prefix}-labels-idx1-ubyte.gz", labels_md5),
    )


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST",
        DIGITS,
        test_files=_files("t10k", "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
        train_files=_files("train", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432"),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST",
        FASHION,
        test_files=_files("t10k", "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
        train_files=_files("train", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    ),
    "synthetic": DatasetInfo("synthetic", "Synthetic digits", DIGITS, synthetic=True, kind="digits"),
    "cifar10": DatasetInfo(
        "cifar10", "CIFAR-10", cifar.CLASSES, mirrors=cifar.MIRRORS, kind="cifar", input_shape=(3, 32, 32)
    ),
    "shapes": DatasetInfo(
        "shapes", "Colour shapes (synthetic)", SHAPES, synthetic=True, kind="shapes", input_shape=(3, 32, 32)
    ),
    "shapes-shortcut": DatasetInfo(
        "shapes-shortcut",
        "Colour shapes, each class its own colour (synthetic)",
        SHAPES,
        synthetic=True,
        kind="shortcut",
        input_shape=(3, 32, 32),
    ),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and labels of one split, with exactly which images they are and where they came from."""

    name: str
    images: np.ndarray  # (N, 28, 28) uint8 grey, white on black; or (N, 3, H, W) uint8 colour, channels first
    labels: np.ndarray  # (N,) int64 in [0, len(classes))
    indices: np.ndarray  # (N,) int64 image numbers (t10k number, or TRAIN_FILE_OFFSET + training-file number)
    source: str  # human text, e.g. "MNIST t10k images 0–6,999"
    synthetic: bool
    classes: tuple[str, ...]
    split: str = ""

    def __post_init__(self) -> None:
        n, shape = len(self.images), self.images.shape[1:]
        if (
            shape != (28, 28)
            and (len(shape) != 3 or shape[0] != 3)
            or self.labels.shape != (n,)
            or self.indices.shape != (n,)
        ):
            raise DataError(
                f"Inconsistent data set {self.name}: images {self.images.shape}, "
                f"labels {self.labels.shape}, indices {self.indices.shape}."
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image, as a model's input is described."""
        return image_shape(self.images)  # type: ignore[return-value]


def image_shape(images: np.ndarray) -> tuple[int, ...]:
    """(channels, height, width) of one image of a batch: grey (N, H, W) is one channel."""
    shape = tuple(np.shape(images)[1:])
    return (1, *shape) if len(shape) == 2 else shape


def user_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / APP_DIR


def _info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(f"Unknown data set {name!r}; choose one of {', '.join(DATASETS)}.")
    return DATASETS[name]


def _locate(folder: Path, item: RemoteFile) -> Path | None:
    """The file as published (.gz) or uncompressed (name without .gz), whichever exists (.gz first)."""
    for candidate in (folder / item.name, folder / item.name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def dataset_dir(root: str | Path, name: str) -> Path:
    """The folder holding data set ``name`` under a data folder ``root``: root itself when it is
    named like the data set (e.g. .../mnist), else root/name when that exists, else root itself
    when it directly holds the data set's files (and is not another data set's folder), else
    root/name (where downloads go)."""
    root, info = Path(root).expanduser(), _info(name)
    if _plain(root.name) == _plain(name):  # also "Fashion_MNIST", "FashionMNIST", ...
        return root
    if (root / name).is_dir():
        return root / name
    other_set = _plain(root.name) in {_plain(n) for n in DATASETS}
    if info.test_files and not other_set and all(_locate(root, f) for f in info.test_files):
        return root
    return root / name


def _plain(folder_name: str) -> str:
    return folder_name.lower().replace("-", "").replace("_", "")


def find_data_dir(explicit: str | Path | None = None, name: str | None = None) -> Path:
    """The data folder: ``explicit`` (--data-dir), else $PLAYGROUND_DATA_DIR, else the user cache
    folder. With ``name``, the folder of that data set inside it (see :func:`dataset_dir`)."""
    env = os.environ.get(ENV_VAR)
    root = Path(explicit).expanduser() if explicit else Path(env).expanduser() if env else user_cache()
    return root if name is None else dataset_dir(root, name)


def download(
    name: str,
    dest_dir: str | Path,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    base_urls: list[str] | tuple[str, ...] | None = None,
    include_train: bool = False,
) -> list[Path]:
    """Download a data set's t10k pair (and the training pair with ``include_train``) into dest_dir:
    to ``<file>.part``, md5-checked, renamed. Files already there and intact are kept."""
    info = _info(name)
    if info.synthetic:
        return []
    files = list(info.test_files or ()) + (list(info.train_files or ()) if include_train else [])
    return fetch_files(
        files, dest_dir, tuple(base_urls or info.mirrors), title=info.title, progress=progress, timeout=timeout
    )


def _read_pair(
    info: DatasetInfo, folder: Path, pair: tuple[RemoteFile, RemoteFile], expect: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate an (images, labels) IDX pair -> (N, 28, 28) uint8, (N,) int64."""
    arrays = []
    for item in pair:
        path = _locate(folder, item)
        if path is None:
            raise DataError(f"{item.name} is missing from {folder}.")
        if path.suffix == ".gz" and md5sum(path) != item.md5:
            raise DataError(
                f"{path.name} in {folder} does not match the published {info.title} checksum "
                f"(damaged, or another data set's file); delete it and download it again."
            )
        arrays.append(read_idx(path))
    images, labels = arrays
    names = f"{pair[0].name} / {pair[1].name} in {folder}"
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{names}: expected 28×28 uint8 images, found {images.dtype} {images.shape}.")
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{names}: {len(images):,} images but labels of shape {labels.shape}.")
    if len(labels) and int(labels.max()) >= len(info.classes):
        raise DataError(f"{names}: label {int(labels.max())} is not one of the {len(info.classes)} classes.")
    if expect is not None and len(images) != expect:
        raise DataError(f"{names}: expected {expect:,} images, found {len(images):,}.")
    return images, labels.astype(np.int64)


def _span(r: range) -> str:
    return f"{r.start:,}–{r.stop - 1:,}"


@lru_cache(maxsize=4)
def _synthetic_cached(kind: str, seed: int, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == "digits":
        images, labels = synthetic_digits(n, seed, start=start)
    else:
        images, labels = colour_shapes(n, seed, start=start, shortcut=kind == "shortcut")
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def _synthetic_dataset(info: DatasetInfo, split: str, seed: int) -> Dataset:
    r = SPLITS[split]
    images, labels = _synthetic_cached(info.kind, seed, r.start, len(r))
    real = "MNIST" if info.kind == "digits" else "CIFAR-10"
    source = f"{info.title.removesuffix(' (synthetic)')} (generated by CNN Playground, seed {seed}) — not {real}, images {_span(r)}"
    return Dataset(
        info.name,
        images.copy(),
        labels.copy(),
        np.arange(r.start, r.stop, dtype=np.int64),
        source,
        True,
        info.classes,
        split,
    )


def _cifar_dataset(
    info: DatasetInfo,
    root: Path,
    split: str,
    download_ok: bool,
    progress: Callable[[int, int | None], None] | None,
    timeout: float,
) -> Dataset:
    """CIFAR-10's own splits (see ``playground.data.cifar``); trainval is train followed by val."""
    if split == SPLIT_ALL:
        raise DataError(
            "CIFAR-10's test images are kept apart from its training images: choose train, val, trainval or test."
        )
    folder = cifar.locate(root, download_ok=download_ok, progress=progress, timeout=timeout)
    parts = [cifar.load_split(folder, s) for s in ((SPLIT_TRAIN, SPLIT_VAL) if split == SPLIT_TRAINVAL else (split,))]
    return Dataset(
        info.name,
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.indices for p in parts]).astype(np.int64),
        " + ".join(p.source for p in parts),
        False,
        info.classes,
        split,
    )


def held_out_image(
    name: str, number: int, data_dir: str | Path | None = None, seed: int = 0
) -> tuple[np.ndarray, int, str]:
    """Image ``number`` (0-based) of a colour data set's held-out test split, read or generated alone (no
    whole split in memory): (3, H, W) uint8, its label, and one line saying which image it is."""
    info = _info(name)
    if not info.colour:
        raise DataError(f"{info.title} is not a colour data set.")
    if info.kind == "cifar":
        folder = cifar.locate(find_data_dir(data_dir))
        image, label = cifar.read_record(folder / cifar.TEST_FILE, number)
        return image, label, f"CIFAR-10 test image {number + 1:,} of {cifar.record_count(folder / cifar.TEST_FILE):,}"
    r = SPLITS[SPLIT_TEST]
    if not 0 <= number < len(r):
        raise DataError(f"The test split has {len(r):,} images; image {number + 1:,} is not one of them.")
    images, labels = colour_shapes(1, seed, start=r.start + number, shortcut=info.kind == "shortcut")
    return (
        images[0],
        int(labels[0]),
        f"{info.title}: test image {number + 1:,} of {len(r):,} (image {r.start + number:,})",
    )


def held_out_count(name: str, data_dir: str | Path | None = None) -> int:
    """How many images a data set's test split holds (CIFAR-10: as many whole records as its test file has;
    DataError when the files are not there)."""
    if _info(name).kind == "cifar":
        return cifar.record_count(cifar.locate(find_data_dir(data_dir)) / cifar.TEST_FILE)
    return len(SPLITS[SPLIT_TEST])


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    split: str = SPLIT_TRAIN,
    download_ok: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
    subset: int | None = None,
    seed: int = 0,
    use_train_file: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Dataset:
    """Load one split of a data set (see the module docstring for the splits).

    ``data_dir``: --data-dir (None: $PLAYGROUND_DATA_DIR or the user cache). Missing t10k files
    are downloaded when ``download_ok`` (``progress(done, total)`` per file). ``subset``: keep only
    the first ``subset`` images of the split. ``seed``: which synthetic digits (synthetic only).
    Raises DataError with a one-sentence, actionable message.
    """
    info = _info(name)
    if split not in SPLITS:
        raise DataError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    if info.synthetic:
        data = _synthetic_dataset(info, split, seed)
    elif info.kind == "cifar":
        data = _cifar_dataset(info, find_data_dir(data_dir), split, download_ok, progress, timeout)
    elif info.test_files is not None:
        folder = find_data_dir(data_dir, name)
        missing = [f.name for f in info.test_files if _locate(folder, f) is None]
        if missing and not download_ok:
            raise DataError(
                f"{info.title} files not found: put {' and '.join(f.name for f in info.test_files)} "
                f"in {folder} (from {info.mirrors[0]}), or allow downloading."
            )
        if missing:
            download(name, folder, progress=progress, timeout=timeout)
        images, labels = _read_pair(info, folder, info.test_files, T10K_SIZE)
        r = SPLITS[split]
        images, labels = images[r.start : r.stop].copy(), labels[r.start : r.stop].copy()
        idx = np.arange(r.start, r.stop, dtype=np.int64)
        source = f"{info.title} t10k images {_span(r)}"
        if (
            use_train_file
            and split in (SPLIT_TRAIN, SPLIT_TRAINVAL)
            and info.train_files
            and all(_locate(folder, f) for f in info.train_files)
        ):
            train_images, train_labels = _read_pair(info, folder, info.train_files, None)
            n = len(train_images)
            images = np.concatenate([train_images, images])
            labels = np.concatenate([train_labels, labels])
            idx = np.concatenate([np.arange(n, dtype=np.int64) + TRAIN_FILE_OFFSET, idx])
            source = (
                f"{info.title} training file images 0–{n - 1:,} (indices {TRAIN_FILE_OFFSET:,}–"
                f"{TRAIN_FILE_OFFSET + n - 1:,}) + t10k images {_span(r)}"
            )
        data = Dataset(info.name, images, labels, idx, source, False, info.classes, split)
    if subset is not None:
        if not 1 <= subset <= len(data):
            raise DataError(f"subset must be between 1 and {len(data):,} (the size of the {split} split).")
        data = Dataset(
            data.name,
            data.images[:subset].copy(),
            data.labels[:subset].copy(),
            data.indices[:subset].copy(),
            f"{data.source}, first {subset:,}",
            data.synthetic,
            data.classes,
            split,
        )
    return data
