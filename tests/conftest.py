"""Shared fixtures: where the corpora are, a small corpus."""
import os

import pytest

import d2l_rnn  # noqa: F401  (before any test imports mxnet: it sets MXNet's thread count)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")

# Tests and CI read the corpora from ../shared/data unless the caller points elsewhere.
if not os.environ.get("D2L_RNN_DATA") and os.path.isdir(SHARED_DATA):
    os.environ["D2L_RNN_DATA"] = SHARED_DATA


@pytest.fixture(scope="session")
def lyrics():
    """The book's corpus tuple on the first 10,000 characters."""
    import d2l_rnn
    return d2l_rnn.load_data_jay_lyrics()


@pytest.fixture(scope="session")
def small_lyrics():
    """The first 2,000 characters: enough for a few quick epochs."""
    import d2l_rnn
    return d2l_rnn.load_data_jay_lyrics(num_chars=2000)
