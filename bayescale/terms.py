"""Group terms: ``"family"`` or an interaction of columns ``"family:seed"``, parsed once.

A term names the columns whose combined labels define the levels of one random effect, as
bambi's and brms's ``(1 | family:seed)``. Labels of an interaction are the columns' labels
joined by ``:`` (``"f2:0"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bayescale.errors import SpecificationError

#: Separator of columns in a term and of labels in an interaction level.
SEP = ":"


@dataclass(frozen=True, order=True)
class Term:
    """One group term: the columns whose labels define its levels.

    Parameters
    ----------
    columns : tuple of str
        One column (``("family",)``) or several (an interaction, nested when the labels of a
        later column repeat within an earlier one). A list is kept as its tuple; one name as
        text is refused (``Term("family")`` would be the letters): :meth:`parse` reads text.

    Examples
    --------
    >>> t = Term.parse("family:seed")
    >>> t.name, t.columns
    ('family:seed', ('family', 'seed'))
    >>> t.label({"family": "f2", "seed": 0})
    'f2:0'
    """

    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.columns, str):  # Term("family") would be the columns f, a, m, ...
            name = self.columns.strip() or "family"
            raise SpecificationError(
                f"Term({self.columns!r}): a term takes a tuple of column names; give "
                f"Term(({name!r},)) or Term.parse({name!r})."
            )
        if isinstance(self.columns, list):  # a list is kept as the tuple it means (hashable)
            object.__setattr__(self, "columns", tuple(self.columns))
        if (
            not isinstance(self.columns, tuple)
            or not self.columns
            or not all(isinstance(c, str) and c for c in self.columns)
        ):
            raise SpecificationError(
                f"A group term needs one or more column names, got {self.columns!r}."
            )
        if len(set(self.columns)) < len(self.columns):  # 'family:family' groups as 'family'
            raise SpecificationError(
                f"The group term {':'.join(self.columns)!r} names a column twice: an "
                "interaction joins different columns ('family:seed')."
            )

    @classmethod
    def parse(cls, text: str | Term) -> Term:
        """Parse ``"family"`` or ``"family:seed"`` (a Term passes through).

        Parameters
        ----------
        text : str or Term
            A column name, or columns joined by ``:``; spaces around names are dropped.

        Returns
        -------
        Term
            The term.

        Raises
        ------
        SpecificationError
            When ``text`` is empty or names an empty column (``"family:"``).

        Examples
        --------
        >>> bs.Term.parse("family:seed")
        Term(columns=('family', 'seed'))
        >>> bs.Term.parse(" family ").name
        'family'
        """
        if isinstance(text, Term):
            return text
        if not isinstance(text, str) or not text.strip():
            raise SpecificationError(
                f"A group term is a column name such as 'family' or 'family:seed', got {text!r}."
            )
        cols = tuple(c.strip() for c in text.split(SEP))
        if any(not c for c in cols):
            raise SpecificationError(f"Group term {text!r} has an empty column name.")
        return cls(cols)

    @property
    def name(self) -> str:
        """The term as written: columns joined by ``:``."""
        return SEP.join(self.columns)

    def label(self, values: Mapping[str, object]) -> str:
        """Level label of one row given its column values.

        Parameters
        ----------
        values : mapping
            The row's value of each of the term's columns (a dict, or a row of a table).

        Returns
        -------
        str
            The values as text, joined by ``:``.

        Examples
        --------
        >>> term = bs.Term.parse("family:seed")
        >>> term.label({"family": "f2", "seed": 0})
        'f2:0'
        >>> term.label(family_runs.iloc[-1])  # a row of a table
        'f3:0'
        """
        return SEP.join(str(values[c]) for c in self.columns)

    def split(self, label: str) -> tuple[str, ...]:
        """Column labels of a level label (inverse of :meth:`label`).

        Parameters
        ----------
        label : str
            A level label, one part per column joined by ``:``.

        Returns
        -------
        tuple of str
            The label of each column, as text.

        Raises
        ------
        ValueError
            When the label does not have one part per column.

        Examples
        --------
        >>> bs.Term.parse("family:seed").split("f2:0")
        ('f2', '0')
        """
        parts = str(label).split(SEP)
        if len(parts) != len(self.columns):
            raise ValueError(f"Label {label!r} does not have one part per column of {self.name}.")
        return tuple(parts)

    def __str__(self) -> str:
        return self.name


def parse_terms(terms: str | Term | Sequence[str | Term]) -> tuple[Term, ...]:
    """Parse one term or a sequence of terms, keeping first-use order without repeats.

    Parameters
    ----------
    terms : str, Term or sequence of str or Term
        One term (``"family"``, ``"family:seed"``) or several.

    Returns
    -------
    tuple of Term
        The distinct terms, in the order they first appear.

    Examples
    --------
    >>> from bayescale.terms import parse_terms
    >>> parse_terms("family")
    (Term(columns=('family',)),)
    >>> parse_terms(["family", "family:seed", "family"])
    (Term(columns=('family',)), Term(columns=('family', 'seed')))
    """
    items = [terms] if isinstance(terms, str | Term) else list(terms)
    parsed = tuple(dict.fromkeys(Term.parse(t) for t in items))
    seen: dict[frozenset[str], Term] = {}
    for term in parsed:  # 'family:seed' and 'seed:family' group the rows alike
        other = seen.setdefault(frozenset(term.columns), term)
        if other is not term:
            raise SpecificationError(
                f"The group terms {other.name!r} and {term.name!r} join the same columns in "
                "another order, so they group the rows alike and their effects could not be "
                f"told apart: give one of them ({other.name!r})."
            )
    return parsed


__all__ = ["SEP", "Term", "parse_terms"]
