"""The phrase-break taggers' settings: the defaults, and the small ones of a quick run."""

# A 1-layer GRU tagger of either path peaks on the held-out part after 3-4 epochs (seconds of
# one core on the whole corpus) and only overfits after that; larger or deeper models, weight
# decay and character dropout did not raise the peak (measurements in the package
# docstring). The cosine decay ends the run at that peak.
DEFAULTS = {"num_hiddens": 64, "num_layers": 1, "num_steps": 32, "batch_size": 32,
            "lr": 0.01, "clipping_theta": 1.0, "num_epochs": 4, "embed_size": 64,
            "val_fraction": 0.2}
# ``python -m d2l_rnn breaks --smoke``: a few seconds, to check that everything runs.
SMOKE = {"num_chars": 3000, "num_epochs": 2, "num_hiddens": 32, "num_steps": 16,
         "batch_size": 16}
