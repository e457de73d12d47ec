"""Exit with one clear line unless this Python can install mxnet==1.9.1 (3.8 to 3.11).

Runs before the virtual environment exists, so it uses nothing but the standard library and
syntax every Python 3 understands.
"""
import sys

v = sys.version_info[:2]
if not (3, 8) <= v <= (3, 11):
    sys.exit("error: d2l_rnn needs Python 3.8 to 3.11, but %s is Python %d.%d: mxnet==1.9.1, "
             "the last MXNet release, has no wheels for it. Install Python 3.11 and run "
             "`make PYTHON=python3.11 <target>` (and `make clean` first if .venv was made "
             "with another Python)." % (sys.executable, v[0], v[1]))
