"""The public API keeps numpy-style docstrings: a summary, Parameters, Returns (or Yields) and a runnable Example.

The walker finds every public module of the package (no name segment starting with an underscore, plus
``capitation`` itself) from the files on disk, without importing any of them. In each module listed in
:data:`CHECKED_MODULES` it takes every function and class named in ``__all__`` and defined in that module
(re-exports are checked where they are defined; constants are not checked), and every public method of those
classes. Each must have

* a one-line summary;
* a ``Parameters`` section when it takes any parameter besides ``self``/``cls`` (a class: its constructor's,
  documented under ``Parameters`` or ``Attributes``), naming every one of them;
* a ``Returns`` or ``Yields`` section, unless it is annotated ``-> None`` (classes are exempt);
* an ``Examples`` section holding at least one ``>>>`` line (pytest runs them: ``--doctest-modules``).

Properties are documented like attributes: a summary line is enough. Sections are found as numpydoc finds
them, a title underlined with dashes; the parsing is plain string work, so no dependency is needed.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re

import pytest

PACKAGE = "capitation"

#: Modules whose public objects are checked. Adding a module is one line.
CHECKED_MODULES = [
    "capitation",
    "capitation.aggregation",
    "capitation.aggregation.aggregate",
    "capitation.aggregation.membership",
    "capitation.allocation",
    "capitation.allocation.adjustments",
    "capitation.allocation.allocate",
    "capitation.allocation.explain",
    "capitation.allocation.external",
    "capitation.allocation.geography",
    "capitation.allocation.money",
    "capitation.allocation.pace",
    "capitation.allocation.place",
    "capitation.allocation.risk",
    "capitation.allocation.risk_sharing",
    "capitation.cli",
    "capitation.cli.allocate",
    "capitation.cli.cms_hcc",
    "capitation.cli.demo",
    "capitation.cli.fit",
    "capitation.cli.manifest",
    "capitation.cli.report",
    "capitation.cli.reproduce",
    "capitation.cli.score",
    "capitation.cli.synth",
    "capitation.cms_hcc",
    "capitation.cms_hcc.budget",
    "capitation.cms_hcc.compare",
    "capitation.cms_hcc.explain",
    "capitation.cms_hcc.inputs",
    "capitation.cms_hcc.rules",
    "capitation.cms_hcc.score",
    "capitation.cms_hcc.synthetic",
    "capitation.cms_hcc.tables",
    "capitation.datasets",
    "capitation.datasets.practices",
    "capitation.datasets.nhs_layouts",
    "capitation.datasets.synthetic",
    "capitation.distributed",
    "capitation.errors",
    "capitation.features",
    "capitation.features.encode",
    "capitation.features.icd10",
    "capitation.features.matrix",
    "capitation.features.serialize",
    "capitation.features.spec",
    "capitation.inputs",
    "capitation.inputs.costs",
    "capitation.inputs.gp",
    "capitation.inputs.hes",
    "capitation.inputs.population",
    "capitation.inputs.records",
    "capitation.inputs.registrations",
    "capitation.model.alternatives",
    "capitation.model.compare",
    "capitation.model.estimator",
    "capitation.model.ladder",
    "capitation.model.ols",
    "capitation.model.persist",
    "capitation.model.results",
    "capitation.model.stats",
    "capitation.model.validation",
    "capitation.report.risk_sharing",
    "capitation.report",
    "capitation.report.committee",
    "capitation.report.html",
    "capitation.report.plots",
    "capitation.report.suppress",
    "capitation.scoring",
    "capitation.scoring.score",
    "capitation.stream",
]

_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]*)\n-{3,}[ \t]*$", re.MULTILINE)


# -- the walker ---------------------------------------------------------------------------------------------

def public_modules(package: str = PACKAGE) -> list[str]:
    """Name the package's public modules, found on disk (nothing is imported)."""
    spec = importlib.util.find_spec(package)
    found = [package]

    def walk(paths, prefix):
        for info in pkgutil.iter_modules(paths, prefix):
            if info.name.rpartition(".")[2].startswith("_"):
                continue
            found.append(info.name)
            if info.ispkg:
                walk([os.path.join(p, info.name.rpartition(".")[2]) for p in paths], info.name + ".")

    walk(list(spec.submodule_search_locations), package + ".")
    return sorted(found)


