"""Text generation from a prefix, for both paths.

One generator serves every model (a :class:`~d2l_rnn.models.LanguageModel`): it feeds the
prefix through the model and then appends characters one at a time, greedily (the book's
argmax, the default) or by sampling with a temperature and/or from the ``top_k`` most likely
characters, for several samples at once as one batch. Greedy steps stay on the device
(``LanguageModel.greedy``; a scratch model of the package runs them as compiled chunks of
steps, ``models/layers.py``). Sampling draws from its own
``numpy.random.RandomState(seed)``, so a seed gives the same samples every time and
generating never disturbs the training random streams. ``predict_rnn`` and
``predict_rnn_gluon`` keep the book's signatures. The rules themselves (prefix checks,
sampling options, the draw) are NumPy alone, in ``d2l_rnn.sampling``, which the MXNet-free
ONNX runtime (``d2l_rnn.export.runtime``) shares.
"""
import numpy as np
from mxnet import nd

from .models import ConciseModel, ScratchModel
from .sampling import (  # noqa: F401  (re-exported: the package's names for them)
    GENERATE_FIX, UnknownCharacterError, check_prefix, check_sampling, check_scores,
    clean_prefix, sample_next, sample_rngs)
from .util import checks


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
    rngs = sample_rngs(seed, num_samples)
    with model.frozen():
        outputs = _generate(model, prefix, num_chars, char_to_idx, num_samples, temperature,
                            top_k, rngs, ctx)
    return ["".join(idx_to_char[i] for i in out) for out in outputs]


def _generate(model, prefix, num_chars, char_to_idx, num_samples, temperature, top_k, rngs,
              ctx):
    """The indices of ``num_samples`` continuations of ``prefix`` (lists of int)."""
    greedy = temperature == 0 or top_k == 1
    state = model.begin_state(num_samples)
    indices = [char_to_idx[c] for c in prefix]
    outputs = [list(indices) for _ in range(num_samples)]
    if len(indices) > 1:
        _, state = model(nd.array([indices[:-1]] * num_samples, ctx=ctx), state)
    last = nd.array([[indices[-1]]] * num_samples, ctx=ctx)
    for k in range(num_chars):
        Y, state = model(last, state)  # (num_samples, vocab): one step, batch num_samples
        if k == 0:
            check_scores(Y.asnumpy())
        if greedy:
            # Argmax on the device in float32, exactly as the book does; the rest of the
            # steps feed it back without a round trip through the host (model.greedy).
            last = Y.argmax(axis=1).reshape((-1, 1))
            chosen = last if num_chars == 1 else nd.concat(
                last, model.greedy(last, state, num_chars - 1), dim=1)
            for out, row in zip(outputs, chosen.asnumpy().astype(np.int64)):
                out.extend(int(i) for i in row)
            break
        nxt = sample_next(Y.asnumpy(), temperature, top_k, rngs)
        for out, i in zip(outputs, nxt):
            out.append(int(i))
        last = nd.array(nxt.reshape(-1, 1), ctx=ctx)
    return outputs


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
