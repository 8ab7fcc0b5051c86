"""Data layer: real MNIST splits, IDX files, data folders, the downloader (against a local server), synthetic digits."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import io
import socket
import threading
import time

import numpy as np
import pytest

from playground.data import datasets as data
from playground.data import synthetic
from playground.data.datasets import (
    DATASETS,
    SPLIT_ALL,
    SPLIT_TEST,
    SPLIT_TRAIN,
    SPLIT_TRAINVAL,
    SPLIT_VAL,
    SPLITS,
    TRAIN_FILE_OFFSET,
    DataError,
    dataset_dir,
    find_data_dir,
    load_dataset,
)
from playground.data.download import ProgressBar, RemoteFile, fetch_files, format_progress, md5sum
from playground.data.idx import read_idx, write_idx
from playground.imaging.preprocess import centre_of_mass

T10K = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


# ---------------------------------------------------------------- real MNIST (CI has the files)


def test_read_real_mnist_idx_files(mnist_path):
    images = read_idx(mnist_path / T10K[0])
    labels = read_idx(mnist_path / T10K[1])
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test digits
    assert images.max() == 255 and images[0, :4].sum() == 0  # white digits, black border
    for item in DATASETS["mnist"].test_files:  # registry md5s are the published ones
        assert md5sum(mnist_path / item.name) == item.md5


def test_splits_are_exact_disjoint_index_ranges(mnist_path):
    sets = {s: load_dataset("mnist", mnist_path, split=s, download_ok=False) for s in SPLITS}
    assert sets[SPLIT_TRAIN].indices.tolist() == list(range(0, 7_000))
    assert sets[SPLIT_VAL].indices.tolist() == list(range(7_000, 8_000))
    assert sets[SPLIT_TRAINVAL].indices.tolist() == list(range(0, 8_000))
    assert sets[SPLIT_TEST].indices.tolist() == list(range(8_000, 10_000))
    assert sets[SPLIT_ALL].indices.tolist() == list(range(10_000))
    train, val, test = (set(sets[s].indices.tolist()) for s in (SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST))
    assert not train & val and not train & test and not val & test
    everything = read_idx(mnist_path / T10K[0])
    labels = read_idx(mnist_path / T10K[1])
    for ds in sets.values():
        assert np.array_equal(ds.images, everything[ds.indices])  # images are those images
        assert np.array_equal(ds.labels, labels[ds.indices])
        assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64 and ds.indices.dtype == np.int64
        assert ds.classes == tuple("0123456789") and not ds.synthetic and ds.name == "mnist"
    assert sets[SPLIT_TEST].source == "MNIST t10k images 8,000–9,999"
    assert sets[SPLIT_TRAIN].source == "MNIST t10k images 0–6,999"


def test_label_distribution_is_sane(mnist_path):
    for split in (SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST):
        ds = load_dataset("mnist", mnist_path, split=split, download_ok=False)
        share = np.bincount(ds.labels, minlength=10) / len(ds)
        assert share.min() > 0.07 and share.max() < 0.14, (split, share)


def test_subset_takes_the_first_images(mnist_path):
    ds = load_dataset("mnist", mnist_path, split=SPLIT_VAL, subset=100, download_ok=False)
    assert ds.indices.tolist() == list(range(7_000, 7_100)) and len(ds) == 100
    assert ds.source.endswith("first 100")
    with pytest.raises(DataError, match="subset"):
        load_dataset("mnist", mnist_path, split=SPLIT_VAL, subset=5_000, download_ok=False)


def test_environment_variable_names_the_data_folder(mnist_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(mnist_path))
    ds = load_dataset("mnist", split=SPLIT_TEST, download_ok=False)
    assert ds.indices[0] == 8_000 and len(ds) == 2_000


def test_training_file_adds_images_and_keeps_val_and_test(mnist_path, tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in T10K:
        (folder / name).symlink_to(mnist_path / name)
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", (np.arange(50) % 10).astype(np.uint8))
    info = DATASETS["mnist"]
    fake = tuple(RemoteFile(f.name, md5sum(folder / f.name)) for f in info.train_files)
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(info, train_files=fake))
    train = load_dataset("mnist", tmp_path, split=SPLIT_TRAIN, download_ok=False)
    assert len(train) == 50 + 7_000
    assert train.indices[:50].tolist() == list(range(TRAIN_FILE_OFFSET, TRAIN_FILE_OFFSET + 50))
    assert train.indices[50:].tolist() == list(range(7_000))
    assert "training file" in train.source
    val = load_dataset("mnist", tmp_path, split=SPLIT_VAL, download_ok=False)
    test = load_dataset("mnist", tmp_path, split=SPLIT_TEST, download_ok=False)
    assert val.indices.tolist() == list(range(7_000, 8_000)) and test.indices.tolist() == list(range(8_000, 10_000))
    only_t10k = load_dataset("mnist", tmp_path, split=SPLIT_TRAIN, download_ok=False, use_train_file=False)
    assert len(only_t10k) == 7_000


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip_gz_and_raw(tmp_path, compress):
    a = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / ("x.gz" if compress else "x"), a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    assert np.array_equal(read_idx(path), a)
    f = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "f", f)), f)


def idx_bytes(a: np.ndarray) -> bytes:
    return bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape) + a.tobytes()


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "bad magic"),
        (b"PK\x03\x04 not idx at all", "bad magic"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated inside its header"),
        (idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-100], "truncated"),
        (idx_bytes(np.zeros((4, 28, 28), np.uint8)) + b"\x00", "longer than its header"),
        (bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") * 3, "implausible"),
        (gzip.compress(idx_bytes(np.zeros((4, 28, 28), np.uint8)))[:-30], "cannot be read"),
        (b"\x1f\x8b" + b"garbage" * 10, "cannot be read"),
    ],
)
def test_damaged_idx_files_raise_a_clear_error(tmp_path, content, words):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert words in str(info.value) and path.name in str(info.value)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "nope.gz")


# ---------------------------------------------------------------- data folders


def test_find_data_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert find_data_dir(tmp_path / "cli") == tmp_path / "cli"
    assert find_data_dir() == tmp_path / "env"
    monkeypatch.delenv("PLAYGROUND_DATA_DIR")
    assert find_data_dir() == tmp_path / "cache" / "cnn-playground"
    assert find_data_dir(name="mnist") == tmp_path / "cache" / "cnn-playground" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_data_dir(name="fashion-mnist") == tmp_path / "home" / ".cache" / "cnn-playground" / "fashion-mnist"


def test_dataset_dir_rules(tmp_path):
    named = tmp_path / "mnist"
    assert dataset_dir(named, "mnist") == named  # .../mnist is the MNIST folder
    assert dataset_dir(named, "fashion-mnist") == named / "fashion-mnist"  # never MNIST files as Fashion
    assert dataset_dir(tmp_path / "FashionMNIST", "fashion-mnist") == tmp_path / "FashionMNIST"
    assert dataset_dir(tmp_path, "mnist") == tmp_path / "mnist"  # a root with one folder per set
    flat = tmp_path / "downloads"
    flat.mkdir()
    for name in T10K:
        (flat / name.removesuffix(".gz")).write_bytes(b"")  # raw files directly inside
    assert dataset_dir(flat, "mnist") == flat


def test_missing_files_without_download_name_folder_and_files(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", tmp_path, download_ok=False)
    message = str(info.value)
    assert str(tmp_path / "fashion-mnist") in message and all(name in message for name in T10K)
    assert not (tmp_path / "fashion-mnist").exists()


def test_wrong_checksum_file_is_refused(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / T10K[0], np.zeros((10_000, 28, 28), np.uint8))
    write_idx(folder / T10K[1], np.zeros(10_000, np.uint8))
    with pytest.raises(DataError, match="published MNIST checksum"):
        load_dataset("mnist", tmp_path, download_ok=False)


def test_raw_files_are_validated(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10_000, 28, 28), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.full(10_000, 12, np.uint8))
    with pytest.raises(DataError, match="label 12"):
        load_dataset("fashion-mnist", tmp_path, download_ok=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(9_000, np.uint8))
    with pytest.raises(DataError, match="labels of shape"):
        load_dataset("fashion-mnist", tmp_path, download_ok=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", (np.arange(10_000) % 10).astype(np.uint8))
    ds = load_dataset("fashion-mnist", tmp_path, split=SPLIT_TEST, download_ok=False)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot" and len(ds.classes) == 10
    assert ds.source == "Fashion-MNIST t10k images 8,000–9,999"


def test_unknown_names_are_refused():
    with pytest.raises(DataError, match="Unknown data set"):
        load_dataset("cifar100")
    with pytest.raises(DataError, match="Unknown split"):
        load_dataset("synthetic", split="holdout")


# ---------------------------------------------------------------- the downloader, against 127.0.0.1


class Server:
    """A local HTTP server; ``routes[path] = (status, body, headers)`` says what each path answers."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                status, body, headers = server.routes.get(self.path, (404, b"not found", {}))
                self.send_response(status)
                headers = {"Content-Length": str(len(body)), **headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def serve(self, name: str, body: bytes, status: int = 200, **headers: str) -> None:
        self.routes[f"/files/{name}"] = (status, body, headers)


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@functools.lru_cache(maxsize=1)
def crafted_bodies() -> dict[str, bytes]:
    """Small (compressible) but valid 10,000-image t10k gzip files: {name: bytes}."""
    images = np.zeros((10_000, 28, 28), np.uint8)
    images[:, 10:18, 12:16] = (np.arange(10_000) % 200 + 50).astype(np.uint8)[:, None, None]
    labels = (np.arange(10_000) % 10).astype(np.uint8)
    return {T10K[0]: gzip.compress(idx_bytes(images), mtime=0), T10K[1]: gzip.compress(idx_bytes(labels), mtime=0)}


@pytest.fixture()
def crafted(monkeypatch):
    """The crafted t10k files, registered as "mnist" with their md5s: {name: bytes}."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # talk to 127.0.0.1 directly
    bodies = crafted_bodies()
    files = tuple(RemoteFile(name, hashlib.md5(bodies[name]).hexdigest()) for name in T10K)
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], test_files=files))
    return bodies


def folder_is_clean(folder) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def test_download_success_renames_and_reports_progress(server, crafted, tmp_path):
    for name, body in crafted.items():
        server.serve(name, body)
    calls: list[tuple[int, int | None]] = []
    paths = data.download(
        "mnist", tmp_path / "mnist", base_urls=[server.url], progress=lambda done, total: calls.append((done, total))
    )
    assert [p.name for p in paths] == list(T10K)
    assert all(p.read_bytes() == crafted[p.name] for p in paths)
    assert not list((tmp_path / "mnist").glob("*.part"))
    assert calls[0] == (0, len(crafted[T10K[0]])) and (len(crafted[T10K[1]]), len(crafted[T10K[1]])) in calls
    done = [d for d, t in calls if t == len(crafted[T10K[0]])]
    assert done == sorted(done) and done[-1] == len(crafted[T10K[0]])
    hits = len(server.hits)
    data.download("mnist", tmp_path / "mnist", base_urls=[server.url])  # intact files are kept
    assert len(server.hits) == hits


def test_load_dataset_downloads_missing_files(server, crafted, tmp_path, monkeypatch):
    for name, body in crafted.items():
        server.serve(name, body)
    info = DATASETS["mnist"]
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(info, mirrors=(server.url,)))
    ds = load_dataset("mnist", tmp_path, split=SPLIT_TEST)
    assert len(ds) == 2_000 and ds.labels[:3].tolist() == [0, 1, 2] and (tmp_path / "mnist" / T10K[0]).is_file()


def test_second_mirror_is_tried(server, crafted, tmp_path):
    for name, body in crafted.items():
        server.serve(name, body)
    paths = data.download("mnist", tmp_path, base_urls=[server.url.replace("/files/", "/gone/"), server.url])
    assert len(paths) == 2 and "/gone/" + T10K[0] in server.hits


def test_offline_mirrors_are_looked_up_together_within_one_timeout(crafted, tmp_path, monkeypatch):
    """Offline, a DNS lookup hangs for the whole timeout; two mirrors looked up in turn made `evaluate` wait
    21 s. Here each lookup only returns once both have started: looked up one after the other, the first
    would time out alone."""
    both = threading.Barrier(2)

    def hanging_lookup(host, *args, **kwargs):
        both.wait(timeout=30)
        raise socket.gaierror("Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    mirrors = ["http://mirror-a.invalid/mnist/", "http://mirror-b.invalid/mnist/"]
    with pytest.raises(DataError) as info:
        data.download("mnist", tmp_path / "mnist", base_urls=mirrors, timeout=20)
    message = str(info.value)
    assert "cannot find mirror-a.invalid (offline?)" in message and "cannot find mirror-b.invalid" in message
    assert message.index("mirror-a") < message.index("mirror-b")  # in the order they were given


def expect_failure(tmp_path, server_url, **kwargs) -> str:
    folder = tmp_path / "mnist"
    with pytest.raises(DataError) as info:
        data.download("mnist", folder, base_urls=[server_url], **kwargs)
    message = str(info.value)
    assert str(folder) in message and all(name in message for name in T10K)  # where, and which files
    assert folder_is_clean(folder)  # nothing partial left
    return message


def test_checksum_mismatch_removes_the_file(server, crafted, tmp_path):
    server.serve(T10K[0], gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07", mtime=0))
    assert "checksum mismatch" in expect_failure(tmp_path, server.url)


def test_truncated_body_is_removed(server, crafted, tmp_path):
    body = crafted[T10K[0]]
    server.serve(T10K[0], body[: len(body) // 2], **{"Content-Length": str(len(body))})
    message = expect_failure(tmp_path, server.url)
    assert "cut short" in message


def test_html_page_instead_of_gzip(server, crafted, tmp_path):
    server.serve(
        T10K[0], b"<!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>", **{"Content-Type": "text/html"}
    )
    assert "web page" in expect_failure(tmp_path, server.url)


def test_http_error_is_reported(server, crafted, tmp_path):
    assert "HTTP 404" in expect_failure(tmp_path, server.url)


def test_server_down_fails_fast(crafted, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    message = expect_failure(tmp_path, f"http://127.0.0.1:{port}/files/")
    assert time.monotonic() - start < 3 and "refused" in message


def test_silent_server_times_out(crafted, tmp_path):
    with socket.socket() as s:  # accepts connections (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        start = time.monotonic()
        message = expect_failure(tmp_path, f"http://127.0.0.1:{s.getsockname()[1]}/files/", timeout=0.5)
        assert time.monotonic() - start < 5 and "timed out" in message


def test_unwritable_folder_is_reported(crafted, tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(DataError, match="Cannot write to the data folder"):
        fetch_files(DATASETS["mnist"].test_files, blocker / "mnist", ["http://127.0.0.1:9/"])


def test_progress_text():
    assert format_progress(0, 1_600_000, width=10) == "[..........]   0%  0.0/1.6 MB"
    assert format_progress(800_000, 1_600_000, width=10) == "[#####.....]  50%  0.8/1.6 MB"
    assert format_progress(2_500_000, None) == "2.5 MB"
    out = io.StringIO()
    bar = ProgressBar("MNIST", stream=out, min_interval=0)
    for done in (0, 50, 100, 0, 10):
        bar(done, 100)
    bar.close()
    lines = out.getvalue().split("\n")
    assert lines[0].endswith("100%  0.0/0.0 MB") and "MNIST [" in lines[0]
    assert lines[1].endswith(" 10%  0.0/0.0 MB") and lines[2] == ""


# ---------------------------------------------------------------- synthetic digits


def test_synthetic_is_deterministic_per_seed_and_seeds_differ():
    a_img, a_lab = synthetic.synthetic_digits(30, seed=3)
    b_img, b_lab = synthetic.synthetic_digits(30, seed=3)
    c_img, _ = synthetic.synthetic_digits(30, seed=4)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    assert not np.array_equal(a_img, c_img)
    part_img, part_lab = synthetic.synthetic_digits(10, seed=3, start=15)  # any slice on its own
    assert np.array_equal(part_img, a_img[15:25]) and np.array_equal(part_lab, a_lab[15:25])


def test_synthetic_shapes_classes_and_framing():
    images, labels = synthetic.synthetic_digits(200, seed=0)
    assert images.shape == (200, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (200,) and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, 20))  # every digit, balanced
    for img in images[:50]:
        x = img / 255.0
        cy, cx = centre_of_mass(x)
        assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6  # MNIST framing (±0.5 jitter)
        rows, cols = np.flatnonzero(x.max(1) > 0.3), np.flatnonzero(x.max(0) > 0.3)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)
    assert len({img.tobytes() for img in images}) == 200  # no duplicates


def test_synthetic_works_without_any_installed_font(monkeypatch):
    monkeypatch.setattr(synthetic, "find_fonts", lambda: ())
    images, labels = synthetic.synthetic_digits(20, seed=1)
    assert images.shape == (20, 28, 28) and (images.reshape(20, -1).max(axis=1) > 200).all()


def test_synthetic_digits_resemble_their_class():
    """Nearest class mean on fresh images beats chance by far: the labels match the pictures."""
    train, train_labels = synthetic.synthetic_digits(500, seed=0)
    test, test_labels = synthetic.synthetic_digits(200, seed=0, start=5_000)
    means = np.stack([train[train_labels == d].mean(axis=0).ravel() for d in range(10)])
    dist = ((test.reshape(len(test), 1, -1) - means[None]) ** 2).sum(axis=2)
    assert (dist.argmin(axis=1) == test_labels).mean() > 0.5


def test_synthetic_dataset_is_labelled_and_indexed():
    ds = load_dataset("synthetic", split=SPLIT_VAL, subset=40, seed=2)
    assert ds.synthetic and "Synthetic" in ds.source and "not MNIST" in ds.source and "seed 2" in ds.source
    assert ds.indices.tolist() == list(range(7_000, 7_040))
    images, labels = synthetic.synthetic_digits(40, seed=2, start=7_000)
    assert np.array_equal(ds.images, images) and np.array_equal(ds.labels, labels)
    ds.images[0] = 0  # callers get their own copy
    assert np.array_equal(load_dataset("synthetic", split=SPLIT_VAL, subset=40, seed=2).images, images)


def test_load_dataset_reexports_contract_names():
    assert data.synthetic_digits is synthetic.synthetic_digits and data.read_idx is read_idx
