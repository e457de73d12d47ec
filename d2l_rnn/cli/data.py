"""``python -m d2l_rnn data``: the dataset registry, and fetching datasets."""
from .. import data


def add_parser(sub):
    """Register ``data``."""
    p = sub.add_parser("data", help="list the registered datasets and where they resolve",
                       description="List the dataset registry; with --fetch, download "
                                   "(and checksum) the named datasets into the cache.")
    p.add_argument("--fetch", nargs="*", metavar="NAME", default=None,
                   help="download these datasets now (no names: the two corpora)")
    p.set_defaults(func=run)


def run(args):
    """Run ``data``: list the registry (or fetch datasets with ``--fetch``)."""
    if args.fetch is not None:
        for name in args.fetch or ["jaychou_lyrics", "time_machine"]:
            print("%s: %s" % (name, data.dataset_path(name)))
        return 0
    for name, ds in data.DATASETS.items():
        try:
            where = data.dataset_path(name, download_missing=False, verify=False)
            digest = data.sha1_of(where)
            status = "ok" if digest in ds.sha1 else "CORRUPT (its SHA-1 is %s)" % digest
            where = "%s: %s" % (where, status)
        except data.DataError:
            where = "not on this machine"
        print("%-15s %-26s sha1 %s\n                %s\n                %s"
              % (name, ds.filename, ds.sha1[0], ds.description, where))
    return 0
