"""Files and folders that appear whole or not at all, with the permissions the user's umask gives.

Everything hbnn writes (checkpoints, layouts, Verilog, reports, tables, plots, synthesis folders)
goes through here. The content is written under a unique temporary name in the destination's own
folder and renamed over the destination only when it is complete, so a reader never sees half a
file and an interrupted or failed write leaves nothing behind (the temporary is removed).

The temporary is created with `os.open(..., 0o666)` (folders `os.mkdir(..., 0o777)`), so the
kernel applies the process's umask exactly as for any file a program opens: with the usual umask
022 a file comes out rw-r--r-- and a folder rwxr-xr-x, readable by a teammate or a CI job that
runs as another user. (`tempfile.mkstemp` and `mkdtemp` would give 0600 and 0700.)
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temporary_name(path: Path) -> Path:
    """A name beside `path` that no other writer picks: dot-prefixed, process id, random tag."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer that wants a file name (torch.save,
    savefig); on success it is renamed to `path`, on any exception it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(path)
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, content: str | bytes) -> Path:
    """Write `content` (text as UTF-8) to `path` whole or not at all; returns the path."""
    path = Path(path)
    with atomic_output(path) as temporary:
        temporary.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; on success it replaces `path` (an older
    folder there is removed first), on any exception it is removed with what it holds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(path)
    os.mkdir(temporary, 0o777)
    try:
        yield temporary
        if path.exists():
            shutil.rmtree(path)
        temporary.rename(path)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def kind_of_file(path: str | os.PathLike) -> str:
    """What hbnn sees at `path`, from its content (not its name), to word an error precisely:
    "missing", "folder", "layout" (a zip archive holding `manifest.npy`, as `layout.save` writes),
    "checkpoint" (a torch archive: a zip holding `<name>/data.pkl`), "archive" (another zip) or
    "other"."""
    import zipfile

    path = Path(path)
    if not path.exists():
        return "missing"
    if path.is_dir():
        return "folder"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return "other"
    if "manifest.npy" in members:
        return "layout"
    if any(member.endswith("/data.pkl") for member in members):
        return "checkpoint"
    return "archive"
