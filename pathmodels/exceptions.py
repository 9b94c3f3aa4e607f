"""Errors and warnings raised by pathmodels.

Every failure a user can cause raises a subclass of :class:`PathModelsError`; every
questionable-but-returned result warns with a subclass of :class:`PathModelsWarning`.
Messages say what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BackendUnavailableError",
    "BoundaryWarning",
    "ConvergenceWarning",
    "DataError",
    "InadmissibleSolutionWarning",
    "MissingDataWarning",
    "ModelSyntaxError",
    "PathModelsError",
    "PathModelsWarning",
    "SpecificationError",
    "close_matches",
]


class PathModelsError(Exception):
    """Base class of every error pathmodels raises on purpose."""


class ModelSyntaxError(PathModelsError, ValueError):
    """The model syntax cannot be parsed.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    line : int, optional
        1-based line of the offending token.
    column : int, optional
        1-based column of the offending token.
    source_line : str, optional
        The text of that line, printed under the message with a caret.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        super().__init__(self._render())

    def _render(self) -> str:
        if self.line is None:
            return self.message
        where = f"line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        text = f"{where}: {self.message}"
        if self.source_line is not None:
            text += f"\n  {self.source_line}"
            if self.column is not None:
                text += "\n  " + " " * (self.column - 1) + "^"
        return text


class SpecificationError(PathModelsError, ValueError):
    """The model parses but cannot be fitted as specified (unknown names, unidentified...)."""


class DataError(PathModelsError, ValueError):
    """The data cannot be used with the model (missing columns, non-numeric, constant...)."""


class BackendUnavailableError(PathModelsError, ImportError):
    """An optional backend or its package is not installed or not registered."""


class PathModelsWarning(UserWarning):
    """Base class of every warning pathmodels issues."""


class ConvergenceWarning(PathModelsWarning):
    """The optimiser or sampler did not converge; the result is returned but suspect."""


class InadmissibleSolutionWarning(PathModelsWarning):
    """The solution is improper: negative variances, non-positive-definite matrices."""


class MissingDataWarning(PathModelsWarning):
    """Rows were dropped because of missing values (listwise deletion, missing covariates)."""


class BoundaryWarning(PathModelsWarning):
    """An estimate lies on (or at) a boundary of its admissible space."""


def close_matches(name: str, valid: Iterable[str], *, n: int = 3) -> str:
    """Phrase a 'did you mean' hint for an unknown *name* among *valid* names.

    Parameters
    ----------
    name : str
        The unknown name the user gave.
    valid : iterable of str
        The names that would have been accepted.
    n : int, default 3
        Largest number of suggestions.

    Returns
    -------
    str
        ``"did you mean 'x1'? Valid names: ..."`` or just the list of valid names.

    Examples
    --------
    >>> close_matches("selfestem", ["selfesteem", "support", "qol"])
    "did you mean 'selfesteem'? Valid names: qol, selfesteem, support"
    """
    pool = sorted(set(valid))
    if not pool:
        return "and there are none yet"
    hits = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    listing = ", ".join(pool) if len(pool) <= 30 else ", ".join(pool[:30]) + ", ..."
    if hits:
        quoted = " or ".join(f"'{h}'" for h in hits)
        return f"did you mean {quoted}? Valid names: {listing}"
    return f"valid names: {listing}"
