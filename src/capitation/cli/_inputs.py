"""Options and readers shared by the subcommands that take people and their records.

The subcommands fit, score, allocate and report share the options themselves, reading and encoding the tables
they name, scoring with a saved model and reading a membership table.
"""

from __future__ import annotations

import argparse

__all__ = ["FUND_OBSERVED_HELP", "LIST_SIZES_HELP", "add_inputs", "add_list_sizes", "encode_inputs", "names",
           "read_list_sizes", "read_membership", "read_records", "score_people"]

#: The help of --list-sizes and --fund-observed, the same wherever budgets are made.
LIST_SIZES_HELP = ("registered lists to fund: a table of practice_code, list_size (default: NHS England's published "
                   "list sizes of --year without --membership, or the --membership table's list_size column; else "
                   "the people in the data). Each practice's budget is its need per head, measured on its people "
                   "in the data, times its list size")
FUND_OBSERVED_HELP = "fund the people in the data as the whole lists (when they are the whole lists, not a sample)"

#: Tables read with Parquet's dictionary columns of text kept as Categoricals: the library takes them as they are.
_CATEGORICAL_TABLES = ("people", "diagnoses", "conditions", "areas")


def names(text: str | None) -> tuple[str, ...]:
    """Split a comma-separated option: ``"a, b"`` → ``("a", "b")``; empty or ``None`` → ``()``."""
    return tuple(v.strip() for v in (text or "").split(",") if v.strip())


def add_inputs(p: argparse.ArgumentParser, *, model_given: bool) -> None:
    """Add the options naming people and their records (shared by fit, score and allocate)."""
    p.add_argument("--people", required=not model_given, default=None,
                   help="people table (Parquet file or folder, or CSV): person_id, practice_code, sex, age, "
                   "lsoa_code[, exposure, cost]")
    p.add_argument("--diagnoses", default=None, help="hospital diagnoses: person_id, fy, setting, position, icd10")
    p.add_argument("--conditions", default=None, help="GP-recorded conditions: person_id, register")
    p.add_argument("--areas", default=None, help="area table by lsoa_code with the --need-vars/--supply-vars")


def read_records(path, name: str):
    """Read the table ``--<name>`` names (CSV or Parquet), or return ``None`` when the option was not given.

    People and their records (``people``, ``diagnoses``, ``conditions``, ``areas``) keep Parquet's dictionary
    columns of codes as Categoricals, which the library validates and encodes as they are; other tables are
    read with plain columns.
    """
    from .._io import read_table

    if path is None:
        return None
    return read_table(path, name, categorical="keep" if name in _CATEGORICAL_TABLES else "decode")


def encode_inputs(spec, args: argparse.Namespace, *, cost: bool):
    """Read the people and their records named by ``args`` and encode them with ``spec``."""
    from ..errors import InputError
    from ..features.spec import encode
    from ..inputs.population import Population

    if spec.conditions and not args.conditions:
        raise InputError(f"The model uses GP registers {list(spec.conditions)} but no --conditions table was "
                         "given. Fix: pass --conditions FILE (person_id, register).")
    if (spec.need or spec.supply) and not args.areas:
        raise InputError(f"The model uses area variables {list(spec.need + spec.supply)} but no --areas table "
                         "was given. Fix: pass --areas FILE (lsoa_code and those columns).")
    people = Population.from_frame(read_records(args.people, "people"), outcome_year=spec.outcome_year,
                                   cost="cost" if cost else None)
    X = encode(spec, people,
               diagnoses=read_records(args.diagnoses, "diagnoses") if args.diagnoses else None,
               conditions=read_records(args.conditions, "conditions") if spec.conditions else None,
               areas=read_records(args.areas, "areas") if (spec.need or spec.supply) else None)
    return people, X


def score_people(args: argparse.Namespace, *, neutralise: bool = True):
    """Load ``args.model``, encode ``args.people`` with its spec and score them: ``(people, need, model)``."""
    from ..errors import InputError
    from ..model.persist import load_model
    from ..scoring.score import score
    from . import about

    with about("--model"):
        model = load_model(args.model)
    if model.spec_ is None:
        raise InputError(f"The --model file {args.model!r} was saved without its feature spec, so it cannot "
                         "encode people. Fix: refit it with capitation fit, which saves the spec with the model.")
    people, X = encode_inputs(model.spec_, args, cost=False)
    need = score(model, X) if neutralise else score(model, X, neutralise=None)
    return people, need, model


def add_list_sizes(p: argparse.ArgumentParser) -> None:
    """Add ``--list-sizes FILE`` and ``--fund-observed``, the options choosing the lists budgets fund."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--list-sizes", default=None, help=LIST_SIZES_HELP)
    group.add_argument("--fund-observed", action="store_true", help=FUND_OBSERVED_HELP)


def read_list_sizes(args: argparse.Namespace):
    """Read the lists to fund: ``"observed"`` (``--fund-observed``), the ``--list-sizes`` table, or ``None``."""
    from .._io import read_table

    if args.fund_observed:
        return "observed"
    if args.list_sizes is None:
        return None
    return read_table(args.list_sizes, "list_sizes")


def read_membership(path, year: str, level: str):
    """Read the membership ``--membership`` names, or NHS England's of ``year`` when it is not given.

    The table has ``practice_code``, ``consortium_code[, consortium_name]``, or it is a practices table with
    ``icb_code[, icb_name]`` such as ``capitation synth`` writes; its grouping is called ``level``. A
    ``list_size`` column (in a practices table, ``population``: NHS England's) gives the registered lists to fund.
    """
    from .._io import read_table
    from ..aggregation.membership import Membership

    if not path:
        return Membership.nhs_england(year, level=level)
    frame = read_table(path, "membership")
    sizes = "list_size" if "list_size" in frame.columns else None
    if "consortium_code" not in frame.columns and "icb_code" in frame.columns:  # e.g. capitation synth's practices
        sizes = sizes or ("population" if "population" in frame.columns else None)  # NHS England's list sizes
        return Membership.from_frame(frame, consortium="icb_code",
                                     name="icb_name" if "icb_name" in frame.columns else None, level=level,
                                     list_size=sizes)
    return Membership.from_frame(frame, level=level, list_size=sizes)