def _is_checked_kind(obj) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(inspect.unwrap(obj))


def public_objects(module) -> list[tuple[str, object]]:
    """List ``(name, object)`` for the functions and classes of ``__all__`` defined in ``module``.

    Each class is followed by its public methods and properties, named ``Class.method``.
    """
    out = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if not _is_checked_kind(obj) or getattr(obj, "__module__", None) != module.__name__:
            continue  # a constant, or a re-export (checked in the module that defines it)
        out.append((name, obj))
        if inspect.isclass(obj):
            out.extend((f"{name}.{attr}", member) for attr, member in _public_members(obj))
    return out


def _public_members(cls) -> list[tuple[str, object]]:
    """List public methods (functions, class and static methods) and properties, own or from a package class."""
    seen, out = set(), []
    for klass in cls.__mro__:
        if klass is not cls and not klass.__module__.startswith(PACKAGE + "."):
            continue  # object, Exception, NamedTuple's tuple, ...: not ours to document
        for attr, member in vars(klass).items():
            if attr.startswith("_") or attr in seen:
                continue
            seen.add(attr)
            if isinstance(member, (classmethod, staticmethod)):
                member = member.__func__
            if isinstance(member, property) or inspect.isfunction(inspect.unwrap(member)):
                out.append((attr, member))
    return out


# -- the docstring --------------------------------------------------------------------------------------------

def sections(doc: str) -> dict[str, str]:
    """Split a cleaned docstring into the bodies of its numpydoc sections, by title."""
    heads = list(_SECTION.finditer(doc))
    return {m["title"].strip(): doc[m.end():(heads[k + 1].start() if k + 1 < len(heads) else len(doc))]
            for k, m in enumerate(heads)}


def documented_names(body: str) -> set[str]:
    """Collect the names given in a Parameters/Attributes section (``a, b : type`` lines, not indented)."""
    names = set()
    for line in body.splitlines():
        if not line.strip() or line[:1].isspace():
            continue
        head = line.partition(" : ")[0] if " : " in line else line.rstrip(" :")
        names.update(n.strip().lstrip("*") for n in head.split(","))
    return names


def _parameters(obj, is_class: bool) -> list[str]:
    """Name the parameters a caller passes (not ``self``/``cls``, nor a class's private fields)."""
    if is_class:
        own = vars(obj)
        if "__init__" not in own and "__new__" not in own:
            return []  # the constructor is inherited and documented where it is defined
        target = own["__init__"] if "__init__" in own else own["__new__"]
    else:
        target = obj
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return []
    names = [p.name for p in signature.parameters.values() if p.name not in ("self", "cls")]
    if is_class:  # a dataclass's private fields, a NamedTuple's ``_cls``
        names = [n for n in names if not n.startswith("_")]
    return names


def _doc(obj) -> str:
    """Return the object's own docstring, cleaned (a dataclass's generated signature text counts as none)."""
    doc = inspect.cleandoc(obj.__doc__ or "")
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""
    return doc


def problems(name: str, obj) -> list[str]:
    """List what the docstring of one public object lacks (nothing when it has every section it needs)."""
    doc = _doc(obj.fget if isinstance(obj, property) else obj)
    if not doc.strip():
        return [f"{name}: no docstring"]
    if isinstance(obj, property):
        return []
    found, missing = sections(doc), []
    is_class = inspect.isclass(obj)
    params = _parameters(obj, is_class)
    listed = found.get("Parameters", "") + ("\n" + found.get("Attributes", "") if is_class else "")
    if params and not listed.strip():
        missing.append("a Parameters section" + (" (or Attributes)" if is_class else "") + f" for {params}")
    if not is_class:
        annotation = inspect.signature(obj).return_annotation
        if annotation not in (None, "None") and "Returns" not in found and "Yields" not in found:
            missing.append("a Returns (or Yields) section, or a '-> None' annotation")
    if ">>>" not in found.get("Examples", ""):
        missing.append("an Examples section with a '>>>' line")
    return [f"{name}: lacks {', '.join(missing)}"] if missing else []


