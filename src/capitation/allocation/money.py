"""Exact money: pounds to pence, and a largest-remainder split that reconciles to the penny."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from ..errors import InputError

__all__ = [
    "exact_weights",
    "format_pounds",
    "half_up",
    "pence_to_text",
    "pounds_to_pence_half_up",
    "round_half_up",
    "split_pence",
    "split_thousands",
    "thousands",
    "to_pence",
]

#: The largest control total, in pence, whose budgets and their sums fit in int64.
MAX_PENCE = 2**63 - 1


#: How a control total may be written as text: plain digits, or digits in valid thousands groups, with at most
#: one decimal point and an optional leading £. ASCII digits only (``\\d`` would also accept other scripts' digits).
_POUNDS_TEXT = re.compile(r"-?£?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|-?£?\.[0-9]+", re.ASCII)
_POUNDS_FORMS = "'55000000000', '55000000000.00', '55,000,000,000' or '£55,000,000,000.00'"


def to_pence(amount, name: str = "control_total") -> int:
    """Convert an amount in pounds to a whole number of pence, refusing anything inexact or ambiguous.

    Parameters
    ----------
    amount : int, float, str or Decimal
        Pounds, e.g. ``1_200_000_000`` or ``"1200000000.57"``. Text is plain decimal digits, optionally after
        a ``£``, with commas only as thousands separators in groups of three (``"55,000,000,000"``): ``"55,5"``
        is refused, not read as 555. Floats are taken at their shortest decimal representation (``0.1`` is
        ten pence).
    name : str
        The parameter's name, for messages.

    Returns
    -------
    int
        Whole pence.

    Examples
    --------
    >>> to_pence("1234.56"), to_pence(1_000), to_pence("£55,000,000,000")
    (123456, 100000, 5500000000000)
    """
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str, Decimal, np.integer, np.floating)):
        raise InputError(f"The {name!r} parameter must be an amount in pounds (int, float, str or Decimal). "
                         f"Got {type(amount).__name__}. Fix: pass e.g. 1_200_000_000 or '1200000000.00'.")
    if isinstance(amount, (float, np.floating)) and not math.isfinite(amount):
        raise InputError(f"The {name!r} parameter must be a finite amount of pounds. Got {amount!r}. "
                         "Fix: pass the budget to allocate, e.g. 1_200_000_000.")
    if isinstance(amount, str):
        text = amount.strip()
        if not _POUNDS_TEXT.fullmatch(text):
            raise InputError(f"The {name!r} parameter {amount!r} is not an amount of pounds in an accepted form. "
                             f"Fix: write it as {_POUNDS_FORMS} (commas only between groups of three digits).")
        value = Decimal(text.replace(",", "").replace("£", ""))
    elif isinstance(amount, (float, np.floating)):
        value = Decimal(repr(float(amount)))
    else:
        value = Decimal(amount) if isinstance(amount, Decimal) else Decimal(int(amount))
    if not value.is_finite():
        raise InputError(f"The {name!r} parameter must be a finite amount of pounds. Got {amount!r}. "
                         "Fix: pass the budget to allocate, e.g. 1_200_000_000.")
    if value < 0:
        raise InputError(f"The {name!r} parameter must be zero or more pounds. Got {amount!r}. "
                         "Fix: allocate the positive envelope; record recoveries separately.")
    pence = value * 100
    if pence != pence.to_integral_value():
        raise InputError(f"The {name!r} parameter {amount!r} is not a whole number of pence. Fix: round it to "
                         "two decimal places first, deciding where the fraction of a penny goes.")
    if pence > MAX_PENCE:
        raise InputError(f"The {name!r} parameter {amount!r} is more pence than budgets can hold exactly "
                         f"(at most {MAX_PENCE:,} pence, 64-bit integers). Fix: allocate in smaller envelopes, "
                         "or check the units (pounds, not pence).")
    return int(pence)


def exact_weights(values, name: str = "need") -> tuple[list[int], int]:
    """Write non-negative float64 values as Python integers at one binary exponent, exactly.

    Every finite float64 is an exact binary fraction ``m · 2**e``; written over the smallest exponent among the
    values, they become integers ``w`` with ``values[i] == w[i] · 2**exponent`` exactly. Shares computed from
    ``w`` are the exact shares of the values given: they do not depend on the unit of need (scaling every value
    by a power of two changes ``exponent`` only), and no small value is rounded away.

    Parameters
    ----------
    values : array_like of float
        Finite and non-negative (practice need, weighted populations, shares, ...).
    name : str
        The parameter's name, for messages.

    Returns
    -------
    weights : list of int
        One integer per value, ``values[i] == weights[i] * 2**exponent``.
    exponent : int
        The common binary exponent (0 when every value is 0).

    Examples
    --------
    >>> exact_weights([0.5, 1.5, 0.0])
    ([1, 3, 0], -1)
    >>> weights, exponent = exact_weights([1e-300, 1.0])
    >>> weights[0] * 2**exponent == 1e-300 > 0  # tiny values stay exactly what they were, never 0
    True
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise InputError(f"The {name!r} values must be finite and non-negative. Got {array[rows].tolist()} at "
                         f"positions {rows}. Fix: fill or remove those entries.")
    mantissa, exponent = np.frexp(array)  # array == mantissa · 2**exponent, 0.5 <= mantissa < 1
    integers = np.ldexp(mantissa, 53).astype(np.int64)  # exact: 53 bits of mantissa
    shifts = exponent.astype(np.int64) - 53
    nonzero = integers != 0
    if not nonzero.any():
        return [0] * len(array), 0
    # Drop the trailing zero bits so the integers stay as small as the values allow (a speed matter only).
    trailing = np.zeros(len(array), dtype=np.int64)
    odd = integers.copy()
    for _ in range(53):
        even = nonzero & (odd % 2 == 0)
        if not even.any():
            break
        odd[even] //= 2
        trailing[even] += 1
    shifts = shifts + trailing
    base = int(shifts[nonzero].min())
    weights = [int(m) << int(s - base) if m else 0 for m, s in zip(odd.tolist(), shifts.tolist(), strict=True)]
    return weights, base


