"""The class store: rooms a lecturer opens and the drawings students send to them, shared by every server
process of a class (SQLite on one machine, PostgreSQL across machines).

    store = open_store()                        # $PLAYGROUND_CLASS_DB: a file path or a postgresql:// URL
    room, key = store.open_room()              # a short code for the projector, a secret for the lecturer
    store.send(room.code, sender, image, meant=7)  # a student's 28×28 digit; limits checked in one transaction
    store.drawings(room.code)                   # everything sent, oldest first
    store.version(room.code)                    # changes whenever the room does (the live screen polls it)

What is stored is no personal data: the 28×28 picture the network reads, the digit the student says they
meant (or nothing), the time, and a sender token that is a hash of a random per-tab id and the room, so
it cannot be followed from room to room. Only the lecturer's key (kept as a hash) may delete drawings,
close the room or delete it. Limits (``SEND_EVERY_S``, ``PER_STUDENT``, ``PER_ROOM``) hold across server
processes because they are checked inside the database's transaction, with the room's row locked.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from playground.data.datasets import user_cache
from playground.errors import PlaygroundError

log = logging.getLogger(__name__)
ENV_DB = "PLAYGROUND_CLASS_DB"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector without doubt
CODE_LENGTH = 5
SEND_EVERY_S = 3.0  # one drawing per student every 3 s
PER_STUDENT = 40  # drawings one student may send to one room
PER_ROOM = 2000  # drawings one room holds
SIDE = 28  # drawings are stored as the (28, 28) uint8 picture the network reads


class ClassError(PlaygroundError):
    """A room or drawing request the store refuses; str(e) is one sentence for the user."""


@dataclass(frozen=True)
class Room:
    code: str
    opened_at: float  # seconds since the epoch
    closed: bool
    version: int  # grows with every change (a drawing sent or deleted, the room closed)


@dataclass(frozen=True)
class Drawing:
    id: int
    image: np.ndarray  # (28, 28) uint8, white ink on black, as the network reads it
    meant: int | None  # the digit the student says they drew, or None
    sent_at: float
    sender: str  # the room-bound hash of a random per-tab id (counts students; identifies nobody)


def room_code(text: object) -> str:
    """A room code as typed (any case, spaces and dashes ignored) -> canonical; ClassError when malformed."""
    code = "".join(ch for ch in str(text or "") if ch not in " -").upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise ClassError(
            f"A room code is {CODE_LENGTH} letters and digits, like the one on the lecturer's screen "
            f"(e.g. {'K7QMP'}); {str(text)[:20]!r} is not one.",
            "room",
        )
    return code


def sender_token(tab_id: str, code: str) -> str:
    """What the store keeps of a student: a hash of their tab's random id and the room."""
    return hashlib.sha256(f"{tab_id}|{code}".encode()).hexdigest()[:24]


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_image(image: np.ndarray) -> bytes:
    a = np.asarray(image)
    if a.shape != (SIDE, SIDE) or a.dtype != np.uint8:
        raise ClassError(f"A class drawing is a 28×28 picture of bytes; got {a.shape} {a.dtype}.", "image")
    if not a.any():
        raise ClassError("The canvas is empty: draw a digit before sending it.", "image")
    return a.tobytes()


def _check_meant(meant: int | None) -> int | None:
    if meant is None:
        return None
    if isinstance(meant, bool) or not isinstance(meant, (int, np.integer)) or not 0 <= int(meant) <= 9:
        raise ClassError("The digit you meant is one of 0 to 9, or none.", "meant")
    return int(meant)


