"""Development keys, generated once and kept in a git-ignored JSON file under DATA_DIR."""

import base64
import json
import os
import secrets
from pathlib import Path


def new_encryption_key() -> str:
    """A fresh 256-bit AES key, urlsafe base64 (the form ENCRYPTION_KEY takes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def load_or_create_local_secrets(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    data = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ENCRYPTION_KEY": new_encryption_key(),
        "ENCRYPTION_OLD_KEYS": [],
    }
    write_local_secrets(path, data)
    return data


def write_local_secrets(path: Path, data: dict) -> None:
    """Write atomically with owner-only permissions, so a crash never leaves half a key file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
