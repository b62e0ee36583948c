"""Run localstripe, the Stripe-compatible test server, for development and tests.

    python -m payments.localstripe_server [--port 8420] [--data-dir DIR] [--from-scratch]

Unlike `localstripe` itself it listens on 127.0.0.1 only and keeps its data file in a folder of
ours (not /tmp/localstripe.pickle, which every localstripe on the machine would share).
"""

import argparse
import logging
import pickle
from pathlib import Path

from aiohttp import web
from localstripe import resources, server


def _use_data_file(path):
    def load(store):
        try:
            with open(path, "rb") as f:
                data = pickle.load(f)
        except FileNotFoundError:
            return
        store.clear()
        dict.update(store, data)

    def dump(store):
        temporary = path.with_suffix(".tmp")
        with open(temporary, "wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--data-dir", type=Path, default=Path("var/localstripe"))
    parser.add_argument("--from-scratch", action="store_true", help="forget stored objects")
    args = parser.parse_args(argv)

    args.data_dir.mkdir(parents=True, exist_ok=True)
    _use_data_file(args.data_dir / "localstripe.pickle")
    if not args.from_scratch:
        resources.store.try_load_from_disk()

    logging.basicConfig(level=logging.INFO, format="localstripe %(message)s")
    web.run_app(server.app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
