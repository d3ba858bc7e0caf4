"""The rules of CMS-HCC payment shared by scoring and explanations: record reasons and payment rounding."""

from __future__ import annotations

import numpy as np

__all__ = ["REASONS", "payment_thousandths"]

#: Why a diagnosis record did or did not count, in the order of :attr:`CmsHccScores.diagnoses_report`.
REASONS = (
    "used: mapped to its condition categories",
    "used: remapped by a mandatory age/sex edit",
    "person_id not among the beneficiaries",
    "not an ICD-10-CM code (empty, missing or malformed)",
    "not in this payment year's table but in another year's of the model: invalid, not mapped",
    "no payment HCC in this payment year's table",
    "person scored as a new enrollee: demographic factors only",
    "invalid for the person's age or sex (mandatory edit)",
    "invalid for the person's age (MCE edit)",
)
_USED, _REMAPPED, _UNKNOWN, _MALFORMED, _OTHER_YEAR, _NO_HCC, _NEW, _MANDATORY, _MCE = range(len(REASONS))


def payment_thousandths(raw, normalisation: int, coding_intensity: int) -> np.ndarray:
    """Payment scores from raw scores, in thousandths: CMS's two roundings, half away from zero.

    ``normalised = round(raw / normalisation, 3)``, then ``payment = round(normalised × (1 − coding
    intensity), 3)`` (CMS's risk-adjustment training, "Applying the risk score formula": divide, round to
    three decimals, multiply, round to three decimals). Computed in integers: nothing is rounded but those two.

    Parameters
    ----------
    raw : array-like of int
        Raw scores in thousandths (non-negative).
    normalisation, coding_intensity : int
        In thousandths (``1067`` and ``59`` for 1.067 and 5.9%).

    Returns
    -------
    ndarray of int64
        Payment scores in thousandths.

    Examples
    --------
    >>> payment_thousandths([1034], 1015, 59).tolist()  # 1.034 / 1.015 = 1.01872 → 1.019; × 0.941 = 0.95888
    [959]
    """
    raw = np.asarray(raw, dtype=np.int64)
    normalised = (2 * raw * 1000 + normalisation) // (2 * normalisation)
    return (2 * normalised * (1000 - coding_intensity) + 1000) // 2000
