"""``python -m bayescale.cli``: the ``bayescale`` command."""

import sys

from bayescale.cli.entry import main

if __name__ == "__main__":  # not when a tool imports the module (pytest's doctest collection)
    sys.exit(main())
