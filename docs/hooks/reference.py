"""MkDocs hook: the API reference pages list every public name, made from ``__all__`` when the site is built.

Each page under ``docs/reference/`` renders a module's docstring with mkdocstrings (``::: module`` with
``members: false``) and holds a marker ``<!-- members: module -->``. This hook replaces the marker with one
mkdocstrings block per name in the module's ``__all__``, in that order, so a name added to ``__all__`` is
documented with no edit to the docs. One block per name, rather than the module's own member list, because
griffe (which mkdocstrings reads the code with) cannot tell a submodule from a function of the same name
imported over it: ``capitation.allocation.allocate`` is, to griffe, the module ``allocate.py``, not the function
``allocate`` (griffe issue #124). Such a name is rendered from where it is defined
(``capitation.allocation.allocate.allocate``). A name exported from another documented module that defines it
(``capitation.allocation.Membership``) is linked there rather than rendered twice.

``docs/reference/index.md`` holds ``<!-- capitation.__all__ -->``: it becomes a table of the top-level names,
each linked to where it is documented, and a block rendering the names defined in ``capitation`` itself.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

INDEX = "reference/index.md"
TOP_LEVEL = "<!-- capitation.__all__ -->"
MEMBERS = re.compile(r"^<!-- members: *(\S+) *-->$", re.MULTILINE)
BLOCK = re.compile(r"^::: *(\S+)", re.MULTILINE)


def _summary(obj) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip().split("\n\n")[0].replace("\n", " ")
    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", doc)
    return doc.replace("|", "\\|")


def _documented_modules(files) -> list[str]:
    """Return the modules the reference pages render (``::: module`` blocks), in file order."""
    found: list[str] = []
    for file in files.documentation_pages():
        if file.src_uri.startswith("reference/") and file.src_uri != INDEX:
            for identifier in BLOCK.findall(Path(file.abs_src_path).read_text(encoding="utf-8")):
                try:
                    importlib.import_module(identifier)
                except ImportError:  # a function or class, not a module
                    continue
                if identifier not in found:
                    found.append(identifier)
    return found


def _defined_in(obj) -> str:
    return getattr(obj, "__module__", None) or ""


def _home(name: str, obj, modules: list[str]) -> str | None:
    """Return the documented module that exports ``obj`` as ``name``, preferring the one defining it."""
    exporting = [m for m in modules if name in getattr(importlib.import_module(m), "__all__", ())
                 and getattr(importlib.import_module(m), name) is obj]
    defining = [m for m in exporting if _defined_in(obj) == m or _defined_in(obj).startswith(f"{m}.")]
    return max(defining, key=len) if defining else (exporting[0] if exporting else None)


def _identifier(module: str, name: str, obj) -> str:
    """Return what mkdocstrings renders for ``module.name``: the definition when a submodule shadows it."""
    mod = importlib.import_module(module)
    submodules = {info.name for info in pkgutil.iter_modules(getattr(mod, "__path__", []))}
    if name in submodules and getattr(obj, "__qualname__", None):
        return f"{_defined_in(obj)}.{obj.__qualname__}"
    return f"{module}.{name}"


def _members(module: str, modules: list[str]) -> str:
    """Return mkdocstrings blocks for the names in ``module.__all__``, and links for those documented elsewhere."""
    mod = importlib.import_module(module)
    blocks: list[str] = []
    elsewhere: list[str] = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        home = _home(name, obj, modules)
        if home is not None and home != module:
            elsewhere.append(f"[`{name}`][{_identifier(home, name, obj)}] (`{home}`)")
            continue
        blocks += [f"::: {_identifier(module, name, obj)}", "    options:", "      show_root_heading: true",
                   "      show_root_full_path: false", ""]
    head = [f"Also exported here, and documented where they are defined: {', '.join(elsewhere)}.", ""] \
        if elsewhere else []
    return "\n".join(head + blocks)


def _top_level(modules: list[str]) -> str:
    import capitation

    rows = ["| name | documented in | summary |", "|---|---|---|"]
    local: list[str] = []
    for name in capitation.__all__:
        obj = getattr(capitation, name)
        if name == "__version__":
            rows.append(f"| `__version__` | | The package version (`{obj}` when this site was built). |")
            continue
        home = _home(name, obj, modules)
        if home is None:
            local.append(name)
            home = "capitation"
        if home == "capitation":
            rows.append(f"| [`{name}`][capitation.{name}] | `capitation` (below) | {_summary(obj)} |")
        else:
            rows.append(f"| [`{name}`][{_identifier(home, name, obj)}] | [`{home}`][{home}] | {_summary(obj)} |")
    block = ["::: capitation", "    options:", f"      members: [{', '.join(local)}]", "      summary: false"]
    return "\n".join([*rows, "", *block, ""])


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    """Expand the markers of the reference pages."""
    if not page.file.src_uri.startswith("reference/"):
        return markdown
    modules = _documented_modules(files)
    if page.file.src_uri == INDEX:
        markdown = markdown.replace(TOP_LEVEL, _top_level(modules))
    return MEMBERS.sub(lambda match: _members(match[1], modules), markdown)
