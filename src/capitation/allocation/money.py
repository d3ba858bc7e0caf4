"""Exact money: pounds to pence, and a largest-remainder split that reconciles to the penny."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

import numpy as np

from ..errors import InputError

__all__ = ["format_pounds", "pence_to_text", "split_pence", "to_pence"]

#: The largest control total, in pence, whose budgets and their sums fit in int64.
MAX_PENCE = 2**63 - 1


def to_pence(amount, name: str = "control_total") -> int:
    """Convert an amount in pounds to a whole number of pence, refusing anything inexact.

    Parameters
    ----------
    amount : int, float, str or Decimal
        Pounds, e.g. ``1_200_000_000`` or ``"1200000000.57"``. Floats are taken at their shortest decimal
        representation (``0.1`` is ten pence).
    name : str
        The parameter's name, for messages.

    Examples
    --------
    >>> to_pence("1234.56"), to_pence(1_000)
    (123456, 100000)
    """
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str, Decimal, np.integer, np.floating)):
        raise InputError(f"The {name!r} parameter must be an amount in pounds (int, float, str or Decimal). "
                         f"Got {type(amount).__name__}. Fix: pass e.g. 1_200_000_000 or '1200000000.00'.")
    if isinstance(amount, (float, np.floating)) and not math.isfinite(amount):
        raise InputError(f"The {name!r} parameter must be a finite amount of pounds. Got {amount!r}. "
                         "Fix: pass the budget to allocate, e.g. 1_200_000_000.")
    try:
        value = Decimal(repr(float(amount))) if isinstance(amount, (float, np.floating)) else \
            Decimal(str(amount).replace(",", "").replace("£", "").strip())
    except InvalidOperation as exc:
        raise InputError(f"The {name!r} parameter {amount!r} is not a number of pounds. "
                         "Fix: pass digits with at most two decimal places, e.g. '1200000000.00'.") from exc
    if not value.is_finite():
        raise InputError(f"The {name!r} parameter must be a finite amount of pounds. Got {amount!r}.")
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


def split_pence(total_pence: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total_pence`` in proportion to non-negative integer ``weights``, exactly (largest remainder).

    Each part first gets ``floor(total × w / W)`` pence; the pence left over go one each to the parts with
    the largest remainders ``total × w mod W``, ties to the earlier part. Arithmetic is in Python integers,
    so nothing is rounded along the way and the parts always add up to ``total_pence``.

    Parameters
    ----------
    total_pence : int
    weights : ndarray of int64
        Non-negative, not all zero (e.g. practice need in fixed point).

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> import numpy as np
    >>> split_pence(100, np.array([1, 1, 1])).tolist()
    [34, 33, 33]
    """
    w = [int(v) for v in np.asarray(weights).tolist()]
    if any(v < 0 for v in w):
        raise InputError("Allocation weights must be non-negative. Fix: a practice's need cannot be negative; "
                         "check the model's predictions.")
    denominator = sum(w)
    if denominator == 0:
        raise InputError("Allocation weights are all zero, so there is no share to give. Fix: check that "
                         "need was computed for the practices being allocated.")
    quotients = [total_pence * v // denominator for v in w]
    remainders = [total_pence * v % denominator for v in w]
    leftover = total_pence - sum(quotients)
    # Remainders can exceed int64, so rank them in Python; stable sort keeps ties in practice order.
    for position in sorted(range(len(w)), key=lambda i: -remainders[i])[:leftover]:
        quotients[position] += 1
    return np.asarray(quotients, dtype=np.int64)


def pence_to_text(pence: int) -> str:
    """Pence as an exact amount of pounds in plain text, for files: ``123456`` → ``'1234.56'``.

    :func:`to_pence` reads it back exactly.

    Examples
    --------
    >>> pence_to_text(123456), pence_to_text(-5)
    ('1234.56', '-0.05')
    """
    sign = "-" if pence < 0 else ""
    pounds, p = divmod(abs(int(pence)), 100)
    return f"{sign}{pounds}.{p:02d}"


def format_pounds(pence: int) -> str:
    """``123456`` → ``'£1,234.56'``."""
    sign = "-" if pence < 0 else ""
    pounds, p = divmod(abs(int(pence)), 100)
    return f"{sign}£{pounds:,}.{p:02d}"


def thousands(pence) -> np.ndarray:
    """Whole pence → whole £'000, rounding half up, as NHS England publishes allocation tables.

    Rounded figures need not add up to the rounded total; the pence are the reconciled amounts.

    Examples
    --------
    >>> thousands([149_999, 150_000, 12_345_678_901]).tolist()
    [1, 2, 123457]
    """
    out = []
    for value in np.asarray(pence).tolist():
        if int(value) != value:
            raise InputError(f"thousands() takes whole pence. Got {value!r}. Fix: pass budget_pence.")
        q, r = divmod(abs(int(value)), 100_000)
        out.append((1 if value >= 0 else -1) * (q + (1 if 2 * r >= 100_000 else 0)))
    return np.asarray(out, dtype=np.int64)
