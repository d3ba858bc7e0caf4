"""Saved models and tables: JSON plus an ``.npz`` beside it, checked by hashes on load. No pickle anywhere.

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

Tables: :func:`read_table` reads a DataFrame, a Parquet file or dataset folder, or a CSV file;
:func:`write_table` writes CSV or Parquet (by suffix) through a temporary file renamed on success.
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

from .errors import InputError, ModelFileError

__all__ = [
    "FORMAT_VERSION",
    "load_model",
    "read_model_document",
    "read_table",
    "save_model",
    "sha256_path",
    "training_fingerprint",
    "write_table",
]

#: Version of the saved-model layout; :func:`load_model` reads this version only.
FORMAT_VERSION = 1
_KIND = "capitation.CostModel"
_HASH_KEY = "content_sha256"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the .npz bytes depend only on the arrays
#: Columns read as text from CSV files, whatever their values look like.
_TEXT_COLUMNS = ("practice_code", "lsoa_code", "consortium_code", "consortium_name", "icb_code",
                 "icb_name", "icd10", "register", "fy", "setting", "position", "sex")


# -- hashes -----------------------------------------------------------------------------------------------

def sha256_path(path) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative paths and contents, in sorted order).

    Parameters
    ----------
    path : str or os.PathLike
        A file, or a folder such as a partitioned Parquet dataset.

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from capitation.persist import sha256_path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (pathlib.Path(d) / "a.txt").write_bytes(b"abc")
    ...     sha256_path(pathlib.Path(d) / "a.txt")[:16]
    'ba7816bf8f01cfea'
    """
    path = Path(path)
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
            digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
            digest.update(sha256_path(file).encode("ascii") + b"\n")
        return digest.hexdigest()
    raise InputError(f"Cannot hash {str(path)!r}: it does not exist. Fix: check the path.")


def _canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def read_hashed_document(path, *, kind: str, version: int, what: str, label: str, fix_missing: str,
                         fix_foreign: str, fix_version: str, fix_edited: str) -> dict:
    """Read a JSON document that carries a hash of its own content, refusing anything doubtful.

    Shared by saved models and run manifests: the file must exist, be JSON, declare ``format == kind`` and
    ``format_version == version``, and its content must hash to the recorded ``content_sha256`` (any edit
    after writing is caught). Each refusal is a :class:`ModelFileError` naming the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"The {what} {str(path)!r} does not exist. Fix: {fix_missing}.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"The {what} {str(path)!r} is not JSON ({exc}). Fix: {fix_foreign}.") from None
    if not isinstance(document, dict) or document.get("format") != kind:
        raise ModelFileError(f"The file {str(path)!r} is not a {label} (no format {kind!r}). Fix: {fix_foreign}.")
    if document.get("format_version") != version:
        raise ModelFileError(f"The {what} {str(path)!r} has format version {document.get('format_version')!r}, "
                             f"written by capitation {document.get('library_version')}; this version reads format "
                             f"{version}. Fix: {fix_version}.")
    recorded = document.pop(_HASH_KEY, None)
    actual = hashlib.sha256(_canonical(document)).hexdigest()
    if recorded != actual:
        raise ModelFileError(f"The {what} {str(path)!r} fails its content hash: it records {str(recorded)[:16]}... "
                             f"but its content hashes to {actual[:16]}..., so it was edited after it was written. "
                             f"Fix: {fix_edited}.")
    document[_HASH_KEY] = recorded
    return document


def training_fingerprint(result) -> str:
    """A hash of what the fit learned from its data: columns, people, person-years, sums of squares, means.

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
    >>> from capitation.persist import training_fingerprint
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

