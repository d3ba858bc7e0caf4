"""A :class:`FeatureSpec` as a plain dict of JSON types, and back, with its diagnosis grouping in full.

The dict is what saved models and run manifests store: every field of the spec, and the grouping's whole
table (groups in code order, labels, hierarchy families and ranks, every range) with its ``sha256``. Reading
rebuilds the grouping through its validating constructor and refuses a table whose hash is not the one
recorded, so an edited table can never pass for the original.
"""

from __future__ import annotations

import dataclasses

from ..errors import ModelFileError, SchemaError
from .icd10 import CodeRange, DiagnosisGrouping
from .spec import FeatureSpec

__all__ = ["SPEC_FORMAT", "grouping_from_dict", "grouping_to_dict", "spec_from_dict", "spec_to_dict"]

#: Version of the dict layout written by :func:`spec_to_dict`; :func:`spec_from_dict` refuses others.
SPEC_FORMAT = 1


def grouping_to_dict(grouping: DiagnosisGrouping) -> dict:
    """Convert a grouping to JSON types: its whole table and its hash.

    Parameters
    ----------
    grouping : DiagnosisGrouping
        The grouping to write, e.g. a fitted spec's ``diagnosis_grouping``.

    Returns
    -------
    dict
        ``groups``, ``labels``, ``families``, ``severity_ranks`` (one entry per group, in code order),
        ``ranges`` (``[start, end, group, chapter, rationale]`` rows in table order) and ``sha256``.

    Examples
    --------
    >>> from capitation.features.icd10 import DiagnosisGrouping
    >>> from capitation.features.serialize import grouping_to_dict
    >>> d = grouping_to_dict(DiagnosisGrouping.default())
    >>> len(d["groups"]), d["sha256"] == DiagnosisGrouping.default().sha256
    (154, True)
    """
    if not isinstance(grouping, DiagnosisGrouping):
        raise SchemaError(f"The 'grouping' parameter of grouping_to_dict must be a DiagnosisGrouping. Got "
                        f"{type(grouping).__name__}. Fix: build one with DiagnosisGrouping.from_csv(path).")
    return {
        "groups": list(grouping.groups),
        "labels": list(grouping.labels),
        "families": list(grouping.families),
        "severity_ranks": list(grouping.severity_ranks),
        "ranges": [list(r) for r in grouping.ranges],
        "sha256": grouping.sha256,
    }


def grouping_from_dict(data: dict, *, source: str = "the grouping") -> DiagnosisGrouping:
    """Rebuild a grouping from :func:`grouping_to_dict` output, checking its ``sha256``.

    Parameters
    ----------
    data : dict
        As written by :func:`grouping_to_dict`.
    source : str
        What the dict came from (e.g. a file name), for error messages.

    Returns
    -------
    DiagnosisGrouping
        The package's shared default instance when the hash is the default table's.

    Raises
    ------
    ModelFileError
        A key is missing, or the table's hash differs from the recorded ``sha256``.

    Examples
    --------
    >>> from capitation.features.icd10 import DiagnosisGrouping
    >>> from capitation.features.serialize import grouping_from_dict, grouping_to_dict
    >>> grouping_from_dict(grouping_to_dict(DiagnosisGrouping.default())) is DiagnosisGrouping.default()
    True
    """
    missing = [k for k in ("groups", "labels", "families", "severity_ranks", "ranges", "sha256") if k not in data]
    if missing:
        raise ModelFileError(f"The diagnosis grouping in {source} lacks {missing}. Fix: save the model again with "
                             "this version of capitation.")
    default = DiagnosisGrouping.default()
    try:
        grouping = DiagnosisGrouping(
            groups=tuple(data["groups"]), labels=tuple(data["labels"]),
            ranges=tuple(CodeRange(*r) for r in data["ranges"]),
            families=tuple(data["families"]),
            severity_ranks=tuple(None if r is None else int(r) for r in data["severity_ranks"]))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"The diagnosis grouping in {source} is not a valid grouping table: {exc} "
                             "Fix: the file was edited or damaged; save the model again.") from None
    if grouping.sha256 != data["sha256"]:
        raise ModelFileError(f"The diagnosis grouping in {source} has sha256 {grouping.sha256[:16]}..., but the "
                             f"file records {str(data['sha256'])[:16]}...: the table was edited after saving. "
                             "Fix: restore the original file, or refit and save the model.")
    return default if grouping.sha256 == default.sha256 else grouping


