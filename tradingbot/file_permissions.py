"""The data folder and the SQLite file are private to the user running the app (0700 / 0600).

They hold the database (hashed passwords, encrypted keys, sessions), the file cache and the development key
file: no other local user may read them, whatever the umask says.
"""

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """Drop group/other permission bits of a path this user owns (never widens, never touches others' files)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)


def private_dir(path: Path) -> Path:
    """Create the folder (and missing parents) 0700, or tighten an existing one this user owns."""
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create an empty file 0600 if missing (SQLite takes an empty file as a new database), or tighten it."""
    path = Path(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        _tighten(path, PRIVATE_FILE)
    return path


def secure_sqlite_files(database_path) -> None:
    """0600 for a SQLite database and its WAL/SHM/journal files (a test database is created by sqlite with the
    umask's mode; SQLite gives the WAL file the database's own mode)."""
    if not database_path or str(database_path) == ":memory:" or str(database_path).startswith("file:"):
        return
    database_path = Path(database_path)
    for path in (database_path, *(database_path.with_name(database_path.name + s) for s in SQLITE_COMPANIONS)):
        _tighten(path, PRIVATE_FILE)


def secure_sqlite_connection(sender, connection, **kwargs) -> None:
    """connection_created receiver: keep the SQLite files private whenever a connection opens them."""
    if connection.vendor == "sqlite":
        secure_sqlite_files(connection.settings_dict.get("NAME"))
