"""Saved models: JSON plus an ``.npz`` beside it, checked by hashes on load. No pickle anywhere.

A saved :class:`~capitation.CostModel` is two files:

``model.json``
    Format version, library version, creation time, the estimator's parameters, the full
    :class:`~capitation.FeatureSpec` (with its ICD-10 grouping table and that table's sha256), each design
    column's name, role, coefficient and training mean, the fit's statistics (people, person-years, R²,
    covariance type, cost cap, dropped columns), a fingerprint of the training data, the sha256 of the
    ``.npz`` and, last, the sha256 of the document's own canonical content. Sorted keys, UTF-8.
``model.npz``
    The covariance matrix of the identified coefficients, written without pickling and with fixed zip
    timestamps, so saving the same model twice gives the same bytes.

:func:`load_model` refuses, with :class:`~capitation.errors.ModelFileError` naming the file, what did not
match and the fix: another format version, an edited document, an edited or swapped ``.npz``, a grouping
table that fails its hash, or statistics that disagree with the training fingerprint. Floats are written
in Python's shortest round-trip form, so a loaded model scores bit-identically to the one saved.

Tables (``read_table``, ``write_table``) and hashing (``sha256_path``) live in :mod:`capitation._io`, the
one module that reads and writes files.

This module knows the file format, not the estimator: :func:`load_model` builds the class that the document
records (or the class it is given) through that class's ``_set_fitted``, the one place where fitted state is
set. Estimator classes make themselves loadable with :func:`register_estimator`.

Every file is written by :mod:`capitation._io`'s one atomic writer: the destination is checked first (a
folder where the file must go, or a file where a folder must be, raises
:class:`~capitation.errors.OutputError`; missing folders are created), the file appears only once complete,
with the user's umask, and temporary files left by a killed run are removed at the next write. The path of
the ``.npz`` recorded in a model is resolved inside the model's folder; one that escapes it (``..``, an
absolute path, a symlink out of the folder) is refused.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import HASH_KEY, _canonical, read_hashed_document
from .._version import __version__
from ..errors import CapitationError, ModelFileError
from .results import FitResult

__all__ = [
    "FORMAT_VERSION",
    "load_model",
    "read_model_document",
    "register_estimator",
    "save_model",
    "training_fingerprint",
]

#: Version of the saved-model layout; :func:`load_model` reads this version only.
FORMAT_VERSION = 1
_KIND = "capitation.CostModel"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the .npz bytes depend only on the arrays
#: Estimator classes that saved documents may record, by class name (see :func:`register_estimator`).
_ESTIMATORS: dict[str, type] = {}


def register_estimator(cls: type) -> type:
    """Let :func:`save_model` accept instances of ``cls`` and :func:`load_model` rebuild them (a class decorator).

    The class must take its saved parameters as constructor arguments and set its fitted state with
    ``_set_fitted(result, spec=..., provenance=...)``. Documents record the class by name.

    Parameters
    ----------
    cls : type
        The estimator class.

    Returns
    -------
    type
        ``cls`` itself.

    Examples
    --------
    >>> from capitation import CostModel
    >>> from capitation.model.persist import register_estimator
    >>> register_estimator(CostModel) is CostModel  # CostModel registers itself; registering again is harmless
    True
    """
    _ESTIMATORS[cls.__name__] = cls
    return cls


def training_fingerprint(result) -> str:
    """Hash what the fit learned from its data: columns, people, person-years, sums of squares, means.

    Two fits on the same design and outcome (same order, same block size) have the same fingerprint; a
    saved model whose statistics were edited no longer matches the fingerprint it records.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> from capitation.model.persist import training_fingerprint
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> a = CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]).result_
    >>> b = CostModel().fit(X, [100.0, 300.0, 140.0, 261.0]).result_
    >>> training_fingerprint(a) == training_fingerprint(a), training_fingerprint(a) == training_fingerprint(b)
    (True, False)
    """
    head = {"columns": [str(c) for c in result.params.index], "n": int(result.n),
            "sum_weights": float(result.sum_weights).hex(), "ssr": float(result.ssr).hex(),
            "centered_tss": float(result.centered_tss).hex()}
    digest = hashlib.sha256(_canonical(head))
    digest.update(np.ascontiguousarray(result.column_means.to_numpy(), dtype="<f8").tobytes())
    return digest.hexdigest()


# -- models -----------------------------------------------------------------------------------------------

_RSQUARED_NOTE = "undefined: the outcome is constant"
_NPY_DTYPE = np.dtype("<f8")


def _arrays_path(path: Path) -> Path:
    return path.with_suffix(".npz")


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array, dtype=_NPY_DTYPE), allow_pickle=False)
    return buffer.getvalue()


def _rsquared(result) -> float | None:
    """R² as a finite float, or None where it is undefined (a constant outcome: zero total sum of squares)."""
    try:
        value = float(result.rsquared)
    except (ZeroDivisionError, TypeError, ValueError, OverflowError):
        return None
    return value if np.isfinite(value) else None


def _finite_list(values, what: str, names) -> list[float]:
    out = [float(v) for v in values]
    bad = [k for k, v in enumerate(out) if not np.isfinite(v)]
    if bad:
        shown = ", ".join(f"{names[k]!r} = {out[k]!r}" for k in bad[:5])
        raise ModelFileError(f"The model cannot be saved: {len(bad)} {what} not finite ({shown}). JSON holds only "
                             "finite numbers, and a model with an undefined coefficient cannot score anyone. "
                             "Fix: check the outcome and weights for NaN or inf and refit; drop or merge columns "
                             "with undefined estimates.")
    return out


def _recorded_class(model) -> str:
    """Return the name a document records for ``model``: its nearest registered class."""
    return next(c.__name__ for c in type(model).__mro__ if _ESTIMATORS.get(c.__name__) is c)


def save_model(model, path, *, spec=None, created: str | None = None) -> Path:
    """Save a fitted least-squares :class:`~capitation.CostModel` as JSON with an ``.npz`` beside it.

    Parameters
    ----------
    model : CostModel
        Fitted with ``method="ols"``. Other methods hold scikit-learn objects that could only be pickled,
        so they are refused.
    path : str or os.PathLike
        The JSON file to write (``model.json``); the arrays go to the same name with suffix ``.npz``.
        Both are written through temporary files renamed on success, the ``.npz`` first.
    spec : FeatureSpec, optional
        The spec that encoded the training design, with its learned levels: pass ``X.spec``. Stored in
        full so the model can encode new people itself; without it the file holds no spec.
    created : str, optional
        Creation time to record (ISO 8601); the current UTC time by default. Reproducing a run passes the
        recorded time, so the file comes out byte-identical.

    Returns
    -------
    pathlib.Path
        The JSON file.

    Raises
    ------
    ModelFileError
        The model is not fitted, is not least squares, has a coefficient or mean that is not finite, or
        ``path`` ends in ``.npz``.
    OutputError
        ``path`` (or the ``.npz`` beside it) is a folder, or lies under a file; checked before writing either.

    Notes
    -----
    R² is undefined when the outcome is constant (all costs zero, say): the document then records
    ``"rsquared": null`` with ``"rsquared_note": "undefined: the outcome is constant"`` (JSON has no NaN).
    The loaded model recomputes R² from the saved sums of squares, as the fitted one does.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> from capitation.model.persist import load_model, save_model
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> model = CostModel().fit(X, [100.0, 300.0, 140.0, 260.0])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     saved = save_model(model, pathlib.Path(d) / "model.json")
    ...     loaded = load_model(saved)
    ...     sorted(p.name for p in pathlib.Path(d).iterdir())
    ['model.json', 'model.npz']
    >>> bool((loaded.predict(X) == model.predict(X)).all())
    True
    """
    from .._io import atomic_write_bytes, atomic_write_text, check_output
    from ..features.serialize import spec_to_dict
    from ..features.spec import FeatureSpec

    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise ModelFileError(f"The 'path' parameter of save_model must be a file name (str or os.PathLike). Got "
                             f"{type(path).__name__}. Fix: pass e.g. 'model.json'.") from None
    if not isinstance(model, tuple(_ESTIMATORS.values())):
        raise ModelFileError(f"The 'model' parameter of save_model must be a CostModel. Got "
                             f"{type(model).__name__}. Fix: CostModel().fit(X, y) first.")
    if getattr(model, "method", "ols") != "ols":
        raise ModelFileError(f"Only least-squares models can be saved; this CostModel has method="
                             f"{model.method!r}, whose fitted state is a scikit-learn object that would need "
                             "pickling. Fix: refit with method='ols' to save, or keep the comparison in memory.")
    if not hasattr(model, "result_"):
        raise ModelFileError("The 'model' parameter of save_model is not fitted. Fix: call model.fit(X, y) first.")
    if spec is not None and not isinstance(spec, FeatureSpec):
        raise ModelFileError(f"The 'spec' parameter of save_model must be a FeatureSpec or None. Got "
                             f"{type(spec).__name__}. Fix: pass X.spec of the training design.")
    if path.suffix == ".npz":
        raise ModelFileError(f"The 'path' parameter of save_model names {str(path)!r}; the model document is JSON "
                             "and its arrays go beside it in .npz. Fix: pass e.g. 'model.json'.")
    # Both destinations are checked before either file is written, so a refusal leaves no half pair.
    check_output(path, kind="file", name="path")
    check_output(_arrays_path(path), kind="file", name="path (its .npz)")
    result = model.result_
    names = [str(c) for c in result.params.index]
    coef = _finite_list(result.params.to_numpy(), "coefficient(s) are", names)
    means = _finite_list(result.column_means.to_numpy(), "training mean(s) are", names)
    arrays = _npz_bytes({"cov": result.cov.to_numpy()})
    if created is None:
        created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    rsquared = _rsquared(result)
    fit = {
        "n": int(result.n), "sum_weights": float(result.sum_weights), "df_resid": int(result.df_resid),
        "ssr": float(result.ssr), "centered_tss": float(result.centered_tss),
        "rsquared": rsquared, "cov_type": result.cov_type, "cap": result.cap,
        "aliased": list(result.aliased), "empty": list(result.empty),
        "cov_columns": [str(c) for c in result.cov.index],
    }
    if rsquared is None:
        fit["rsquared_note"] = _RSQUARED_NOTE
    document = {
        "format": _KIND,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "created": str(created),
        "estimator": {"class": _recorded_class(model), "params": dict(sorted(model.get_params().items()))},
        "spec": None if spec is None else spec_to_dict(spec),
        "columns": {
            "name": names,
            "role": [str(r) for r in result.roles.reindex(result.params.index).tolist()],
            "coef": coef,
            "mean": means,
        },
        "fit": fit,
        "training_fingerprint": training_fingerprint(result),
        "arrays": {"file": _arrays_path(path).name, "sha256": hashlib.sha256(arrays).hexdigest(), "names": ["cov"]},
    }
    try:
        canonical = _canonical(document)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"The model cannot be written as JSON: {exc}. Fix: estimator parameters, the cost "
                             "cap and the spec must hold plain, finite numbers and strings.") from None
    document[HASH_KEY] = hashlib.sha256(canonical).hexdigest()
    atomic_write_bytes(_arrays_path(path), arrays, name="path (its .npz)")
    atomic_write_text(path, json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1, allow_nan=False)
                      + "\n", name="path")
    return path


def read_model_document(path) -> dict:
    """Read the saved model's JSON document, checking its format version and its own hash.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict

    Raises
    ------
    ModelFileError
        The file is missing, not JSON, not a capitation model, of another format version, or edited.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> from capitation.model.persist import read_model_document, save_model
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     saved = save_model(CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]), pathlib.Path(d) / "m.json")
    ...     document = read_model_document(saved)
    >>> document["format_version"], document["estimator"]["class"], document["columns"]["name"]
    (1, 'CostModel', ['x0', 'x1'])
    """
    return read_hashed_document(
        path, kind=_KIND, version=FORMAT_VERSION, what="model file", label="saved capitation model",
        fix_missing="check the path, or save a model with capitation fit / save_model",
        fix_foreign="pass the .json written by save_model, not the .npz beside it",
        fix_version="load it with the version that saved it, or refit and save",
        fix_edited="restore the original file, or refit and save the model")


class _Fields:
    """Checks of a model document's fields, each refusal naming the field, the value and the fix."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, field: str, value, expected: str):
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ModelFileError(f"The model file {self.where} has '{field}' = {shown}, not {expected}. Fix: the file "
                             "was damaged or forged; restore it, or refit and save the model.")

    def get(self, document, field: str, key: str, kind=dict):
        if not isinstance(document, dict) or key not in document:
            raise ModelFileError(f"The model file {self.where} lacks '{field}'. Fix: save the model again.")
        value = document[key]
        if kind is not None and not isinstance(value, kind):
            self.fail(field, value, f"a {kind.__name__}")
        return value

    def number(self, value, field: str, *, integer: bool = False, allow_none: bool = False):
        if value is None and allow_none:
            return None
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool):
            self.fail(field, value, "an integer" if integer else "a number")
        try:
            finite = bool(np.isfinite(float(value)))
        except OverflowError:  # an integer beyond float range
            finite = False
        if not finite:
            self.fail(field, value, "a finite number")
        return int(value) if integer else float(value)

    def numbers(self, values, field: str, length: int) -> np.ndarray:
        if not isinstance(values, list) or len(values) != length:
            self.fail(field, values if not isinstance(values, list) else f"a list of {len(values)}",
                      f"a list of {length} numbers (one per column)")
        return np.asarray([self.number(v, f"{field}[{k}]") for k, v in enumerate(values)], dtype=np.float64)

    def texts(self, values, field: str, length: int | None = None) -> list[str]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.fail(field, values, "a list of strings")
        if length is not None and len(values) != length:
            self.fail(field, f"a list of {len(values)}", f"a list of {length} (one per column)")
        return list(values)


