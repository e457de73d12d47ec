"""Generate text from an exported ONNX model with onnxruntime alone: no MXNet, no d2l_rnn core.

This file imports numpy, json, the standard library and onnxruntime, plus the package's
sampling rules (``d2l_rnn/sampling.py``, NumPy alone): from the package when it is imported
as ``d2l_rnn.export.runtime``, else from the file ``sampling.py`` (in the folder above this
one, or beside it). So a machine without MXNet can generate by copying the two files::

    python runtime.py model.onnx --prefix 分开 --length 50 [--temperature T --top-k K ...]

Generation follows the same rules as ``d2l_rnn.generate.generate_texts`` (greedy argmax by
default; temperature and top-k sampling; sample i seeded with ``[seed, i]``), so it gives the
same text as ``Checkpoint.generate`` on the model it was exported from.
"""
import argparse
import json
import os
import sys

import numpy as np

try:  # part of the package
    from .. import sampling
except ImportError:  # loaded from its file (or without MXNet): the sampling rules' own file
    import importlib.util

    def _load_sampling():
        here = os.path.dirname(os.path.abspath(__file__))
        for path in (os.path.join(os.path.dirname(here), "sampling.py"),
                     os.path.join(here, "sampling.py")):
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location("d2l_rnn_sampling", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
        raise ImportError("d2l_rnn's sampling.py is neither in %s nor beside %s: copy it there"
                          % (os.path.dirname(here), __file__))

    sampling = _load_sampling()

INSTALL_HINT = "pip install 'd2l_rnn[onnx]'"


class OnnxModelError(ValueError):
    """An ONNX file that is missing, unreadable or not one that d2l_rnn exported."""


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError("generating from an ONNX model needs the onnxruntime package, which "
                          "cannot be imported (%s): %s" % (e, INSTALL_HINT)) from None
    return onnxruntime


class OnnxLanguageModel(object):
    """An exported model in an onnxruntime session: ``model(tokens, state)`` -> ``(logits,
    state)``.

    tokens (num_steps, batch) integers; state a list of (num_layers * num_directions, batch,
    num_hiddens) float32 arrays (``begin_state(batch)``: zeros); logits (num_steps, batch,
    vocab_size) float32. Attributes from the metadata: ``idx_to_char``, ``char_to_idx``,
    ``kind``, ``impl``, ``num_layers``, ``num_directions``, ``num_hiddens``, ``vocab_size``,
    ``states`` (state names), ``prefixes``, ``epoch``, ``metadata`` (all of it, str -> str).
    ``threads``: onnxruntime's intra-op threads (None: its default).
    """

    def __init__(self, path, threads=None):
        ort = _onnxruntime()
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise OnnxModelError("%s does not exist; export a model first: python -m d2l_rnn "
                                 "export RUN_DIR %s" % (path, path))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        try:
            self.session = ort.InferenceSession(path, sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's own error types for unreadable files
            raise OnnxModelError("%s cannot be read as an ONNX model (%s)"
                                 % (path, str(e).strip().splitlines()[0][:300])) from None
        self.path, self.metadata = path, dict(self.session.get_modelmeta().custom_metadata_map)
        if "d2l_rnn_format" not in self.metadata:
            raise OnnxModelError("%s is an ONNX model, but not one exported by d2l_rnn (its "
                                 "metadata has no vocabulary); export one with python -m "
                                 "d2l_rnn export RUN_DIR FILE" % path)
        m = self.metadata
        try:
            self.idx_to_char = json.loads(m["idx_to_char"])
            self.kind, self.impl, self.states = m["kind"], m["impl"], json.loads(m["states"])
            self.num_layers = int(m["num_layers"])
            self.num_directions = int(m["num_directions"])
            self.num_hiddens, self.vocab_size = int(m["num_hiddens"]), int(m["vocab_size"])
            self.prefixes, self.epoch = json.loads(m.get("prefixes", "[]")), m.get("epoch")
        except (KeyError, ValueError) as e:
            raise OnnxModelError("%s: its d2l_rnn metadata is damaged (%s: %s); export it "
                                 "again" % (path, type(e).__name__, e)) from None
        self.char_to_idx = {c: i for i, c in enumerate(self.idx_to_char)}

    def begin_state(self, batch_size):
        """Zero states: a list of (num_layers * num_directions, batch_size, num_hiddens)."""
        shape = (self.num_layers * self.num_directions, batch_size, self.num_hiddens)
        return [np.zeros(shape, np.float32) for _ in self.states]

    def __call__(self, tokens, state):
        """Run the model on tokens (num_steps, batch) from ``state``: (logits (num_steps,
        batch, vocab_size), the final states as a list)."""
        feeds = {"tokens": np.asarray(tokens, dtype=np.int64)}
        feeds.update(("%s_in" % s, np.asarray(a, dtype=np.float32))
                     for s, a in zip(self.states, state))
        outs = self.session.run(["logits"] + ["%s_out" % s for s in self.states], feeds)
        return outs[0], outs[1:]

    def __repr__(self):
        return ("OnnxLanguageModel(%s: %s %s, %d layer(s), %d direction(s), %d hidden, "
                "vocabulary %d)" % (self.path, self.impl, self.kind, self.num_layers,
                                    self.num_directions, self.num_hiddens, self.vocab_size))


def generate(model, prefix, num_chars=100, *, temperature=None, top_k=None, num_samples=1,
             seed=None, skip_unknown=False):
    """Continue ``prefix`` ``num_samples`` times with an exported model (an
    :class:`OnnxLanguageModel` or the path of an .onnx file); returns a list of str (prefix
    + ``num_chars`` characters each). Options and seeds as in
    ``d2l_rnn.generate.generate_texts``."""
    if not isinstance(model, OnnxLanguageModel):
        model = OnnxLanguageModel(model)
    if isinstance(num_chars, bool) or not isinstance(num_chars, (int, np.integer)) \
            or num_chars < 0:
        raise ValueError("num_chars must be an integer >= 0, got %r" % (num_chars,))
    temperature = sampling.check_sampling(temperature, top_k, num_samples)
    prefix = sampling.clean_prefix(prefix, model.char_to_idx, skip_unknown)
    rngs = sampling.sample_rngs(seed, num_samples)
    greedy = temperature == 0 or top_k == 1
    state = model.begin_state(num_samples)
    indices = [model.char_to_idx[c] for c in prefix]
    outputs = [list(indices) for _ in range(num_samples)]
    if len(indices) > 1:
        _, state = model(np.array([indices[:-1]] * num_samples).T, state)
    last = np.array([[indices[-1]] * num_samples])
    for k in range(num_chars):
        Y, state = model(last, state)
        Y = Y[0]  # one step: (num_samples, vocab)
        if k == 0:
            sampling.check_scores(Y)
        nxt = Y.argmax(axis=1) if greedy else sampling.sample_next(Y, temperature, top_k, rngs)
        for out, i in zip(outputs, nxt):
            out.append(int(i))
        last = np.asarray(nxt, dtype=np.int64).reshape(1, -1)
    return ["".join(model.idx_to_char[i] for i in out) for out in outputs]


def main(argv=None):
    """``python runtime.py MODEL.onnx [--prefix ...]``: print continuations, one per line."""
    p = argparse.ArgumentParser(description="Generate text from a d2l_rnn ONNX export with "
                                            "onnxruntime (no MXNet).")
    p.add_argument("onnx", help="the .onnx file (python -m d2l_rnn export RUN_DIR FILE)")
    p.add_argument("--prefix", default=None, help="text to continue (default: training's)")
    p.add_argument("--length", type=int, default=100, help="characters to generate")
    p.add_argument("--temperature", type=float, default=None, help="0 or unset: greedy")
    p.add_argument("--top-k", type=int, default=None, help="sample among the K most likely")
    p.add_argument("--num-samples", type=int, default=1, help="how many continuations")
    p.add_argument("--seed", type=int, default=None, help="seed for sampling")
    p.add_argument("--skip-unknown", action="store_true", help="drop unknown prefix chars")
    args = p.parse_args(argv)
    try:
        model = OnnxLanguageModel(args.onnx)
        prefix = args.prefix or (model.prefixes or [model.idx_to_char[0]])[0]
        texts = generate(model, prefix, args.length, temperature=args.temperature,
                         top_k=args.top_k, num_samples=args.num_samples, seed=args.seed,
                         skip_unknown=args.skip_unknown)
    except (ImportError, ValueError, sampling.UnknownCharacterError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    for text in texts:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
