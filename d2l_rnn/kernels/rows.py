"""The input products of token indices through the fused operator: an accelerated
``take(concat(W_1, ..., W_n, dim=1), indices)``."""
ROWS_OP_NAME = "d2l_rows"


def fused_rows(F, indices, weights):
    """``X [W_1 | ... | W_n]`` for one-hot rows X of ``indices``: row ``x`` of each weight.

    indices: token indices (T, batch), float32; weights: the (V, w_i) matrices. Returns
    (T, batch, w_1 + ... + w_n), the same as ``F.take(F.concat(*weights, dim=1), indices)``
    (``rows.cc``; tested in ``tests/test_kernels.py``) without concatenating the weights.
    """
    return getattr(F, ROWS_OP_NAME)(indices, *weights, num_weights=len(weights))
