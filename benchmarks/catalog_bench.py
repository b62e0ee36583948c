"""The catalogue figures of `make bench`: search, list and detail latencies and the relevance
test set on a 100,000-book PostgreSQL catalogue (benchmarks/catalogue.py builds it).

    DATABASE_URL=postgres://.../bookstore_bench python -m benchmarks.catalog_bench [--rebuild]

`--help` lists the options."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings.dev")
    import django

    django.setup()
    from benchmarks.catalog_command import Command

    arguments = sys.argv[1:] if argv is None else argv
    Command().run_from_argv(["python -m", "benchmarks.catalog_bench", *arguments])


if __name__ == "__main__":
    main()