def _read_arrays(raw: bytes, names: list[str], shapes: dict[str, tuple[int, ...]], npz: Path, where: str):
    """Read the arrays of an ``.npz``, refusing all but plain little-endian float64 arrays of the recorded shapes.

    Each header is checked before its data is read, so a forged header cannot make the loader allocate more
    than the model declares; nothing is ever unpickled.
    """
    shown = repr(str(npz))
    fix = "Fix: copy the .json and .npz saved together, or save the model again."
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = sorted(archive.namelist())
            if members != sorted(f"{n}.npy" for n in names):
                raise ModelFileError(f"The arrays file {shown} holds {members}, but model {where} records the "
                                     f"arrays {names}. {fix}")
            out = {}
            for name in names:
                with archive.open(f"{name}.npy") as handle:
                    version = np.lib.format.read_magic(handle)
                    header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, fortran, dtype = header(handle)
                if dtype != _NPY_DTYPE or fortran or tuple(shape) != shapes[name]:
                    raise ModelFileError(f"The array {name!r} in {shown} has dtype {dtype} and shape {tuple(shape)}"
                                         f"{' (Fortran order)' if fortran else ''}; model {where} needs float64 of "
                                         f"shape {shapes[name]}. {fix}")
                with archive.open(f"{name}.npy") as handle:
                    out[name] = np.lib.format.read_array(handle, allow_pickle=False)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError) as exc:
        raise ModelFileError(f"The arrays file {shown} of model {where} is not a readable .npz of numeric arrays "
                             f"({type(exc).__name__}: {exc}). {fix}") from None
    return out


