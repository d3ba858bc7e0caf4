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
    **kwargs
        Passed on to the built-in exception: ``name`` and ``path`` for :class:`MissingDependencyError`, as for
        any :class:`ImportError`.

    Attributes
    ----------
    parameter : str or None
        As given; kept when the error is pickled (errors raised in worker processes keep it).

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
    """A value in the input is not allowed (negative age, NaN cost, duplicate id, ...).

    A :class:`ValueError`, so code that catches bad values keeps working. Takes the parameters of
    :class:`CapitationError`.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.errors import InputError
    >>> from capitation.inputs import Population
    >>> people = pd.DataFrame({"person_id": [1], "practice_code": ["A81001"], "sex": ["F"], "age": [-1],
    ...                        "lsoa_code": ["E01011959"]})
    >>> Population.from_frame(people)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.InputError: The 'people' table's column 'age' must be >= 0 and <= 120. ... Fix: ...
    >>> issubclass(InputError, ValueError)
    True
    """


class SchemaError(CapitationError, TypeError):
    """A table is missing a column, or a column has the wrong type.

    A :class:`TypeError`; the message names the closest column present when one is misspelt. Takes the
    parameters of :class:`CapitationError`.

    Examples
    --------
    >>> import pandas as pd
    >>> from capitation.errors import SchemaError
    >>> from capitation.inputs import Population
    >>> people = pd.DataFrame({"person_id": [1], "practice": ["A81001"], "sex": ["F"], "age": [40],
    ...                        "lsoa_code": ["E01011959"]})
    >>> Population.from_frame(people)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    capitation.errors.SchemaError: The 'people' table is missing required column(s) 'practice_code' (did you mean
    'practice'?). ...
    """


class UnknownCodeError(InputError):
    """A code (practice, consortium, ICD-10, LSOA, ...) is not in the reference it must belong to.

    An :class:`InputError`. Takes the parameters of :class:`CapitationError`.

    Examples
    --------
    >>> from capitation.errors import UnknownCodeError
    >>> from capitation.features.icd10 import normalise_icd10
    >>> normalise_icd10(["I21.9", "not a code"])  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    capitation.errors.UnknownCodeError: The 'codes' parameter of normalise_icd10 holds 1 record(s) ... that are
    not ICD-10 codes: 'not a code' at position 1 ...
    """


class UnseenCategoryError(InputError):
    """Data to encode holds a category that the fitted specification never saw.

    Raised when new data have a fixed-effect level (e.g. an ICB) that was not in the training data and the
    spec says ``on_unseen="raise"``. An :class:`InputError`. Takes the parameters of :class:`CapitationError`.

    Examples
    --------
    >>> from capitation.errors import InputError, UnseenCategoryError
    >>> issubclass(UnseenCategoryError, InputError)
    True
    """


class DesignError(CapitationError, ValueError):
    """The design matrix cannot identify the model (empty or aliased columns).

    A :class:`ValueError`. Takes the parameters of :class:`CapitationError`.

    Examples
    --------
    >>> from capitation.errors import CapitationError, DesignError
    >>> issubclass(DesignError, CapitationError) and issubclass(DesignError, ValueError)
    True
    """


class ModelFileError(CapitationError, ValueError):
    """A saved model or manifest is unreadable, of another format version, or fails its hash check.

    A :class:`ValueError`. Takes the parameters of :class:`CapitationError`.

    Examples
    --------
    >>> from capitation.errors import ModelFileError
    >>> from capitation.features.serialize import spec_from_dict
    >>> spec_from_dict({"format": 99}, source="model.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.ModelFileError: The feature spec in model.json has layout version 99; ...
    """


class OutputError(CapitationError, ValueError):
    """An output cannot be written where asked (a folder where a file must go, an existing file, ...).

    Raised before any work is done, naming the parameter or option, the path and the fix. A
    :class:`ValueError`. Takes the parameters of :class:`CapitationError`.

    Examples
    --------
    >>> import tempfile
    >>> from capitation._io import check_output
    >>> from capitation.errors import OutputError
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     check_output(folder, name="--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    capitation.errors.OutputError: The '--out' parameter names '...', which is a folder, but a file must be ...
    """


class MissingDependencyError(CapitationError, ImportError):
    """An optional dependency needed for the requested work is not installed (the message names the extra).

    An :class:`ImportError`, so ``except ImportError`` still catches it. Takes the parameters of
    :class:`CapitationError`, including ``ImportError``'s ``name``.

    Examples
    --------
    >>> from capitation.errors import MissingDependencyError
    >>> error = MissingDependencyError("Figures need matplotlib. Fix: pip install 'capitation[report]'.",
    ...                                name="matplotlib")
    >>> isinstance(error, ImportError), error.name
    (True, 'matplotlib')
    """


class CapitationWarning(UserWarning):
    """Something will run but is probably not what was meant, e.g. a whole block of the design came out empty.

    The message says what happened, the likely cause and the fix, as errors do.

    Examples
    --------
    >>> import warnings
    >>> from capitation.errors import CapitationWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("No one has any diagnosis group.", CapitationWarning)
    >>> caught[0].category.__name__
    'CapitationWarning'
    """

