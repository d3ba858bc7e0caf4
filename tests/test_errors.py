"""Every error a user can cause is a CapitationError: the package never raises a bare built-in exception."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

import capitation.errors as errors

SOURCE = Path(errors.__file__).parent

#: Built-in exceptions that would reach a user raw; the package raises its own subclasses of them instead.
#: Python's own protocols are left out: a module's or class's ``__getattr__`` must raise AttributeError, an
#: abstract method NotImplementedError, an iterator StopIteration — signals to Python, not errors of input.
BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                  if isinstance(value, type) and issubclass(value, Exception)} - {"StopIteration", "AttributeError",
                                                                                    "NotImplementedError"}


def _raised_builtins(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in BUILTIN_ERRORS:
                found.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: raise {target.id}")
    return found


def test_no_module_raises_a_builtin_exception():
    found = [hit for path in sorted(SOURCE.rglob("*.py")) for hit in _raised_builtins(path)]
    assert not found, "raise a capitation.errors class instead (it may subclass the built-in):\n" + "\n".join(found)


def test_the_scan_finds_a_builtin_raise(tmp_path):
    """The scan itself can fail: a module that raises ValueError is reported."""
    module = SOURCE / "_scan_probe.py"
    try:
        module.write_text("def f():\n    raise ValueError('x')\n", encoding="utf-8")
        assert _raised_builtins(module) == ["capitation/_scan_probe.py:2: raise ValueError"]
    finally:
        module.unlink(missing_ok=True)


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_a_capitation_error(name):
    assert issubclass(getattr(errors, name), errors.CapitationError)
