"""The checkpoint directory format: one directory per save, written atomically and verified
on load.

A save directory (``--save-dir``) holds checkpoint directories and two pointer files::

    runs/gru/
      LATEST             name of the newest checkpoint ("epoch-0020")
      BEST               name of the checkpoint with the best validation perplexity
      epoch-0020/
        params.params    parameters (MXNet's nd.save format)
        config.json      model and training configuration, epoch
        vocab.json       idx_to_char, a JSON list of characters (no pickle)
        optimizer.json   optimiser name and settings (plain SGD keeps no state)
        rng.json         Python and NumPy random states, MXNet's seeding scheme
        history.json     per-epoch perplexities, seconds, samples
        MANIFEST.json    SHA-256 and size of every file above, written last
      perplexity.png     training and validation perplexity against epoch

A checkpoint is written into a hidden temporary directory and renamed into place only when
complete; the pointer files are then replaced atomically. A crash in the middle of a save
leaves the previous checkpoint and pointers untouched. Loading checks the manifest, so a
truncated or altered file is reported instead of being loaded as garbage.
"""
import json
import os
import random
import re
import shutil
import tempfile

import numpy as np

from ..util.fileio import current_umask, file_digest, write_text_atomic

FORMAT = "d2l_rnn-checkpoint"
# Version 2 records the model and training configurations as the dataclasses write them;
# version 1 (d2l_rnn 0.1) is still read (``ModelConfig.from_dict``, ``TrainConfig.from_dict``).
VERSION = 2
READABLE_VERSIONS = (1, 2)
FILES = ("params.params", "config.json", "vocab.json", "optimizer.json", "rng.json",
         "history.json")
