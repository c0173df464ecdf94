"""``bayescale datasets``: list the public datasets, or describe one."""

from __future__ import annotations

import argparse

from bayescale import datasets
from bayescale.cli.options import UsageError


def cmd_datasets(args: argparse.Namespace) -> int:
    """List datasets or describe one."""
    if args.action == "list":
        if args.name:
            raise UsageError(
                f"datasets list takes no name (got {args.name!r}); describe one with "
                f"`bayescale datasets info {args.name}`"
            )
        names = datasets.available()
        width = max(map(len, names), default=0)
        for name in names:
            print(f"{name:{width}s}  {datasets.card(name)['title']}")
    else:
        if not args.name:
            raise UsageError("datasets info needs a dataset name (see `bayescale datasets list`)")
        print(datasets.info(args.name))
    return 0
