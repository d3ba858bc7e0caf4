"""Parameters of the Synthetic England generator: the documented ground truth.

Everything the generator assumes that does not come from the real reference files lives here, as plain
tables, so that a reader can check one file and the tests can recover what is written here. Figures tagged
[E] are rough priors chosen so the output meets the realism targets in ``docs/synthetic-england.md``; they are
not estimates from patient data (none is public).

Layout
------
* ``AGE_PROFILE`` -- England single-year registered population by sex (built from 5-year bands).
* ``REGISTERS`` -- the 21 QOF registers: national age curve, sex ratio, minimum age, deprivation slope,
  cluster, effect on hospital use, linked diagnosis category, secondary-code habit, cost coefficient.
* ``CATEGORIES`` -- the generator's own diagnosis categories: ICD-10 stems with 4th characters, cost
  coefficient in the outcome mean ``mu`` and background admission weights by age group.
* scalars of the latent health process, the outcome noise, deaths, moves and list inflation.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------------------
# Age profile [E]: ONS-style mid-2022 England population by 5-year band (thousands), males then females,
# with young adults inflated by 8% for registration (list inflation is concentrated there).
# --------------------------------------------------------------------------------------------------------
_BAND_M = [1640, 1790, 1830, 1700, 1760, 1870, 1930, 1870, 1770, 1720, 1900, 1880, 1620, 1390, 1330, 1030,
           620, 350, 170]
_BAND_F = [1560, 1700, 1740, 1610, 1700, 1870, 1980, 1920, 1800, 1770, 1960, 1940, 1690, 1480, 1460, 1180,
           780, 500, 340]
_REGISTRATION_UPLIFT = {4: 1.08, 5: 1.08, 6: 1.08}  # bands 20-24, 25-29, 30-34
MAX_AGE = 110
N_AGES = MAX_AGE + 1


def _single_year(bands: list[int]) -> np.ndarray:
    out = np.zeros(N_AGES)
    for b, total in enumerate(bands):
        total = total * _REGISTRATION_UPLIFT.get(b, 1.0)
        if b < 18:
            ages = np.arange(5 * b, 5 * b + 5)
            # tilt within band towards the next band, so the profile is smooth rather than stepped
            nxt = bands[b + 1] if b + 1 < len(bands) else total
            tilt = np.linspace(-0.5, 0.5, 5) * (nxt - total) / max(total, 1) * 0.5
            w = 1.0 + tilt
            out[ages] = total * w / w.sum()
        else:  # 90+: geometric decline over 90..110
            ages = np.arange(90, N_AGES)
            w = 0.78 ** (ages - 90)
            out[ages] = total * w / w.sum()
    return out


#: Single-year England registered population (thousands), shape (2, N_AGES); row 0 = female, 1 = male.
AGE_PROFILE = np.vstack([_single_year(_BAND_F), _single_year(_BAND_M)])
#: Broad age groups of the IMD population columns: 0-15, 16-59, 60+.
BROAD_EDGES = (0, 16, 60, N_AGES)

#: Five-year bands of the 38 age-sex cells: 0-4, ..., 85-89, 90+.
N_BANDS = 19
SEXES = ("F", "M")


def age_band(age: np.ndarray) -> np.ndarray:
    """Band index 0..18 of an age (0-4 -> 0, ..., 90+ -> 18)."""
    return np.minimum(np.asarray(age) // 5, N_BANDS - 1)


def band_label(b: int) -> str:
    return "90+" if b == N_BANDS - 1 else f"{5 * b}-{5 * b + 4}"


def cell_label(sex: str, b: int) -> str:
    return f"{sex}{band_label(b)}"


#: Ground-truth base cost (£ per year, 2024/25 prices) of a person with no category, no register and area
#: and supply variables at zero, by 5-year band; row 0 = female, 1 = male. [E] CELL_SCALE and CELL_SHIFT are
#: calibrated (issue 17): they keep the mean cost per head near £880 (target £800-900) with CATEGORY_SCALE
#: raised and supply effects weakened. Weakening SUPPLY_COEF to 0.7 of (-2.0, 90.0) took £57 from the expected
#: cost of a person at national-mean supply; CELL_SHIFT puts £45 of it back in every cell (a constant per
#: head, which moves no practice against another), the rest offsetting the dearer categories.
CELL_SCALE = 0.68
CELL_SHIFT = 45.0
CELL_COST = CELL_SHIFT + CELL_SCALE * np.array([
    # 0-4 5-9 10-14 15-19 20-24 25-29 30-34 35-39 40-44 45-49 50-54 55-59 60-64 65-69 70-74 75-79 80-84 85-89 90+
    [300, 150, 160, 230, 330, 380, 380, 330, 270, 270, 290, 320, 360, 420, 500, 600, 720, 820, 880],
    [340, 160, 160, 170, 170, 180, 190, 200, 220, 250, 290, 340, 400, 480, 580, 700, 830, 930, 980],
], dtype=np.float64)

# --------------------------------------------------------------------------------------------------------
# QOF registers
# --------------------------------------------------------------------------------------------------------
#: National prevalence curve knots (ages) for the registers.
CURVE_AGES = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], dtype=np.float64)

# name: (prevalence at CURVE_AGES, male:female odds ratio, minimum age, cluster, deprivation slope on the
#        probit scale per IMD standard deviation within a practice, log-rate effect on admissions,
#        linked category, weight of an admission for the linked category, secondary code, p(secondary),
#        cost coefficient £)  [E]
#: cluster 0 cardiometabolic, 1 respiratory, 2 mental/neurological, 3 cancer
_REG = {
    "DM": ([0, .001, .005, .015, .04, .09, .15, .20, .21, .17],
             1.35, 17, 0, .10, .25, "DIABETES", .08, "E119", .85, 150),
    "CAN": ([.001, .001, .002, .005, .01, .025, .05, .09, .13, .14],
             1.0, 0, 3, 0., .6, "*CANCER", .5, "*", .7, 250),
    "CKD": ([0, 0, .001, .002, .005, .012, .03, .08, .20, .32],
             .8, 18, 0, .05, .35, "CKD", .25, "N183", .6, 120),
    "NDH": ([0, 0, .005, .015, .04, .07, .11, .15, .17, .15],
             1.0, 18, 0, .05, .05, "ENDOCRINE_METABOLIC", .01, "R739", .15, 20),
    "PC": ([.0001, .0001, .0002, .0005, .001, .002, .005, .01, .02, .03],
             1.0, 0, 3, 0., 1.0, "SECONDARY_CANCER", .9, "Z515", .5, 1800),
    "AF": ([0, 0, 0, .001, .002, .006, .02, .05, .11, .16], 1.3, 0, 0, 0., .3, "AF", .15, "I489", .8, 150),
    "CHD": ([0, 0, 0, .001, .006, .02, .05, .09, .14, .17], 1.8, 0, 0, .08, .3, "IHD", .2, "I251", .7, 120),
    "HF": ([0, 0, 0, .0003, .001, .004, .01, .025, .055, .09],
             1.4, 0, 0, .05, .6, "HEART_FAILURE", .5, "I500", .8, 400),
    "HYP": ([.0001, .0003, .003, .015, .06, .17, .32, .48, .62, .65],
             1.0, 0, 0, .05, .08, "HYPERTENSION", .02, "I10X", .85, 40),
    "LVSD": ([0, 0, 0, .0002, .0006, .002, .005, .01, .02, .03],
             2.0, 0, 0, 0., .2, "HEART_FAILURE", .1, "I501", .6, 150),
    "PAD": ([0, 0, 0, 0, .001, .003, .008, .018, .03, .035], 1.5, 0, 0, .08, .4, "PVD", .2, "I739", .5, 200),
    "STIA": ([0, 0, .0005, .001, .004, .01, .025, .05, .09, .12],
             1.1, 0, 0, .05, .3, "STROKE_TIA", .1, "I693", .5, 150),
    "AST": ([0, .06, .06, .06, .06, .065, .07, .07, .065, .05],
             .9, 6, 1, .05, .2, "ASTHMA", .15, "J459", .7, 60),
    "COPD": ([0, 0, 0, .001, .004, .015, .035, .06, .075, .07],
             1.0, 0, 1, .15, .6, "COPD", .5, "J449", .8, 300),
    "OB": ([0, 0, .06, .09, .11, .13, .14, .13, .09, .04],
             .9, 18, 0, .10, .1, "OBESITY", .02, "E669", .35, 40),
    "SMOK": ([0, 0, .15, .17, .16, .15, .13, .09, .05, .03],
             1.2, 15, 1, .15, .15, "SMOKING", .01, "F171", .5, 50),
    "DEM": ([0, 0, 0, 0, .0002, .001, .004, .02, .08, .20],
             .8, 0, 2, 0., .5, "DEMENTIA", .1, "F03X", .85, 400),
    "DEP": ([0, 0, .10, .14, .15, .15, .13, .11, .10, .10],
             .55, 18, 2, .08, .2, "DEPRESSION_ANXIETY", .05, "F329", .45, 60),
    "EP": ([0, 0, .008, .008, .008, .009, .009, .009, .009, .008],
             1.0, 18, 2, .05, .4, "EPILEPSY", .2, "G409", .8, 150),
    "LD": ([.003, .006, .008, .006, .005, .005, .004, .003, .001, .0005],
             1.4, 0, 2, .03, .4, "LEARNING_DISABILITY", .05, "F799", .6, 300),
    "MH": ([0, .0002, .006, .011, .013, .014, .012, .010, .010, .01],
             1.0, 0, 2, .10, .4, "PSYCHOSIS_BIPOLAR", .3, "F209", .6, 200),
}
REGISTERS: tuple[str, ...] = tuple(_REG)
N_REG = len(REGISTERS)
REG_PREV = np.array([v[0] for v in _REG.values()], dtype=np.float64)
REG_SEX_OR = np.array([v[1] for v in _REG.values()], dtype=np.float64)
REG_MIN_AGE = np.array([v[2] for v in _REG.values()], dtype=np.int64)
REG_CLUSTER = np.array([v[3] for v in _REG.values()], dtype=np.int64)
REG_DEP = np.array([v[4] for v in _REG.values()], dtype=np.float64)
REG_RATE = np.array([v[5] for v in _REG.values()], dtype=np.float64)
REG_LINK = tuple(v[6] for v in _REG.values())
REG_LINK_W = np.array([v[7] for v in _REG.values()], dtype=np.float64)
REG_SEC_CODE = tuple(v[8] for v in _REG.values())
REG_SEC_P = np.array([v[9] for v in _REG.values()], dtype=np.float64)
#: The register costs above are relative; REGISTER_SCALE sets their level (calibrated to the R² ladder and
#: the practice-level check against NHS England's weighted populations).
REGISTER_SCALE = 2.0
REG_COST = np.array([v[10] for v in _REG.values()], dtype=np.float64) * REGISTER_SCALE
#: Registers whose practice prevalence sets the practice's age tilt (odds of the 60+ group within each of its
#: LSOAs), so a practice's age structure is consistent with its own age-graded QOF registers as well as with
#: its LSOA mix. The tilt is centred on the median practice and shrunk by TILT_SHRINK.
#: TILT_SHRINK is calibrated (issue 17) to BMJ 2011 Table 1 on the PBRA-like design of
#: ``benchmarks/bench_synthetic.py realism --design pbra``: the register shifts, solved after the tilt, still
#: reproduce every practice's QOF prevalence, so a weaker tilt moves between-practice morbidity from "older
#: list" (explained by age-sex) to "sicker list at the same age" (explained by diagnoses). At 0.8 the age-sex
#: rung explained R² 0.45 of practice cost per head against PBRA's 0.34 and diagnoses added 0.13 against
#: 0.26; at 0.25 they are about 0.35 and 0.24. The outside check against NHS England's G&A weighted
#: populations does not suffer (r 0.863 at 0.8, 0.869 at 0.25, 0.865 at 0): the registers and categories
#: carry the QOF morbidity into the need either way.
TILT_REGISTERS = ("HYP", "AF", "CHD", "CAN", "DEM", "COPD", "CKD", "STIA", "HF", "PAD")
TILT_SHRINK = 0.25
#: Loadings of a register's liability on the person's general frailty and on its cluster factor.
LOAD_GENERAL = 0.55
LOAD_CLUSTER = 0.55

# --------------------------------------------------------------------------------------------------------
# Diagnosis categories. stems: "STEM:4th chars" (X = HES filler for a code without subdivisions).
# bg: background admission weight by age group (0, 1-14, 15-44, 45-64, 65-79, 80+); sex: 'F'/'M' only.
# cost: £ added to mu when the category appears in a prior-years inpatient diagnosis. [E]
# --------------------------------------------------------------------------------------------------------
AGE_GROUP_EDGES = np.array([1, 15, 45, 65, 80], dtype=np.int64)  # group g: edges[g-1] <= age < edges[g]
N_AGE_GROUPS = 6

_CAT = [
    # name, stems, background weights, sex, cost
    ("INFECTION", "A09:09 A08:4 B34:9 A49:9", (3, 6, 2, 1.5, 1.5, 1.5), "", 120),
    ("SEPSIS", "A41:90 A40:3", (.5, .3, .3, .7, 1.5, 2.5), "", 900),
    ("CANCER_BREAST", "C50:498", (0, 0, .3, 1, 1, .6), "F", 1500),
    ("CANCER_LUNG", "C34:139", (0, 0, .02, .5, 1, .8), "", 4000),
    ("CANCER_COLORECTAL", "C18:079 C20:X", (0, 0, .05, .6, 1, 1), "", 2500),
    ("CANCER_PROSTATE", "C61:X", (0, 0, 0, .5, 1.2, 1.2), "M", 1100),
    ("CANCER_OTHER", "C16:9 C25:9 C43:59 C67:9 C64:X C71:9 C15:9 C22:0", (.02, .05, .2, 1, 1.5, 1.2), "", 3000),
    ("HAEM_CANCER", "C83:3 C85:9 C90:0 C91:1 C92:0", (.02, .1, .1, .4, .8, .6), "", 6000),
    ("SECONDARY_CANCER", "C77:39 C78:706 C79:53", (0, 0, .05, .5, 1, .8), "", 5000),
    ("ONCOLOGY_PALLIATIVE", "Z51:15", (0, .02, .1, 1, 1.5, 1), "", 4000),
    ("BENIGN_NEOPLASM", "D12:63 D25:9 D22:5 D36:9", (0, .1, .8, 2, 1.5, .5), "", 250),
    ("ANAEMIA_BLOOD", "D50:9 D64:9 D69:6 D61:9", (.3, .3, .4, .8, 1.5, 2.5), "", 800),
    ("DIABETES", "E11:976524 E10:91", (0, .2, .3, .5, .8, .8), "", 450),
    ("ENDOCRINE_METABOLIC", "E03:9 E05:9 E87:16 E86:X R73:09", (.2, .2, .3, .5, 1, 2), "", 450),
    ("OBESITY", "E66:98", (0, 0, .2, .2, .1, 0), "", 150),
    ("LIPID", "E78:05", (0, 0, .05, .2, .3, .2), "", 80),
    ("DEMENTIA", "F03:X F01:9 G30:9 F05:9", (0, 0, 0, .05, .6, 2.5), "", 900),
    ("SUBSTANCE", "F10:210 F11:2 F19:2", (0, .02, .8, .8, .3, .1), "", 900),
    ("PSYCHOSIS_BIPOLAR", "F20:9 F25:9 F31:9 F29:X", (0, .01, .3, .2, .05, .02), "", 700),
    ("DEPRESSION_ANXIETY", "F32:91 F33:9 F41:91 F43:2", (0, .1, .5, .4, .2, .2), "", 300),
    ("LEARNING_DISABILITY", "F79:9 F71:9 F84:0", (0, .1, .05, .02, .01, 0), "", 700),
    ("EPILEPSY", "G40:932 G41:9 R56:8", (.1, .5, .3, .2, .2, .2), "", 600),
    ("NEURO_OTHER", "G35:X G20:X G43:9 G47:3 G56:0 G62:9", (.05, .2, .5, .8, .8, .5), "", 500),
    ("EYE", "H25:19 H26:9 H35:3 H40:1 H33:0", (.02, .1, .1, .8, 3, 2.5), "", 200),
    ("ENT", "H66:9 J35:013 J03:9 J02:9 J06:9 J34:2", (.5, 4, .8, .3, .2, .1), "", 100),
    ("HYPERTENSION", "I10:X I11:9 I12:9", (0, 0, .05, .2, .3, .3), "", 150),
    ("IHD", "I20:90 I21:491 I25:192", (0, 0, .1, 1.2, 1.8, 1.5), "", 800),
    ("HEART_FAILURE", "I50:091 I42:09", (0, .02, .02, .2, .8, 2), "", 2000),
    ("AF", "I48:9102", (0, 0, .05, .4, 1, 1.5), "", 600),
    ("STROKE_TIA", "I63:94 I64:X I61:9 G45:9 I69:3", (0, .01, .05, .4, 1.2, 2), "", 1000),
    ("PVD", "I70:2 I73:9 I74:3", (0, 0, .02, .2, .5, .5), "", 1300),
    ("CIRC_OTHER", "I26:9 I80:2 I83:9 I95:9 I35:0 I47:1", (.05, .05, .3, .6, 1, 1.5), "", 500),
    ("COPD", "J44:910 J43:9", (0, 0, .02, .5, 1.5, 1.5), "", 1300),
    ("ASTHMA", "J45:90 J46:X", (0, 1.5, .4, .2, .2, .1), "", 300),
    ("PNEUMONIA_LRTI", "J18:91 J22:X J20:9 J69:0 J96:0", (1.5, 2, .4, .6, 1.5, 4), "", 1000),
    ("UPPER_GI_SURGICAL", "K21:09 K29:7 K80:215 K35:8 K40:9 K42:9", (.2, .6, 2, 2, 1.5, 1), "", 350),
    ("LOWER_GI_LIVER", "K50:9 K51:9 K57:39 K59:0 K70:3 K74:6 K92:2 K62:1 K63:5", (.3, .5, 1.5, 2.5, 2.5, 2), "",
     800),
    ("SKIN", "L03:19 L02:4 L89:9 L97:X L72:1", (.3, .8, 1, 1, 1, 1.5), "", 600),
    ("MSK_OA", "M16:91 M17:91 M15:9", (0, 0, .1, 1.2, 2, 1), "", 450),
    ("MSK_OTHER", "M54:54 M79:6 M25:5 M06:9 M81:9 M23:2 M19:9", (0, .5, 1.5, 2, 1.5, 1), "", 300),
    ("CKD", "N18:3459", (0, .01, .02, .1, .4, .8), "", 1100),
    ("DIALYSIS", "Z49:12", (0, 0, .005, .02, .03, .01), "", 18000),
    ("AKI_UTI", "N17:9 N39:0 N10:X", (.5, .5, .6, .6, 1.5, 4), "", 900),
    ("GU_GYN", "N20:10 N40:X N81:2 N92:0 N83:2 N80:9 N84:0 N97:9", (.1, .3, 2, 1.5, 1, .5), "", 250),
    ("PREGNANCY", "O80:09 O82:1 O47:9 O34:2 O99:8 O26:8 O70:1 O02:1 O03:9 O21:0", (0, .01, 9, .02, 0, 0), "F",
     120),
    ("PERINATAL", "P07:3 P59:9 P22:1 Z38:01 P92:9", (3, 0, 0, 0, 0, 0), "", 600),
    ("CONGENITAL", "Q21:0 Q90:9 Q53:1 Q38:1", (.8, .3, .05, .02, .01, 0), "", 1300),
    ("SYMPTOMS", "R07:24 R10:43 R55:X R06:0 R50:9 R11:X R42:X R51:X R31:X", (1.5, 3, 3, 3, 3, 3), "", 250),
    ("FRAILTY_FALLS", "R26:8 R29:6 R54:X R41:0", (0, 0, .02, .1, .6, 3), "", 1000),
    ("HIP_FRACTURE", "S72:012", (0, .01, .02, .1, .4, 1.5), "", 1300),
    ("INJURY_OTHER", "S52:56 S06:05 S82:68 S42:2 S01:0 S32:0 S22:3 T81:4 T84:0", (.8, 3, 2, 1.2, 1.2, 1.5), "",
     250),
    ("SELF_HARM_POISONING", "T39:1 T42:4 T43:2 T50:9 T51:0", (.1, .4, 1, .4, .1, .05), "", 500),
    ("HISTORY_STATUS", "Z86:74 Z87:8 Z92:1 Z95:50 Z96:61 Z99:2 Z88:0 Z91:8 Z93:3 Z53:0 Z03:8 Z75:3",
     (.1, .1, .3, .5, .8, 1), "", 200),
    ("SMOKING", "F17:1 Z72:0", (0, 0, .05, .05, .02, 0), "", 80),
    ("UNSPECIFIED", "R69:X", (0, 0, 0, 0, 0, 0), "", 0),
]
CATEGORIES: tuple[str, ...] = tuple(c[0] for c in _CAT)
N_CAT = len(CATEGORIES)
CAT_INDEX = {name: k for k, name in enumerate(CATEGORIES)}
#: The category costs above are relative; CATEGORY_SCALE sets their level (calibrated to the R² ladder of
#: BMJ 2011's design, issue 17: at 0.46 the diagnoses rung of practice R² was 0.044 short of the paper's 0.61
#: once the unobserved practice effect was at its size; at 0.506 it is 0.019 short, and person R² with
#: diagnoses is 0.13-0.14 against the paper's 0.12-0.13).
CATEGORY_SCALE = 0.506
CAT_COST = np.array([c[4] for c in _CAT], dtype=np.float64) * CATEGORY_SCALE
#: Background admission weights, shape (2 sexes, N_AGE_GROUPS, N_CAT); sex 0 = F, 1 = M.
CAT_BG = np.zeros((2, N_AGE_GROUPS, N_CAT))
for _k, _c in enumerate(_CAT):
    for _s, _sex in enumerate(SEXES):
        if _c[3] and _c[3] != _sex:
            continue
        CAT_BG[_s, :, _k] = _c[2]
#: Extra secondary-diagnosis categories (comorbidity and status codes) and their weights.
SECONDARY_BG = {"HISTORY_STATUS": 4.0, "SYMPTOMS": 1.5, "ANAEMIA_BLOOD": 1.0, "ENDOCRINE_METABOLIC": 1.5,
                "LIPID": 2.0, "AKI_UTI": 1.0, "HYPERTENSION": 1.0, "FRAILTY_FALLS": .8, "SMOKING": .6,
                "OBESITY": .4, "DEPRESSION_ANXIETY": .6, "CIRC_OTHER": .4, "SKIN": .3}
CANCER_SITES = ("CANCER_BREAST", "CANCER_LUNG", "CANCER_COLORECTAL", "CANCER_PROSTATE", "CANCER_OTHER",
                "HAEM_CANCER")
#: Relative frequency of the sites among people on the cancer register, by sex (F, M).
CANCER_SITE_W = np.array([[4.0, .8, 1.0, 0.0, 2.0, .7], [0.0, 1.0, 1.2, 4.0, 2.0, .9]])


def _codes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ICD-10 code catalogue: codes, their category, their 3-character stem; and the per-category ranges."""
    codes, cat, stem = [], [], []
    ptr = [0]
    for k, c in enumerate(_CAT):
        for item in c[1].split():
            s, fourth = item.split(":")
            for ch in fourth:
                codes.append(s + ch)
                cat.append(k)
                stem.append(s)
        ptr.append(len(codes))
    return np.array(codes), np.array(cat, dtype=np.int64), np.array(stem), np.array(ptr, dtype=np.int64)


