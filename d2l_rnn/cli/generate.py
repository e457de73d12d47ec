"""``python -m d2l_rnn generate``: continue a prefix with a saved model."""
import argparse
import sys

from ..checkpoint import load_checkpoint
from ..generate import UnknownCharacterError
from ..util.device import try_gpu
from .args import CLIError, non_negative_float, positive_int


def add_parser(sub):
    """Register ``generate``."""
    p = sub.add_parser(
        "generate", help="continue a prefix with a saved model (greedy or sampled)",
        description="Load a checkpoint written by `train --save-dir` (no corpus needed), or "
                    "a model written by `export` (--onnx: computed by onnxruntime, not "
                    "MXNet), and print continuations of a prefix, one per line.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="a save directory (its latest checkpoint) or one epoch-NNNN "
                        "checkpoint directory (not with --onnx)")
    p.add_argument("--onnx", metavar="FILE", default=None,
                   help="generate from this ONNX file (from `export`) with onnxruntime "
                        "instead of from a checkpoint")
    p.add_argument("--best", action="store_true",
                   help="use the checkpoint with the best validation perplexity")
    p.add_argument("--prefix", default=None,
                   help="text to continue (default: the first prefix used in training)")
    p.add_argument("--length", type=int, default=100, help="characters to generate")
    p.add_argument("--temperature", type=non_negative_float, default=None,
                   help="sampling temperature; 0 or unset is greedy (unless --top-k)")
    p.add_argument("--top-k", type=positive_int, default=None,
                   help="sample only among the K most likely characters")
    p.add_argument("--num-samples", type=positive_int, default=1,
                   help="how many continuations to generate")
    p.add_argument("--seed", type=int, default=None,
                   help="seed for sampling (same seed, same samples)")
    p.add_argument("--skip-unknown", action="store_true",
                   help="drop prefix characters that are not in the vocabulary instead of "
                        "stopping with an error")
    p.set_defaults(func=run)


def run(args):
    """Run ``generate``: load a checkpoint (or an ONNX export) and print samples from a
    prefix."""
    if args.length < 0:
        raise CLIError("--length must be >= 0, got %d" % args.length)
    if args.onnx is not None and args.checkpoint is not None:
        raise CLIError("give either a checkpoint (%s) or --onnx FILE (%s), not both"
                       % (args.checkpoint, args.onnx))
    if args.onnx is None and args.checkpoint is None:
        raise CLIError("give the checkpoint to generate from (a save directory or one of its "
                       "epoch-NNNN folders), or --onnx FILE for an exported model")
    if args.onnx is not None and args.best:
        raise CLIError("--best picks a checkpoint of a save directory; an ONNX file holds one "
                       "model (export the best one with `export --best`)")
    source = _onnx_source(args) if args.onnx is not None else _checkpoint_source(args)
    prefix = args.prefix
    if prefix is None:
        prefix = (source["prefixes"] or [source["idx_to_char"][0]])[0]
    try:
        texts = source["generate"](prefix, args.length, temperature=args.temperature,
                                   top_k=args.top_k, num_samples=args.num_samples,
                                   seed=args.seed, skip_unknown=args.skip_unknown)
    except UnknownCharacterError as e:
        if args.skip_unknown:
            raise
        raise e.with_fix("use characters from the training corpus, or pass --skip-unknown "
                         "to drop them") from None
    print(source["header"], file=sys.stderr)
    for text in texts:
        print(text)
    return 0


def _describe(path, impl, model, num_layers, bidirectional, num_hiddens, epoch, vocab_size):
    layout = "".join([", %d layers" % num_layers if (num_layers or 1) > 1 else "",
                      ", bidirectional" if bidirectional else ""])
    return "# %s: %s %s%s, %d hidden, epoch %s, vocabulary %d" % (
        path, impl, model, layout, num_hiddens, epoch, vocab_size)


def _checkpoint_source(args):
    ckpt = load_checkpoint(args.checkpoint, which="best" if args.best else "latest")
    c = ckpt.model_config

    def generate(*a, **kw):
        return ckpt.generate(*a, ctx=try_gpu(), **kw)

    return dict(generate=generate, prefixes=ckpt.config.get("prefixes"),
                idx_to_char=ckpt.idx_to_char,
                header=_describe(ckpt.path, c.impl, c.model, c.num_layers, c.bidirectional,
                                 c.num_hiddens, ckpt.epoch, c.vocab_size))


def _onnx_source(args):
    from ..export import runtime
    try:
        model = runtime.OnnxLanguageModel(args.onnx)
    except ImportError as e:
        raise CLIError(str(e)) from None

    def generate(*a, **kw):
        return runtime.generate(model, *a, **kw)

    return dict(generate=generate, prefixes=model.prefixes, idx_to_char=model.idx_to_char,
                header=_describe(args.onnx, model.impl, model.metadata.get("model", model.kind),
                                 model.num_layers, model.num_directions == 2,
                                 model.num_hiddens, model.epoch, model.vocab_size)
                + " (ONNX, onnxruntime)")
