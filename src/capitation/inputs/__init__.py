"""Step 1 of the pipeline: tables in, validated arrays out.

Every table is checked on entry; a bad value raises an error naming the table, column, rows and fix.
"""

from .costs import PersonYearCosts, person_year_costs
from .hes import (
    HesAttendances,
    HesExtract,
    HesOutpatients,
    HesPeople,
    people_from_hes,
    read_hes_ae,
    read_hes_apc,
    read_hes_op,
)
from .population import PRACTICE_CODE_PATTERN, SEX_CODES, Population
from .records import POSITIONS, SETTINGS, ConditionTable, DiagnosisTable, financial_year

__all__ = [
    "POSITIONS",
    "PRACTICE_CODE_PATTERN",
    "SETTINGS",
    "SEX_CODES",
    "ConditionTable",
    "DiagnosisTable",
    "HesAttendances",
    "HesExtract",
    "HesOutpatients",
    "HesPeople",
    "PersonYearCosts",
    "Population",
    "financial_year",
    "people_from_hes",
    "person_year_costs",
    "read_hes_ae",
    "read_hes_apc",
    "read_hes_op",
]