# ----------------------------------------------------------------- the SQL each database speaks
SCHEMA = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS rooms (code TEXT PRIMARY KEY, key_hash TEXT NOT NULL, "
        "opened_at REAL NOT NULL, closed INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS drawings (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE, sender TEXT NOT NULL, "
        "sent_at REAL NOT NULL, meant INTEGER, image BLOB NOT NULL)",
        "CREATE INDEX IF NOT EXISTS drawings_by_room ON drawings(room, id)",
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS rooms (code TEXT PRIMARY KEY, key_hash TEXT NOT NULL, "
        "opened_at DOUBLE PRECISION NOT NULL, closed BOOLEAN NOT NULL DEFAULT FALSE, "
        "version BIGINT NOT NULL DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS drawings (id BIGSERIAL PRIMARY KEY, "
        "room TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE, sender TEXT NOT NULL, "
        "sent_at DOUBLE PRECISION NOT NULL, meant INTEGER, image BYTEA NOT NULL)",
        "CREATE INDEX IF NOT EXISTS drawings_by_room ON drawings(room, id)",
    ),
}


class ClassStore:
    """Rooms and drawings in one SQL database; every method is one short transaction, safe from any thread
    and from any number of processes sharing the database."""

    def __init__(self, kind: str, connect: Any, errors: tuple[type[BaseException], ...], *, where: str, pool: int = 4):
        self.kind = kind  # "sqlite" or "postgresql"
        self.where = where  # for messages: the file or the server (never the password)
        self._connect = connect
        self._db_errors = errors  # what the driver raises when the database fails
        self._idle: queue.LifoQueue = queue.LifoQueue(maxsize=pool)
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    # ---- connections
    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[_Cursor]:
        """A cursor inside one transaction: committed when the block ends, rolled back when it raises. A
        database failure (server gone, file locked too long) becomes one ClassError sentence."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            cur = conn.cursor()
            if self.kind == "sqlite" and write:
                cur.execute("BEGIN IMMEDIATE")  # one writer at a time: the limits are read and kept together
            yield _Cursor(cur, self.kind)
            conn.commit()
        except self._db_errors as err:
            _quietly(conn.close)  # a connection that failed is not used again
            log.warning("class store %s failed: %s", self.where, err)
            raise ClassError("The class store did not answer in time; try again in a moment.", "store") from None
        except BaseException:
            if not _quietly(conn.rollback):
                _quietly(conn.close)
                raise
            self._give_back(conn)
            raise
        self._give_back(conn)

    def _give_back(self, conn: Any) -> None:
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def _open(self) -> Any:
        try:
            conn = self._connect()
        except (*self._db_errors, OSError) as err:
            log.warning("class store %s cannot be opened: %s", self.where, err)
            raise ClassError(
                f"The class store cannot be reached: ask the lecturer to check the server's {ENV_DB}. "
                "Try again in a moment.",
                "store",
            ) from None
        with self._schema_lock:
            if not self._schema_ready:
                try:
                    cur = conn.cursor()
                    if self.kind == "postgresql":  # replicas creating the tables at once would collide
                        cur.execute("SELECT pg_advisory_xact_lock(7202612)")
                    for statement in SCHEMA[self.kind]:
                        cur.execute(statement)
                    conn.commit()
                except self._db_errors as err:
                    _quietly(conn.close)
                    log.warning("class store %s: tables not created: %s", self.where, err)
                    raise ClassError("The class store could not be set up; try again in a moment.", "store") from None
                self._schema_ready = True
        return conn

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # ---- rooms
    def open_room(self, now: float | None = None) -> tuple[Room, str]:
        """A new room with a fresh code, and the lecturer's key (shown once; only its hash is kept)."""
        key = secrets.token_urlsafe(18)
        at = time.time() if now is None else now
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            with self._transaction(write=True) as cur:
                if cur.one("SELECT 1 FROM rooms WHERE code = ?", (code,)) is not None:
                    continue
                cur.run("INSERT INTO rooms (code, key_hash, opened_at) VALUES (?, ?, ?)", (code, _key_hash(key), at))
                return Room(code, at, False, 0), key
        raise ClassError("No free room code was found; try again.", "room")  # 33 million codes: practically never

    def room(self, code: str) -> Room | None:
        with self._transaction() as cur:
            row = cur.one("SELECT code, opened_at, closed, version FROM rooms WHERE code = ?", (code,))
        return None if row is None else Room(row[0], float(row[1]), bool(row[2]), int(row[3]))

    def version(self, code: str) -> int | None:
        """The room's change counter, or None when there is no such room (cheap: the live screen polls it)."""
        with self._transaction() as cur:
            row = cur.one("SELECT version FROM rooms WHERE code = ?", (code,))
        return None if row is None else int(row[0])

    def is_lecturer(self, code: str, key: str) -> bool:
        with self._transaction() as cur:
            row = cur.one("SELECT key_hash FROM rooms WHERE code = ?", (code,))
        return row is not None and secrets.compare_digest(row[0], _key_hash(str(key)))

    def _lecturer_room(self, cur: _Cursor, code: str, key: str) -> None:
        row = cur.one("SELECT key_hash FROM rooms WHERE code = ?" + cur.lock, (code,))
        if row is None:
            raise ClassError(f"There is no room {code} any more.", "room")
        if not secrets.compare_digest(row[0], _key_hash(str(key))):
            raise ClassError("Only the lecturer who opened this room can change it.", "key")

    def close_room(self, code: str, key: str) -> None:
        """No more drawings are accepted; what was sent stays (to look at, export or delete)."""
        with self._transaction(write=True) as cur:
            self._lecturer_room(cur, code, key)
            cur.run("UPDATE rooms SET closed = ?, version = version + 1 WHERE code = ?", (True, code))

    def reopen_room(self, code: str, key: str) -> None:
        with self._transaction(write=True) as cur:
            self._lecturer_room(cur, code, key)
            cur.run("UPDATE rooms SET closed = ?, version = version + 1 WHERE code = ?", (False, code))

    def delete_room(self, code: str, key: str) -> int:
        """The room and every drawing in it are gone; returns how many drawings were deleted."""
        with self._transaction(write=True) as cur:
            self._lecturer_room(cur, code, key)
            n = int(cur.one("SELECT COUNT(*) FROM drawings WHERE room = ?", (code,))[0])
            cur.run("DELETE FROM drawings WHERE room = ?", (code,))
            cur.run("DELETE FROM rooms WHERE code = ?", (code,))
        return n

    # ---- drawings
    def send(
        self, code: str, sender: str, image: np.ndarray, meant: int | None = None, now: float | None = None
    ) -> int:
        """Store one student's drawing; its id. ClassError (one sentence) when the room is unknown or closed,
        the student sent one less than SEND_EVERY_S ago or PER_STUDENT already, or the room is full."""
        blob, meant = _check_image(image), _check_meant(meant)
        at = time.time() if now is None else now
        with self._transaction(write=True) as cur:
            row = cur.one("SELECT closed FROM rooms WHERE code = ?" + cur.lock, (code,))
            if row is None:
                raise ClassError(f"There is no room {code}: check the code on the lecturer's screen.", "room")
            if row[0]:
                raise ClassError(f"Room {code} is closed: the lecturer is not collecting drawings now.", "room")
            count, last = cur.one(
                "SELECT COUNT(*), MAX(sent_at) FROM drawings WHERE room = ? AND sender = ?", (code, sender)
            )
            if last is not None and at - float(last) < SEND_EVERY_S:
                wait = math.ceil(SEND_EVERY_S - (at - float(last)))
                raise ClassError(f"One drawing every {SEND_EVERY_S:g} s: send again in {wait} s.", "send")
            if int(count) >= PER_STUDENT:
                raise ClassError(
                    f"You have sent {PER_STUDENT} drawings to this room, the most one student can.", "send"
                )
            if int(cur.one("SELECT COUNT(*) FROM drawings WHERE room = ?", (code,))[0]) >= PER_ROOM:
                raise ClassError(f"Room {code} is full ({PER_ROOM} drawings).", "room")
            new_id = cur.insert(
                "INSERT INTO drawings (room, sender, sent_at, meant, image) VALUES (?, ?, ?, ?, ?)",
                (code, sender, at, meant, blob),
            )
            cur.run("UPDATE rooms SET version = version + 1 WHERE code = ?", (code,))
        return new_id

    def drawings(self, code: str) -> list[Drawing]:
        """Every drawing of the room, oldest first."""
        with self._transaction() as cur:
            rows = cur.all("SELECT id, image, meant, sent_at, sender FROM drawings WHERE room = ? ORDER BY id", (code,))
        return [
            Drawing(
                int(i),
                np.frombuffer(bytes(img), np.uint8).reshape(SIDE, SIDE),
                None if m is None else int(m),
                float(t),
                s,
            )
            for i, img, m, t, s in rows
        ]

    def delete_drawing(self, code: str, key: str, drawing_id: int) -> bool:
        """Remove one drawing (the lecturer's key); False when it was already gone."""
        with self._transaction(write=True) as cur:
            self._lecturer_room(cur, code, key)
            gone = cur.run("DELETE FROM drawings WHERE room = ? AND id = ?", (code, int(drawing_id)))
            if gone:
                cur.run("UPDATE rooms SET version = version + 1 WHERE code = ?", (code,))
        return bool(gone)


