"""Step 1 of the pipeline: tables in, validated arrays out.

Every table is checked on entry; a bad value raises an error naming the table, column, rows and fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .costs import PersonYearCosts, person_year_costs
    from .gp import (
        QOF_RULES,
        GpConditions,
        RegisterRule,
        conditions_from_gp_records,
        read_pcd_refsets,
        read_register_rules,
    )
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
    from .records import NULL_PRACTICE_CODES, POSITIONS, SETTINGS, ConditionTable, DiagnosisTable, financial_year
    from .registrations import (
        NhsDigitalRegistrations,
        RegistrationExtract,
        Resolution,
        Successions,
        read_nhs_digital_registrations,
        read_registration_extract,
    )

#: Each name and its module, imported on first use: a Population needs none of the extract readers.
_HOMES = {
    "PersonYearCosts": ".costs", "person_year_costs": ".costs", "QOF_RULES": ".gp", "GpConditions": ".gp",
    "RegisterRule": ".gp", "conditions_from_gp_records": ".gp", "read_pcd_refsets": ".gp",
    "read_register_rules": ".gp", "HesAttendances": ".hes", "HesExtract": ".hes", "HesOutpatients": ".hes",
    "HesPeople": ".hes", "people_from_hes": ".hes", "read_hes_ae": ".hes", "read_hes_apc": ".hes",
    "read_hes_op": ".hes", "PRACTICE_CODE_PATTERN": ".population", "SEX_CODES": ".population", "Population":
    ".population", "NULL_PRACTICE_CODES": ".records", "POSITIONS": ".records", "SETTINGS": ".records",
    "ConditionTable": ".records", "DiagnosisTable": ".records", "financial_year": ".records",
    "NhsDigitalRegistrations": ".registrations", "RegistrationExtract": ".registrations", "Resolution":
    ".registrations", "Successions": ".registrations", "read_nhs_digital_registrations": ".registrations",
    "read_registration_extract": ".registrations"
}



__all__ = [
    "NULL_PRACTICE_CODES",
    "POSITIONS",
    "PRACTICE_CODE_PATTERN",
    "QOF_RULES",
    "SETTINGS",
    "SEX_CODES",
    "ConditionTable",
    "DiagnosisTable",
    "GpConditions",
    "HesAttendances",
    "HesExtract",
    "HesOutpatients",
    "HesPeople",
    "NhsDigitalRegistrations",
    "PersonYearCosts",
    "Population",
    "RegisterRule",
    "RegistrationExtract",
    "Resolution",
    "Successions",
    "conditions_from_gp_records",
    "financial_year",
    "people_from_hes",
    "person_year_costs",
    "read_hes_ae",
    "read_hes_apc",
    "read_hes_op",
    "read_nhs_digital_registrations",
    "read_pcd_refsets",
    "read_register_rules",
    "read_registration_extract",
]

__getattr__, __dir__ = lazy_names(__name__, _HOMES, __all__)
