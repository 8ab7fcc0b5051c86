"""A class room's drawings read by a model: the live screen's report and the lecturer's export, from the
store (``class_store``), the model's answers (``nn.class_report``) and the ZIP format (``data.class_export``)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from torch import nn

from playground.data.class_export import export_zip
from playground.nn.class_report import ClassReport, report
from playground.serve.class_store import ClassStore, Drawing


def room_report(
    drawings: list[Drawing], model: nn.Module, known: Mapping[int, np.ndarray] | None = None
) -> tuple[ClassReport, dict[int, np.ndarray]]:
    """``model``'s reading of the drawings; pass back the returned probabilities as ``known`` next time (for
    the same model) and only drawings sent since are read."""
    return report(
        model,
        [d.id for d in drawings],
        np.stack([d.image for d in drawings]) if drawings else np.zeros((0, 28, 28), np.uint8),
        [d.meant for d in drawings],
        [d.sender for d in drawings],
        known,
    )


def export_room(store: ClassStore, code: str, model: nn.Module, model_name: str) -> bytes:
    """The room's ZIP (drawings as PNGs, labels CSV, IDX files) with ``model``'s answers in the CSV."""
    drawings = store.drawings(code)
    r, _ = room_report(drawings, model)
    return export_zip(
        code, r.ids, r.images, r.meant, r.predicted, r.confidence, [d.sent_at for d in drawings], model_name
    )


# ----------------------------------------------------------------- the link students open
ENV_PUBLIC = "PLAYGROUND_PUBLIC_URL"  # e.g. https://playground.example.edu: the address behind a proxy
PAGE_PATH = "class"
LOOPBACK = ("localhost", "127.", "::1", "[::1]", "0.0.0.0")


def lan_address() -> str | None:
    """This machine's address on its local network (the one a default route leaves by), or None. Nothing is
    sent: connecting a UDP socket only picks the interface."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 9))
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith(LOOPBACK) else ip


def students_base(page_url: str, public: str | None = None, lan: str | None = None) -> tuple[str, str]:
    """The address students open, without the page, and a note for the lecturer ("" when none is needed).

    ``public`` ($PLAYGROUND_PUBLIC_URL) wins. Else the address the lecturer's browser used, minus this page's
    path; when that is this machine's own loopback name (localhost), which no phone can open, the machine's
    ``lan`` address in its place."""
    if public:
        return public.rstrip("/"), ""
    parts = urlsplit(page_url or "")
    scheme, host, port = parts.scheme or "http", parts.hostname or "localhost", parts.port
    path = parts.path.rstrip("/")
    if path.endswith("/" + PAGE_PATH) or path == PAGE_PATH:
        path = path[: -len(PAGE_PATH)].rstrip("/")
    note = ""
    if host.startswith(LOOPBACK):
        if lan:
            note = f"This screen was opened as {host}, which the students' phones cannot reach: the link uses {lan}."
            host = lan
        else:
            note = f"This screen was opened as {host}, which the students' phones cannot reach: type this machine's address."
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port else ""
    return urlunsplit((scheme, netloc, path, "", "")), note


def room_link(base: str, code: str) -> str:
    return f"{base.rstrip('/')}/{PAGE_PATH}?room={code}"
