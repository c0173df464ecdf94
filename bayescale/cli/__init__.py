"""The ``bayescale`` command: ``bayescale fit | summary | predict | frontier | report | ...``.

What it says of itself (``bayescale --help``) is :data:`bayescale.cli.parser.DESCRIPTION`. One
module per job, each verb a function ``cmd_<verb>(args) -> exit status``:

- :mod:`~bayescale.cli.options`: the options' values (argument types, the model they describe);
- :mod:`~bayescale.cli.files`: the tables read and the files and folders written;
- :mod:`~bayescale.cli.notes`: what a verb says of a saved fit beside its answer;
- :mod:`~bayescale.cli.fitting` (``fit``), :mod:`~bayescale.cli.querying` (``summary``,
  ``predict``, ``frontier``, ``report``), :mod:`~bayescale.cli.backtesting` (``backtest``,
  ``pooling``), :mod:`~bayescale.cli.pool_prior` (``pool-prior``),
  :mod:`~bayescale.cli.catalogue` (``datasets``): the verbs;
- :mod:`~bayescale.cli.parser`: the verbs' options and help; :mod:`~bayescale.cli.entry`: the
  entry point, which ends every mistake in one line.
"""

from bayescale.cli.entry import main

__all__ = ["main"]
