"""Files: atomic writes (the new content appears under its name whole, or not at all), and
the checks that an output path can be written, made before any long work starts."""
import contextlib
import hashlib
import os
import tempfile


class OutputPathError(ValueError):
    """An output file or folder cannot be written."""


def _probe(folder, what, path):
    """Create, write and remove a file in ``folder``; OutputPathError if that fails."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".d2l_rnn-probe-", dir=folder)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
            os.remove(probe)
    except OSError as e:
        raise OutputPathError("%s %s cannot be written: %s (%s). Choose a folder you can "
                              "write to." % (what, path, os.strerror(e.errno) if e.errno
                                             else e, folder)) from None


def check_folder(path, what="the folder", create=True):
    """Make sure ``path`` is a folder this process can write in, creating it (and its
    parents) if needed; OutputPathError naming ``what`` otherwise. With ``create=False``
    nothing is created: a missing folder's nearest existing parent is probed instead."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputPathError("%s %s is a file, not a folder: give a folder (it is created "
                              "if missing)" % (what, path))
    if not create and not os.path.isdir(path):
        parent = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            raise OutputPathError("%s %s cannot be created: %s is a file"
                                  % (what, path, parent))
        _probe(parent, what, path)
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise OutputPathError("%s %s cannot be created: %s. Choose a folder you can write to."
                              % (what, path, os.strerror(e.errno) if e.errno else e)) from None
    _probe(path, what, path)


def check_file(path, what="the output file"):
    """Make sure the file ``path`` can be written (atomically, beside where it goes): not a
    folder, its folder creatable and writable; OutputPathError naming ``what`` otherwise.
    Nothing is left behind but a folder that had to be created."""
    if os.path.isdir(path):
        raise OutputPathError("%s %s is a folder: give the path of a file" % (what, path))
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputPathError("%s %s cannot be written: %s is a file, not a folder"
                              % (what, path, folder))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OutputPathError("%s %s cannot be written: its folder %s cannot be created (%s)"
                              % (what, path, folder, os.strerror(e.errno) if e.errno else e)
                              ) from None
    _probe(folder, what, path)  # replacing a file needs only its folder to be writable


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
