"""Package names imported on first use (PEP 562), the one mechanism behind every lazy ``__init__``.

``import capitation`` should not load scikit-learn, scipy or the extract readers that a script never uses; each
package lists where its public names live and lets this module import them when they are first looked up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_names(package: str, homes: Mapping[str, str], exported, *, submodules: bool = False
               ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Make a package's ``__getattr__`` and ``__dir__`` from where its names live.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    homes : mapping of str to str
        Each public name and its module, relative to the package (``".stats"``, ``"..aggregation"``).
    exported : sequence of str
        The package's ``__all__``, listed by ``dir()``.
    submodules : bool
        Also resolve any other name as a submodule (``capitation.stream`` after ``import capitation``).

    Returns
    -------
    (__getattr__, __dir__)
        To be bound to those names in the package. A name is cached in the package once looked up.

    Examples
    --------
    >>> from capitation._lazy import lazy_names
    >>> getattr_, dir_ = lazy_names("capitation", {"FitResult": ".model"}, ["FitResult"])
    >>> getattr_("FitResult").__name__
    'FitResult'
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str):
        home = homes.get(name)
        if home is None:
            if submodules:
                try:
                    return importlib.import_module(f"{package}.{name}")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{package}.{name}":
                        raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        namespace[name] = value  # later uses skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exported))

    return __getattr__, __dir__
