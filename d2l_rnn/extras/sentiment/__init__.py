"""Sentiment classification of IMDb reviews with a bidirectional LSTM (d2l-zh, chapter 10.7).

The reviews are read straight from the ``.tar.gz`` archive (the labeled repack in the shared
data folder, or Stanford's original ``aclImdb_v1.tar.gz``), tokenised, mapped through a
vocabulary built on the training reviews and padded or truncated to 500 tokens.

The encoder never reads the padding (MXNet 1.9.1's fused bidirectional LSTM would, on CPU):
``model.py`` says how, and why that also lets training trim every minibatch.

    config.py   BOOK (the chapter's settings) and SMOKE (a quick run's sizes)
    data.py     the archive, reviews, tokens, vocabulary, padding: load_data_imdb
    model.py    MaskedBiLSTM, BiRNN, make_net, GloVe vectors for the embedding
    training.py minibatches by length, train, accuracy, predict_sentiment
    book.py     the chapter's own helpers: download_imdb, read_imdb, get_tokenized_imdb,
                get_vocab_imdb, preprocess_imdb, count_tokens (the book's results)

The command line's ``sentiment`` subcommand is ``d2l_rnn.cli.sentiment``.
"""
from ...data import DataError, DatasetNotFound
from ...training import History
from ...util.seeding import seed_everything
from .config import BOOK, SMOKE
from .data import (LABELS, PAD, UNK, Split, Vocab, encode, imdb_archive, load_data_imdb,
                   load_imdb_text, read_imdb_archive, tokenize)
from .model import BiRNN, MaskedBiLSTM, load_glove, make_net, use_pretrained_embedding
from .book import (count_tokens, download_imdb, get_tokenized_imdb, get_vocab_imdb,
                   preprocess_imdb, read_imdb)
from .training import accuracy, batches, predict_logits, predict_sentiment, train

__all__ = ["BOOK", "SMOKE", "LABELS", "PAD", "UNK", "Split", "Vocab", "encode", "imdb_archive",
           "load_data_imdb", "load_imdb_text", "read_imdb_archive", "tokenize", "BiRNN",
           "MaskedBiLSTM",
           "load_glove", "make_net", "use_pretrained_embedding", "accuracy", "batches",
           "predict_logits", "predict_sentiment", "train", "History", "seed_everything",
           "DataError", "DatasetNotFound", "count_tokens", "download_imdb",
           "get_tokenized_imdb", "get_vocab_imdb", "preprocess_imdb", "read_imdb"]