CODES, CODE_CAT, CODE_STEM, CAT_CODE_PTR = _codes()
#: Within a category, the first code listed is the commonest: weights 1, 1/2, 1/3, ...
CODE_W = np.zeros(len(CODES))
for _k in range(N_CAT):
    _n = CAT_CODE_PTR[_k + 1] - CAT_CODE_PTR[_k]
    CODE_W[CAT_CODE_PTR[_k]:CAT_CODE_PTR[_k + 1]] = 1.0 / np.arange(1, _n + 1)
CODE_INDEX = {c: i for i, c in enumerate(CODES)}

# --------------------------------------------------------------------------------------------------------
# Latent health process (history years) [E]
# --------------------------------------------------------------------------------------------------------
#: Admission rate per year of a person with no register, frailty 0, by age group (row 0 F, 1 M).
#: Age group edges for this table: 0, 1-4, 5-14, 15-19, 20-29, 30-44, 45-54, 55-64, 65-74, 75-84, 85+.
RATE_EDGES = np.array([1, 5, 15, 20, 30, 45, 55, 65, 75, 85], dtype=np.int64)
BASE_RATE = 0.9 * np.array([
    [.20, .07, .045, .08, .16, .14, .10, .12, .17, .24, .32],
    [.25, .09, .05, .06, .05, .06, .08, .11, .18, .27, .36],
])
FRAILTY_SD = 0.75      # sd of the persistent log-rate frailty
FRAILTY_RHO = 0.6      # correlation of that frailty with the general liability of the registers
YEAR_SD = 0.55         # sd of the year-specific log-rate shock
DEP_RATE = 0.09        # log-rate per national sd of the IMD score
BEDS_RATE = 0.07       # log-rate per acute bed per 1,000 above the national mean (supply; 0.10 before issue 17)
MAX_SPELLS = 40
#: Outpatient attendances per year: base and the ratio to the inpatient intensity.
OP_BASE = 0.55
OP_PER_IP = 1.6
OP_CODED = 0.2         # share of outpatient attendances with a specific (not R69X) diagnosis
#: Secondary diagnoses beyond registers: Poisson mean a + b * max(age - 40, 0).
SEC_A, SEC_B = 0.3, 0.03
#: Share of codes written with a dot ('I21.9') and as 3 characters ('I21'), as some extracts do.
DOT_SHARE, THREE_CHAR_SHARE = 0.01, 0.02

