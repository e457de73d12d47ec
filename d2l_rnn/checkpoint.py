"""Checkpoints: one directory per save, written atomically and verified on load.

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
from mxnet import nd

from .fileio import current_umask, file_digest, write_text_atomic

FORMAT = "d2l_rnn-checkpoint"
VERSION = 1
FILES = ("params.params", "config.json", "vocab.json", "optimizer.json", "rng.json",
         "history.json")
POINTERS = {"latest": "LATEST", "best": "BEST"}
# Gluon's layer modes, and the cell names used in configurations and on the command line.
GLUON_MODES = {"rnn_tanh": "rnn", "rnn_relu": "rnn", "gru": "gru", "lstm": "lstm"}
# Fields that must agree between a checkpoint and the model it is loaded into.
ARCHITECTURE = ("impl", "model", "vocab_size", "num_hiddens", "num_layers", "bidirectional",
                "activation")
# Fields whose change makes a resumed run differ from an uninterrupted one (a warning).
TRAINING = ("num_steps", "batch_size", "lr", "clipping_theta", "is_random_iter", "seed",
            "val_chars")
_NAME = re.compile(r"^epoch-\d{4,}(\.\d+)?$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete, truncated or corrupt."""


class CheckpointMismatch(ValueError):
    """A checkpoint does not fit the model, vocabulary or shapes it is loaded into."""


# ----------------------------------------------------------------------------------------
# Model descriptions

def scratch_config(rnn, params, num_hiddens, vocab_size):
    """Architecture of a scratch model function and its parameter list, as JSON-ready data."""
    from .scratch import KINDS, param_names, params_layout
    kind = next((k for k, v in KINDS.items() if v is rnn), None)
    layout = params_layout(kind, params, num_hiddens) if kind is not None else None
    builtin = layout is not None
    if kind is None:
        kind = getattr(rnn, "__name__", "custom")
    num_layers, bidirectional = (layout[0], layout[1] == 2) if builtin else (1, False)
    names = param_names(kind, num_layers, bidirectional) if builtin else \
        ["param%d" % i for i in range(len(params))]
    return {"impl": "scratch", "model": kind, "builtin": builtin, "vocab_size": vocab_size,
            "num_hiddens": num_hiddens, "num_layers": num_layers,
            "bidirectional": bidirectional, "activation": "tanh", "param_names": names,
            "param_shapes": [list(p.shape) for p in params]}


def gluon_config(model, num_hiddens, vocab_size):
    """Architecture of an :class:`RNNModel` (cell, sizes, layers, directions) as JSON data."""
    layer = getattr(model, "rnn", None)
    mode = getattr(layer, "_mode", None)
    if mode not in GLUON_MODES:
        return {"impl": "concise", "model": type(model).__name__, "builtin": False,
                "vocab_size": vocab_size, "num_hiddens": num_hiddens, "num_layers": None,
                "bidirectional": None, "activation": None}
    return {"impl": "concise", "model": GLUON_MODES[mode], "builtin": True,
            "vocab_size": vocab_size, "num_hiddens": layer._hidden_size,
            "num_layers": layer._num_layers, "bidirectional": layer._dir == 2,
            "activation": mode[4:] if mode.startswith("rnn_") else None,
            "dropout": layer._dropout}


