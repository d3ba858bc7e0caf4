"""The ``capitation`` command: one module per subcommand, each with ``add_parser(sub)`` and ``run(args)``.

Errors are one line on stderr, ``capitation: error: ...``, with exit status 1 (2 for a usage error, as
argparse gives); ``--debug`` shows the traceback instead.

**Errors speak in options, not Python parameters.** The library's messages name what they are about in one
consistent form, ``The 'control_total' parameter ...``, ``The 'people' table's column 'age' ...``, ``Fix: pass
overwrite=True``. Each subcommand's options are mapped to the library names they feed: an option's own
destination (``--control-total`` ↔ ``control_total``, ``--people`` ↔ the ``'people'`` table) and the extra
names its module declares in ``PARAMETERS`` (``outcome_year`` ↔ ``--year``, ``path`` ↔ ``--out``). Only those
quoted forms are rewritten (:func:`speak_options`), so a column that shares a table's name keeps its quotes::

    The 'need' table's column 'registered' must ...  →  The --need table's column 'registered' must ...
    The 'control_total' parameter '55,5' is not ...   →  The --control-total option '55,5' is not ...
    ... Pass overwrite=True or choose a new folder.   →  ... Pass --overwrite or choose a new folder.

An error that carries :attr:`~capitation.errors.CapitationError.parameter` but whose message names no option
is prefixed with the option. Anything that is not a :class:`~capitation.errors.CapitationError` (nor an
operating-system error such as a full disk) is a bug in capitation, and the line says so.

**Checks come before the work.** Subcommands call :func:`require_module` for optional dependencies and
:func:`check_outputs` for every file or folder they will write, before reading any input.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import warnings
from pathlib import Path

from .._version import __version__
from ..errors import CapitationWarning

__all__ = ["DEFAULT_CONTROL_TOTAL", "CommandLineParser", "about", "check_control_total", "check_outputs",
           "check_table_suffix", "command_name", "error_line", "main", "option_names", "require_module",
           "speak_options", "write_manifest"]


#: Subcommands in the order ``--help`` lists them; each is a module of this package with
#: ``add_parser(sub)`` registering itself and ``run(args)`` returning the exit status. A module's command is
#: its name with ``-`` for ``_`` (``cms_hcc`` → ``capitation cms-hcc``): see :func:`command_name`.
SUBCOMMANDS = ("demo", "synth", "fit", "score", "allocate", "report", "reproduce", "cms_hcc")
#: The --control-total of demo, allocate and report when none is given.
DEFAULT_CONTROL_TOTAL = "55000000000"  # £55bn: roughly England's 2025/26 hospital spend in PBRA's scope
#: The suffixes an output table may have (capitation._io.write_table writes CSV or Parquet).
TABLE_SUFFIXES = (".csv", ".parquet")


# -- parsing ------------------------------------------------------------------------------------------------

class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, ``capitation: error: ...``, with exit status 2.

    It takes :class:`argparse.ArgumentParser`'s arguments; the ``capitation`` command and each of its
    subcommands are parsed by one.

    Examples
    --------
    >>> import contextlib, io
    >>> parser = CommandLineParser(prog="capitation fit")
    >>> _ = parser.add_argument("--out", required=True)
    >>> parser.parse_args(["--out", "model.json"]).out
    'model.json'
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     try:
    ...         parser.parse_args([])
    ...     except SystemExit as exc:
    ...         status = exc.code
    >>> status, err.getvalue().strip()
    (2, "capitation: error: the following arguments are required: --out. See 'capitation fit --help'.")
    """

    def error(self, message: str):
        """Print ``message`` as one line on stderr and exit with status 2 (argparse calls it on a usage error).

        Parameters
        ----------
        message : str
            What argparse found wrong; whitespace, newlines included, is collapsed to single spaces.

        Returns
        -------
        NoReturn
            It never returns: it raises :class:`SystemExit` with code 2, as argparse's own ``error`` does.

        Examples
        --------
        >>> import contextlib, io
        >>> err = io.StringIO()
        >>> with contextlib.redirect_stderr(err):
        ...     try:
        ...         CommandLineParser(prog="capitation").error("unrecognized arguments: --nope")
        ...     except SystemExit as exc:
        ...         status = exc.code
        >>> status, err.getvalue().strip()
        (2, "capitation: error: unrecognized arguments: --nope. See 'capitation --help'.")
        """
        self.exit(2, f"capitation: error: {_one_line(message)}. See '{self.prog} --help'.\n")