def load_model(path, *, cls: type | None = None):
    """Load a model saved by :func:`save_model`, refusing any file that fails its checks.

    Parameters
    ----------
    path : str or os.PathLike
        The model's JSON file; its ``.npz`` must be beside it.
    cls : type, optional
        The estimator class to build (``CostModel.load`` passes its own class); by default the class the
        document records (see :func:`register_estimator`). Its fitted state is set by its ``_set_fitted``,
        as after ``fit``.

    Returns
    -------
    CostModel
        Fitted: ``coef_``, ``result_`` (a :class:`~capitation.FitResult`), ``feature_names_in_``,
        ``n_features_in_``, ``column_means_`` and ``roles_`` as after ``fit``, plus ``spec_`` (the saved
        :class:`~capitation.FeatureSpec`, or ``None``) and ``provenance_`` (library version, creation time,
        training fingerprint, file hashes). :func:`capitation.score` gives bit-identical predictions.

    Raises
    ------
    ModelFileError
        Naming the file, what did not match and the fix: missing, a folder, not strict JSON (a ``NaN``
        token, say), another format version, edited, a field of the wrong type or not finite, an ``.npz``
        that is missing, edited, not an archive of plain float64 arrays of the recorded shapes, or named by a
        path outside the model's folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> from capitation.model.persist import load_model, save_model
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     saved = save_model(CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]), pathlib.Path(d) / "m.json")
    ...     model = load_model(saved)
    >>> model.coef_.round(6).tolist(), model.result_.n
    ([120.0, 160.0], 4)
    """
    from .._io import resolve_inside
    from ..features.serialize import spec_from_dict

    document = read_model_document(path)
    path = Path(os.fspath(path))
    where = repr(str(path))
    check = _Fields(where)
    arrays_info = check.get(document, "arrays", "arrays")
    columns = check.get(document, "columns", "columns")
    fit = check.get(document, "fit", "fit")
    params = check.get(check.get(document, "estimator", "estimator"), "estimator.params", "params")
    npz_name = check.get(arrays_info, "arrays.file", "file", str)
    recorded_sha = check.get(arrays_info, "'arrays.sha256'", "sha256", str)
    array_names = check.texts(check.get(arrays_info, "arrays.names", "names", list), "arrays.names")
    if array_names != ["cov"]:
        check.fail("arrays.names", array_names, "['cov']")
    npz = resolve_inside(npz_name, path.parent, field="'arrays.file'", source=path,
                         fix="keep the .npz beside the .json under its own name (copy both), or save the model again")
    if not npz.is_file():
        raise ModelFileError(f"The arrays of model {where} are missing: {str(npz)!r} does not exist. Fix: keep the "
                             ".npz beside the .json (copy both), or save the model again.")
    try:
        raw = npz.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"The arrays file {str(npz)!r} of model {where} cannot be read ({exc.strerror or exc})."
                             " Fix: check its permissions.") from None
    if hashlib.sha256(raw).hexdigest() != recorded_sha:
        raise ModelFileError(f"The arrays file {str(npz)!r} does not match model {where}: its sha256 is "
                             f"{hashlib.sha256(raw).hexdigest()[:16]}..., the model records "
                             f"{recorded_sha[:16]}.... It was edited, or belongs to another model. "
                             "Fix: copy the .json and .npz saved together.")
    names = check.texts(check.get(columns, "columns.name", "name", list), "columns.name")
    n_cols = len(names)
    if len(set(names)) != n_cols:
        check.fail("columns.name", sorted({n for n in names if names.count(n) > 1}), "unique column names")
    roles = check.texts(check.get(columns, "columns.role", "role", list), "columns.role", n_cols)
    coef = check.numbers(check.get(columns, "columns.coef", "coef", list), "columns.coef", n_cols)
    means = check.numbers(check.get(columns, "columns.mean", "mean", list), "columns.mean", n_cols)
    kept = check.texts(check.get(fit, "fit.cov_columns", "cov_columns", list), "fit.cov_columns")
    if not set(kept) <= set(names) or len(set(kept)) != len(kept):
        check.fail("fit.cov_columns", kept, "distinct names from 'columns.name'")
    cov = _read_arrays(raw, array_names, {"cov": (len(kept), len(kept))}, npz, where)["cov"]
    cap = fit.get("cap")
    if cap is not None and not isinstance(cap, dict):
        check.fail("fit.cap", cap, "null or an object")
    check.number(fit.get("rsquared"), "fit.rsquared", allow_none=True)
    try:
        spec = None if document.get("spec") is None else spec_from_dict(document["spec"], source=f"model {where}")
    except CapitationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise ModelFileError(f"The spec in model {where} cannot be read ({type(exc).__name__}: {exc}). Fix: the "
                             "file was damaged or forged; restore it, or refit and save the model.") from None
    index = pd.Index(names)
    result = FitResult(
        params=pd.Series(coef, index=index, name="coef"),
        cov=pd.DataFrame(np.ascontiguousarray(cov, dtype=np.float64), index=kept, columns=kept),
        cov_type=check.get(fit, "fit.cov_type", "cov_type", str),
        n=check.number(check.get(fit, "fit.n", "n", None), "fit.n", integer=True),
        sum_weights=check.number(check.get(fit, "fit.sum_weights", "sum_weights", None), "fit.sum_weights"),
        df_resid=check.number(check.get(fit, "fit.df_resid", "df_resid", None), "fit.df_resid", integer=True),
        ssr=check.number(check.get(fit, "fit.ssr", "ssr", None), "fit.ssr"),
        centered_tss=check.number(check.get(fit, "fit.centered_tss", "centered_tss", None), "fit.centered_tss"),
        aliased=tuple(check.texts(check.get(fit, "fit.aliased", "aliased", list), "fit.aliased")),
        empty=tuple(check.texts(check.get(fit, "fit.empty", "empty", list), "fit.empty")),
        column_means=pd.Series(means, index=index, name="mean"),
        roles=pd.Series(roles, index=index, name="role"),
        cap=cap,
    )
    fingerprint = training_fingerprint(result)
    if fingerprint != document.get("training_fingerprint"):
        raise ModelFileError(f"The fit statistics of model {where} do not match its training fingerprint "
                             f"({fingerprint[:16]}... vs {str(document.get('training_fingerprint'))[:16]}... "
                             "recorded). Fix: the file was edited; restore it, or refit and save the model.")
    if cls is None:
        recorded = check.get(document["estimator"], "estimator.class", "class", str)
        if recorded not in _ESTIMATORS:
            raise ModelFileError(f"The model file {where} records the estimator class {recorded!r}, which this "
                                 f"capitation does not have (it has {sorted(_ESTIMATORS)}). Fix: load it with the "
                                 "capitation version that saved it.")
        cls = _ESTIMATORS[recorded]
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ModelFileError(f"The estimator parameters in model {where} do not fit this {cls.__name__}: {exc}. "
                             "Fix: load it with the capitation version that saved it.") from None
    provenance = {"path": str(path), "library_version": document.get("library_version"),
                  "created": document.get("created"), "training_fingerprint": fingerprint,
                  "content_sha256": document[HASH_KEY], "arrays_sha256": recorded_sha}
    return model._set_fitted(result, spec=spec, provenance=provenance)


