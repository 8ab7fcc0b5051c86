"""The IDX file format of MNIST and Fashion-MNIST (numpy only), plus the data-file error type.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order. The files are usually
gzip-compressed (``.gz``); both forms are read. A damaged file raises :class:`DataError` with a
sentence naming the file, never a numpy or gzip traceback.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from playground.errors import PlaygroundError

# IDX type code -> numpy dtype (big-endian, as the format stores it)
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_IDX_BYTES = 1 << 30  # refuse headers that announce more than 1 GiB of data
GZIP_MAGIC = b"\x1f\x8b"


class DataError(PlaygroundError):
    """A data set that cannot be found, downloaded or read; the message says what to do, in one sentence."""


def _open(path: Path):
    """Binary stream of the file's contents, transparently un-gzipped (detected by magic bytes)."""
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == GZIP_MAGIC else open(path, "rb")


def _read_exact(stream, n: int) -> bytes:
    """Read up to n bytes (a short result means the file ended early)."""
    chunks, left = [], n
    while left > 0:
        chunk = stream.read(min(left, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) -> array of its shape, e.g. images (N, 28, 28) uint8, labels (N,).

    Validates the magic number, the dimensions and the exact length; raises DataError otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file {path} does not exist.")
    try:
        with _open(path) as stream:
            header = _read_exact(stream, 4)
            if len(header) < 4 or header[0] != 0 or header[1] != 0 or header[2] not in IDX_TYPES:
                raise DataError(
                    f"{path.name} in {path.parent} is not an IDX data file (bad magic number); "
                    "delete it and download it again."
                )
            dtype, ndim = IDX_TYPES[header[2]], header[3]
            if not 1 <= ndim <= 4:
                raise DataError(f"{path.name} in {path.parent} declares {ndim} dimensions; an IDX data set has 1 to 4.")
            raw_dims = _read_exact(stream, 4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise DataError(f"{path.name} in {path.parent} is truncated inside its header.")
            dims = struct.unpack(f">{ndim}I", raw_dims)
            n_bytes = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
            if n_bytes > MAX_IDX_BYTES or 0 in dims:
                raise DataError(f"{path.name} in {path.parent} declares an implausible shape {dims}.")
            body = _read_exact(stream, n_bytes)
            extra = stream.read(1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(
            f"{path.name} in {path.parent} cannot be read ({exc}); delete it and download it again."
        ) from None
    if len(body) < n_bytes:
        raise DataError(
            f"{path.name} in {path.parent} is truncated: {len(body):,} of {n_bytes:,} data bytes; "
            "delete it and download it again."
        )
    if extra:
        raise DataError(
            f"{path.name} in {path.parent} is longer than its header says; delete it and download it again."
        )
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write an array as IDX (gzip when the name ends in .gz, or when compress=True). Used by tests
    and by anyone preparing their own data in MNIST's format."""
    path = Path(path)
    a = np.asarray(array)
    codes = {v.newbyteorder("="): k for k, v in IDX_TYPES.items()}
    native = a.dtype.newbyteorder("=")
    if native not in codes or not 1 <= a.ndim <= 4:
        raise DataError(f"Cannot store an array of type {a.dtype} with {a.ndim} dimensions as IDX.")
    head = bytes([0, 0, codes[native], a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    data = head + np.ascontiguousarray(a, dtype=IDX_TYPES[codes[native]]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
