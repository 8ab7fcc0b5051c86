"""CIFAR-10's binary distribution: records read as published (label byte, then the red, green and blue planes),
the archive downloaded from a local HTTP server on 127.0.0.1 with its md5 checked, and unpacked without trusting
its paths. The files are small CIFAR-format batches the tests write themselves."""

from __future__ import annotations

import hashlib
import io
import tarfile

import numpy as np
import pytest
from test_data import Server  # the local HTTP server of the MNIST download tests

from playground.data import cifar
from playground.data.download import RemoteFile
from playground.data.idx import DataError

PER_BATCH = 20


def batch_bytes(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    records = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1)
    return records.tobytes(), images, labels.astype(np.int64)


def archive_bytes(members: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return buf.getvalue()


@pytest.fixture(scope="module")
def batches():
    out = {}
    for i, name in enumerate((*cifar.TRAIN_FILES, cifar.TEST_FILE)):
        out[name] = batch_bytes(PER_BATCH, i)
    return out


@pytest.fixture()
def server(monkeypatch):
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def good_archive(batches) -> bytes:
    return archive_bytes({f"{cifar.FOLDER}/{name}": data for name, (data, _, _) in batches.items()})


def test_records_read_as_published_channels_first(tmp_path, batches):
    data, images, labels = batches[cifar.TEST_FILE]
    path = tmp_path / "test_batch.bin"
    path.write_bytes(data)
    got_images, got_labels = cifar.read_batch(path)
    assert got_images.shape == (PER_BATCH, 3, 32, 32) and got_images.dtype == np.uint8
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
    # the first record by hand: label byte, then 1,024 red, 1,024 green, 1,024 blue bytes, row by row
    raw = np.frombuffer(data[: cifar.RECORD], np.uint8)
    assert (
        got_labels[0] == raw[0] and got_images[0, 1, 0, 5] == raw[1 + 1024 + 5] and got_images[0, 2, 31, 31] == raw[-1]
    )


def test_a_truncated_or_damaged_batch_is_one_sentence(tmp_path, batches):
    data = batches[cifar.TEST_FILE][0]
    cut = tmp_path / "test_batch.bin"
    cut.write_bytes(data[:-100])
    with pytest.raises(DataError, match=r"not a whole number of 3,073-byte CIFAR-10 records"):
        cifar.read_batch(cut)
    bad = bytearray(data)
    bad[cifar.RECORD * 3] = 12
    cut.write_bytes(bytes(bad))
    with pytest.raises(DataError, match="record 3 has label 12"):
        cifar.read_batch(cut)
    cut.write_bytes(b"")
    with pytest.raises(DataError, match="0 bytes"):
        cifar.read_batch(cut)


def test_download_checks_the_md5_unpacks_and_splits(tmp_path, server, batches):
    body = good_archive(batches)
    server.serve(cifar.ARCHIVE.name, body)
    seen = []
    folder = cifar.locate(
        tmp_path / "data",
        download_ok=True,
        base_urls=[server.url],
        archive=RemoteFile(cifar.ARCHIVE.name, hashlib.md5(body).hexdigest()),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert folder == tmp_path / "data" / cifar.FOLDER and seen[-1] == (len(body), len(body))
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [cifar.FOLDER]  # no archive, .part or temp left
    train, val, test = (cifar.load_split(folder, s) for s in ("train", "val", "test"))
    assert (len(train.labels), len(val.labels), len(test.labels)) == (90, 10, 20)
    assert train.indices[0] == 0 and val.indices[0] == 90 and "training images 90–99" in val.source
    first_batch = batches["data_batch_1.bin"]
    assert np.array_equal(train.images[:PER_BATCH], first_batch[1]) and np.array_equal(
        test.labels, batches[cifar.TEST_FILE][2]
    )
    assert not set(train.indices) & set(val.indices)
    assert cifar.locate(tmp_path / "data") == folder  # found again without the network


def test_a_wrong_checksum_leaves_nothing_behind(tmp_path, server, batches):
    server.serve(cifar.ARCHIVE.name, good_archive(batches))
    with pytest.raises(DataError, match="md5|checksum"):
        cifar.locate(
            tmp_path / "data",
            download_ok=True,
            base_urls=[server.url],
            archive=RemoteFile(cifar.ARCHIVE.name, "0" * 32),
        )
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


@pytest.mark.parametrize(
    "name, why",
    [
        ("../escaped.bin", "outside"),
        (f"{cifar.FOLDER}/../../escaped.bin", "outside"),
        ("/tmp/playground-absolute.bin", "outside"),
    ],
)
def test_an_archive_member_outside_the_folder_is_refused(tmp_path, batches, name, why):
    members = {f"{cifar.FOLDER}/{n}": d for n, (d, _, _) in batches.items()}
    members[name] = b"x" * 10
    archive = tmp_path / "a" / cifar.ARCHIVE.name
    archive.parent.mkdir()
    archive.write_bytes(archive_bytes(members))
    dest = tmp_path / "a" / "data"
    with pytest.raises(DataError, match=why):
        cifar.unpack(archive, dest)
    assert not (tmp_path / "escaped.bin").exists() and not (tmp_path / "a" / "escaped.bin").exists()
    assert not __import__("pathlib").Path("/tmp/playground-absolute.bin").exists()
    assert list(dest.iterdir()) == []  # the temporary folder is gone too


def test_links_in_the_archive_are_refused(tmp_path, batches):
    link = tarfile.TarInfo(f"{cifar.FOLDER}/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = tmp_path / cifar.ARCHIVE.name
    archive.write_bytes(archive_bytes({f"{cifar.FOLDER}/{n}": d for n, (d, _, _) in batches.items()}, [link]))
    with pytest.raises(DataError, match="a link or device"):
        cifar.unpack(archive, tmp_path / "data")


def test_offline_names_the_folder_and_the_files(tmp_path):
    with pytest.raises(DataError) as err:
        cifar.locate(tmp_path / "nothing")
    text = str(err.value)
    assert str(tmp_path / "nothing") in text and cifar.ARCHIVE.name in text and "data_batch_1.bin" in text
    with pytest.raises(DataError, match=r"put cifar-10-binary.tar.gz in .* by hand"):
        cifar.locate(tmp_path / "nothing", download_ok=True, base_urls=["http://127.0.0.1:9/"], timeout=2)


def test_a_damaged_archive_is_one_sentence(tmp_path):
    archive = tmp_path / cifar.ARCHIVE.name
    archive.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(DataError, match="cannot be unpacked"):
        cifar.unpack(archive, tmp_path / "data")
    archive.write_bytes(archive_bytes({"something/else.txt": b"hello"}))
    with pytest.raises(DataError, match="does not hold the six CIFAR-10 batch files"):
        cifar.unpack(archive, tmp_path / "data")