# --------------------------------------------------------------------------------------------------------
# Outcome: cost = exposure * mu(x) * u_practice * eps, E[eps | x] = 1
# --------------------------------------------------------------------------------------------------------
#: Need and supply variables of the truth (area table columns) and their coefficients (£ per unit).
NEED_VARS = ("income", "idaopi", "health")
NEED_COEF = np.array([150.0, 100.0, 25.0])
SUPPLY_VARS = ("distance_acute_km", "acute_beds_per_1000")
#: Supply effects are calibrated (issue 17): at (-2.0, 90.0) with BEDS_RATE 0.10, need and supply added 0.057
#: to the practice R² of the area-effects model on BMJ 2011's design, against PBRA's 0.041; now 0.042.
SUPPLY_COEF = np.array([-1.4, 63.0])
#: ICB_SD and PRACTICE_SD are calibrated (issue 17) on BMJ 2011's design at PBRA-era list sizes
#: (``benchmarks/bench_synthetic.py realism --design pbra``: 800 practices at 65% of their lists held out
#: whole, the model estimated on people of every other practice; means of seeds 0-4): ICB effects of sd £70
#: (scaled to exactly that sd) make the area rung add 0.134 to the practice R² (PBRA's PCT effects: 0.136),
#: and an unobserved practice effect of sd 0.070 leaves 0.235 of the variance of practice cost per head
#: unexplained by the full model, with 30% of practices 10% or more off (BMJ: R² 0.785, "about one third").
#: At 0.063 the full model reached 0.80 with 26% of practices off (seeds 0-1).
ICB_SD = 70.0          # sd of the ICB effects (£), which sum to zero over ICBs
PRACTICE_SD = 0.070    # sd of the unobserved multiplicative practice effect (mean 1)
#: Probability of any cost: pi = clip(PI_A + PI_B * sqrt(mu / 850), PI_MIN, PI_MAX).
PI_A, PI_B, PI_MIN, PI_MAX = 0.12, 0.30, 0.05, 0.95
#: Lognormal sd of the cost of a person with any cost (mean-one multiplier).
COST_SIGMA = 1.2

# --------------------------------------------------------------------------------------------------------
# Deaths, moves and list inflation [E]
# --------------------------------------------------------------------------------------------------------
#: Gompertz annual death probability: exp(DEATH_A + DEATH_B * age + DEATH_FRAIL * frailty), infants extra.
DEATH_A, DEATH_B, DEATH_FRAIL, DEATH_INFANT = -10.6, 0.095, 0.5, 0.004
#: Annual probabilities of leaving and of having joined during the year, by the same RATE_EDGES groups.
LEAVE_P = np.array([.05, .05, .04, .08, .14, .08, .04, .03, .03, .03, .04])
JOIN_P = np.array([.05, .05, .04, .08, .14, .08, .04, .03, .03, .03, .04])
#: Relative chance of being a list-inflation ghost by the same groups (young adults, students).
GHOST_W = np.array([.3, .5, .6, 1.5, 3.0, 1.5, .8, .6, .4, .4, .8])
