"""d2l_rnn: the gated-RNN chapter of Dive into Deep Learning (MXNet edition), as a package.

``import d2l_rnn as d2l`` gives the names the book's cells use (``load_data_jay_lyrics``,
``try_gpu``, ``train_and_predict_rnn``, ``RNNModel`` ...), plus ready-made scratch models
(``gru``, ``lstm``, ``rnn`` with ``get_*_params`` and ``init_*_state``). Underneath, the
package reads in layers (ARCHITECTURE.md): the core (``data``, ``models``, ``kernels``,
``training``, ``generate``, ``checkpoint``, ``util``), the extras built on it
(``compare``, ``extras``), and the command line (``cli``) on top.
"""
from .util.compat import (check_mxnet as _check_mxnet, check_python as _check_python,
                          use_all_cores as _use_all_cores)

_check_python()
_use_all_cores()  # before MXNet is imported: it reads the thread count once
_check_mxnet()

__version__ = "0.2.0"

from .data import (  # noqa: E402
    DATASETS, CorpusTooShortError, DataError, DatasetNotFound, data_iter_consecutive,
    data_iter_random, dataset_path, load_corpus, load_data_jay_lyrics, load_data_time_machine,
    split_corpus, to_onehot)
from .util.device import try_all_gpus, try_gpu  # noqa: E402
from .util.optim import grad_clipping, sgd  # noqa: E402
from .util.fileio import mkdir_if_not_exist  # noqa: E402
from .util.plot import plot_perplexity, semilogy, set_figsize, use_svg_display  # noqa: E402
from .models import (  # noqa: E402
    ConciseModel, LanguageModel, ModelConfig, RNNModel, ScratchModel, build_model)
from .models.scratch import (  # noqa: E402
    KINDS, MODELS, get_gru_params, get_lstm_params, get_params_fn, get_rnn_params, gru,
    gru_cudnn, init_gru_state, init_lstm_state, init_rnn_state, init_state_fn, lstm,
    param_names, rnn)
from .generate import (  # noqa: E402
    UnknownCharacterError, generate_texts, predict_rnn, predict_rnn_gluon)
from .training import (  # noqa: E402
    BidirectionalLMWarning, History, TrainConfig, TrainingDiverged, evaluate_accuracy,
    evaluate_perplexity, fit, train, train_and_predict_rnn, train_and_predict_rnn_gluon)
from .checkpoint import (  # noqa: E402
    Checkpoint, CheckpointError, CheckpointMismatch, load_checkpoint)
from . import kernels  # noqa: E402,F401
from .compare import mapping  # noqa: E402,F401
from . import compare  # noqa: E402,F401
from .extras.sentiment import (  # noqa: E402
    count_tokens, download_imdb, get_tokenized_imdb, get_vocab_imdb, predict_sentiment,
    preprocess_imdb, read_imdb)
