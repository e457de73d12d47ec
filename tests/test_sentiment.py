"""IMDb BiLSTM: archive reading (either layout), tokens, padding that cannot leak into a
prediction, agreement with Gluon's fused BiLSTM, GloVe loading, and learning on a slice."""
import io
import os
import tarfile

import numpy as np
import pytest
import mxnet as mx
from mxnet import autograd, gluon, nd
from mxnet.gluon import rnn

from d2l_rnn.extras import sentiment as S
from d2l_rnn.data import DataError


def _write_tar(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def stanford_like(tmp_path):
    """A tiny archive in the Stanford layout, with the unlabeled and feature files."""
    path = str(tmp_path / "aclImdb_v1.tar.gz")
    _write_tar(path, {
        "aclImdb/README": "readme",
        "aclImdb/train/pos/0_9.txt": "Great film!<br /><br />Loved it.",
        "aclImdb/train/neg/0_1.txt": "Awful, boring.",
        "aclImdb/train/unsup/0_0.txt": "unlabeled review",
        "aclImdb/train/labeledBow.feat": "0 1:1",
        "aclImdb/train/urls_pos.txt": "http://example",
        "aclImdb/test/pos/3_8.txt": "Fine movie",
        "aclImdb/test/neg/4_2.txt": "bad",
    })
    return path


def test_read_imdb_archive_skips_unsup_and_labels_by_folder(stanford_like):
    data = S.read_imdb_archive(stanford_like)
    texts, labels = data["train"]
    assert sorted(zip(texts, labels.tolist())) == [
        ("Awful, boring.", 0), ("Great film!<br /><br />Loved it.", 1)]
    assert sorted(data["test"][0]) == ["Fine movie", "bad"]


def test_explicit_archive_is_checksummed(stanford_like):
    with pytest.raises(DataError, match="neither the labeled IMDb repack"):
        S.imdb_archive(stanford_like)
    assert S.imdb_archive(stanford_like, verify=False) == stanford_like


def test_falls_back_to_the_stanford_archive(stanford_like, tmp_path, monkeypatch):
    from d2l_rnn import data
    folder = os.path.dirname(stanford_like)
    monkeypatch.setenv("D2L_RNN_DATA", folder)
    monkeypatch.chdir(folder)
    with pytest.raises(DataError, match="SHA-1"):  # found, but not Stanford's real bytes
        S.imdb_archive()
    fake = data.DATASETS["imdb"]._replace(sha1=(data.sha1_of(stanford_like),))
    monkeypatch.setitem(data.DATASETS, "imdb", fake)
    assert S.imdb_archive() == os.path.join(folder, "aclImdb_v1.tar.gz")
    assert len(S.read_imdb_archive(S.imdb_archive())["train"][0]) == 2


def test_archive_without_reviews_is_an_error(tmp_path):
    path = str(tmp_path / "empty.tar.gz")
    _write_tar(path, {"aclImdb/README": "x"})
    with pytest.raises(DataError, match="no aclImdb/train"):
        S.read_imdb_archive(path)


def test_tokenize_vocab_and_encode():
    tokens = S.tokenize("It's GREAT.<br /><br />Really, great!")
    assert tokens == ["it's", "great", ".", "really", ",", "great", "!"]
    vocab = S.Vocab([tokens, ["great", "ok"]], min_freq=2)
    assert vocab.idx_to_token == ["<unk>", "<pad>", "great"]
    features, lengths = S.encode([["great", "ok"], ["great"] * 7, []], vocab, max_len=4)
    assert features.tolist() == [[2, 0, 1, 1], [2, 2, 2, 2], [1, 1, 1, 1]]
    assert lengths.tolist() == [2, 4, 1]


def _random_batch(rng, vocab_size, lengths, t):
    features = np.ones((len(lengths), t), dtype=np.int32)
    for i, n in enumerate(lengths):
        features[i, :n] = rng.randint(2, vocab_size, size=n)
    return features


def test_padding_does_not_change_predictions():
    rng = np.random.RandomState(0)
    net = S.make_net(40, seed=0, embed_size=8, num_hiddens=6)
    lengths = np.array([3, 9, 1, 6])
    features = _random_batch(rng, 40, lengths, 9)
    base = net(nd.array(features), nd.array(lengths)).asnumpy()
    longer = np.concatenate([features, np.ones((4, 11), dtype=np.int32)], axis=1)
    garbage = longer.copy()
    for i, n in enumerate(lengths):
        garbage[i, n:] = rng.randint(2, 40, size=garbage.shape[1] - n)
    for padded in (longer, garbage):
        np.testing.assert_array_equal(net(nd.array(padded), nd.array(lengths)).asnumpy(), base)
    changed = features.copy()
    changed[0, 2] = 2 if changed[0, 2] != 2 else 3  # a valid token does matter
    assert not np.allclose(net(nd.array(changed), nd.array(lengths)).asnumpy()[0], base[0])


def test_masked_bilstm_equals_gluon_fused_bilstm_without_padding():
    mx.random.seed(3)
    T, N, C, H = 7, 3, 5, 4
    fused = rnn.LSTM(H, num_layers=2, bidirectional=True, input_size=C)
    fused.initialize(mx.init.Uniform(0.4))
    ours = S.MaskedBiLSTM(H, 2, input_size=C)
    ours.initialize()
    ref = {p.name[len(fused.prefix):]: p.data() for p in fused.collect_params().values()}
    for layer in range(2):
        for direction, side in (("fwd", "l"), ("bwd", "r")):
            block = getattr(ours, "%s%d" % (direction, layer))
            for p in block.collect_params().values():
                key = p.name[len(block.prefix):]          # e.g. l0_i2h_weight
                p.set_data(ref["%s%d%s" % (side, layer, key[2:])])
    x = nd.random.normal(shape=(T, N, C))
    expected = fused(x).asnumpy()
    got = ours(x, nd.array([T] * N)).asnumpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_glove_file_loads_frozen_or_fine_tuned(tmp_path):
    vocab = S.Vocab([["good", "bad", "plot"]], min_freq=1)
    glove = tmp_path / "tiny_glove.txt"
    glove.write_text("good 1 2 3 4\nunseen 9 9 9 9\nbad -1 -2 -3 -4\n", encoding="utf-8")
    vectors, found = S.load_glove(str(glove), vocab, embed_size=4)
    assert found == 2 and np.isnan(vectors[vocab["plot"], 0])
    for freeze in (True, False):
        net = S.make_net(len(vocab), seed=0, hybridize=False, embed_size=4, num_hiddens=3)
        before = net.embedding.weight.data().asnumpy()
        assert S.use_pretrained_embedding(net, vectors, freeze=freeze) == 2
        w = net.embedding.weight.data().asnumpy()
        np.testing.assert_array_equal(w[vocab["good"]], [1, 2, 3, 4])
        np.testing.assert_array_equal(w[vocab["plot"]], before[vocab["plot"]])
        trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.1})
        X = nd.array([[vocab["good"], vocab["bad"]]])
        with autograd.record():
            l = gluon.loss.SoftmaxCrossEntropyLoss()(net(X, nd.array([2])), nd.array([1]))
        l.backward()
        trainer.step(1)
        moved = not np.array_equal(net.embedding.weight.data().asnumpy(), w)
        assert moved is not freeze