def split_pence(total_pence: int, weights) -> np.ndarray:
    """Split ``total_pence`` in proportion to non-negative integer ``weights``, exactly (largest remainder).

    Each part first gets ``floor(total × w / W)`` pence; the pence left over go one each to the parts with
    the largest remainders ``total × w mod W``, ties to the earlier part. Arithmetic is in Python integers,
    so nothing is rounded along the way and the parts always add up to ``total_pence``.

    Parameters
    ----------
    total_pence : int
        Whole pence to share out, e.g. a control total.
    weights : sequence of int
        Non-negative, not all zero: an int64 array (e.g. practice need in fixed point) or Python integers of
        any size (e.g. from :func:`exact_weights`).

    Returns
    -------
    ndarray of int64
        Pence for each part, in the order of ``weights``; they add up to ``total_pence``.

    Examples
    --------
    >>> import numpy as np
    >>> split_pence(100, np.array([1, 1, 1])).tolist()
    [34, 33, 33]
    """
    w = [int(v) for v in (weights.tolist() if isinstance(weights, np.ndarray) else weights)]
    if any(v < 0 for v in w):
        raise InputError("Allocation weights must be non-negative. Fix: a practice's need cannot be negative; "
                         "check the model's predictions.")
    denominator = sum(w)
    if denominator == 0:
        raise InputError("Allocation weights are all zero, so there is no share to give. Fix: check that "
                         "need was computed for the practices being allocated.")
    total_pence = int(total_pence)
    quotients = [total_pence * v // denominator for v in w]
    remainders = [total_pence * v % denominator for v in w]
    leftover = total_pence - sum(quotients)
    # Remainders can exceed int64, so rank them in Python; stable sort keeps ties in practice order.
    for position in sorted(range(len(w)), key=lambda i: -remainders[i])[:leftover]:
        quotients[position] += 1
    return np.asarray(quotients, dtype=np.int64)


def half_up(value: int, unit: int) -> int:
    """Count whole multiples of ``unit`` in ``value``, rounding half away from zero.

    ``half_up(150_000, 100_000) == 2``: 150,000 pence is £1.5 thousand, published as 2 £'000.

    Parameters
    ----------
    value : int
        The amount, e.g. whole pence; may be negative (a difference between budgets).
    unit : int
        The positive size of one multiple, e.g. ``100_000`` pence for £'000.

    Returns
    -------
    int
        ``value / unit`` rounded to the nearest integer, halves away from zero.

    Examples
    --------
    >>> half_up(149_999, 100_000), half_up(150_000, 100_000), half_up(-150_000, 100_000)
    (1, 2, -2)
    """
    q, r = divmod(abs(int(value)), unit)
    return (1 if value >= 0 else -1) * (q + (1 if 2 * r >= unit else 0))


def split_thousands(parts_pence, total_pence: int | None = None) -> np.ndarray:
    """Whole £'000 figures for a column of budgets that add up to the total in £'000, as published tables must.

    Each line's exact amount in £'000 is rounded down, and the £'000 still missing from the total (rounded
    half up) go one each to the lines with the largest remainders, ties to the earlier line — the largest
    remainder method, as for the pence. Every figure is its amount rounded down or up, and the column adds up
    to the rounded total; rounding each line half up on its own does not (a £55bn allocation to 6,348
    practices came to 55,000,005 £'000).

    Parameters
    ----------
    parts_pence : sequence of int
        Non-negative whole pence, e.g. ``budget_pence`` of every line.
    total_pence : int, optional
        The control total the parts add up to; by default their sum.

    Returns
    -------
    ndarray of int64
        Whole £'000 per line; they add up to ``total_pence`` in £'000, rounded half up.

    Examples
    --------
    >>> split_thousands([150_000, 150_000, 150_000]).tolist()  # £4,500 in all: 5 £'000 (half up)
    [2, 2, 1]
    """
    parts = [int(v) for v in np.asarray(parts_pence).tolist()]
    if any(v < 0 for v in parts):
        raise InputError("split_thousands() takes non-negative pence. Fix: pass budget_pence, not a difference.")
    total = sum(parts) if total_pence is None else int(total_pence)
    if sum(parts) != total:
        raise InputError(f"The parts add up to {sum(parts):,} pence, not the total {total:,}. Fix: pass the "
                         "budgets of every line of the table.")
    figures = [v // 100_000 for v in parts]
    leftover = half_up(total, 100_000) - sum(figures)  # 0 ≤ leftover ≤ len(parts)
    for position in sorted(range(len(parts)), key=lambda i: -(parts[i] % 100_000))[:leftover]:
        figures[position] += 1
    return np.asarray(figures, dtype=np.int64)


def pence_to_text(pence: int) -> str:
    """Write pence as an exact amount of pounds in plain text, for files: ``123456`` → ``'1234.56'``.

    :func:`to_pence` reads it back exactly.

    Parameters
    ----------
    pence : int
        Whole pence, e.g. one practice's ``budget_pence``; may be negative.

    Returns
    -------
    str
        Pounds with exactly two decimals, no thousands separators and no ``£``.

    Examples
    --------
    >>> pence_to_text(123456), pence_to_text(-5)
    ('1234.56', '-0.05')
    """
    sign = "-" if pence < 0 else ""
    pounds, p = divmod(abs(int(pence)), 100)
    return f"{sign}{pounds}.{p:02d}"


def format_pounds(pence: int, symbol: bool = True) -> str:
    """Write pence as pounds for people to read: ``123456`` → ``'£1,234.56'``.

    Parameters
    ----------
    pence : int
        Whole pence, e.g. a practice's ``budget_pence`` or a control total; may be negative.
    symbol : bool
        Write the ``£`` sign; a table whose heading says "£" leaves it out of its cells.

    Returns
    -------
    str
        A ``£`` sign, thousands separated by commas and two decimals (the minus sign, if any, before the ``£``).

    Examples
    --------
    >>> format_pounds(5_500_000_000_000), format_pounds(-5), format_pounds(123456, symbol=False)
    ('£55,000,000,000.00', '-£0.05', '1,234.56')
    """
    sign = "-" if pence < 0 else ""
    pounds, p = divmod(abs(int(pence)), 100)
    return f"{sign}{'£' if symbol else ''}{pounds:,}.{p:02d}"


def pounds_to_pence_half_up(values) -> np.ndarray:
    """Convert amounts in £ to whole pence, rounding half a penny up (away from zero), exactly in decimal.

    Each float is taken at its shortest decimal form (``1.005`` is 1.005, not the binary float just below it),
    so half a penny is always rounded away from zero, as published tables are.

    Parameters
    ----------
    values : array_like of float
        Finite amounts in pounds, e.g. a column of current allocations read from a spreadsheet.

    Returns
    -------
    ndarray of int64
        Whole pence, one per value.

    Examples
    --------
    >>> pounds_to_pence_half_up([1.005, 2.0, -0.125]).tolist()
    [101, 200, -13]
    """
    out = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        if not np.isfinite(v):
            raise InputError(f"Amounts in pounds must be finite. Got {v!r}. Fix: fill the missing amounts.")
        out.append(int((Decimal(repr(v)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    return np.asarray(out, dtype=np.int64)


def round_half_up(values, decimals: int = 0) -> np.ndarray:
    """Round half up (away from zero) at the float's shortest decimal form, as published tables do.

    Parameters
    ----------
    values : array_like of float
        The figures to round, e.g. need indices or populations; non-finite values are returned unchanged.
    decimals : int, default 0
        Decimal places to keep.

    Returns
    -------
    ndarray of float64
        The rounded figures.

    Examples
    --------
    >>> round_half_up([0.1235, 2.5, 1.0005], 3).tolist()
    [0.124, 2.5, 1.001]
    """
    step = Decimal(1).scaleb(-decimals)
    out = [float(Decimal(repr(float(v))).quantize(step, rounding=ROUND_HALF_UP)) if math.isfinite(v) else v
           for v in np.asarray(values, dtype=np.float64).tolist()]
    return np.asarray(out, dtype=np.float64)


def thousands(pence) -> np.ndarray:
    """Convert whole pence to whole £'000, each figure rounded half up on its own.

    For a column of budgets that must add up to the control total use :func:`split_thousands`; this is for
    single figures and for signed ones (differences).

    Parameters
    ----------
    pence : array_like of int
        Whole pence, e.g. budgets or differences between budgets (signed).

    Returns
    -------
    ndarray of int64
        Whole £'000, halves rounded away from zero.

    Examples
    --------
    >>> thousands([149_999, 150_000, 12_345_678_901]).tolist()
    [1, 2, 123457]
    """
    out = []
    for value in np.asarray(pence).tolist():
        if int(value) != value:
            raise InputError(f"thousands() takes whole pence. Got {value!r}. Fix: pass budget_pence.")
        out.append(half_up(int(value), 100_000))
    return np.asarray(out, dtype=np.int64)
