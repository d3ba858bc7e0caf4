"""A griffe extension for the API reference: the reST bits of the numpy-style docstrings, rendered as Markdown.

The docstrings in ``src/`` are numpydoc, written for Sphinx; mkdocstrings renders their text as Markdown.
Loaded by mkdocstrings (``extensions`` in mkdocs.yml), this extension rewrites each docstring of the package
before it is parsed, in three ways. The files in ``src/`` are not changed.

* Roles. ``:func:`allocate```, ``:class:`~capitation.errors.InputError```, ``:meth:`to_frame``` and the
  like become a link to the object when it is in the reference, else its name in code; never a warning. A
  name is looked up as Python would from the docstring's object (griffe's ``resolve``), then followed to
  where it is defined, which is the identifier mkdocstrings registers for every object it renders.
* Literal blocks. A paragraph ending in ``::`` ends in ``:``; the indented block after it is already a
  Markdown code block.
* A paragraph that closes an item section. Several docstrings end ``Parameters`` or ``Attributes`` with a
  free paragraph ("The tables are the result's own data ..."). numpydoc has no such thing: a section runs to
  the next section title, so each line of the paragraph would be read as one more parameter or attribute
  (bogus table rows, a warning such as "Parameter 'read' does not appear in the function signature", and a
  crash for a line that starts with a role). A ``Notes`` title is inserted before the paragraph, so it
  renders as a note under the table. A paragraph is free when it follows a blank line inside an item
  section and its first line is not an item header (``name``, ``name : type``, ``a, b : type``,
  ``**kwargs``, ``pkg.ErrorName``).
"""

from __future__ import annotations

import html
import re

import griffe

ITEM_SECTIONS = {"parameters", "other parameters", "attributes", "raises", "warns"}
ITEM_HEADER = re.compile(r"\*{0,2}[A-Za-z_][\w.]*(\s*,\s*\*{0,2}[A-Za-z_][\w.]*)*\s*(:.*)?")
ROLE = re.compile(r":(?:py:)?(?P<role>func|meth|class|attr|mod|data|exc|obj|const):`(?P<target>[^`]+)`")


def _is_dash_line(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) == {"-"}


def close_item_sections(text: str) -> str:
    """Return the docstring ``text`` with a ``Notes`` title before each free paragraph of an item section."""
    lines = text.split("\n")
    out: list[str] = []
    section = ""
    in_fence = False
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.strip() and not line[0].isspace():
            if _is_dash_line(nxt):
                section = line.strip().lower()
            elif (section in ITEM_SECTIONS and not _is_dash_line(line) and i > 0 and not lines[i - 1].strip()
                  and not ITEM_HEADER.fullmatch(line.rstrip())):
                out += ["Notes", "-----"]
                section = "notes"
        out.append(line)
    return "\n".join(out)


def end_literal_markers(text: str) -> str:
    """Return ``text`` with each reST ``::`` that introduces a literal block turned into ``:``."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip().endswith("::") and i + 2 < len(lines) and not lines[i + 1].strip() \
                and lines[i + 2].startswith("    "):
            stripped = line.rstrip()[:-2].rstrip()
            lines[i] = f"{stripped}:" if stripped else ""
    return "\n".join(lines)


def _defined_at(root: griffe.Module, obj: griffe.Object, role: str, target: str) -> str | None:
    """Return where ``target``, as written in ``obj``'s docstring, is defined; ``None`` if unknown."""
    name = target.lstrip("~.")
    head, _, rest = name.partition(".")
    try:
        path = name if head == root.name else obj.resolve(head) + (f".{rest}" if rest else "")
        found = root if path == root.name else root[path.removeprefix(f"{root.name}.")]
        if role != "mod" and found.is_module and found.name in found.members:
            # A function named like its module and imported over it (griffe sees the module): the function.
            found = found[found.name]
        return found.canonical_path
    except (griffe.NameResolutionError, griffe.AliasResolutionError, griffe.CyclicAliasError, KeyError,
            ValueError):
        return None


def link_roles(text: str, root: griffe.Module, obj: griffe.Object) -> str:
    """Return ``text`` with each reST role replaced by an optional cross-reference (or code)."""

    def replace(match: re.Match) -> str:
        target = " ".join(match["target"].split()).replace(". ", ".")  # a role may be cut across lines
        explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^<>]+)>", target)  # :meth:`title <target>`
        if explicit:
            shown, target = explicit["title"], explicit["target"]
        else:
            shown = target.lstrip("~.").rsplit(".", 1)[-1] if target.startswith("~") else target.lstrip(".")
        code = f"<code>{html.escape(shown)}</code>"
        path = _defined_at(root, obj, match["role"], target)
        if path is None:
            return code
        # "optional": mkdocs-autorefs renders the plain code, with no warning, when the object is not rendered.
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    # Not inside fenced code blocks.
    parts = re.split(r"(^[ \t]*```.*?^[ \t]*```[^\n]*$)", text, flags=re.MULTILINE | re.DOTALL)
    return "".join(part if i % 2 else ROLE.sub(replace, part) for i, part in enumerate(parts))


class NumpydocRst(griffe.Extension):
    """Rewrite every docstring of a loaded package for Markdown (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        """Rewrite the docstrings of ``pkg`` and of everything defined in it."""
        seen: set[str] = set()

        def walk(obj: griffe.Object) -> None:
            if obj.path in seen:
                return
            seen.add(obj.path)
            if obj.docstring is not None:
                text = close_item_sections(obj.docstring.value)
                obj.docstring.value = link_roles(end_literal_markers(text), pkg, obj)
            for member in obj.members.values():
                if not member.is_alias:
                    walk(member)

        walk(pkg)
