"""Exceptions raised by capitation.

Every error names the parameter, the column or row, the value received and the fix, so an analyst can act on
it without reading the source. They subclass the built-in exception a user would expect to catch.
"""

from __future__ import annotations

__all__ = [
    "CapitationError",
    "DesignError",
    "InputError",
    "MissingDependencyError",
    "ModelFileError",
    "OutputError",
    "SchemaError",
    "UnknownCodeError",
    "UnseenCategoryError",
]


class CapitationError(Exception):
    """Base class of every error raised on purpose by capitation.

    Parameters
    ----------
    *args
        The message, as for any exception: ``InputError("The 'need' parameter ... Fix: ...")``.
    parameter : str, optional
        The parameter (or table) the error is about, e.g. ``"control_total"`` or ``"people"``, as a field that
        callers can read without parsing the message. The command line uses it to name the option a value came
        from (``--control-total``) when the message itself does not. ``None`` when not given.

    Examples
    --------
    >>> from capitation.errors import InputError
    >>> error = InputError("The 'control_total' parameter must be positive.", parameter="control_total")
    >>> error.parameter, str(error)
    ('control_total', "The 'control_total' parameter must be positive.")
    >>> InputError("no parameter given").parameter is None
    True
    """

    def __init__(self, *args, parameter: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)  # kwargs: ImportError's name= and path= for MissingDependencyError
        self.parameter = parameter  # kept on pickling (in __dict__), so errors from worker processes keep it


class InputError(CapitationError, ValueError):
    """A value in the input is not allowed (negative age, NaN cost, duplicate id, ...)."""


class SchemaError(CapitationError, TypeError):
    """A table is missing a column, or a column has the wrong type."""


class UnknownCodeError(InputError):
    """A code (practice, consortium, ICD-10, LSOA, ...) is not in the reference it must belong to."""


class UnseenCategoryError(InputError):
    """Data to encode holds a category that the fitted specification never saw."""


class DesignError(CapitationError, ValueError):
    """The design matrix cannot identify the model (empty or aliased columns)."""


class ModelFileError(CapitationError, ValueError):
    """A saved model or manifest is unreadable, of another format version, or fails its hash check."""


class OutputError(CapitationError, ValueError):
    """An output cannot be written where asked (a folder where a file must go, an existing file, ...)."""


class MissingDependencyError(CapitationError, ImportError):
    """An optional dependency needed for the requested work is not installed (the message names the extra)."""
