"""Atomic writes keep the old file whole when writing fails, and leave no temporary files."""
import os
import stat

import pytest

from d2l_rnn.util.fileio import atomic_path, write_text_atomic


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "notes.txt"
    write_text_atomic(str(target), "first version")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(str(target)) as tmp:
            with open(tmp, "w") as f:
                f.write("half of the sec")
            raise RuntimeError("disk full")
    assert target.read_text() == "first version"
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_new_file_has_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "h.json"
    write_text_atomic(str(target), "{}")
    mode = stat.S_IMODE(os.stat(target).st_mode)
    assert mode == 0o666 & ~_umask(), oct(mode)
    assert target.read_text() == "{}"


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m