def test_glove_with_wrong_dimension_names_the_line(tmp_path):
    vocab = S.Vocab([["good"]], min_freq=1)
    glove = tmp_path / "g.txt"
    glove.write_text("good 1 2 3\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1 has 3 numbers"):
        S.load_glove(str(glove), vocab, embed_size=100)


@pytest.fixture(scope="module")
def trained_small():
    """A small BiLSTM trained for 2 epochs on 4,000 reviews cut to 200 tokens."""
    S.seed_everything(0)
    train, test, vocab = S.load_data_imdb(num_train=4000, num_test=1000, max_len=200,
                                          min_freq=10, seed=0)
    net = S.make_net(len(vocab), seed=0, embed_size=32, num_hiddens=32)
    hist = S.train(net, train, test, num_epochs=2, progress=False, say=lambda s: None)
    return net, vocab, test, hist


def test_accuracy_rises_well_above_chance_on_a_slice(trained_small):
    _, _, test, hist = trained_small
    assert abs(test.labels.mean() - 0.5) < 0.05  # the seeded subset is balanced
    # 1,000 test reviews: chance gives 0.5 +- 0.016, so 0.6 is six standard errors above.
    assert hist.test_acc[-1] >= 0.6, hist.test_acc


def test_predict_sentiment_agrees_with_logits_and_ignores_padding(trained_small):
    net, vocab, test, _ = trained_small
    for i in range(5):
        n = int(test.lengths[i])
        logits = S.predict_logits(net, test.features[i:i + 1], test.lengths[i:i + 1])
        tokens = [vocab.idx_to_token[j] for j in test.features[i, :n]]
        assert S.predict_sentiment(net, vocab, tokens) == S.LABELS[int(logits.argmax())]
    assert S.predict_sentiment(net, vocab, "this movie is so great") in S.LABELS


def test_sentiment_subcommand_parses(monkeypatch):
    from d2l_rnn import cli
    from d2l_rnn.cli import sentiment as cli_sentiment
    monkeypatch.setattr(cli, "SUBCOMMANDS", ("sentiment",))
    args = cli.build_parser().parse_args(
        ["sentiment", "--epochs", "5", "--glove", "g.txt", "--freeze", "--num-train", "100"])
    assert (args.func, args.epochs, args.glove, args.freeze, args.num_train) == \
        (cli_sentiment.cmd_sentiment, 5, "g.txt", True, 100)
    args = cli.build_parser().parse_args(["sentiment", "--freeze"])
    with pytest.raises(ValueError, match="--freeze .* needs --glove"):
        cli_sentiment.cmd_sentiment(args)
