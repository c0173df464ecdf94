"""The ``bayescale`` command's entry point: parse, run the verb, end every mistake in one line."""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from collections.abc import Callable

from bayescale import datasets
from bayescale.cli.options import UsageError, command_line_text
from bayescale.cli.parser import build_parser
from bayescale.errors import (
    DataError,
    DataWarning,
    ExtrapolationWarning,
    PosteriorFileError,
    SpecificationError,
)

#: Environment variable that turns tracebacks on (for debugging the package itself).
DEBUG_ENV = "BAYESCALE_DEBUG"


#: What a user can get wrong: each ends in one line and exit status 2.
USER_ERRORS = (
    UsageError,
    DataError,
    SpecificationError,
    PosteriorFileError,
    ValueError,  # the library's checks of arguments (DataError and SpecificationError are ones)
    datasets.DatasetError,
    FileNotFoundError,
    IsADirectoryError,
    PermissionError,
)


def _one_line_warnings() -> Callable[..., None]:
    """Return a ``warnings.showwarning`` that prints each message once, as ``warning: ...``."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(command_line_text(message).split())
        if text not in shown:  # a table is validated by the fit and again by its figure
            shown.add(text)
            print(f"warning: {text}", file=sys.stderr)

    return show


#: A negative number in scientific notation, which argparse takes for an option's name.
NEGATIVE_SCIENTIFIC = re.compile(r"-\d*\.?\d+[eE][+-]?\d+")


def _repeated_option(parser: argparse.ArgumentParser, given: list[str]) -> str | None:
    """Say which option of the command is given twice (argparse would keep its last use only)."""
    if "-h" in given or "--help" in given:
        return None  # the help is asked for: argparse shows it
    command = next((a for a in given if not a.startswith("-")), None)
    verbs = next(
        (a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {}
    )
    sub = verbs.get(command) if command else None
    if sub is None:
        return None
    options = sub._option_string_actions  # exact names: the verbs take no abbreviations
    seen: dict[str, str] = {}
    for token in given:
        if token == "--":  # what follows is positional
            break
        action = options.get(token.split("=", 1)[0]) if token.startswith("--") else None
        if action is None:
            continue  # a value, or an unknown option (argparse says so)
        if action.dest in seen:
            spelled = action.option_strings[-1]
            if action.nargs in ("+", "*"):
                value = action.metavar or action.dest.upper()
                fix = f"only the last would count: give all its values after one {spelled} ("
                fix += f"{spelled} {value} {value} ...)"
            elif action.nargs == 0:  # a flag: every use does the same
                fix = "give it once"
            else:
                fix = "only the last would count: give it once"
            both = f" ({seen[action.dest]} and {token})" if seen[action.dest] != token else ""
            return f"{command}: {spelled} is given twice{both}; {fix}"
        seen[action.dest] = token
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bayescale`` command; returns the exit status."""
    given = sys.argv[1:] if argv is None else list(argv)
    negative = [i for i, a in enumerate(given) if NEGATIVE_SCIENTIFIC.fullmatch(a)]
    if negative:  # argparse reads "-1e9" as an unknown option, and says "expected an argument"
        i = negative[0]
        option = next((a for a in reversed(given[:i]) if a.startswith("--")), "an option")
        print(
            f"error: {option} {given[i]}: a negative number; the command's numbers (sizes, "
            "tokens, budgets, losses, counts) are all > 0",
            file=sys.stderr,
        )
        return 2
    parser = build_parser()
    repeated = _repeated_option(parser, given)
    if repeated:  # argparse keeps the last use of an option and drops the others silently
        print(f"error: {repeated}", file=sys.stderr)
        return 2
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as e:  # argparse printed the problem (or the help asked for)
        return int(e.code or 0)
    if extra:  # the verb's options are its own: point at its help, not the top level's
        verb = f"bayescale {args.command}"
        print(
            f"error: {verb}: unrecognized arguments: {' '.join(extra)} (`{verb} --help` shows "
            "the options)",
            file=sys.stderr,
        )
        return 2
    debug = bool(os.environ.get(DEBUG_ENV))
    try:
        with warnings.catch_warnings():
            for category in (DataWarning, ExtrapolationWarning):  # shown, not raised
                warnings.simplefilter("always", category)
            if not debug:
                warnings.showwarning = _one_line_warnings()
            return args.func(args)
    except BrokenPipeError:  # the reader closed the output (`| head`): stop, quietly
        # Python would complain of the pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a command stopped by SIGPIPE
    except USER_ERRORS as e:
        if debug:
            raise
        print(f"error: {' '.join(command_line_text(e).split())}", file=sys.stderr)  # one line
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: one line, and how to see more
        if debug:
            raise
        print(
            f"error: {type(e).__name__}: {' '.join(str(e).split())} (an internal error; set "
            f"{DEBUG_ENV}=1 for the traceback and please report it)",
            file=sys.stderr,
        )
        return 1
