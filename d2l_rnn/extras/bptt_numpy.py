"""A two-parameter linear RNN in plain NumPy, trained by hand-written backpropagation through time.

The network counts the ones in a binary sequence: ``s_t = x_t * U + s_{t-1} * W`` with
``s_0 = 0``, and the output is the last state ``s_T``. With ``U = W = 1`` it is exact. Because
``∂s_T/∂s_k = W^(T-k)``, the gradients grow like ``|W|^T`` when ``|W| > 1`` (explode) and
shrink like ``|W|^T`` when ``|W| < 1`` (vanish), which is what this module measures.

No MXNet here: everything is computed in float64 NumPy (the record of a run is the package's
``History``).
"""
import numpy as np

from ..training import History
from ..util import checks

EXAMPLE_X = (0, 0, 0, 0, 1, 0, 1, 0, 1, 0)


def make_data(num_samples, seq_len, seed=0):
    """Random binary sequences and their counts: X (num_samples, seq_len), y (num_samples,)."""
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 2, size=(num_samples, seq_len)).astype(np.float64)
    return X, X.sum(axis=1)


def forward(X, U, W):
    """All states of the RNN: X (n, T) -> S (n, T+1), with S[:, 0] = 0 and S[:, -1] the output."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    S = np.zeros((X.shape[0], X.shape[1] + 1))
    for t in range(X.shape[1]):
        S[:, t + 1] = X[:, t] * U + S[:, t] * W
    return S


def loss(y, S):
    """Mean squared error between the last states S[:, -1] and the targets y (n,)."""
    return float(np.mean((S[:, -1] - np.asarray(y, dtype=np.float64)) ** 2))


def backward(X, S, y, W):
    """BPTT for the MSE loss: returns ``(dU, dW, dS)``.

    ``dS`` (n, T+1) holds ∂J/∂s_k for every state; it is multiplied by W once per step back in
    time, so ``dS[:, k] = dS[:, T] * W^(T-k)``.
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    n, T = X.shape
    dS = np.zeros_like(S)
    dS[:, T] = 2.0 * (S[:, T] - y) / n
    dU = dW = 0.0
    for t in range(T, 0, -1):
        # s_t = x_t U + s_{t-1} W: each step adds its share, then passes the error back.
        dU += float(np.sum(dS[:, t] * X[:, t - 1]))
        dW += float(np.sum(dS[:, t] * S[:, t - 1]))
        dS[:, t - 1] = dS[:, t] * W
    return dU, dW, dS


def numerical_gradient(X, y, U, W, eps=1e-6):
    """Central-difference estimates ``(dU, dW)`` of the loss's gradient (float64)."""
    def J(u, w):
        return loss(y, forward(X, u, w))
    return ((J(U + eps, W) - J(U - eps, W)) / (2 * eps),
            (J(U, W + eps) - J(U, W - eps)) / (2 * eps))


def clip(dU, dW, theta):
    """Rescale the gradient vector (dU, dW) so its norm is at most ``theta``."""
    norm = np.hypot(dU, dW)
    if np.isfinite(norm) and norm > theta:
        return dU * theta / norm, dW * theta / norm
    return dU, dW


def train(X, y, U=0.5, W=0.5, lr=0.01, num_epochs=100, clip_theta=None):
    """Full-batch gradient descent with BPTT gradients on X (n, T), y (n,); records every epoch.

    Returns a ``History`` with metrics ``loss``, ``U``, ``W``, ``dU``, ``dW``: per-epoch lists
    of the loss and of the weights and gradients *at the start* of the epoch (before its
    update), and ``overflow_epoch``, the first epoch (1-based) whose loss or gradients are
    not finite (None if none). Training stops there: the overflow is the lesson, not an error.
    """
    checks.positive_number("lr", lr)
    checks.positive_int("num_epochs", num_epochs)
    checks.positive_number("clip_theta", clip_theta, allow_none=True, none_means="no clipping")
    y = np.asarray(y, dtype=np.float64)
    trace = History("loss", "U", "W", "dU", "dW")
    trace.overflow_epoch = None
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, num_epochs + 1):
            S = forward(X, U, W)
            dU, dW, _ = backward(X, S, y, W)
            J = loss(y, S)
            trace.record(epoch, loss=J, U=U, W=W, dU=dU, dW=dW)
            if not np.isfinite([J, dU, dW]).all():
                trace.overflow_epoch = epoch
                break
            if clip_theta is not None:
                dU, dW = clip(dU, dW, clip_theta)
            U, W = U - lr * dU, W - lr * dW
    return trace


def gradient_through_time(W, T):
    """|∂s_T/∂s_k| = |W|^(T-k) for k = T, T-1, ..., 0: the factor BPTT applies k steps back."""
    return np.abs(float(W)) ** np.arange(T + 1)


def plot_trace(trace, title=None, axes=None):
    """Loss and |gradients| per epoch of a ``train`` record on log scales, side by side (the
    overflow epoch marked). Returns the two Axes."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = trace.epochs
    with np.errstate(over="ignore", invalid="ignore"):
        axes[0].semilogy(epochs, trace.loss, ".-")
        axes[1].semilogy(epochs, np.abs(trace.dU), ".-", label="|∂J/∂U|")
        axes[1].semilogy(epochs, np.abs(trace.dW), ".-", label="|∂J/∂W|")
    axes[0].set_ylabel("loss")
    axes[1].set_ylabel("gradient")
    axes[1].legend()
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(True, which="both", alpha=0.3)
        if trace.overflow_epoch:
            ax.axvline(trace.overflow_epoch, color="r", ls="--", lw=1)
    if title:
        axes[0].figure.suptitle(title)
    return axes
