"""Text generation from a prefix, for both paths.

One generator serves every model (a :class:`~d2l_rnn.models.LanguageModel`): it feeds the
prefix through the model and then appends characters one at a time, greedily (the book's
argmax, the default) or by sampling with a temperature and/or from the ``top_k`` most likely
characters, for several samples at once as one batch. Sampling draws from its own
``numpy.random.RandomState(seed)``, so a seed gives the same samples every time and
generating never disturbs the training random streams. ``predict_rnn`` and
``predict_rnn_gluon`` keep the book's signatures.
"""
import warnings

import numpy as np
from mxnet import nd

from .models import ConciseModel, ScratchModel
from .util import checks


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


def generate_texts(model, prefix, num_chars, char_to_idx, idx_to_char, *, temperature=None,
                   top_k=None, num_samples=1, seed=None, skip_unknown=False):
    """Continue ``prefix`` ``num_samples`` times at once; returns a list of str (prefix +
    ``num_chars`` characters each).

    model: a :class:`~d2l_rnn.models.LanguageModel` (logits (T * batch, vocab) for indices
    (batch, T); ``begin_state(batch)``). Greedy by default; ``temperature`` > 0 and/or
    ``top_k`` sample instead; sample 0 draws from ``numpy.random.RandomState(seed)``, sample
    i from ``RandomState([seed, i])``, so the first of several samples is the single sample.
    """
    ctx = model.ctx
    checks.non_negative_int("num_chars", num_chars)
    temperature = check_sampling(temperature, top_k, num_samples)
    prefix = clean_prefix(prefix, char_to_idx, skip_unknown)
    # Sample i has its own generator, so it does not depend on how many are drawn at once.
    rngs = [np.random.RandomState(seed if (i == 0 or seed is None) else [seed, i])
            for i in range(num_samples)]
    greedy = temperature == 0 or top_k == 1
    state = model.begin_state(num_samples)
    indices = [char_to_idx[c] for c in prefix]
    outputs = [list(indices) for _ in range(num_samples)]
    if len(indices) > 1:
        _, state = model(nd.array([indices[:-1]] * num_samples, ctx=ctx), state)
    last = nd.array([[indices[-1]]] * num_samples, ctx=ctx)
    for k in range(num_chars):
        Y, state = model(last, state)  # (num_samples, vocab): one step, batch num_samples
        if k == 0 and not np.isfinite(Y.asnumpy()).all():
            # Damaged or diverged weights: their argmax would be a run of arbitrary blanks.
            raise ValueError("the model's scores for the next character are not finite "
                             "numbers: its parameters are damaged or come from a training "
                             "run that diverged; use another model or checkpoint")
        if greedy:
            # Argmax on the device in float32, exactly as the book does.
            nxt = Y.argmax(axis=1).asnumpy().astype(np.int64)
        else:
            nxt = sample_next(Y.asnumpy(), temperature, top_k, rngs)
        for out, i in zip(outputs, nxt):
            out.append(int(i))
        last = nd.array(nxt.reshape(-1, 1), ctx=ctx)
    return ["".join(idx_to_char[i] for i in out) for out in outputs]


def _one_or_list(texts, num_samples):
    return texts[0] if num_samples == 1 else texts


def predict_rnn(prefix, num_chars, rnn, params, init_rnn_state, num_hiddens, vocab_size,
                ctx, idx_to_char, char_to_idx, *, temperature=None, top_k=None, num_samples=1,
                seed=None, skip_unknown=False):
    """Continue ``prefix`` by ``num_chars`` characters with a scratch model.

    Greedy by default (the book). ``temperature``, ``top_k``, ``seed`` as in
    :func:`generate_texts`. Returns the prefix followed by the generated characters, a str,
    or a list of ``num_samples`` str when ``num_samples`` > 1.
    """
    model = ScratchModel.from_book(rnn, params, init_rnn_state, num_hiddens, vocab_size, ctx)
    texts = generate_texts(model, prefix, num_chars, char_to_idx, idx_to_char,
                           temperature=temperature, top_k=top_k, num_samples=num_samples,
                           seed=seed, skip_unknown=skip_unknown)
    return _one_or_list(texts, num_samples)


def predict_rnn_gluon(prefix, num_chars, model, vocab_size, ctx, idx_to_char, char_to_idx, *,
                      temperature=None, top_k=None, num_samples=1, seed=None,
                      skip_unknown=False):
    """Continue ``prefix`` by ``num_chars`` characters with an :class:`RNNModel`; same
    options and return value as :func:`predict_rnn`."""
    texts = generate_texts(ConciseModel.from_book(model, None, vocab_size, ctx), prefix,
                           num_chars, char_to_idx, idx_to_char, temperature=temperature,
                           top_k=top_k, num_samples=num_samples, seed=seed,
                           skip_unknown=skip_unknown)
    return _one_or_list(texts, num_samples)
