"""Atomic file writes: the new content appears under its name whole, or not at all."""
import contextlib
import hashlib
import os
import tempfile


def current_umask():
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    Write the new file to the yielded path. If the block raises, the temporary file is removed
    and ``path`` keeps its old content. The file gets the usual permissions (0666 & ~umask)
    rather than mkstemp's private 0600.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix + ".part",
                               dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically, flushed to disk before the rename."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def file_digest(path, algorithm="sha256", chunk=1 << 20):
    """Hex digest (``"sha1"``, ``"sha256"``...) of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def mkdir_if_not_exist(path):
    """The book's ``mkdir_if_not_exist``: make the folder ``os.path.join(*path)`` (a list of
    path parts) with its parents, unless it exists."""
    os.makedirs(os.path.join(*path), exist_ok=True)
