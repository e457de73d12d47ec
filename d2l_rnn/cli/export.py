"""``python -m d2l_rnn export``: write a saved model as a standard ONNX graph."""
import argparse
import os

from .args import CLIError


def add_parser(sub):
    """Register ``export``."""
    p = sub.add_parser(
        "export", help="write a saved model as an ONNX file (generate from it without MXNet)",
        description="Write the model of a checkpoint (from `train --save-dir`, scratch or "
                    "concise) as a standard ONNX graph with ONNX's own RNN/GRU/LSTM operators, "
                    "its vocabulary in the metadata. Generate from it with `generate --onnx "
                    "FILE` or d2l_rnn/export/runtime.py, which need onnxruntime, not MXNet. "
                    "Needs the extra: pip install 'd2l_rnn[onnx]'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="a save directory (its latest checkpoint) or one "
                                      "epoch-NNNN checkpoint directory")
    p.add_argument("output", help="the .onnx file to write (replaced if it exists)")
    p.add_argument("--best", action="store_true",
                   help="export the checkpoint with the best validation perplexity")
    p.set_defaults(func=run)


def run(args):
    """Run ``export``: write the checkpoint's model to the ONNX file."""
    from ..checkpoint import load_checkpoint
    from ..export.onnx import export_onnx
    ckpt = load_checkpoint(args.checkpoint, which="best" if args.best else "latest")
    try:
        export_onnx(ckpt, args.output)
    except ImportError as e:
        raise CLIError(str(e)) from None
    c = ckpt.model_config
    layout = "".join([", %d layers" % c.num_layers if c.num_layers > 1 else "",
                      ", bidirectional" if c.bidirectional else ""])
    print("wrote %s (%d bytes): %s %s%s, %d hidden, vocabulary %d, epoch %d, from %s"
          % (args.output, os.path.getsize(args.output), c.impl, c.model, layout,
             c.num_hiddens, c.vocab_size, ckpt.epoch, ckpt.path))
    return 0
