"""Personal information at rest: identity numbers are encrypted, looked up by a keyed digest and
shown masked.

The data key lives in ``instance/data_key`` (generated on first use, mode 0600, never committed)
or comes from ``DATA_KEY``. It is separate from the session secret so that rotating one does not
make the other's data unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from examsvc.errors import ConfigError
from itembank.identifiers import mask_resident_id


@dataclass(frozen=True)
class ProtectedId:
    cipher: str   # Fernet token of the normalised number
    digest: str   # HMAC-SHA256, hex: equality look-ups without decrypting
    masked: str   # what pages show: 1501**********123X


def _key_material() -> bytes:
    configured = current_app.config.get("DATA_KEY")
    if configured:
        return hashlib.sha256(configured.encode("utf-8")).digest()
    path = Path(current_app.instance_path) / "data_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
        except FileExistsError:  # another worker made it first
            pass
    material = path.read_bytes()
    if len(material) != 32:
        raise ConfigError(f"{path} must hold exactly 32 bytes")
    return material


def _fernet() -> Fernet:
    material = _key_material()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"examsvc-fernet" + material).digest()))


def id_digest(normalised: str) -> str:
    return hmac.new(hashlib.sha256(b"examsvc-digest" + _key_material()).digest(), normalised.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def mask_identity(id_type: str, normalised: str) -> str:
    if id_type == "resident_id":
        return mask_resident_id(normalised)
    return normalised[:2] + "*" * max(0, len(normalised) - 4) + normalised[-2:]


def protect_id(id_type: str, normalised: str) -> ProtectedId:
    return ProtectedId(_fernet().encrypt(normalised.encode("utf-8")).decode("ascii"), id_digest(normalised),
                       mask_identity(id_type, normalised))


def reveal_id(cipher: str) -> str:
    """The full number, for the few places that must print it (the certificate)."""
    try:
        return _fernet().decrypt(cipher.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ConfigError("an identity number cannot be decrypted with this instance's data key") from None