def _arrays_path(path: Path) -> Path:
    return path.with_suffix(".npz")


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array, dtype="<f8"), allow_pickle=False)
    return buffer.getvalue()


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
        The model is not fitted, is not least squares, or ``path`` ends in ``.npz``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> from capitation.persist import load_model, save_model
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
    from . import __version__
    from .features.serialize import spec_to_dict
    from .features.spec import FeatureSpec
    from .model.estimator import CostModel

    path = Path(path)
    if not isinstance(model, CostModel):
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
    result = model.result_
    names = [str(c) for c in result.params.index]
    arrays = _npz_bytes({"cov": result.cov.to_numpy()})
    if created is None:
        created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    document = {
        "format": _KIND,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "created": str(created),
        "estimator": {"class": "CostModel", "params": {k: v for k, v in sorted(model.get_params().items())}},
        "spec": None if spec is None else spec_to_dict(spec),
        "columns": {
            "name": names,
            "role": [str(r) for r in result.roles.reindex(result.params.index).tolist()],
            "coef": [float(v) for v in result.params.to_numpy()],
            "mean": [float(v) for v in result.column_means.to_numpy()],
        },
        "fit": {
            "n": int(result.n), "sum_weights": float(result.sum_weights), "df_resid": int(result.df_resid),
            "ssr": float(result.ssr), "centered_tss": float(result.centered_tss),
            "rsquared": float(result.rsquared), "cov_type": result.cov_type, "cap": result.cap,
            "aliased": list(result.aliased), "empty": list(result.empty),
            "cov_columns": [str(c) for c in result.cov.index],
        },
        "training_fingerprint": training_fingerprint(result),
        "arrays": {"file": _arrays_path(path).name, "sha256": hashlib.sha256(arrays).hexdigest(), "names": ["cov"]},
    }
    try:
        canonical = _canonical(document)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"The model cannot be written as JSON: {exc}. Fix: estimator parameters and the "
                             "spec must hold plain numbers and strings.") from None
    document[_HASH_KEY] = hashlib.sha256(canonical).hexdigest()
    from ._io import _atomic

    _atomic(_arrays_path(path), lambda tmp: Path(tmp).write_bytes(arrays))
    _atomic(path, lambda tmp: Path(tmp).write_text(
        json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1, allow_nan=False) + "\n", encoding="utf-8"))
    return path


def read_model_document(path) -> dict:
    """The saved model's JSON document, after checking its format version and its own hash.

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
    """
    return read_hashed_document(
        path, kind=_KIND, version=FORMAT_VERSION, what="model file", label="saved capitation model",
        fix_missing="check the path, or save a model with capitation fit / save_model",
        fix_foreign="pass the .json written by save_model, not the .npz beside it",
        fix_version="load it with the version that saved it, or refit and save",
        fix_edited="restore the original file, or refit and save the model")


def load_model(path):
    """Load a model saved by :func:`save_model`, refusing any file that fails its checks.

    Parameters
    ----------
    path : str or os.PathLike
        The model's JSON file; its ``.npz`` must be beside it.

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
        Naming the file, what did not match and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from capitation import CostModel
    >>> from capitation.persist import load_model, save_model
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     saved = save_model(CostModel().fit(X, [100.0, 300.0, 140.0, 260.0]), pathlib.Path(d) / "m.json")
    ...     model = load_model(saved)
    >>> model.coef_.round(6).tolist(), model.result_.n
    ([120.0, 160.0], 4)
    """
    from .features.serialize import spec_from_dict
    from .model.estimator import CostModel
    from .model.results import FitResult

    path = Path(path)
    document = read_model_document(path)
    where = repr(str(path))
    try:
        arrays_info = document["arrays"]
        columns = document["columns"]
        fit = document["fit"]
        params = document["estimator"]["params"]
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"The model file {where} lacks {exc}. Fix: save the model again.") from None
    npz = path.with_name(arrays_info["file"])
    if not npz.is_file():
        raise ModelFileError(f"The arrays of model {where} are missing: {str(npz)!r} does not exist. Fix: keep the "
                             ".npz beside the .json (copy both), or save the model again.")
    raw = npz.read_bytes()
    if hashlib.sha256(raw).hexdigest() != arrays_info["sha256"]:
        raise ModelFileError(f"The arrays file {str(npz)!r} does not match model {where}: its sha256 is "
                             f"{hashlib.sha256(raw).hexdigest()[:16]}..., the model records "
                             f"{str(arrays_info['sha256'])[:16]}.... It was edited, or belongs to another model. "
                             "Fix: copy the .json and .npz saved together.")
    with np.load(io.BytesIO(raw), allow_pickle=False) as stored:
        cov = stored["cov"]
    names = list(columns["name"])
    n_cols = len(names)
    if any(len(columns[k]) != n_cols for k in ("role", "coef", "mean")):
        raise ModelFileError(f"The column table of model {where} has lists of different lengths. "
                             "Fix: save the model again.")
    kept = list(fit["cov_columns"])
    if cov.shape != (len(kept), len(kept)):
        raise ModelFileError(f"The covariance in {str(npz)!r} has shape {cov.shape}, but model {where} has "
                             f"{len(kept)} identified coefficients. Fix: save the model again.")
    spec = None if document.get("spec") is None else spec_from_dict(document["spec"], source=f"model {where}")
    index = pd.Index(names)
    result = FitResult(
        params=pd.Series(np.asarray(columns["coef"], dtype=np.float64), index=index, name="coef"),
        cov=pd.DataFrame(np.ascontiguousarray(cov, dtype=np.float64), index=kept, columns=kept),
        cov_type=fit["cov_type"], n=int(fit["n"]), sum_weights=float(fit["sum_weights"]),
        df_resid=int(fit["df_resid"]), ssr=float(fit["ssr"]), centered_tss=float(fit["centered_tss"]),
        aliased=tuple(fit["aliased"]), empty=tuple(fit["empty"]),
        column_means=pd.Series(np.asarray(columns["mean"], dtype=np.float64), index=index, name="mean"),
        roles=pd.Series(list(columns["role"]), index=index, name="role"),
        cap=fit["cap"],
    )
    fingerprint = training_fingerprint(result)
    if fingerprint != document["training_fingerprint"]:
        raise ModelFileError(f"The fit statistics of model {where} do not match its training fingerprint "
                             f"({fingerprint[:16]}... vs {str(document['training_fingerprint'])[:16]}... recorded). "
                             "Fix: the file was edited; restore it, or refit and save the model.")
    try:
        model = CostModel(**params)
    except TypeError as exc:
        raise ModelFileError(f"The estimator parameters in model {where} do not fit this CostModel: {exc}. "
                             "Fix: load it with the capitation version that saved it.") from None
    model.result_ = result
    model.coef_ = result.params.to_numpy()
    model.feature_names_in_ = np.asarray(names, dtype=object)
    model.n_features_in_ = n_cols
    model.column_means_ = result.column_means
    model.roles_ = result.roles
    model.spec_ = spec
    model.provenance_ = {"path": str(path), "library_version": document.get("library_version"),
                         "created": document.get("created"), "training_fingerprint": fingerprint,
                         "content_sha256": document[_HASH_KEY], "arrays_sha256": arrays_info["sha256"]}
    return model


