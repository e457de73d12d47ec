"""TensorBoard logging of a language model's training, through ``tensorboardX`` (the optional
extra ``pip install 'd2l_rnn[tensorboard]'``); view it with ``tensorboard --logdir DIR``.

``TensorBoardLogger(DIR)`` is a training callback (``fit(..., callback=logger)``,
``train_and_predict_rnn(..., callback=logger)``, ``train --tensorboard DIR``): after every
epoch it writes the training and validation perplexity, the tokens per second, the mean
gradient norm before clipping, and the texts sampled that epoch.
"""
from ..util.compat import require
from ..util.fileio import check_folder

SCALARS = ("perplexity", "val_perplexity", "tokens_per_second", "grad_norm")


class TensorBoardLogger(object):
    """A ``callback(epoch, history)`` writing the epoch's numbers and samples to ``logdir``."""

    def __init__(self, logdir):
        tensorboardX = require("tensorboardX", "tensorboard", "TensorBoard logging")
        check_folder(logdir, "the TensorBoard folder")
        self.logdir = logdir
        self.writer = tensorboardX.SummaryWriter(logdir)

    def __call__(self, epoch, history):
        i = history.epochs.index(epoch)
        for name in SCALARS:
            values = history.metrics.get(name) or []
            if i < len(values):
                self.writer.add_scalar(name, values[i], epoch)
        for prefix, text in history.samples.get(epoch, {}).items():
            self.writer.add_text("samples/%s" % prefix, text, epoch)
        self.writer.flush()
        return False  # never stops training

    def close(self):
        """Flush and close the event file."""
        self.writer.close()
