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
        description="Load a checkpoint written by `train --save-dir` (no corpus needed) and "
                    "print continuations of a prefix, one per line.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="a save directory (its latest checkpoint) or one "
                                      "epoch-NNNN checkpoint directory")
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
    """Run ``generate``: load a checkpoint and print samples from a prefix."""
    if args.length < 0:
        raise CLIError("--length must be >= 0, got %d" % args.length)
    ckpt = load_checkpoint(args.checkpoint, which="best" if args.best else "latest")
    prefix = args.prefix
    if prefix is None:
        prefixes = ckpt.config.get("prefixes") or [ckpt.idx_to_char[0]]
        prefix = prefixes[0]
    try:
        texts = ckpt.generate(prefix, args.length, temperature=args.temperature,
                              top_k=args.top_k, num_samples=args.num_samples, seed=args.seed,
                              skip_unknown=args.skip_unknown, ctx=try_gpu())
    except UnknownCharacterError as e:
        if args.skip_unknown:
            raise
        raise e.with_fix("use characters from the training corpus, or pass --skip-unknown "
                         "to drop them") from None
    c = ckpt.model_config
    layout = "".join([", %d layers" % c.num_layers if (c.num_layers or 1) > 1 else "",
                      ", bidirectional" if c.bidirectional else ""])
    print("# %s: %s %s%s, %d hidden, epoch %d, vocabulary %d"
          % (ckpt.path, c.impl, c.model, layout, c.num_hiddens, ckpt.epoch, c.vocab_size),
          file=sys.stderr)
    for text in texts:
        print(text)
    return 0
