"""A checkpoint read back: verified, its configurations as the dataclasses, and the model
rebuilt from them without the corpus."""
import os

import numpy as np
from mxnet import nd

from ..generate import generate_texts
from ..models import ConciseModel, ModelConfig, RNNModel, ScratchModel, gluon_layer
from ..models.scratch import init_state_fn, model_function
from .store import CheckpointError, read_json, resolve, verify


class CheckpointMismatch(ValueError):
    """A checkpoint does not fit the model, vocabulary or shapes it is loaded into."""


class Checkpoint(object):
    """A verified checkpoint.

    ``config`` (the configuration as saved, a dict: the model's and the training's fields,
    ``train_chars``/``val_chars``, ``param_names``/``param_shapes`` for scratch models, the
    epoch), ``model_config`` (a :class:`~d2l_rnn.models.ModelConfig`),
    ``idx_to_char``/``char_to_idx``, ``history`` (dict), ``optimizer``, ``rng``, ``epoch``.
    :meth:`build` rebuilds the model (no corpus needed), :meth:`generate` continues a prefix.
    """

    def __init__(self, path):
        self.path = path
        self.manifest = verify(path)
        self.config = read_json(path, "config.json")
        self.idx_to_char = read_json(path, "vocab.json")
        self.history = read_json(path, "history.json")
        self.optimizer = read_json(path, "optimizer.json")
        self.rng = read_json(path, "rng.json")
        self.epoch = self.config["epoch"]
        self.char_to_idx = {c: i for i, c in enumerate(self.idx_to_char)}
        if len(self.idx_to_char) != self.config["vocab_size"]:
            raise CheckpointError("checkpoint %s is inconsistent: vocab.json has %d characters "
                                  "but config.json says vocab_size=%d"
                                  % (path, len(self.idx_to_char), self.config["vocab_size"]))
        try:
            self.model_config = ModelConfig.from_dict(self.config)
        except (TypeError, ValueError) as e:
            raise CheckpointError("checkpoint %s has a configuration this d2l_rnn cannot read "
                                  "(%s)" % (path, e))
        self._built = {}

    def __repr__(self):
        c = self.model_config
        return ("Checkpoint(%s: %s %s, %d hidden, vocabulary %d, epoch %d)"
                % (self.path, c.impl, c.model, c.num_hiddens, c.vocab_size, self.epoch))

    # ---------------------------------------------------------------------- parameters

    def load_arrays(self, ctx=None):
        """The saved parameter arrays, {name: NDArray}, on ``ctx`` (default: the CPU);
        CheckpointError if one of them is not finite (a diverged run's)."""
        try:
            arrays = nd.load(os.path.join(self.path, "params.params"))
        except Exception as e:  # MXNet raises its own error types for unreadable files
            raise CheckpointError("checkpoint %s: params.params cannot be read (%s)"
                                  % (self.path, str(e).splitlines()[0]))
        bad = sorted(k for k, v in arrays.items() if not np.isfinite(v.asnumpy()).all())
        if bad:
            raise CheckpointError("checkpoint %s holds parameters that are not finite numbers "
                                  "(%s): it was saved from a run that diverged; use an "
                                  "earlier checkpoint" % (self.path, ", ".join(bad[:5])))
        return {k: v.as_in_context(ctx) for k, v in arrays.items()} if ctx else arrays

    def params(self, ctx=None):
        """Scratch checkpoints: the parameter list in the model's order, gradients attached."""
        if self.model_config.impl != "scratch":
            raise CheckpointError("checkpoint %s holds a concise (Gluon) model; use .model()"
                                  % self.path)
        arrays = self.load_arrays(ctx)
        names = self.config["param_names"]
        missing = [n for n in names if n not in arrays]
        if missing:
            raise CheckpointError("checkpoint %s: params.params lacks %s"
                                  % (self.path, ", ".join(missing)))
        params = [arrays[n] for n in names]
        for p in params:
            p.attach_grad()
        return params

    def model(self, ctx=None, model=None):
        """Concise checkpoints: the :class:`RNNModel` rebuilt from the configuration (or
        ``model``, already built) with the saved parameters loaded."""
        if self.model_config.impl != "concise":
            raise CheckpointError("checkpoint %s holds a scratch model; use .params()"
                                  % self.path)
        if model is None:
            self._require_builtin()
            c = self.model_config
            model = RNNModel(gluon_layer(c.model, c.num_hiddens, c.num_layers, c.bidirectional,
                                         c.dropout, c.activation), c.vocab_size)
        else:
            self.check(ConciseModel.from_book(model, self.model_config.num_hiddens,
                                              self.model_config.vocab_size).config,
                       self.idx_to_char)
        self.load_arrays()  # refuses non-finite parameters before Gluon loads them
        load_gluon_params(self, model, ctx)
        return model

    def build(self, ctx=None):
        """The saved model as a :class:`~d2l_rnn.models.LanguageModel`, parameters loaded."""
        if ctx not in self._built:
            self._require_builtin()
            c = self.model_config
            if c.impl == "scratch":
                model = ScratchModel(model_function(c.model), self.params(ctx),
                                     init_state_fn(c.model, c.num_layers, c.bidirectional), c,
                                     ctx)
            else:
                model = ConciseModel(self.model(ctx), c, ctx)
            self._built[ctx] = model
        return self._built[ctx]

    def load_into(self, model):
        """Copy the saved parameters into ``model`` (a LanguageModel of the same
        configuration, checked by the caller)."""
        arrays = self.load_arrays(model.ctx)
        if isinstance(model, ScratchModel):
            model.load_parameters(arrays)
        else:
            load_gluon_params(self, model.net, model.ctx)

    def _require_builtin(self):
        if not self.model_config.builtin:
            hint = ("call predict_rnn with that function and checkpoint.params()"
                    if self.model_config.impl == "scratch" else
                    "build the model yourself and pass it as model=")
            raise CheckpointError("checkpoint %s holds the custom model %r, which cannot be "
                                  "rebuilt from its configuration; %s"
                                  % (self.path, self.model_config.model, hint))

    # ---------------------------------------------------------------------- checks

    def check(self, config, idx_to_char=None, shapes=None):
        """Raise CheckpointMismatch naming the first model field (a ModelConfig, or a dict of
        one), vocabulary entry or parameter shape in which the model at hand differs."""
        if isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        for key, theirs, mine in self.model_config.differences(config):
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
        saved = self.config.get("param_shapes")
        if shapes is not None and saved is not None and [list(s) for s in shapes] != saved:
            names = self.config.get("param_names") or []
            if len(shapes) != len(saved):
                raise CheckpointMismatch("checkpoint %s has %d parameter arrays, the model has "
                                         "%d" % (self.path, len(saved), len(shapes)))
            i = next(i for i, (a, b) in enumerate(zip(shapes, saved)) if list(a) != b)
            raise CheckpointMismatch(
                "checkpoint %s: parameter %s has shape %s, the model's has shape %s"
                % (self.path, names[i] if i < len(names) else i, tuple(saved[i]),
                   tuple(shapes[i])))

    def training_differences(self, config, data=None):
        """Training settings that differ from the checkpoint's, as ``[(name, checkpoint value,
        new value)]``: resuming with them is not exact. config: a
        :class:`~d2l_rnn.training.TrainConfig`; data: what
        the run reads ({"val_chars": ...}), compared where the checkpoint recorded it."""
        diffs = config.resume_differences(self.config)
        for key, value in (data or {}).items():
            if key in self.config and self.config[key] != value:
                diffs.append((key, self.config[key], value))
        return diffs

    # ---------------------------------------------------------------------- use

    def generate(self, prefix, num_chars=100, *, temperature=None, top_k=None, num_samples=1,
                 seed=None, skip_unknown=False, ctx=None):
        """Continue ``prefix`` with the saved model; returns a list of ``num_samples`` str."""
        return generate_texts(self.build(ctx), prefix, num_chars, self.char_to_idx,
                              self.idx_to_char, temperature=temperature, top_k=top_k,
                              num_samples=num_samples, seed=seed, skip_unknown=skip_unknown)


def load_gluon_params(ckpt, net, ctx=None):
    """Load a concise checkpoint's parameters into the Gluon ``net`` (same architecture)."""
    try:
        net.load_parameters(os.path.join(ckpt.path, "params.params"), ctx=ctx)
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
