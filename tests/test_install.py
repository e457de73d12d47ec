"""The MXNet build is the user's choice: a clear line without one, the build in use named,
and on a GPU context the scratch models' choice of the graph route (the fused kernels are CPU
operators). No GPU here: the choice is tested, not a GPU run."""
import os
import subprocess
import sys

import mxnet as mx

import d2l_rnn
from d2l_rnn.kernels.loss import applies
from d2l_rnn.models import layers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_without_mxnet_the_import_says_what_to_install():
    code = "import sys; sys.modules['mxnet'] = None\nimport d2l_rnn"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=REPO, timeout=120)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert "ImportError: d2l_rnn needs MXNet 1.9" in last
    assert "pip install 'd2l_rnn[cpu]'" in last and "mxnet-cu112==1.9.1" in last


def test_the_mxnet_build_in_use_is_named():
    r = subprocess.run([sys.executable, "-m", "d2l_rnn", "--version"], capture_output=True,
                       text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0
    assert r.stdout.startswith("d2l_rnn %s, MXNet %s (mxnet" % (d2l_rnn.__version__,
                                                                 mx.__version__))


def test_mxnet_is_not_a_hard_dependency_and_the_cpu_extra_brings_it():
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO, "setup.cfg"))
    requires = cfg["options"]["install_requires"]
    extras = cfg["options.extras_require"]
    assert "mxnet" not in requires
    assert extras["cpu"].strip() == "mxnet==1.9.1"
    assert "mxnet-cu" in extras["cu112"]


def test_on_a_gpu_context_the_kernels_are_not_chosen():
    gpu = mx.Context("gpu", 0)  # a context object only: nothing runs on it
    assert layers.uses_kernel("gru", mx.cpu()) == d2l_rnn.kernels.enabled()
    assert not layers.uses_kernel("gru", gpu)
    assert not applies(gpu) and applies(mx.cpu())


def test_try_gpu_is_honest():
    assert d2l_rnn.try_gpu().device_type == ("gpu" if mx.context.num_gpus() else "cpu")
