"""The sampling rules of text generation, in NumPy alone (no MXNet): prefix checks, the
sampling options, the next-character draw and the per-sample random streams.

``d2l_rnn.generate`` (MXNet models) and ``d2l_rnn.export.runtime`` (ONNX models, run by
onnxruntime without MXNet) both generate by these rules, so a seed gives the same choices in
both. This module imports only numpy and the standard library: it also works when loaded
from its file alone.
"""
import warnings

import numpy as np


class UnknownCharacterError(KeyError):
    """A prefix holds a character the model's vocabulary does not have.

    ``prefix``, ``unknown`` (the characters), ``vocab_size``; the message ends with what
    can be done where it was raised, and :meth:`with_fix` says it for another caller (the
    command line names its flag)."""

    def __init__(self, prefix, unknown, vocab_size, fix):
        super(UnknownCharacterError, self).__init__(prefix)
        self.prefix, self.unknown, self.vocab_size, self.fix = prefix, unknown, vocab_size, fix

    def __str__(self):
        return ("prefix %r has character(s) %s that are not in the vocabulary of %d "
                "characters; %s" % (self.prefix, ", ".join(repr(c) for c in self.unknown),
                                    self.vocab_size, self.fix))

    def with_fix(self, fix):
        """The same error, suggesting ``fix`` instead."""
        return UnknownCharacterError(self.prefix, self.unknown, self.vocab_size, fix)


GENERATE_FIX = ("use a prefix made of characters from the training corpus, or pass "
                "skip_unknown=True to drop them")


def check_prefix(prefix, char_to_idx, fix=GENERATE_FIX):
    """Raise UnknownCharacterError naming every character of ``prefix`` outside the vocab
    (``fix``: what the caller can do about it); ValueError for an empty prefix."""
    if not isinstance(prefix, str) or not prefix:
        raise ValueError("the prefix must be a string of at least one character, got %r"
                         % (prefix,))
    unknown = sorted(set(c for c in prefix if c not in char_to_idx))
    if unknown:
        raise UnknownCharacterError(prefix, unknown, len(char_to_idx), fix)


def clean_prefix(prefix, char_to_idx, skip_unknown=False):
    """Return ``prefix`` itself, or (``skip_unknown``) without its out-of-vocabulary
    characters, with a warning naming them. Raises UnknownCharacterError otherwise."""
    if not skip_unknown or not prefix:
        check_prefix(prefix, char_to_idx)
        return prefix
    kept = "".join(c for c in prefix if c in char_to_idx)
    if len(kept) != len(prefix):
        dropped = sorted(set(c for c in prefix if c not in char_to_idx))
        if not kept:
            raise UnknownCharacterError(
                prefix, dropped, len(char_to_idx), "none is left after skipping them, so "
                "nothing is left to start from; use characters from the training corpus")
        warnings.warn("skipped character(s) %s of prefix %r that are not in the vocabulary; "
                      "generating from %r" % (", ".join(repr(c) for c in dropped), prefix, kept),
                      stacklevel=3)
    return kept


def check_sampling(temperature=None, top_k=None, num_samples=1):
    """Validate sampling options; returns the effective temperature (0.0 means greedy)."""
    if temperature is not None and (isinstance(temperature, bool) or not (
            isinstance(temperature, (int, float)) and np.isfinite(temperature)
            and temperature >= 0)):
        raise ValueError("temperature must be a finite number >= 0 (0 is greedy), got %r"
                         % (temperature,))
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer))
                              or top_k < 1):
        raise ValueError("top_k must be a positive integer or None (all characters), got %r"
                         % (top_k,))
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
            or num_samples < 1:
        raise ValueError("num_samples must be a positive integer, got %r" % (num_samples,))
    if temperature is None:
        # top_k alone means sampling among the k best at the model's own temperature.
        return 1.0 if top_k is not None else 0.0
    return float(temperature)


def sample_next(logits, temperature=0.0, top_k=None, rng=None):
    """Next-character indices from logits (n, vocab) (NumPy): argmax when ``temperature`` is 0
    or ``top_k`` is 1, else a draw from softmax(logits / temperature) restricted to the
    ``top_k`` largest logits, using ``rng`` (a RandomState, or one per row). Returns an int
    array (n,)."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0 or top_k == 1:
        return logits.argmax(axis=1)
    if rng is None:
        rng = np.random.RandomState()
    # Largest logit first subtracted: a tiny temperature then sends the others to -inf
    # instead of overflowing everything to inf (and the probabilities to NaN).
    with np.errstate(over="ignore"):
        z = (logits - logits.max(axis=1, keepdims=True)) / temperature
    if top_k is not None and top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    cdf = np.cumsum(p, axis=1)
    if isinstance(rng, (list, tuple)):  # one generator per row
        u = np.array([r.random_sample() for r in rng])
    else:
        u = rng.random_sample(len(z))
    u = u[:, None] * cdf[:, -1:]
    # The first index whose cumulative mass exceeds u; never past the last allowed index.
    return np.minimum((cdf <= u).sum(axis=1), z.shape[1] - 1)


def sample_rngs(seed, num_samples):
    """One ``numpy.random.RandomState`` per sample: sample 0 draws from ``RandomState(seed)``,
    sample i from ``RandomState([seed, i])``, so a sample does not depend on how many are
    drawn at once (and the first of several is the single sample)."""
    return [np.random.RandomState(seed if (i == 0 or seed is None) else [seed, i])
            for i in range(num_samples)]


def check_scores(logits):
    """ValueError unless the first step's scores (NumPy) are finite numbers: damaged or
    diverged weights, whose argmax would be a run of arbitrary characters."""
    if not np.isfinite(logits).all():
        raise ValueError("the model's scores for the next character are not finite "
                         "numbers: its parameters are damaged or come from a training "
                         "run that diverged; use another model or checkpoint")
