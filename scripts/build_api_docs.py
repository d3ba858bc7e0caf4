"""Build docs/api.md from the docstrings of every public name, so the reference cannot drift from the code.

Public means listed in ``__all__`` of ``capitation`` or of one of its subpackages (see ``MODULES``). Each
name is documented once, under the module that exports it (top-level names that are re-exports link there).

    python scripts/build_api_docs.py            # write docs/api.md
    python scripts/build_api_docs.py --check    # exit 1 if docs/api.md is out of date (for CI)
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api.md"

#: Modules documented, in pipeline order, with a one-line purpose.
MODULES = [
    ("capitation.inputs", "Step 1: tables in, validated arrays out."),
    ("capitation.features", "Step 2: the sparse person-level design."),
    ("capitation.model", "Step 3: the cost model, its results and its validation."),
    ("capitation.scoring", "Step 4: need per person, with supply neutralised."),
    ("capitation.aggregation", "Step 5: people to practices to consortia, exactly."),
    ("capitation.allocation", "Step 6: need to pounds and pence; NHS England's mechanics; budget risk."),
    ("capitation.report", "Figures, the HTML report and small-number suppression (needs `capitation[report]`)."),
    ("capitation.datasets", "Shipped reference data."),
    ("capitation.datasets.synthetic", "The synthetic England generator."),
    ("capitation.errors", "Exceptions."),
]


def _anchor(module: str, name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", f"{module}-{name}".lower().replace(".", "-").replace("_", "-"))


def _signature(obj, name: str) -> str | None:
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return None
    sig = re.sub(r" at 0x[0-9a-f]+", "", sig)
    return f"{name}{sig}"


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "") if obj.__doc__ else ""


def _split(doc: str) -> tuple[str, str]:
    """Summary paragraph and the rest of a docstring."""
    parts = doc.split("\n\n", 1)
    return parts[0].replace("\n", " "), (parts[1] if len(parts) > 1 else "")


def _methods(cls) -> list[tuple[str, str]]:
    out = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or name not in cls.__dict__:
            continue
        raw = cls.__dict__[name]
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if isinstance(raw, property) or callable(raw) or hasattr(raw, "__get__"):
            doc = _doc(raw if not isinstance(raw, property) else raw.fget) if (
                getattr(raw, "__doc__", None) or isinstance(raw, property)) else ""
            summary = _split(doc)[0] if doc else ""
            kind = "property" if isinstance(raw, property) or type(raw).__name__ == "cached_property" else "method"
            sig = _signature(member, name) if kind == "method" else None
            out.append((f"`{sig or name}`" + (" *(property)*" if kind == "property" else ""), summary))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _entry(module: str, name: str, obj) -> list[str]:
    lines = [f'<a id="{_anchor(module, name)}"></a>', f"### `{name}`", ""]
    if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj) or callable(obj):
        kind = "class" if inspect.isclass(obj) else "function"
        sig = _signature(obj, name)
        if sig:
            lines += ["```python", f"{'class ' if kind == 'class' else ''}{sig}", "```", ""]
        doc = _doc(obj)
        summary, rest = _split(doc) if doc else ("*(no docstring)*", "")
        lines += [summary, ""]
        if rest.strip():
            lines += ["```text", rest.rstrip(), "```", ""]
        if inspect.isclass(obj):
            methods = _methods(obj)
            if methods:
                lines += ["| member | summary |", "|---|---|"]
                lines += [f"| {m} | {_cell(s)} |" for m, s in methods]
                lines.append("")
    else:
        text = repr(obj)
        text = text if len(text) <= 300 else text[:297] + "..."
        lines += [f"Constant of type `{type(obj).__name__}`:", "", "```text", text, "```", ""]
    return lines


def build() -> str:
    import capitation

    documented: dict[int, str] = {}
    body: list[str] = []
    toc: list[str] = []
    for module_name, purpose in MODULES:
        module = importlib.import_module(module_name)
        names = list(getattr(module, "__all__", []))
        toc.append(f"- [`{module_name}`](#{_anchor(module_name, 'module')}): {purpose}")
        body += [f'<a id="{_anchor(module_name, "module")}"></a>', f"## `{module_name}`", ""]
        mod_doc = _doc(module)
        body += [_split(mod_doc)[0] if mod_doc else purpose, ""]
        for name in names:
            obj = getattr(module, name)
            key = id(obj)
            if key in documented and not isinstance(obj, (int, float, str, tuple)):
                target = _anchor(*documented[key].rsplit(".", 1))
                body += [f"### `{name}`", "", f"See [`{documented[key]}`](#{target}).", ""]
                continue
            documented.setdefault(key, f"{module_name}.{name}")
            body += _entry(module_name, name, obj)
    top = ['<a id="capitation-top-level"></a>', "## `capitation` (top level)", "",
           "The names most analysts need, re-exported from the subpackages:", "", "| name | documented as |",
           "|---|---|"]
    for name in capitation.__all__:
        obj = getattr(capitation, name)
        where = documented.get(id(obj))
        if where and not isinstance(obj, str):
            top.append(f"| `{name}` | [`{where}`](#{_anchor(*where.rsplit('.', 1))}) |")
        elif name == "__version__":
            top.append("| `__version__` | the package version |")
        else:
            top.append(f"| `{name}` | [below](#{_anchor('capitation', name)}) |")
    top.append("")
    for name in capitation.__all__:
        obj = getattr(capitation, name)
        if id(obj) not in documented and name != "__version__":
            top += _entry("capitation", name, obj)
    head = ["# API reference", "",
            "Generated from the docstrings by `python scripts/build_api_docs.py`. Do not edit this file by hand. "
            "CI runs the script with `--check`.", "",
            "Public names are those in `__all__` of `capitation` and of each subpackage below. Anything else is "
            "private and may change.", "", *toc, "- [`capitation` (top level)](#capitation-top-level)", ""]
    text = "\n".join(head + body + top) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/api.md differs from the docstrings")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is out of date. Fix: python scripts/build_api_docs.py", file=sys.stderr)
            return 1
        print(f"{OUT.relative_to(ROOT)} is up to date.")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text.splitlines()):,} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
