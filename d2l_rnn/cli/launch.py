"""``python -m d2l_rnn launch --workers N --servers S [--hosts FILE] -- train ...``: start an
MXNet parameter-server cluster (ps-lite: a scheduler, servers, workers) and run ``train``
on every worker with ``--kvstore dist_sync``.

Without ``--hosts`` everything runs here, bound to 127.0.0.1 on a free port. With a hosts
file (one host per line) the servers and workers are started over ssh, round robin, the way
MXNet's own ``tools/launch.py`` does, and the scheduler runs here. ps-lite has no
authentication and no encryption: anyone who reaches the scheduler's port can join as a
worker or server, so a multi-machine cluster belongs on a trusted network (or SSH tunnels);
a root address that is neither private nor loopback is warned about.

Every worker's lines are printed with a ``[worker k]`` prefix (worker 0 prints the training
lines; the others only errors). The launcher exits with the first failing process's status;
if any process dies, the others are stopped within a few seconds, by their pids, and one
line says which one died and how. A cluster would otherwise wait forever for it.
"""
import ipaddress
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

from .args import CLIError, positive_int

STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when stopping the others
# ps-lite numbers the workers in the order they reach the scheduler: each worker started
# here says its rank in one line (not relayed), and its lines are prefixed with it.
RANK_ENV = "D2L_RNN_LAUNCHED"
RANK_MARKER = "d2l_rnn launch: rank %d"


