"""The class store on both databases it supports: SQLite files and a real PostgreSQL server (a throwaway one
on 127.0.0.1). Limits hold across threads and processes because the database checks them."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest
from postgres_server import throwaway_postgres

from playground.serve import class_store
from playground.serve.class_store import ClassError, open_store, room_code, sender_token


@pytest.fixture(scope="module")
def postgres_url():
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "class.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture()
def store(location):
    s = open_store(location)
    yield s
    s.close()


def digit(value: int = 255, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((28, 28), np.uint8)
    img[4:24, 12:16] = value
    img[rng.integers(0, 28), rng.integers(0, 28)] = 7  # tells drawings apart
    return img


def test_a_room_collects_drawings_in_order_and_counts_changes(store):
    room, key = store.open_room(now=1000.0)
    assert len(room.code) == 5 and set(room.code) <= set(class_store.CODE_ALPHABET)
    assert store.room(room.code) == room and store.version(room.code) == 0
    assert store.is_lecturer(room.code, key) and not store.is_lecturer(room.code, key + "x")
    a, b = digit(seed=1), digit(seed=2)
    first = store.send(room.code, "s1", a, meant=3, now=1001.0)
    second = store.send(room.code, "s2", b, now=1001.5)
    assert second > first
    got = store.drawings(room.code)
    assert [d.id for d in got] == [first, second]
    assert np.array_equal(got[0].image, a) and np.array_equal(got[1].image, b)
    assert (got[0].meant, got[1].meant) == (3, None)
    assert (got[0].sender, got[0].sent_at) == ("s1", 1001.0)
    assert store.version(room.code) == 2
    other, _ = store.open_room()
    assert other.code != room.code and store.drawings(other.code) == []


def test_one_drawing_every_three_seconds_per_student(store):
    room, _ = store.open_room()
    store.send(room.code, "s1", digit(), now=10.0)
    with pytest.raises(ClassError, match=r"One drawing every 3 s: send again in 2 s") as err:
        store.send(room.code, "s1", digit(), now=11.2)
    assert err.value.field == "send"
    store.send(room.code, "s2", digit(), now=11.2)  # another student is not held up
    store.send(room.code, "s1", digit(), now=13.0)
    assert len(store.drawings(room.code)) == 3


def test_caps_per_student_and_per_room(store, monkeypatch):
    monkeypatch.setattr(class_store, "PER_STUDENT", 2)
    monkeypatch.setattr(class_store, "PER_ROOM", 3)
    room, _ = store.open_room()
    store.send(room.code, "s1", digit(), now=0.0)
    store.send(room.code, "s1", digit(), now=10.0)
    with pytest.raises(ClassError, match="You have sent 2 drawings to this room"):
        store.send(room.code, "s1", digit(), now=20.0)
    store.send(room.code, "s2", digit(), now=20.0)
    with pytest.raises(ClassError, match=r"is full \(3 drawings\)"):
        store.send(room.code, "s3", digit(), now=20.0)
    assert len(store.drawings(room.code)) == 3


def test_closed_unknown_and_bad_sends_are_refused_with_one_sentence(store):
    room, key = store.open_room()
    with pytest.raises(ClassError, match="There is no room ZZZZZ"):
        store.send("ZZZZZ", "s1", digit())
    with pytest.raises(ClassError, match="empty: draw a digit"):
        store.send(room.code, "s1", np.zeros((28, 28), np.uint8))
    with pytest.raises(ClassError, match="28×28"):
        store.send(room.code, "s1", np.ones((27, 28), np.uint8))
    with pytest.raises(ClassError, match="28×28"):
        store.send(room.code, "s1", np.ones((28, 28), np.float32))
    for bad in (10, -1, True, 2.5, "7"):
        with pytest.raises(ClassError, match="0 to 9") as err:
            store.send(room.code, "s1", digit(), meant=bad)
        assert err.value.field == "meant"
    assert store.drawings(room.code) == []
    store.close_room(room.code, key)
    assert store.room(room.code).closed
    with pytest.raises(ClassError, match="is closed"):
        store.send(room.code, "s1", digit())
    store.reopen_room(room.code, key)
    store.send(room.code, "s1", digit())


def test_only_the_lecturer_deletes_or_closes(store):
    room, key = store.open_room()
    kept = store.send(room.code, "s1", digit(), now=0.0)
    gone = store.send(room.code, "s2", digit(), now=0.0)
    for action in (
        lambda k: store.delete_drawing(room.code, k, gone),
        lambda k: store.close_room(room.code, k),
        lambda k: store.delete_room(room.code, k),
    ):
        with pytest.raises(ClassError, match="Only the lecturer") as err:
            action("not-the-key")
        assert err.value.field == "key"
    version = store.version(room.code)
    assert store.delete_drawing(room.code, key, gone) is True
    assert store.delete_drawing(room.code, key, gone) is False
    assert [d.id for d in store.drawings(room.code)] == [kept]
    assert store.version(room.code) == version + 1
    assert store.delete_room(room.code, key) == 1
    assert store.room(room.code) is None and store.version(room.code) is None and store.drawings(room.code) == []
    with pytest.raises(ClassError, match="no room"):
        store.close_room(room.code, key)


def test_limits_hold_when_many_threads_send_at_once(store, monkeypatch):
    """Eight students press Send in the same instant with room for five: exactly five are stored; one
    student pressing twice at once gets one."""
    monkeypatch.setattr(class_store, "PER_ROOM", 5)
    room, _ = store.open_room()
    outcomes: list[str] = []
    start = threading.Barrier(10)

    def send(sender: str) -> None:
        start.wait()
        try:
            store.send(room.code, sender, digit(), now=50.0)
            outcomes.append("ok")
        except ClassError as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=send, args=(f"s{i}",)) for i in range(8)]
    threads += [threading.Thread(target=send, args=("twice",)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 10 and outcomes.count("ok") == 5
    assert len(store.drawings(room.code)) == 5
    assert sum("twice" == d.sender for d in store.drawings(room.code)) <= 1


def _send_from_process(location: str, code: str, results) -> None:
    s = open_store(location)
    try:
        s.send(code, "same-student", digit(), now=100.0)
        results.put("ok")
    except ClassError as e:
        results.put(str(e))


def test_two_server_processes_share_one_students_limit(location):
    """Two replicas (processes) with their own connections: a double send is caught by the database."""
    store = open_store(location)
    room, _ = store.open_room()
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_send_from_process, args=(location, room.code, results)) for _ in range(2)]
    for p in procs:
        p.start()
    got = sorted((results.get(timeout=60) for _ in procs), key=lambda r: r != "ok")
    for p in procs:
        p.join(30)
    assert got[0] == "ok" and got[1].startswith("One drawing every 3 s"), got
    assert len(store.drawings(room.code)) == 1
    store.close()


def test_an_unreachable_store_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for location in (str(blocker / "class.sqlite3"), "postgresql://nobody:secret@127.0.0.1:9/none"):
        store = open_store(location)
        with pytest.raises(ClassError, match="The class store cannot be reached") as err:
            store.open_room()
        assert err.value.field == "store" and "secret" not in str(err.value) and "127.0.0.1" not in str(err.value)
    assert class_store._without_password("postgresql://u:p@ss@h:5/db?password=x") == "postgresql://u@h:5/db"


def test_room_codes_are_read_as_typed_and_senders_are_not_followed_across_rooms():
    assert room_code(" k7q-mp ") == "K7QMP"
    for bad in ("", "K7QM", "K7QMPX", "K0QMP", "K7QM!", None):
        with pytest.raises(ClassError, match="A room code is 5 letters") as err:
            room_code(bad)
        assert err.value.field == "room"
    a, b = sender_token("tab-1", "AAAAA"), sender_token("tab-1", "BBBBB")
    assert a != b and len(a) == 24 and sender_token("tab-1", "AAAAA") == a and "tab-1" not in a


def _open_room_from_process(location: str, start, results) -> None:
    start.wait(60)
    try:
        open_store(location).open_room()
        results.put("ok")
    except ClassError as e:
        results.put(str(e))


def test_replicas_creating_the_tables_at_once_on_an_empty_postgresql(postgres_url):
    """Two replicas' first requests on a fresh database both create the tables: neither may fail."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS race")
        conn.execute("CREATE DATABASE race")
    location = postgres_url.rsplit("/", 1)[0] + "/race"
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_open_room_from_process, args=(location, start, results)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    got = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert got == ["ok", "ok", "ok"], got
