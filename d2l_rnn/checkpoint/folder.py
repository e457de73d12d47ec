"""A run's hold on its save folder: one run at a time, its own files only.

While a run trains it holds an exclusive lock on its save folder (``filelock``; the operating
system releases it when the process ends, however it ends), so a second run on the same
folder stops at once with a message naming the folder and the process that has it. Holding
the lock, the run clears the temporary files that interrupted saves leave behind, and it
refuses to write into a folder that holds another run's checkpoints unless asked to
(``overwrite``): every checkpoint records the id of the run that wrote it, and a run only
ever deletes checkpoints of its own.
"""
import json
import os
import re
import shutil
import socket
import sys
import time

import filelock

from ..util.fileio import check_folder, write_text_atomic
from .store import CheckpointError, checkpoints, read_json

LOCK, OWNER = ".lock", ".lock.owner"
# Temporary files of interrupted saves: checkpoint folders, and the atomic writes of the
# pointers, the plot and the lock's owner record (util.fileio.atomic_path names them
# ".<name>.<random>.part"). Only the run holding the lock writes any of them.
_STALE = re.compile(
    r"^(\.tmp-epoch-\d+.*|\.(LATEST|BEST|perplexity\.png|\.lock\.owner)\..+\.part)$")


class SaveFolderBusy(CheckpointError):
    """Another training run holds the save folder."""


class ForeignCheckpoints(CheckpointError):
    """The save folder holds checkpoints of another run."""


class SaveFolder(object):
    """Context manager: lock ``path`` for this run (creating the folder), clear stale
    temporary files, and check whose checkpoints are there.

    run_ids: the ids whose checkpoints are this run's own (its id, and that of the run it
    continues; None stands for checkpoints of format version 1, which recorded none);
    overwrite: allow a folder that holds another run's checkpoints (they are then replaced:
    pruned like the run's own).
    """

    def __init__(self, path, run_ids, overwrite=False):
        self.path, self.run_ids, self.overwrite = path, set(run_ids), overwrite
        self._lock = None

    def __enter__(self):
        check_folder(self.path, "the save folder")
        self._lock = filelock.FileLock(os.path.join(self.path, LOCK), timeout=0)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise SaveFolderBusy("%s is in use by another training run (%s); wait for it to "
                                 "finish, or use another save folder"
                                 % (self.path, self._owner())) from None
        write_text_atomic(os.path.join(self.path, OWNER), json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
             "command": " ".join(sys.argv)}))
        for entry in os.listdir(self.path):
            if _STALE.match(entry):
                _remove(os.path.join(self.path, entry))
        foreign = [c for c in checkpoints(self.path) if _run_id(c) not in self.run_ids]
        if foreign and not self.overwrite:
            self.__exit__(None, None, None)
            raise ForeignCheckpoints(
                "%s holds checkpoints of another run (%s); continue that run with resume= "
                "(--resume %s), replace them with overwrite=True (--overwrite), or save into "
                "another folder" % (self.path, _describe(foreign), self.path))
        return self

    def __exit__(self, *exc):
        if self._lock is not None:
            _remove(os.path.join(self.path, OWNER))
            self._lock.release()  # the lock file itself stays: removing it would be racy
            self._lock = None

    def owns(self, checkpoint_dir):
        """Whether this run may delete ``checkpoint_dir`` (one of its own, or any when it
        was told to overwrite)."""
        return self.overwrite or _run_id(checkpoint_dir) in self.run_ids

    def _owner(self):
        try:
            with open(os.path.join(self.path, OWNER), encoding="utf-8") as f:
                o = json.load(f)
            return "process %s on %s, started %s: %s" % (
                o["pid"], o["host"], time.strftime("%Y-%m-%d %H:%M:%S",
                                                   time.localtime(o["started"])), o["command"])
        except (OSError, ValueError, KeyError):
            return "its process is not recorded"


def _run_id(checkpoint_dir):
    try:
        return read_json(checkpoint_dir, "config.json").get("run_id")
    except CheckpointError:
        return None


def _describe(dirs):
    out = []
    for d in sorted(dirs)[-3:]:
        try:
            c = read_json(d, "config.json")
            out.append("%s: %s %s, %s hidden, epoch %s" % (
                os.path.basename(d), c.get("impl"), c.get("model"), c.get("num_hiddens"),
                c.get("epoch")))
        except CheckpointError:
            out.append("%s: unreadable" % os.path.basename(d))
    more = len(dirs) - len(out)
    return "; ".join(out) + (" and %d more" % more if more > 0 else "")


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.remove(path)
        except OSError:
            pass