def add_parser(sub):
    """Register ``launch``."""
    p = sub.add_parser(
        "launch", help="train on several processes or machines (an MXNet parameter server)",
        description="Start a scheduler, S servers and N workers of an MXNet parameter-server "
                    "cluster and run the given train command on every worker with --kvstore "
                    "dist_sync. Everything after -- is the command.")
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes")
    p.add_argument("--servers", type=positive_int, default=1, help="server processes")
    p.add_argument("--hosts", metavar="FILE", default=None,
                   help="start servers and workers over ssh on the hosts listed in FILE (one "
                        "per line); default: all on 127.0.0.1")
    p.add_argument("--root-uri", default=None,
                   help="the scheduler's address the others connect to (default 127.0.0.1, "
                        "or this machine's address with --hosts)")
    p.add_argument("--port", type=positive_int, default=None,
                   help="the scheduler's port (default: a free one)")
    p.add_argument("--print-commands", action="store_true",
                   help="print the commands that would be run, and run nothing")
    p.add_argument("command", nargs="*", help="-- train [flags...]")
    p.set_defaults(func=run)


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on now (the scheduler's)."""
    s = socket.socket()
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _is_trusted(address):
    try:
        ip = ipaddress.ip_address(socket.gethostbyname(address))
    except (OSError, ValueError):
        return False
    return ip.is_private or ip.is_loopback


def plan(args):
    """The processes to start: ``[(name, host or None, environment, argv)]``."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command or command[0] != "train":
        raise CLIError("launch runs a train command: python -m d2l_rnn launch --workers 2 -- "
                       "train [flags]; got %r" % (" ".join(command) or "nothing",))
    if "--kvstore" not in command:
        command += ["--kvstore", "dist_sync"]
    hosts = []
    if args.hosts:
        with open(args.hosts, encoding="utf-8") as f:
            hosts = [h.split()[0] for h in f if h.strip() and not h.startswith("#")]
        if not hosts:
            raise CLIError("--hosts %s lists no host" % args.hosts)
    root = args.root_uri or ("127.0.0.1" if not hosts else
                             socket.gethostbyname(socket.gethostname()))
    if hosts and not _is_trusted(root):
        print("warning: the scheduler's address %s is not a private or loopback address: "
              "ps-lite has no authentication or encryption, and anyone who reaches it can "
              "join the cluster; use a trusted network or SSH tunnels" % root,
              file=sys.stderr)
    port = args.port or free_port("127.0.0.1" if not hosts else "")
    env = {"DMLC_PS_ROOT_URI": root, "DMLC_PS_ROOT_PORT": str(port),
           "DMLC_NUM_SERVER": str(args.servers), "DMLC_NUM_WORKER": str(args.workers),
           "PS_VERBOSE": "0"}
    if not hosts:
        env["DMLC_NODE_HOST"] = "127.0.0.1"
    python = [sys.executable]
    node = python + ["-c", "import mxnet"]  # a server or the scheduler: MXNet runs it on import
    procs = [("scheduler", None, dict(env, DMLC_ROLE="scheduler"), node)]
    procs += [("server %d" % i, hosts[i % len(hosts)] if hosts else None,
               dict(env, DMLC_ROLE="server"), node) for i in range(args.servers)]
    procs += [("worker process %d" % i, hosts[i % len(hosts)] if hosts else None,
               dict(env, DMLC_ROLE="worker", **{RANK_ENV: "1"}),
               python + ["-m", "d2l_rnn"] + command) for i in range(args.workers)]
    return procs


def _argv(host, env, argv, show_env=True):
    """The command line that starts a process: ``env VAR=... argv`` here (``show_env``,
    as printed; the launcher passes the variables itself), over ssh on another host."""
    exports = ["%s=%s" % (k, v) for k, v in sorted(env.items())]
    if host is None:
        return (["env"] + exports if show_env else []) + argv
    remote = "cd %s && env %s %s" % (shlex.quote(os.getcwd()),
                                     " ".join(shlex.quote(e) for e in exports),
                                     " ".join(shlex.quote(a) for a in argv))
    return ["ssh", "-o", "StrictHostKeyChecking=no", host, remote]


class _Process(object):
    """A started process, its name (a worker's becomes ``worker R`` once it knows its rank)
    and the thread relaying its lines."""

    def __init__(self, name, popen):
        self.name, self.popen = name, popen
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def _relay(self):
        prefix = re.escape(RANK_MARKER.split("%")[0])
        for line in iter(self.popen.stdout.readline, ""):
            m = re.match(prefix + r"(\d+)\s*$", line)
            if m:
                self.name = "worker %s" % m.group(1)
                continue
            try:
                sys.stdout.write("[%s] %s" % (self.name, line))
                sys.stdout.flush()
            except OSError:  # our own output went away (a closed pipe): keep draining
                pass
        self.popen.stdout.close()


def run(args):
    """Run ``launch``; returns the exit status (the first failing process's)."""
    procs = plan(args)
    if args.print_commands:
        for name, host, env, argv in procs:
            print("%-18s %s" % (name, " ".join(shlex.quote(a) for a in _argv(host, env, argv))))
        return 0
    running = []
    previous = signal.signal(signal.SIGTERM, _interrupt)  # the cluster goes with the launcher
    try:
        for name, host, env, argv in procs:
            popen = subprocess.Popen(_argv(host, env, argv, show_env=False),
                                     env=dict(os.environ, **env),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     universal_newlines=True, bufsize=1)
            running.append(_Process(name, popen))
        return _wait(running)
    except KeyboardInterrupt:
        _stop([p.popen for p in running])
        print("interrupted: stopped the cluster", file=sys.stderr)
        return 130
    finally:
        _stop([p.popen for p in running])
        for p in running:
            p.thread.join(timeout=2)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _wait(running):
    """Wait for the workers; on the first failure stop everything and say which one."""
    workers = [p for p in running if p.name.startswith("worker")]
    while True:
        for p in running:
            code = p.popen.poll()
            if code not in (None, 0):
                _stop([q.popen for q in running if q is not p])
                p.thread.join(timeout=2)
                how = ("killed by signal %d" % -code) if code < 0 else "exit status %d" % code
                print("error: %s (pid %d) died (%s); stopped the other processes of the "
                      "cluster" % (p.name, p.popen.pid, how), file=sys.stderr, flush=True)
                return code if code > 0 else 128 - code
        if all(p.popen.poll() == 0 for p in workers):
            return 0
        time.sleep(0.2)


def _stop(procs):
    """SIGTERM the processes still running, then SIGKILL those still there after
    STOP_GRACE seconds (only the processes this launcher started, by their pids)."""
    alive = [p for p in procs if p.poll() is None]
    for p in alive:
        p.send_signal(signal.SIGTERM)
    deadline = time.time() + STOP_GRACE
    for p in alive:
        try:
            p.wait(timeout=max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