def _number(kind, text: str, rule: str, ok, shown: str | None = None) -> float | int:
    """``kind(text)`` if it parses and passes ``ok``, else an ArgumentTypeError stating ``rule``."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}; got {repr(text) if shown is None else shown}")
    return value


def fraction(text: str) -> float:
    """Parse a share in (0, 1], for argparse's ``type=``."""
    return _number(float, text, "a share in (0, 1], e.g. 0.01 for 1%", lambda v: 0 < v <= 1)


def positive_int(text: str) -> int:
    """Parse a whole number >= 1, for argparse's ``type=``."""
    return _number(int, text, "a whole number >= 1", lambda v: v >= 1)


def non_negative_int(text: str) -> int:
    """Parse a whole number >= 0, for argparse's ``type=``."""
    return _number(int, text, "a whole number >= 0", lambda v: v >= 0)


def positive_float(text: str) -> float:
    """Parse a finite number > 0, for argparse's ``type=``."""
    return _number(float, text, "a finite number > 0", lambda v: 0 < v < float("inf"))


def non_negative_float(text: str) -> float:
    """Parse a finite number >= 0, for argparse's ``type=``."""
    return _number(float, text, "a finite number >= 0", lambda v: 0 <= v < float("inf"))


def command_name(module: str) -> str:
    """Return the command line's name for the subcommand module ``module``.

    Parameters
    ----------
    module : str
        A name in :data:`SUBCOMMANDS`.

    Returns
    -------
    str

    Examples
    --------
    >>> from capitation.cli import command_name
    >>> command_name("cms_hcc"), command_name("fit")
    ('cms-hcc', 'fit')
    """
    return module.replace("_", "-")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    import importlib
    import importlib.util

    parser = CommandLineParser(prog="capitation", description="Person-based resource allocation for GP "
                               "practices and their consortia.")
    parser.add_argument("--version", action="version", version=f"capitation {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandLineParser)
    for name in SUBCOMMANDS:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser, dict(sub.choices)


# -- naming options in errors -------------------------------------------------------------------------------

def option_names(parser: argparse.ArgumentParser, extra: dict[str, str] | None = None
                 ) -> tuple[dict[str, str], frozenset[str]]:
    """Map the library names a subcommand's options feed to the options, and name its on/off switches.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser; its long options (``--control-total``) are mapped, ``--help`` and
        ``--version`` are not.
    extra : dict of str → str, optional
        Library names that are not an option's own destination, and the option each feeds (a subcommand
        module's ``PARAMETERS``, e.g. ``{"outcome_year": "--year"}``).

    Returns
    -------
    names : dict of str → str
        Each option's destination (``control_total``), each option itself (``--control-total``) and every name
        in ``extra`` → the option.
    switches : frozenset of str
        The destinations of ``store_true`` options (``overwrite``), written ``overwrite=True`` in Python.

    Examples
    --------
    >>> parser = CommandLineParser(prog="capitation allocate")
    >>> _ = parser.add_argument("--control-total")
    >>> _ = parser.add_argument("--overwrite", action="store_true")
    >>> names, switches = option_names(parser, {"outcome_year": "--year"})
    >>> names["control_total"], names["outcome_year"], sorted(switches)
    ('--control-total', '--year', ['overwrite'])
    """
    names: dict[str, str] = {}
    switches = set()
    for action in parser._actions:  # argparse has no public accessor; stable since Python 2.7
        longs = [s for s in action.option_strings if s.startswith("--")]
        if not longs or action.dest in ("help", "version", argparse.SUPPRESS):
            continue
        names[action.dest] = names[longs[0]] = longs[0]
        if action.nargs == 0 and action.const is True:
            switches.add(action.dest)
    for name, option in (extra or {}).items():
        names[name] = names[option] = option
    return names, frozenset(switches)


_NAME = r"[A-Za-z_][\w-]*|--[a-z][a-z0-9-]*"
#: ``The 'people' table``, ``The 'cap' parameter of CostModel``, ``the '--out' parameter``.
_NAMED = re.compile(rf"(?P<the>\b[Tt]he )?'(?P<name>{_NAME})' (?P<kind>parameter|argument|option|table)\b"
                    r"(?P<of> of (?!(?:the|a|an|this|each|every)\b)[A-Za-z_][\w.]*(?:\(\))?"
                    r"(?= (?:must|is|has|holds|names|takes)\b))?")
#: ``overwrite=True``, ``outcome_year='2025/26'``, ``cov_type="HC1"``, ``seed=0``: Python keyword arguments.
_KEYWORD = re.compile(r"(?<![\w.])(?P<name>[A-Za-z_]\w*)=(?P<value>True\b|'[^'\s]*'|\"[^\"\s]*\"|[\w.+-]+)")
#: A quoted option, as when the CLI passes ``name="--out"`` to the library.
_QUOTED_OPTION = re.compile(r"'(--[a-z][a-z0-9-]*)'")
#: Library phrases for a switch's effect, spoken as the switch where the subcommand has it.
_QUOTES = "'\""  # the quotes around a keyword value: cap='p99' or cap="p99"
_PHRASES = {"overwrite": (re.compile(r"\ballow(?:ing)? overwriting\b"), "pass --overwrite")}


def speak_options(message: str, names: dict[str, str], switches: frozenset[str] = frozenset()) -> str:
    r"""Replace, in ``message``, the library's names of parameters and tables by the options that feed them.

    Only the library's quoted forms are rewritten: ``The 'x' parameter [of F]`` and ``The 'x' table`` (when
    ``x`` is in ``names``), the keyword ``x=True`` for a switch and ``x='value'`` for an option (written
    ``--x value``), a quoted option ``'--out'``, and the dotted Python names in ``names``
    (``Membership.from_frame`` → ``--membership``). Other quoted words (columns, values) are left alone.
    Whitespace, newlines included, is collapsed to single spaces.

    Parameters
    ----------
    message : str
        A library error message.
    names : dict of str → str
        Library name → option, as :func:`option_names` gives them.
    switches : frozenset of str
        The names in ``names`` that are on/off switches (``overwrite=True`` becomes ``--overwrite``).

    Returns
    -------
    str
        The message in one line, speaking in options.

    Examples
    --------
    >>> names = {"control_total": "--control-total", "people": "--people", "outcome_year": "--year",
    ...          "overwrite": "--overwrite"}
    >>> speak_options("The 'control_total' parameter of allocate must be >= 0.", names)
    'The --control-total option must be >= 0.'
    >>> speak_options("The 'people' table's column 'people' has\n NaN.", names)
    "The --people table's column 'people' has NaN."
    >>> speak_options("Fix: pass outcome_year='2025/26', or overwrite=True.", names, frozenset({"overwrite"}))
    'Fix: pass --year 2025/26, or --overwrite.'
    """
    def named(match: re.Match) -> str:
        option = names.get(match["name"])
        if option is None:
            return match[0]
        kind = "table" if match["kind"] == "table" else "option"
        return f"{match['the'] or ''}{option} {kind}"

    def keyword(match: re.Match) -> str:
        name, value = match["name"], match["value"]
        option = names.get(name)
        if option is None:
            return match[0]
        if name in switches:
            return option if value == "True" else match[0]
        return f"{option} {value.strip(_QUOTES)}"

    text = _NAMED.sub(named, message)
    text = _KEYWORD.sub(keyword, text)
    text = _QUOTED_OPTION.sub(r"\1", text)
    for name, option in names.items():  # Python API names a subcommand declares, e.g. Membership.from_frame
        if "." in name:
            text = re.sub(rf"(?<![\w.]){re.escape(name)}(?:\(\))?(?!\w)", option, text)
    for switch, (phrase, spoken) in _PHRASES.items():
        if switch in switches:
            text = phrase.sub(spoken, text)
    return _one_line(text)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(exc: BaseException, names: dict[str, str] | None = None,
               switches: frozenset[str] = frozenset()) -> str:
    """Word the one line the command prints for ``exc`` (without the ``capitation: error:`` prefix).

    A :class:`~capitation.errors.CapitationError` is spoken in options (:func:`speak_options`); an
    operating-system error (no space left, permission denied) names the file and the reason; anything else is
    a bug in capitation, and the line says how to report it.

    Parameters
    ----------
    exc : BaseException
        The error that stopped the subcommand.
    names : dict of str → str, optional
        Library name → option, as :func:`option_names` gives them (none by default).
    switches : frozenset of str
        The names in ``names`` that are on/off switches.

    Returns
    -------
    str
        One line; an error whose message names no option but whose ``parameter`` is an option's is prefixed
        with that option.

    Examples
    --------
    >>> from capitation.errors import InputError
    >>> names = {"control_total": "--control-total", "overwrite": "--overwrite"}
    >>> error_line(InputError("The 'control_total' parameter must be >= 0."), names)
    'The --control-total option must be >= 0.'
    >>> error_line(InputError("The amount must be >= 0.", parameter="control_total"), names)
    '--control-total: The amount must be >= 0.'
    >>> print(error_line(ValueError("boom")))  # doctest: +ELLIPSIS
    unexpected failure, a bug in capitation ...: boom. Please report it ... (capitation --debug ...).
    """
    from ..errors import CapitationError

    names = names or {}
    if isinstance(exc, CapitationError):
        text = speak_options(str(exc), names, switches)
        option = names.get(getattr(exc, "parameter", None) or "")
        if option and not re.search(r"(?<![\w-])--[a-z]", text):
            text = f"{option}: {text}"
        return text
    if isinstance(exc, MemoryError):
        return ("ran out of memory. Fix: use a smaller sample, or the streamed functions of capitation.stream "
                "for large Parquet inputs.")
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return (f"the Python module {exc.name!r} that capitation needs is not installed. Fix: reinstall "
                "capitation with its dependencies (pip install capitation).")
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {str(exc.filename)!r}" if exc.filename is not None else ""
        return _one_line(f"cannot use{where}: {exc.strerror}. Fix: check the path, its permissions and the free "
                         "space.")
    detail = _one_line(str(exc)) or type(exc).__name__
    return (f"unexpected failure, a bug in capitation {__version__}: {detail}. Please report it to capitation's "
            "maintainers with the traceback that the same command prints with --debug (capitation --debug ...).")


# -- checks before the work ---------------------------------------------------------------------------------

@contextlib.contextmanager
def about(parameter: str):
    """Mark the errors raised inside as being about ``parameter`` (an option such as ``"--model"``).

    A :class:`~capitation.errors.CapitationError` without a :attr:`parameter` gets this one, so that its line
    names the option even when the library's message names only the file (``The model file 'm.json' ...``).
    An operating-system error about a file (missing, a folder, no permission) becomes an
    :class:`~capitation.errors.InputError` naming the option, the path and the reason.

    Parameters
    ----------
    parameter : str
        The option the work inside is about, as the user typed it (``"--model"``).

    Returns
    -------
    contextlib.AbstractContextManager
        A context for a ``with`` block; it changes no error but those above, and leaves the others as raised.

    Examples
    --------
    >>> from capitation.errors import InputError
    >>> try:
    ...     with about("--model"):
    ...         open("no-such-model.json")
    ... except InputError as exc:
    ...     print(exc.parameter, "|", str(exc).split(":")[0])
    --model | The --model option names 'no-such-model.json', which cannot be read
    """
    from ..errors import CapitationError, InputError

    try:
        yield
    except CapitationError as exc:
        if getattr(exc, "parameter", None) is None:
            exc.parameter = parameter
        raise
    except OSError as exc:
        if exc.filename is None or not exc.strerror:
            raise
        raise InputError(f"The {parameter} option names {str(exc.filename)!r}, which cannot be read: "
                         f"{exc.strerror}. Fix: check the path and its permissions.", parameter=parameter) from exc


def require_module(module: str, extra: str, purpose: str) -> None:
    """Raise :class:`~capitation.errors.MissingDependencyError` now if optional ``module`` is not installed.

    ``purpose`` says what needs it (``"capitation report draws its figures with"``); the message names the
    extra that installs it (``pip install "capitation[report]"``). Nothing is imported.

    Parameters
    ----------
    module : str
        The module's import name (``"matplotlib"``).
    extra : str
        The extra of capitation that installs it (``"report"``).
    purpose : str
        The start of the message, saying what needs the module; the module's name follows it.

    Raises
    ------
    MissingDependencyError
        ``module`` cannot be found.

    Examples
    --------
    >>> from capitation.errors import MissingDependencyError
    >>> require_module("numpy", "dev", "capitation computes with")
    >>> try:
    ...     require_module("no_such_module", "report", "capitation report draws its figures with")
    ... except MissingDependencyError as exc:
    ...     print(str(exc).split(". Fix")[0])
    capitation report draws its figures with no_such_module, which is not installed
    """
    import importlib.util

    from ..errors import MissingDependencyError

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken module in sys.modules
        found = False
    if not found:
        raise MissingDependencyError(f"{purpose} {module}, which is not installed. Fix: pip install "
                                     f"\"capitation[{extra}]\" (or pip install {module}).", name=module)


def write_manifest(command: str, args: argparse.Namespace, outputs: dict, say, inputs: tuple[str, ...] = ()) -> None:
    """Record a finished run in ``args.manifest``, when the option was given, and say where.

    Parameters
    ----------
    command : str
        The subcommand that ran.
    args : argparse.Namespace
        Its parsed options.
    outputs : dict of str → list of path
        The files written, by the option naming their location.
    say : callable
        Prints a line (or nothing, with ``--quiet``).
    inputs : tuple of str
        The subcommand's input options (its ``INPUTS``); those given are hashed.

    Returns
    -------
    None

    Examples
    --------
    >>> import argparse
    >>> write_manifest("score", argparse.Namespace(manifest=None), {}, print)  # no --manifest: nothing to do
    """
    if not getattr(args, "manifest", None):
        return
    from .manifest import record_run

    record_run(command, args, inputs={k: getattr(args, k) for k in inputs}, outputs=outputs).write(args.manifest)
    say(f"  manifest {args.manifest}")


def check_outputs(args: argparse.Namespace, outputs: list[tuple[str, object, str]],
                  inputs: tuple[str, ...] = ()) -> list[Path]:
    """Check every output of a run before any work, as ``(option, path, kind)`` with kind "file" or "folder".

    Each is checked with :func:`capitation._io.check_output` (a folder where a file must go, a file in the
    way of a folder, an unwritable location; an existing file, or a non-empty folder, unless
    ``args.overwrite``). Two outputs at the same place, or an output at the place of one of the ``inputs``
    options (``"people"``, ...), are refused: the run would overwrite its own input or output. ``None``
    paths (options not given) are skipped. With ``args.manifest`` set, the manifest's folder is checked too
    (:func:`capitation.cli.manifest.check_run_folder`).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options: ``overwrite``, ``manifest`` and the ``inputs`` options are read when present.
    outputs : list of (str, path or None, str)
        Each output as ``(option, path, kind)``: the option naming it (``"--out"``), where it goes, and
        ``"file"`` or ``"folder"``.
    inputs : tuple of str
        Destinations of the options naming inputs (``("people", "diagnoses")``).

    Returns
    -------
    list of pathlib.Path
        The outputs' resolved paths, in order (``None`` paths left out).

    Raises
    ------
    OutputError
        An output is unusable, exists (without ``--overwrite``), or is at the place of another output or of
        an input.

    Examples
    --------
    >>> import argparse, pathlib, tempfile
    >>> from capitation.errors import OutputError
    >>> with tempfile.TemporaryDirectory() as d:
    ...     args = argparse.Namespace(people=f"{d}/people.csv", overwrite=False)
    ...     paths = check_outputs(args, [("--out", f"{d}/need.csv", "file"), ("--manifest", None, "file")],
    ...                           inputs=("people",))
    ...     print([p.name for p in paths])
    ...     try:
    ...         check_outputs(args, [("--out", f"{d}/people.csv", "file")], inputs=("people",))
    ...     except OutputError as exc:
    ...         print(str(exc).split(": ")[1].split(".")[0])
    ['need.csv']
    the run would overwrite what it reads
    """
    from .._io import check_output
    from ..errors import OutputError

    overwrite = bool(getattr(args, "overwrite", False))
    checked: list[Path] = []
    seen: dict[Path, str] = {}
    given_inputs = {}
    for name in inputs:
        value = getattr(args, name, None)
        if value is not None:
            given_inputs[Path(value).expanduser().resolve()] = "--" + name.replace("_", "-")
    for option, path, kind in outputs:
        if path is None:
            continue
        resolved = Path(path).expanduser().resolve()
        if resolved in given_inputs:
            raise OutputError(f"The {option} option names {str(path)!r}, which is also the {given_inputs[resolved]} "
                              "input: the run would overwrite what it reads. Fix: write the output elsewhere.")
        if resolved in seen:
            raise OutputError(f"The {option} option names {str(path)!r}, where {seen[resolved]} also writes. "
                              f"Fix: give {option} and {seen[resolved]} different paths.")
        seen[resolved] = option
        checked.append(check_output(path, kind=kind, overwrite=overwrite, name=option))
    manifest = getattr(args, "manifest", None)
    if manifest is not None:
        # A manifest holds its run's paths inside its own folder: refuse now, not after the work is done.
        from .manifest import check_run_folder

        check_run_folder(manifest, inputs={name: getattr(args, name, None) for name in inputs},
                         outputs={option.lstrip("-").replace("-", "_"): path for option, path, _ in outputs
                                  if path is not None and option != "--manifest"})
    return checked


def check_table_suffix(path, option: str) -> None:
    """Refuse, before the work, an output table whose name does not end in .csv or .parquet.

    Parameters
    ----------
    path : str or os.PathLike
        The table to write (:func:`capitation._io.write_table` chooses the format by the suffix).
    option : str
        The option that named it, for the message (``"--out"``).

    Raises
    ------
    OutputError
        Naming the option, the path, the suffix found and a name that would do.

    Examples
    --------
    >>> from capitation.errors import OutputError
    >>> check_table_suffix("need.parquet", "--out")
    >>> try:
    ...     check_table_suffix("need.xlsx", "--out")
    ... except OutputError as exc:
    ...     print(str(exc).split(";")[0])
    The --out option names 'need.xlsx', which does not end in .csv or .parquet (got '.xlsx')
    """
    from ..errors import OutputError

    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        got = repr(suffix) if suffix else "no suffix"
        raise OutputError(f"The {option} option names {str(path)!r}, which does not end in .csv or .parquet (got "
                          f"{got}); the format is chosen by the suffix. Fix: add one, e.g. "
                          f"{str(Path(path).with_suffix('.csv'))!r}.")


def check_control_total(args: argparse.Namespace) -> int:
    """Convert ``args.control_total`` to pence, so that a malformed total is refused before the work.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options; ``control_total`` is text such as ``"55000000000"`` or ``"£1,000.50"``.

    Returns
    -------
    int
        The control total in whole pence.

    Raises
    ------
    InputError
        The total is not an amount of pounds in an accepted form.

    Examples
    --------
    >>> import argparse
    >>> check_control_total(argparse.Namespace(control_total="1,000.50"))
    100050
    """
    from ..allocation.money import to_pence

    return to_pence(args.control_total, "control_total")


# -- the command --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the ``capitation`` command: parse ``argv``, run the subcommand and turn its errors into one line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``capitation`` (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        The exit status: 0 on success, 1 after an error (printed on stderr as ``capitation: error: ...``),
        2 when no subcommand is given (the help is printed), 130 when interrupted. A usage error exits with
        status 2 (:class:`SystemExit`); with ``--debug`` an error is raised instead.

    Examples
    --------
    >>> import contextlib, io, pathlib, tempfile
    >>> import pandas as pd
    >>> with tempfile.TemporaryDirectory() as d:
    ...     d = pathlib.Path(d)
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "need": [3.0, 1.0],
    ...                   "registered": [30, 10]}).to_csv(d / "need.csv", index=False)
    ...     pd.DataFrame({"practice_code": ["A81001", "A81002"], "consortium_code": ["Q1", "Q1"]}).to_csv(
    ...         d / "icbs.csv", index=False)
    ...     status = main(["allocate", "--need", str(d / "need.csv"), "--membership", str(d / "icbs.csv"),
    ...                    "--control-total", "1000", "--out", str(d / "out"), "--quiet"])
    ...     budgets = pd.read_csv(d / "out" / "practice_budgets.csv", dtype={"budget": str})
    ...     err = io.StringIO()
    ...     with contextlib.redirect_stderr(err):
    ...         failed = main(["allocate", "--need", str(d / "need.csv"), "--control-total", "55,5",
    ...                        "--out", str(d / "out"), "--quiet"])
    >>> status, budgets["budget"].tolist()
    (0, ['750.00', '250.00'])
    >>> failed, err.getvalue().split(" is not")[0]
    (1, "capitation: error: The --control-total option '55,5'")
    """
    import importlib

    parser, subparsers = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    def names():
        extra = getattr(importlib.import_module(f"{__name__}.{args.command}"), "PARAMETERS", None)
        return option_names(subparsers[command_name(args.command)], extra)

    try:
        with warnings.catch_warnings():
            shown = warnings.showwarning

            def show(message, category, *rest, **kwargs):  # the library's warnings, one line in options
                if issubclass(category, CapitationWarning):
                    print(f"capitation: warning: {speak_options(str(message), *names())}", file=sys.stderr)
                else:
                    shown(message, category, *rest, **kwargs)

            warnings.simplefilter("always", CapitationWarning)
            warnings.showwarning = show
            return args.run(args)
    except KeyboardInterrupt:
        print("capitation: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for people, the traceback with --debug
        if args.debug:
            raise
        print(f"capitation: error: {error_line(exc, *names())}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
