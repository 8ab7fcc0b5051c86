"""QR codes for links shown on a projector (the class room's address): a picture a phone camera reads."""

from __future__ import annotations

import numpy as np
import segno


def qr_picture(text: str, *, scale: int = 8, border: int = 4) -> np.ndarray:
    """The QR code of ``text`` as an (H, W) uint8 picture, black modules on white, ``scale`` pixels a module
    and a quiet zone of ``border`` modules (the 4 the standard asks for). Error correction M: a projector's
    glare or a lecturer's pointer over a corner still reads."""
    modules = np.array(segno.make(text, error="m", boost_error=False).matrix, dtype=bool)
    modules = np.pad(modules, border)
    return np.where(np.kron(modules, np.ones((scale, scale), bool)), 0, 255).astype(np.uint8)
