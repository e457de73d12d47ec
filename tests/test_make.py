"""``make`` finds a Python MXNet 1.9.1 supports on PATH by itself, or says how to get one
(tested with fake interpreters on PATH)."""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIND = os.path.join(REPO, "tools", "find_python.sh")


def _fake(folder, name, version):
    path = folder / name
    path.write_text("#!/bin/sh\necho %s\n" % version)  # answers the version query only
    path.chmod(0o755)


def _path(folder):
    # The fakes first, then only what a shell needs (no real python on this PATH).
    tools = folder / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("sh", "make", "dirname", "basename", "cat"):
        real = shutil.which(tool)
        if real and not (tools / tool).exists():
            os.symlink(real, str(tools / tool))
    return "%s:%s" % (folder, tools)


def _find(folder, *args):
    return subprocess.run(["sh", FIND] + list(args), capture_output=True, text=True,
                          env=dict(os.environ, PATH=_path(folder)), timeout=60)


def test_the_newest_supported_python_on_path_is_chosen(tmp_path):
    _fake(tmp_path, "python3", "3.13")
    _fake(tmp_path, "python3.12", "3.12")
    _fake(tmp_path, "python3.10", "3.10")
    _fake(tmp_path, "python3.9", "3.9")
    r = _find(tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == str(tmp_path / "python3.10")


def test_python3_itself_is_used_when_it_is_supported(tmp_path):
    _fake(tmp_path, "python3", "3.11")
    assert _find(tmp_path).stdout.strip() == str(tmp_path / "python3")


def test_no_supported_python_says_how_to_get_one(tmp_path):
    _fake(tmp_path, "python3", "3.13")
    r = _find(tmp_path, "--explain")
    assert r.returncode == 1
    assert "python3 (3.13)" in r.stderr and "uv python install 3.11" in r.stderr
    assert "pyenv install 3.11" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_stops_with_that_line_and_creates_nothing(tmp_path):
    _fake(tmp_path, "python3", "3.13")
    work = tmp_path / "clone"
    work.mkdir()
    for name in ("Makefile", "tools"):
        src = os.path.join(REPO, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, str(work / name))
    r = subprocess.run(["make", "check-python"], cwd=str(work), capture_output=True,
                       text=True, env=dict(os.environ, PATH=_path(tmp_path)), timeout=60)
    assert r.returncode != 0 and "uv python install 3.11" in r.stderr
    assert not (work / ".venv").exists()
    real = tmp_path / "ok"
    real.mkdir()
    os.symlink(sys.executable, str(real / "python3.11"))  # a real, supported interpreter
    r = subprocess.run(["make", "check-python"], cwd=str(work), capture_output=True,
                       text=True, env=dict(os.environ, PATH="%s:%s" % (real, _path(tmp_path))),
                       timeout=60)
    assert r.returncode == 0, r.stderr