def _plain(value):
    """Turn tuples (nested) into lists, for JSON."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _tuples(value):
    """Turn lists (nested) into tuples, as the frozen spec holds them."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def spec_to_dict(spec: FeatureSpec) -> dict:
    """Convert every field of ``spec`` to JSON types, with the diagnosis grouping's table and hash.

    Parameters
    ----------
    spec : FeatureSpec
        Typically the fitted spec of the training design (``X.spec``), holding any learned fixed-effect
        levels.

    Returns
    -------
    dict
        One key per field of :class:`FeatureSpec` plus ``format``; ``diagnosis_grouping`` is a dict as
        from :func:`grouping_to_dict`, or ``None``.

    Examples
    --------
    >>> from capitation import FeatureSpec
    >>> from capitation.features.serialize import spec_to_dict
    >>> d = spec_to_dict(FeatureSpec(diagnosis_grouping=None, outcome_year="2025/26"))
    >>> d["outcome_year"], d["age_bands"][:3], d["diagnosis_grouping"]
    ('2025/26', [0, 5, 10], None)
    """
    if not isinstance(spec, FeatureSpec):
        raise SchemaError(f"The 'spec' parameter of spec_to_dict must be a FeatureSpec. Got {type(spec).__name__}. "
                        "Fix: pass the spec that encoded the training design (X.spec).")
    out: dict = {"format": SPEC_FORMAT}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.name == "diagnosis_grouping":
            out[f.name] = None if value is None else grouping_to_dict(value)
        else:
            out[f.name] = _plain(value)
    return out


def spec_from_dict(data: dict, *, source: str = "the spec") -> FeatureSpec:
    """Rebuild a :class:`FeatureSpec` from :func:`spec_to_dict` output.

    Parameters
    ----------
    data : dict
        As written by :func:`spec_to_dict`.
    source : str
        What the dict came from (e.g. a file name), for error messages.

    Returns
    -------
    FeatureSpec
        Equal to the spec that was written.

    Raises
    ------
    ModelFileError
        Another layout version, a field this version of capitation does not know, an invalid value, or a
        grouping table that fails its hash.

    Examples
    --------
    >>> from capitation import FeatureSpec
    >>> from capitation.features.serialize import spec_from_dict, spec_to_dict
    >>> spec = FeatureSpec(outcome_year="2025/26", conditions=("DM",))
    >>> spec_from_dict(spec_to_dict(spec)) == spec
    True
    """
    if not isinstance(data, dict):
        raise ModelFileError(f"The feature spec in {source} must be a JSON object. Got {type(data).__name__}. "
                             "Fix: save the model again with this version of capitation.")
    if data.get("format") != SPEC_FORMAT:
        raise ModelFileError(f"The feature spec in {source} has layout version {data.get('format')!r}; this "
                             f"version of capitation reads version {SPEC_FORMAT}. Fix: load it with the capitation "
                             "version that saved it, or refit and save the model.")
    known = {f.name for f in dataclasses.fields(FeatureSpec) if f.init}
    unknown = sorted(set(data) - known - {"format"})
    if unknown:
        raise ModelFileError(f"The feature spec in {source} has fields {unknown} that this version of capitation "
                             "does not know. Fix: load it with the capitation version that saved it.")
    kwargs = {}
    for name in known & set(data):
        value = data[name]
        if name == "diagnosis_grouping":
            kwargs[name] = None if value is None else grouping_from_dict(value, source=source)
        else:
            kwargs[name] = _tuples(value)
    try:
        return FeatureSpec(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"The feature spec in {source} is not valid: {exc} Fix: the file was edited or "
                             "damaged; save the model again.") from None