POINTERS = {"latest": "LATEST", "best": "BEST"}
_NAME = re.compile(r"^epoch-\d{4,}(\.\d+)?$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete, truncated or corrupt."""


# ----------------------------------------------------------------------------------------
# Random states as JSON

def rng_state(seed=None):
    """Python's and NumPy's global random states (and MXNet's seeding scheme) as JSON data.

    MXNet cannot report its generator state; the trainers instead re-seed it at the start of
    every epoch from (seed, epoch) when a seed is given, so the seed is all that is needed.
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "mxnet": {"scheme": "reseeded every epoch from (seed, epoch)", "seed": seed}}


def set_rng_state(state):
    """Restore the Python and NumPy global random states saved by :func:`rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


# ----------------------------------------------------------------------------------------
# Writing

def _sha256(path):
    return file_digest(path, "sha256")


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory; the rename still is atomic
        pass
    finally:
        os.close(fd)


def _write_pointer(save_dir, tag, name):
    write_text_atomic(os.path.join(save_dir, POINTERS[tag]), name + "\n")


def _read_pointer(save_dir, tag):
    path = os.path.join(save_dir, POINTERS[tag])
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        name = f.read().strip()
    if not _NAME.match(name):
        raise CheckpointError("%s should name a checkpoint directory such as epoch-0010, it "
                              "holds %r; the save directory is damaged" % (path, name[:80]))
    return name


def save_checkpoint(save_dir, epoch, write_params, config, idx_to_char, history, optimizer,
                    rng, tags=("latest",), owns=None):
    """Write a complete checkpoint for ``epoch`` into ``save_dir`` and point ``tags``
    ("latest", "best") at it; returns the checkpoint's directory.

    ``write_params(path)`` writes the parameter file. Everything goes into a temporary
    directory first, which is renamed into place when complete; the pointers are replaced
    atomically after that, and the checkpoints no pointer names any more are deleted, of
    those ``owns(checkpoint_dir)`` says the caller wrote (default: all).
    """
    os.makedirs(save_dir, exist_ok=True)
    name = "epoch-%04d" % epoch
    tmp = tempfile.mkdtemp(prefix=".tmp-%s-" % name, dir=save_dir)
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; make it like any folder
        write_params(os.path.join(tmp, "params.params"))
        _write_json(os.path.join(tmp, "config.json"), dict(config, epoch=epoch))
        _write_json(os.path.join(tmp, "vocab.json"), list(idx_to_char))
        _write_json(os.path.join(tmp, "optimizer.json"), optimizer)
        _write_json(os.path.join(tmp, "rng.json"), rng)
        _write_json(os.path.join(tmp, "history.json"), history)
        files = {}
        for f in FILES:
            p = os.path.join(tmp, f)
            _fsync(p)
            files[f] = {"sha256": _sha256(p), "bytes": os.path.getsize(p)}
        _write_json(os.path.join(tmp, "MANIFEST.json"),
                    {"format": FORMAT, "version": VERSION, "epoch": epoch, "files": files})
        _fsync(tmp)
        final, n = name, 0
        while os.path.exists(os.path.join(save_dir, final)):  # e.g. resumed from an older one
            n += 1
            final = "%s.%d" % (name, n)
        os.rename(tmp, os.path.join(save_dir, final))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(save_dir)
    for tag in tags:
        _write_pointer(save_dir, tag, final)
    _prune(save_dir, owns or (lambda path: True))
    return os.path.join(save_dir, final)


def _prune(save_dir, owns):
    """Delete the caller's checkpoints that no pointer names."""
    keep = {_read_pointer(save_dir, tag) for tag in POINTERS}
    for path in checkpoints(save_dir):
        if os.path.basename(path) not in keep and owns(path):
            shutil.rmtree(path, ignore_errors=True)


def checkpoints(save_dir):
    """The checkpoint directories (``epoch-NNNN``) in ``save_dir``, oldest epoch first."""
    if not os.path.isdir(save_dir):
        return []
    names = [e for e in os.listdir(save_dir) if _NAME.match(e)
             and os.path.isdir(os.path.join(save_dir, e))]
    return [os.path.join(save_dir, e) for e in sorted(names, key=_epoch_key)]


def _epoch_key(name):
    epoch, _, n = name[len("epoch-"):].partition(".")
    return int(epoch), int(n or 0)


# ----------------------------------------------------------------------------------------
# Reading

def resolve(path, which="latest"):
    """The checkpoint directory for ``path``: a checkpoint directory itself, or a save
    directory whose ``which`` pointer ("latest" or "best") names one. Without a LATEST
    pointer, the newest checkpoint of the folder that verifies is the latest (a warning says
    so)."""
    if not os.path.exists(path):
        raise CheckpointError("%s does not exist; pass a save directory (--save-dir of a "
                              "training run) or one of its epoch-NNNN directories" % path)
    if os.path.isfile(path):
        raise CheckpointError("%s is a file; pass the run's save folder or one of its "
                              "epoch-NNNN checkpoint folders" % path)
    if os.path.isfile(os.path.join(path, "MANIFEST.json")) or \
            os.path.isfile(os.path.join(path, "config.json")):
        return path
    if which not in POINTERS:
        raise ValueError("which must be 'latest' or 'best', got %r" % (which,))
    name = _read_pointer(path, which)
    if name is None and which == "latest" and checkpoints(path):
        return _newest_valid(path)
    if name is None:
        extra = (" (a best checkpoint is only saved when training has a validation split)"
                 if which == "best" else "")
        raise CheckpointError("%s holds no %s checkpoint: %s is missing%s"
                              % (path, which, POINTERS[which], extra))
    ckpt = os.path.join(path, name)
    if not os.path.isdir(ckpt):
        raise CheckpointError("%s names %s, which does not exist; the save directory is "
                              "damaged" % (os.path.join(path, POINTERS[which]), ckpt))
    return ckpt


def _newest_valid(save_dir):
    """The newest checkpoint of ``save_dir`` that verifies (its LATEST pointer is gone)."""
    import warnings
    bad = []
    for ckpt in reversed(checkpoints(save_dir)):
        try:
            verify(ckpt)
        except CheckpointError as e:
            bad.append("%s (%s)" % (os.path.basename(ckpt), e))
            continue
        warnings.warn("%s has no LATEST pointer: using its newest valid checkpoint, %s"
                      % (save_dir, os.path.basename(ckpt)), stacklevel=3)
        return ckpt
    raise CheckpointError("%s has no LATEST pointer and none of its checkpoints verifies: %s"
                          % (save_dir, "; ".join(bad)))


def has_checkpoint(save_dir):
    """Whether ``save_dir`` holds a checkpoint (a LATEST pointer or a checkpoint folder)."""
    return os.path.isfile(os.path.join(save_dir, POINTERS["latest"])) \
        or bool(checkpoints(save_dir))


def read_json(ckpt, name):
    """The JSON file ``name`` of checkpoint directory ``ckpt``; CheckpointError if it is
    missing or not JSON."""
    path = os.path.join(ckpt, name)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise CheckpointError("checkpoint %s is incomplete: %s is missing" % (ckpt, name))
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError("checkpoint %s is corrupt: %s is not valid JSON (%s)"
                              % (ckpt, name, e))


def verify(ckpt):
    """Check every file of checkpoint directory ``ckpt`` against its manifest; raises
    CheckpointError naming the first missing, truncated or altered file."""
    manifest = read_json(ckpt, "MANIFEST.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError("%s is not a d2l_rnn checkpoint (its MANIFEST.json has no "
                              "format %r)" % (ckpt, FORMAT))
    if manifest.get("version") not in READABLE_VERSIONS:
        raise CheckpointError("checkpoint %s has format version %r; this d2l_rnn reads "
                              "versions %s" % (ckpt, manifest.get("version"),
                                               ", ".join(map(str, READABLE_VERSIONS))))
    for name in FILES:
        entry = manifest.get("files", {}).get(name)
        path = os.path.join(ckpt, name)
        if entry is None or not os.path.isfile(path):
            raise CheckpointError("checkpoint %s is incomplete: %s is missing" % (ckpt, name))
        size = os.path.getsize(path)
        if size != entry["bytes"]:
            raise CheckpointError("checkpoint %s is corrupt: %s has %d bytes, the manifest "
                                  "says %d (truncated?). Use another checkpoint."
                                  % (ckpt, name, size, entry["bytes"]))
        digest = _sha256(path)
        if digest != entry["sha256"]:
            raise CheckpointError("checkpoint %s is corrupt: %s has SHA-256 %s, the manifest "
                                  "says %s. Use another checkpoint."
                                  % (ckpt, name, digest[:16], entry["sha256"][:16]))
    return manifest