# -- tables -----------------------------------------------------------------------------------------------

def read_table(data, name: str, columns=None) -> pd.DataFrame:
    """A table from a DataFrame, a Parquet file or dataset folder, or a ``.csv`` file.

    Parameters
    ----------
    data : pandas.DataFrame, str or os.PathLike
        The table, or where it is stored. Codes (practice, LSOA, ICD-10, ...) are read from CSV as text.
    name : str
        The parameter that named it, for error messages.
    columns : sequence of str, optional
        Columns to read from Parquet (all by default).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from capitation.persist import read_table, write_table
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_table(pd.DataFrame({"practice_code": ["A81001"], "need": [1.5]}), pathlib.Path(d) / "n.csv")
    ...     read_table(p, "need").to_dict("list")
    {'practice_code': ['A81001'], 'need': [1.5]}
    """
    from ._validation import as_frame

    if isinstance(data, str | os.PathLike) and Path(data).suffix.lower() == ".csv":
        path = Path(data)
        if not path.is_file():
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which does not exist. Fix: check the "
                             "path.")
        try:
            head = pd.read_csv(path, nrows=0)
            text = {c: str for c in head.columns if c in _TEXT_COLUMNS}
            return pd.read_csv(path, dtype=text, keep_default_na=True, usecols=columns)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"The {name!r} parameter names {str(path)!r}, which is not a readable CSV table "
                             f"({exc}). Fix: rewrite it as CSV with a header row, or use Parquet.") from None
    frame = as_frame(data, name, columns)
    if not isinstance(data, pd.DataFrame):
        # Parquet dictionary columns arrive as categoricals; the input checks expect plain codes.
        categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
        if categorical:
            frame = frame.assign(**{c: frame[c].astype(frame[c].cat.categories.dtype) for c in categorical})
    return frame


def write_table(frame: pd.DataFrame, path, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV or Parquet (by the suffix of ``path``), atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or os.PathLike
        Ending in ``.csv`` or ``.parquet``.
    index : bool
        Write the index as a column.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from capitation.persist import write_table
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_table(pd.DataFrame({"a": [1]}), pathlib.Path(d) / "t.parquet").name
    't.parquet'
    """
    from ._io import _atomic

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _atomic(path, lambda tmp: frame.to_csv(tmp, index=index))
    if suffix == ".parquet":
        return _atomic(path, lambda tmp: frame.to_parquet(tmp, index=index, engine="pyarrow"))
    raise InputError(f"The output {str(path)!r} must end in .csv or .parquet. Got suffix {suffix!r}. "
                     "Fix: choose one of those.")
