"""What the language model's loop checks before its first epoch, and resuming from a
checkpoint: every mistake found here costs the user seconds, not a training run."""
import hashlib
import warnings

import numpy as np

from ..checkpoint import load_checkpoint, set_rng_state
from ..data import (CorpusTooShortError, as_index_array, check_minibatch, min_chars,
                    split_corpus)
from ..generate import check_prefix
from ..models import ScratchModel
from .history import History


def check_inputs(model, corpus_indices, idx_to_char, char_to_idx, config, val_indices=None,
                 save_dir=None):
    """Check a run's inputs against each other before it trains; returns ``(train, val,
    data)``: the training and held-out index lists (val None without validation) and what
    the run reads, ``{"train_chars", "val_chars", "text_sha256"}``.

    Checked: the vocabulary against the model's (``vocab_size``), every index in range, the
    prefixes (every character in the vocabulary), ``save_every`` against ``save_dir``, the
    split, and that the training part fills one minibatch (naming ``val_fraction`` when it
    is what leaves too little).
    """
    V = model.config.vocab_size
    if V is not None and V != len(idx_to_char):
        raise ValueError("vocab_size=%d, but idx_to_char holds %d characters: pass "
                         "len(idx_to_char) as vocab_size" % (V, len(idx_to_char)))
    _check_indices("corpus_indices", corpus_indices, len(idx_to_char))
    if val_indices is not None:
        _check_indices("val_indices", val_indices, len(idx_to_char))
    for prefix in config.prefixes:
        check_prefix(prefix, char_to_idx, fix="use a prefix made of characters of the "
                                              "training text")
    if config.save_every is not None and save_dir is None:
        raise ValueError("save_every=%r needs a save_dir to write checkpoints into"
                         % (config.save_every,))
    train, val = _split(corpus_indices, config.val_fraction, val_indices)
    try:  # without drawing a shuffle: the run's random stream stays the book's
        check_minibatch(len(train), config.batch_size, config.num_steps,
                        config.is_random_iter)
    except CorpusTooShortError:
        if not config.val_fraction:
            raise
        raise CorpusTooShortError(
            "val_fraction=%g holds out %d of the %d characters, which leaves %d for "
            "training: too few for one minibatch of batch_size=%d x num_steps=%d (it needs "
            "at least %d). Hold out a smaller fraction, or use more text."
            % (config.val_fraction, len(val), len(corpus_indices), len(train),
               config.batch_size, config.num_steps,
               min_chars(config.batch_size, config.num_steps, config.is_random_iter))) from None
    data = {"train_chars": len(train), "val_chars": len(val) if val is not None else 0,
            "text_sha256": text_sha256(train, val)}
    return train, val, data


def text_sha256(*parts, chunk=1 << 20):
    """SHA-256 of the concatenated index sequences as int32 (a list or an array of any
    integer type gives the same digest), hashed a chunk at a time (no copy of the corpus)."""
    digest = hashlib.sha256()
    for part in parts:
        if part is None:
            continue
        a = as_index_array(part)
        for i in range(0, len(a), chunk):
            digest.update(np.ascontiguousarray(a[i:i + chunk], dtype=np.int32).tobytes())
    return digest.hexdigest()


def _check_indices(name, indices, vocab_size):
    a = np.asarray(indices)  # an array as it is; a list's type is checked, not cast
    if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
        raise ValueError("%s must be a flat sequence of integer character indices, got an "
                         "array of %s with shape %s" % (name, a.dtype, a.shape))
    bad = np.flatnonzero((a < 0) | (a >= vocab_size))
    if bad.size:
        raise ValueError("%s[%d] is %d, outside the vocabulary's indices 0..%d: the indices "
                         "and idx_to_char come from different corpora"
                         % (name, bad[0], a[bad[0]], vocab_size - 1))


def _split(corpus_indices, val_fraction, val_indices):
    if val_indices is not None and val_fraction:
        raise ValueError("pass either val_fraction or val_indices, not both")
    if val_indices is not None:
        if len(val_indices) < 2:
            raise ValueError("val_indices needs at least 2 characters, got %d"
                             % len(val_indices))
        return corpus_indices, val_indices
    return split_corpus(corpus_indices, val_fraction or 0)


def resume_from(resume, model, config, idx_to_char, data):
    """Open and check the checkpoint to resume from and load it into ``model``; returns
    ``(History, epoch, run_id)`` (run_id None for a checkpoint of format version 1).

    A different model (any field of its configuration), vocabulary or parameter shape is
    refused; different training settings or another text of the same vocabulary are
    allowed, with a warning that the run is no longer an uninterrupted one's.
    """
    ckpt = load_checkpoint(resume)
    shapes = [p.shape for p in model.params] if isinstance(model, ScratchModel) else None
    ckpt.check(model.config, idx_to_char, shapes)
    diffs = ckpt.training_differences(config, {"val_chars": data["val_chars"]})
    if diffs:
        warnings.warn("resuming from %s with different settings (%s): training continues, but "
                      "not exactly as an uninterrupted run would"
                      % (ckpt.path, ", ".join("%s %r -> %r" % d for d in diffs)), stacklevel=4)
    saved_text = ckpt.config.get("text_sha256")
    if saved_text is not None and saved_text != data["text_sha256"]:
        warnings.warn("resuming from %s on another text than it was trained on (the same "
                      "vocabulary, other characters: another file or number of characters?); "
                      "training continues on this text" % ckpt.path, stacklevel=4)
    ckpt.load_into(model)
    set_rng_state(ckpt.rng)
    return History.from_dict(ckpt.history), ckpt.epoch, ckpt.config.get("run_id")
