"""When a run writes checkpoints, and what goes into them."""
import os
import uuid

from ..checkpoint import rng_state, save_checkpoint
from ..checkpoint.folder import SaveFolder
from ..models import ScratchModel
from ..util.plot import save_history_plot


def new_run_id():
    """An id for a fresh run, recorded in each of its checkpoints."""
    return uuid.uuid4().hex


class Saver(object):
    """Writes the checkpoints of one run into ``save_dir``: at the end, every
    ``config.save_every`` epochs, and at each new best validation perplexity
    (``config.save_best``); the perplexity plot is redrawn with the periodic and final saves.

    A context manager: while it is open the run holds the save folder
    (:class:`~d2l_rnn.checkpoint.folder.SaveFolder`: locked, stale temporary files cleared,
    another run's checkpoints refused unless ``overwrite``). Each checkpoint's
    ``config.json`` holds the model's configuration, the training's, what the run read
    (``data``: train_chars, val_chars, text_sha256), the ``run_id`` and, for a scratch
    model, the names and shapes of its parameters; ``meta`` is the caller's own JSON data.
    ``owned_ids``: the run ids whose checkpoints this run may prune (its own, and those of
    the run it resumed).
    """

    def __init__(self, save_dir, model, config, idx_to_char, data, meta=None, run_id=None,
                 owned_ids=(), overwrite=False):
        self.save_dir, self.model, self.config = save_dir, model, config
        self.idx_to_char = list(idx_to_char)
        run_id = run_id or new_run_id()
        record = dict(model.config.as_dict(), **config.as_dict())
        record.update(data, run_id=run_id)
        if isinstance(model, ScratchModel):
            record.update(param_names=model.param_names,
                          param_shapes=[list(p.shape) for p in model.params])
        if meta:
            record["meta"] = meta
        self.record = record
        self.optimizer = {"name": "sgd", "lr": config.lr, "momentum": 0.0,
                          "clipping": "global L2 norm", "clipping_theta": config.clipping_theta,
                          "state": None}
        self.title = "%s %s" % (model.config.impl, model.config.model)
        self.folder = SaveFolder(save_dir, {run_id} | set(owned_ids), overwrite)

    def __enter__(self):
        self.folder.__enter__()
        return self

    def __exit__(self, *exc):
        self.folder.__exit__(*exc)

    def due(self, epoch, improved, final):
        """Whether this epoch is saved."""
        periodic = self.config.save_every is not None and epoch % self.config.save_every == 0
        return periodic or final or (improved and self.config.save_best)

    def after_epoch(self, epoch, history, improved, final):
        """Save if this epoch is due; returns the checkpoint's directory or None."""
        if not self.due(epoch, improved, final):
            return None
        periodic = self.config.save_every is not None and epoch % self.config.save_every == 0
        tags = ["latest"] + (["best"] if improved else [])
        path = save_checkpoint(self.save_dir, epoch, self.model.save_parameters, self.record,
                               self.idx_to_char, history.as_dict(), self.optimizer,
                               rng_state(self.config.seed), tags, owns=self.folder.owns)
        if periodic or final:
            save_history_plot(history, os.path.join(self.save_dir, "perplexity.png"),
                              title=self.title)
        history.checkpoint = path
        return path
