"""The chapter's settings (d2l-zh 10.7) and the sizes of the quick ``--smoke`` run."""

BOOK = {"embed_size": 100, "num_hiddens": 100, "num_layers": 2, "max_len": 500,
        "min_freq": 5, "lr": 0.01, "batch_size": 64, "num_epochs": 5}
SMOKE = {"num_train": 2000, "num_test": 1000, "num_epochs": 2}
