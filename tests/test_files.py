"""hbnn.files: whole files or none, and the permissions the umask gives (not mkstemp's 0600)."""

import os
import stat

import pytest

from hbnn.files import atomic_folder, atomic_output, write_atomic


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it after."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, file_mode, folder_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775),
                                                          (0o077, 0o600, 0o700)])
def test_permissions_follow_the_umask(tmp_path, umask, mask, file_mode, folder_mode):
    umask(mask)
    assert mode(write_atomic(tmp_path / "a.txt", "text")) == file_mode
    with atomic_output(tmp_path / "b.bin") as temporary:
        temporary.write_bytes(b"\x00\x01")
    assert mode(tmp_path / "b.bin") == file_mode
    with atomic_folder(tmp_path / "build") as folder:
        (folder / "report.json").write_text("{}")
    assert mode(tmp_path / "build") == folder_mode


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = write_atomic(tmp_path / "layout.npz", b"old")
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_output(path) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [path]


def test_a_failed_folder_keeps_the_old_folder(tmp_path):
    with atomic_folder(tmp_path / "synth") as folder:
        (folder / "report.json").write_text("first")
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(tmp_path / "synth") as folder:
            (folder / "report.json").write_text("second")
            raise KeyboardInterrupt
    assert (tmp_path / "synth" / "report.json").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth"]
    with atomic_folder(tmp_path / "synth") as folder:
        (folder / "report.json").write_text("third")
    assert (tmp_path / "synth" / "report.json").read_text() == "third"


def test_text_is_written_as_utf8_and_folders_are_made(tmp_path):
    path = write_atomic(tmp_path / "deep" / "er" / "table.md", "accuracy 97.5 ± 0.4 %\n")
    assert path.read_bytes() == "accuracy 97.5 ± 0.4 %\n".encode()
