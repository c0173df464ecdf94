"""``python -m bayescale.cli``: the ``bayescale`` command."""

import sys

from bayescale.cli.main import main

sys.exit(main())