def undocumented_parameters(name: str, obj) -> list[str]:
    """List the parameters that a Parameters (or, for a class, Attributes) section leaves out."""
    if isinstance(obj, property):
        return []
    is_class = inspect.isclass(obj)
    found = sections(_doc(obj))
    listed = found.get("Parameters", "") + ("\n" + found.get("Attributes", "") if is_class else "")
    if not listed.strip():
        return []  # reported by problems()
    absent = [p for p in _parameters(obj, is_class) if p not in documented_names(listed)]
    return [f"{name}: Parameters does not name {absent}"] if absent else []


# -- the tests ----------------------------------------------------------------------------------------------

def _checked() -> list[str]:
    public = set(public_modules())
    return [m for m in CHECKED_MODULES if m in public]


def test_checked_modules_are_public_modules():
    """Every entry of CHECKED_MODULES names a public module (a misspelt one would check nothing)."""
    public = set(public_modules())
    assert [m for m in CHECKED_MODULES if m not in public] == []


@pytest.mark.parametrize("module_name", _checked())
def test_public_objects_have_numpy_docstrings(module_name):
    """Summary, Parameters, Returns/Yields and Examples on every public function, class and method."""
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__, so none of its names would be checked"
    found = [p for name, obj in public_objects(module) for p in problems(f"{module_name}.{name}", obj)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("module_name", _checked())
def test_every_parameter_is_documented(module_name):
    """A Parameters (or Attributes) section names every parameter of the signature."""
    module = importlib.import_module(module_name)
    found = [p for name, obj in public_objects(module)
             for p in undocumented_parameters(f"{module_name}.{name}", obj)]
    assert found == [], "\n".join(found)


def test_the_checker_reads_numpy_sections():
    """The checker passes a complete docstring and names what an incomplete one lacks."""
    def documented(a, b=1, *args, **kwargs):
        """Add.

        Parameters
        ----------
        a, b : int
            Numbers.
        *args, **kwargs
            Ignored.

        Returns
        -------
        int

        Examples
        --------
        >>> documented(1)
        2
        """
        return a + b

    def bare(a) -> None:
        """Do nothing."""

    def partly(a, b):
        """Return ``a``.

        Parameters
        ----------
        a : int

        Returns
        -------
        int

        Examples
        --------
        >>> partly(1, 2)
        1
        """
        return a

    @dataclasses.dataclass
    class Record:
        """A record.

        Attributes
        ----------
        person_id : int

        Examples
        --------
        >>> Record(1).person_id
        1
        """

        person_id: int
        _cache: dict = dataclasses.field(default_factory=dict)

        @property
        def doubled(self):
            """Twice the id."""
            return 2 * self.person_id

    @dataclasses.dataclass
    class Undocumented:
        person_id: int

    assert problems("documented", documented) == []
    assert undocumented_parameters("documented", documented) == []
    assert problems("bare", bare) == ["bare: lacks a Parameters section for ['a'], an Examples section with a "
                                      "'>>>' line"]
    assert problems("partly", partly) == []
    assert undocumented_parameters("partly", partly) == ["partly: Parameters does not name ['b']"]
    assert problems("Record", Record) == [] and undocumented_parameters("Record", Record) == []
    assert [name for name, _ in _public_members(Record)] == ["doubled"]
    assert problems("Record.doubled", Record.doubled) == []
    assert problems("Undocumented", Undocumented) == ["Undocumented: no docstring"]