class _Cursor:
    """One cursor with ``?`` placeholders for both databases (psycopg wants ``%s``)."""

    def __init__(self, cur: Any, kind: str):
        self._cur, self._pg = cur, kind == "postgresql"
        self.lock = " FOR UPDATE" if self._pg else ""  # SQLite's BEGIN IMMEDIATE already serialises writers

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg else sql

    def run(self, sql: str, args: tuple = ()) -> int:
        self._cur.execute(self._sql(sql), args)
        return self._cur.rowcount

    def one(self, sql: str, args: tuple = ()) -> tuple | None:
        self._cur.execute(self._sql(sql), args)
        return self._cur.fetchone()

    def all(self, sql: str, args: tuple = ()) -> list[tuple]:
        self._cur.execute(self._sql(sql), args)
        return self._cur.fetchall()

    def insert(self, sql: str, args: tuple) -> int:
        if self._pg:
            self._cur.execute(self._sql(sql) + " RETURNING id", args)
            return int(self._cur.fetchone()[0])
        self._cur.execute(sql, args)
        return int(self._cur.lastrowid)


def _quietly(action: Any) -> bool:
    """Run a connection's rollback or close; False when it failed (the connection is broken)."""
    try:
        action()
    except Exception:
        return False
    return True


# ----------------------------------------------------------------- opening a store
def default_location() -> str:
    """$PLAYGROUND_CLASS_DB, else class.sqlite3 in the user's cache folder."""
    env = os.environ.get(ENV_DB, "").strip()
    if env:
        return env
    return str(user_cache() / "class.sqlite3")  # beside the downloaded data sets


def open_store(location: str | None = None) -> ClassStore:
    """The store at ``location`` (default :func:`default_location`): a ``postgresql://`` (or
    ``postgres://``) URL, else a SQLite file path (its folder is created). Nothing connects until first use."""
    where = location or default_location()
    if where.startswith(("postgresql://", "postgres://")):
        import psycopg  # only a PostgreSQL store needs the driver

        return ClassStore(
            "postgresql",
            # a send waiting for a room held by a stuck transaction gives up, as SQLite's does after 10 s
            lambda: psycopg.connect(where, connect_timeout=5, options="-c lock_timeout=10s -c statement_timeout=15s"),
            (psycopg.Error,),
            where=_without_password(where),
        )
    path = Path(where).expanduser()
    return ClassStore("sqlite", lambda: _sqlite(path), (sqlite3.Error,), where=str(path))


def _sqlite(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer; several processes share it
    conn.execute("PRAGMA foreign_keys=ON")
    conn.isolation_level = ""  # back to implicit transactions: BEGIN before the first write, commit() ends it
    return conn


def _without_password(url: str) -> str:
    """The server's address for the log: no password, no query (which may carry one)."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}{parts.hostname or ''}{port}", parts.path, "", ""))