def build_gluon_model(config):
    """A fresh (uninitialised) :class:`RNNModel` with the architecture in ``config``."""
    from mxnet.gluon import rnn as grnn
    from .concise import RNNModel
    if not config.get("builtin"):
        raise CheckpointError(
            "the checkpoint holds a custom Gluon model (%r) that cannot be rebuilt from its "
            "configuration; build the model yourself and pass it as model=" % config["model"])
    kw = dict(num_layers=config["num_layers"], bidirectional=config["bidirectional"],
              dropout=config.get("dropout", 0))
    if config["model"] == "rnn":
        layer = grnn.RNN(config["num_hiddens"], activation=config["activation"], **kw)
    else:
        layer = {"gru": grnn.GRU, "lstm": grnn.LSTM}[config["model"]](config["num_hiddens"],
                                                                      **kw)
    return RNNModel(layer, config["vocab_size"])


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
                    rng, tags=("latest",)):
    """Write a complete checkpoint for ``epoch`` into ``save_dir`` and point ``tags``
    ("latest", "best") at it; returns the checkpoint's directory.

    ``write_params(path)`` writes the parameter file. Everything goes into a temporary
    directory first, which is renamed into place when complete; the pointers are replaced
    atomically after that, and checkpoints no pointer names any more are deleted.
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
    _prune(save_dir)
    return os.path.join(save_dir, final)


def _prune(save_dir):
    """Delete checkpoints no pointer names and leftovers of interrupted saves."""
    keep = {_read_pointer(save_dir, tag) for tag in POINTERS}
    for entry in os.listdir(save_dir):
        path = os.path.join(save_dir, entry)
        if not os.path.isdir(path):
            continue
        if (_NAME.match(entry) and entry not in keep) or entry.startswith(".tmp-epoch-"):
            shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------------------
# Reading

def resolve(path, which="latest"):
    """The checkpoint directory for ``path``: a checkpoint directory itself, or a save
    directory whose ``which`` pointer ("latest" or "best") names one."""
    if not os.path.exists(path):
        raise CheckpointError("%s does not exist; pass a save directory (--save-dir of a "
                              "training run) or one of its epoch-NNNN directories" % path)
    if os.path.isfile(os.path.join(path, "MANIFEST.json")) or \
            os.path.isfile(os.path.join(path, "config.json")):
        return path
    if which not in POINTERS:
        raise ValueError("which must be 'latest' or 'best', got %r" % (which,))
    name = _read_pointer(path, which)
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


def has_checkpoint(save_dir):
    """Whether ``save_dir`` holds a latest checkpoint."""
    return os.path.isfile(os.path.join(save_dir, POINTERS["latest"]))


def _read_json(ckpt, name):
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
    manifest = _read_json(ckpt, "MANIFEST.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError("%s is not a d2l_rnn checkpoint (its MANIFEST.json has no "
                              "format %r)" % (ckpt, FORMAT))
    if manifest.get("version") != VERSION:
        raise CheckpointError("checkpoint %s has format version %r; this d2l_rnn reads "
                              "version %d" % (ckpt, manifest.get("version"), VERSION))
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


class Checkpoint(object):
    """A verified checkpoint: ``config``, ``idx_to_char``/``char_to_idx``, ``history`` (dict),
    ``optimizer``, ``rng``, ``epoch``; :meth:`params` and :meth:`model` rebuild the network
    (no corpus needed) and :meth:`generate` continues a prefix."""

    def __init__(self, path):
        self.path = path
        verify(path)
        self.config = _read_json(path, "config.json")
        self.idx_to_char = _read_json(path, "vocab.json")
        self.history = _read_json(path, "history.json")
        self.optimizer = _read_json(path, "optimizer.json")
        self.rng = _read_json(path, "rng.json")
        self.epoch = self.config["epoch"]
        self.char_to_idx = {c: i for i, c in enumerate(self.idx_to_char)}
        if len(self.idx_to_char) != self.config["vocab_size"]:
            raise CheckpointError("checkpoint %s is inconsistent: vocab.json has %d characters "
                                  "but config.json says vocab_size=%d"
                                  % (path, len(self.idx_to_char), self.config["vocab_size"]))
        self._built = None

    def __repr__(self):
        c = self.config
        return ("Checkpoint(%s: %s %s, %d hidden, vocabulary %d, epoch %d)"
                % (self.path, c["impl"], c["model"], c["num_hiddens"], c["vocab_size"],
                   self.epoch))

    def load_arrays(self, ctx=None):
        """The saved parameter arrays, {name: NDArray}."""
        try:
            return nd.load(os.path.join(self.path, "params.params"))
        except Exception as e:  # MXNet raises its own error types for unreadable files
            raise CheckpointError("checkpoint %s: params.params cannot be read (%s)"
                                  % (self.path, str(e).splitlines()[0]))

    def params(self, ctx=None):
        """Scratch checkpoints: the parameter list in the model's order, gradients attached."""
        if self.config["impl"] != "scratch":
            raise CheckpointError("checkpoint %s holds a concise (Gluon) model; use .model()"
                                  % self.path)
        arrays = self.load_arrays()
        names = self.config["param_names"]
        missing = [n for n in names if n not in arrays]
        if missing:
            raise CheckpointError("checkpoint %s: params.params lacks %s"
                                  % (self.path, ", ".join(missing)))
        params = [arrays[n].as_in_context(ctx) if ctx is not None else arrays[n]
                  for n in names]
        for p in params:
            p.attach_grad()
        return params

    def model(self, ctx=None, model=None):
        """Concise checkpoints: the :class:`RNNModel` rebuilt from the configuration (or
        ``model``, already built) with the saved parameters loaded."""
        if self.config["impl"] != "concise":
            raise CheckpointError("checkpoint %s holds a scratch model; use .params()"
                                  % self.path)
        if model is None:
            model = build_gluon_model(self.config)
        else:
            self.check(gluon_config(model, self.config["num_hiddens"],
                                    self.config["vocab_size"]), self.idx_to_char)
        load_gluon_params(self, model, ctx)
        return model

    def check(self, config, idx_to_char=None, shapes=None):
        """Raise CheckpointMismatch naming the first architecture field, vocabulary entry or
        parameter shape in which ``config`` (the model at hand) differs from the checkpoint."""
        for key in ARCHITECTURE:
            mine, theirs = config.get(key), self.config.get(key)
            if mine != theirs:
                raise CheckpointMismatch(
                    "checkpoint %s was saved with %s=%r, but the model it is loaded into has "
                    "%s=%r. Use the checkpoint's settings, or another save directory for a "
                    "different model." % (self.path, key, theirs, key, mine))
        if idx_to_char is not None and list(idx_to_char) != list(self.idx_to_char):
            mine, theirs = list(idx_to_char), list(self.idx_to_char)
            i = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b),
                     min(len(mine), len(theirs)))
            raise CheckpointMismatch(
                "checkpoint %s has a different vocabulary: %d characters, this corpus has %d; "
                "they first differ at index %d (%r in the checkpoint, %r here). Train on the "
                "same text (same corpus and --num-chars) to resume from it."
                % (self.path, len(theirs), len(mine), i,
                   theirs[i] if i < len(theirs) else None, mine[i] if i < len(mine) else None))
        if shapes is not None:
            saved = self.config.get("param_shapes")
            names = self.config.get("param_names") or []
            if saved is not None and [list(s) for s in shapes] != saved:
                if len(shapes) != len(saved):
                    raise CheckpointMismatch(
                        "checkpoint %s has %d parameter arrays, the model has %d"
                        % (self.path, len(saved), len(shapes)))
                i = next(i for i, (a, b) in enumerate(zip(shapes, saved)) if list(a) != b)
                raise CheckpointMismatch(
                    "checkpoint %s: parameter %s has shape %s, the model's has shape %s"
                    % (self.path, names[i] if i < len(names) else i, tuple(saved[i]),
                       tuple(shapes[i])))

    def training_differences(self, config):
        """Training settings (batch size, lr, ...) that differ from the checkpoint's, as
        ``[(name, checkpoint value, new value)]``: resuming with them is not exact."""
        return [(k, self.config.get(k), config.get(k)) for k in TRAINING
                if k in config and self.config.get(k) != config.get(k)]

    def generate(self, prefix, num_chars=100, *, temperature=None, top_k=None, num_samples=1,
                 seed=None, skip_unknown=False, ctx=None):
        """Continue ``prefix`` with the saved model; returns a list of ``num_samples`` str."""
        from .predict import generate_texts, scratch_step
        if self._built is None:
            if self.config["impl"] == "scratch":
                from .scratch import KINDS, init_state_fn
                if not self.config.get("builtin"):
                    raise CheckpointError(
                        "checkpoint %s holds the custom model function %r; call predict_rnn "
                        "with that function and checkpoint.params()"
                        % (self.path, self.config["model"]))
                fn = KINDS[self.config["model"]]
                init_state = init_state_fn(self.config["model"], self.config["num_layers"],
                                           self.config["bidirectional"])
                params, h = self.params(ctx), self.config["num_hiddens"]
                self._built = (scratch_step(fn, params, self.config["vocab_size"]),
                               lambda b: list(init_state(b, h, ctx)))
            else:
                model = self.model(ctx)
                self._built = (model, lambda b: model.begin_state(batch_size=b, ctx=ctx))
        step, begin_state = self._built
        return generate_texts(step, begin_state, prefix, num_chars, self.char_to_idx,
                              self.idx_to_char, ctx, temperature=temperature, top_k=top_k,
                              num_samples=num_samples, seed=seed, skip_unknown=skip_unknown)


def load_gluon_params(ckpt, model, ctx=None):
    """Load a concise checkpoint's parameters into ``model`` (same architecture)."""
    try:
        model.load_parameters(os.path.join(ckpt.path, "params.params"), ctx=ctx)
    except (AssertionError, ValueError) as e:  # Gluon names the parameter it cannot match
        raise CheckpointMismatch("checkpoint %s does not fit the model: %s"
                                 % (ckpt.path, str(e).splitlines()[0]))
    except Exception as e:
        raise CheckpointError("checkpoint %s: params.params cannot be read (%s)"
                              % (ckpt.path, str(e).splitlines()[0]))


def load_checkpoint(path, which="latest"):
    """Open and verify a checkpoint: a checkpoint directory, or a save directory (its
    ``which`` = "latest" or "best" checkpoint). Returns a :class:`Checkpoint`."""
    if isinstance(path, Checkpoint):
        return path
    return Checkpoint(resolve(os.fspath(path), which))
