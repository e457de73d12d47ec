"""Checkpoints: the directory format (``store.py``: atomic saves, manifests, pointers) and a
checkpoint read back (``checkpoint.py``: verified, the model rebuilt without the corpus)."""
from .checkpoint import Checkpoint, CheckpointMismatch, load_checkpoint, load_gluon_params
from .store import (CheckpointError, has_checkpoint, resolve, rng_state, save_checkpoint,
                    set_rng_state, verify)
