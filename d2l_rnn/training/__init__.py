"""Training: one configuration, one loop for the language model, and the pieces the extras
reuse.

    config.py       TrainConfig: the book's defaults, written once
    loop.py         fit(model, corpus, config): the language model's loop
    book.py         train_and_predict_rnn[_gluon]: the book's calls, wrapped once
    classifier.py   the book's train(train_iter, test_iter, net, ...) and evaluate_accuracy
    progress.py     the progress bar and the minibatch pass every trainer runs
    history.py      History: one record per epoch, for every trainer
    divergence.py   TrainingDiverged and the one divergence check
    evaluate.py     held-out perplexity, the memorisation warning
    saving.py       when checkpoints are written and what goes into them
"""
from .book import train_and_predict_rnn, train_and_predict_rnn_gluon
from .classifier import evaluate_accuracy, train
from .config import TrainConfig
from .divergence import TrainingDiverged, check_losses
from .evaluate import evaluate_perplexity
from .history import History
from .loop import BidirectionalLMWarning, fit, train_language_model
from .progress import Progress, run_epoch
