"""Greedy text generation from a prefix, for scratch model functions and Gluon models."""
from mxnet import nd

from .utils import to_onehot


class UnknownCharacterError(KeyError):
    """A prefix holds a character the model's vocabulary does not have."""

    def __str__(self):
        return self.args[0]


def check_prefix(prefix, char_to_idx):
    """Raise UnknownCharacterError naming every character of ``prefix`` outside the vocab."""
    if not prefix:
        raise ValueError("the prefix must hold at least one character")
    unknown = sorted(set(c for c in prefix if c not in char_to_idx))
    if unknown:
        raise UnknownCharacterError(
            "prefix %r has character(s) %s that are not in the vocabulary of %d characters; "
            "use a prefix made of characters from the training corpus"
            % (prefix, ", ".join(repr(c) for c in unknown), len(char_to_idx)))


def scratch_step(rnn, params, vocab_size):
    """Wrap a scratch model function as ``step(X, state) -> (logits (T*batch, vocab), state)``
    for a (batch, T) index array X, feeding it indices or the book's one-hot list."""
    def step(X, state):
        if getattr(rnn, "takes_token_indices", False):
            outputs, state = rnn(X.T, state, params)
        else:
            outputs, state = rnn(to_onehot(X, vocab_size), state, params)
        if isinstance(outputs, (list, tuple)):
            outputs = nd.concat(*outputs, dim=0) if len(outputs) > 1 else outputs[0]
        return outputs, state
    return step


def generate(step, state, prefix, num_chars, char_to_idx, idx_to_char, ctx=None):
    """Feed ``prefix`` through ``step`` and append ``num_chars`` greedy (argmax) characters."""
    check_prefix(prefix, char_to_idx)
    output = [char_to_idx[c] for c in prefix]
    if len(output) > 1:
        _, state = step(nd.array([output[:-1]], ctx=ctx), state)
    for _ in range(num_chars):
        Y, state = step(nd.array([output[-1:]], ctx=ctx), state)
        output.append(int(Y[-1].argmax(axis=0).asscalar()))
    return "".join(idx_to_char[i] for i in output)


def predict_rnn(prefix, num_chars, rnn, params, init_rnn_state, num_hiddens, vocab_size,
                ctx, idx_to_char, char_to_idx):
    """Continue ``prefix`` by ``num_chars`` characters with a scratch model (greedy).

    Returns the prefix followed by the generated characters, a str.
    """
    return generate(scratch_step(rnn, params, vocab_size), init_rnn_state(1, num_hiddens, ctx),
                    prefix, num_chars, char_to_idx, idx_to_char, ctx)


def predict_rnn_gluon(prefix, num_chars, model, vocab_size, ctx, idx_to_char, char_to_idx):
    """Continue ``prefix`` by ``num_chars`` characters with an :class:`RNNModel` (greedy)."""
    return generate(model, model.begin_state(batch_size=1, ctx=ctx), prefix, num_chars,
                    char_to_idx, idx_to_char, ctx)
