"""CMS-HCC scoring kernels: each person's diagnoses → condition categories → payment HCCs → factors.

A person's condition categories are held as two 64-bit words (bit ``k`` is the ``k``-th payment HCC, HCCs in
ascending order; no model has more than 128). The tables these kernels read are prepared once per model and
payment year by :func:`capitation.cms_hcc.tables.model_tables`; every input is a contiguous array and every
factor an integer number of thousandths, so scores are exact integers.

The rules, in CMS's order (SAS macros V24/V28 ``I0ED``, ``H1`` and the scoring macro):

1. each code's categories, unless an edit fires: a mandatory edit (by sex, or by age) overrides them to one
   category or makes the code invalid; with MCE edits on, a code whose MCE age range excludes the person is
   invalid;
2. V28 only: HCC223 is dropped unless one of HCC221, 222, 224, 225, 226 is present;
3. hierarchies: parents are visited in CMS's order (ascending) and a parent still present drops its children;
4. diagnosis groups, interactions (HCCs, groups and DISABL), the count of payment HCCs (D1…D9, D10P) and the
   demographic terms, each added when the person's segment has that variable.

New enrollees get only their new-enrollee cell (NEMCAID × NE_ORIGDIS × age/sex).
"""

from __future__ import annotations

import numpy as np

from .._config import kernel

#: De Bruijn multiplication finds the position of a word's lowest set bit: ((w & -w) * D) >> 58 indexes the table.
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN_TABLE = np.array([0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4, 62, 55, 59, 36, 53, 51, 43,
                            22, 45, 39, 33, 30, 24, 18, 12, 5, 63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44,
                            32, 23, 11, 46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6], dtype=np.int64)


@kernel
def dense_table(ids, low, table):
    """``table[ids[r] - low] = r``; return the first row whose id was already seen, or -1."""
    for r in range(ids.shape[0]):
        slot = ids[r] - low
        if table[slot] >= 0:
            return r
        table[slot] = r
    return -1


@kernel
def dense_lookup(ids, low, table, start, stop, out):
    """``out[i] = table[ids[i] - low]`` for ids inside the table, else -1, for rows ``start:stop``."""
    n = table.shape[0]
    for i in range(start, stop):
        slot = ids[i] - low
        out[i] = table[slot] if 0 <= slot < n else -1


@kernel
def records_range(ids, low, table, rows_in, use_table, codes, code_of, reason_of, unknown, used, start, stop,
                  write_rows, rows_out, codes_out, counts, seen, ptr, order):
    """Diagnosis records ``start:stop``: each one's code id and reason, counted; ``ptr`` if grouped by person.

    A record's person row is ``table[ids - low]`` when ``use_table`` (else ``rows_in``; -1 for nobody); its
    code id and reason are those of its distinct value (``codes`` indexes ``code_of`` and ``reason_of``; -1 is
    the missing value, their last entry). ``codes_out`` is -1 for every record not ``used``; ``counts``
    counts the records by reason; ``seen`` (2 × distinct values) marks the values of records not used, of
    beneficiaries (row 0) and of people not among them (row 1); ``rows_out`` gets the rows when
    ``write_rows``. Assuming the records are grouped by person in the beneficiaries' order, ``ptr[r]`` is set
    to the first record of the range's first row and of every row up to its last; ``order`` (5) receives
    whether the range's rows never decrease, its first row and where its records start, and its last row
    and where that row's records start (-1 when the range has no beneficiary's record).
    """
    n_table = table.shape[0]
    missing = code_of.shape[0] - 1
    previous = -1
    sorted_rows = 1
    first = -1
    first_start = -1
    last_start = -1
    for i in range(start, stop):
        if use_table:
            slot = ids[i] - low
            row = table[slot] if 0 <= slot < n_table else -1
        else:
            row = rows_in[i]
        u = codes[i]
        if u < 0:
            u = missing
        if row < 0:
            reason = unknown
            seen[1, u] = 1
        else:
            reason = reason_of[u]
            if reason != used:
                seen[0, u] = 1
        counts[reason] += 1
        if write_rows:
            rows_out[i] = row
        codes_out[i] = code_of[u] if reason == used else -1
        if row >= 0 and row != previous:
            if previous < 0:
                first = row
                first_start = i
                ptr[row] = i
            elif row < previous:
                sorted_rows = 0
            else:
                for r in range(previous + 1, row + 1):
                    ptr[r] = i
            previous = row
            last_start = i
    order[0] = sorted_rows
    order[1] = first
    order[2] = first_start
    order[3] = previous
    order[4] = last_start


@kernel
def bucket_rows(rows, codes, n_rows, ptr, out_codes):
    """Sort records by person (a counting sort): ``ptr`` (n_rows + 1) and each person's codes in record order.

    Records with a negative row or code are skipped.
    """
    for i in range(rows.shape[0]):
        if rows[i] >= 0 and codes[i] >= 0:
            ptr[rows[i] + 1] += 1
    for r in range(n_rows):
        ptr[r + 1] += ptr[r]
    fill = ptr[:-1].copy()
    for i in range(rows.shape[0]):
        r = rows[i]
        if r >= 0 and codes[i] >= 0:
            out_codes[fill[r]] = codes[i]
            fill[r] += 1


@kernel
def hcc_range(age, sex, orec, medicaid, dual, lti, new_enrollee, fixed_segment, is_ne, dx_ptr, dx_code,
              code_mask, code_flag, med_kind, med_sex, med_lo, med_hi, med_mask, mce_lo, mce_hi, mce_on,
              parent_mask, child_mask, cc223, cc223_keep, inter_var, inter_mask, inter_disabl, var_hcc, var_count,
              var_ce, var_ne, var_origdis, var_ltimcaid, var_origds, ce_band, ne_band, present, factors,
              normalisation, coding_intensity, mode, start, stop, seg, raw, payment, words, tally, ptr, indices):
    """Rows ``start:stop``: score them (``mode`` 0), count their design entries (1) or write them (2).

    The segment is ``fixed_segment`` when it is >= 0, else derived: INS (``lti``) over NE (``new_enrollee``)
    over C{N, P, F}[dual]{D, A}[age >= 65], written to ``seg``. Records with a negative code are skipped.
    Mode 0 writes raw scores (``raw``) and payment scores (``payment``) in thousandths, payment HCCs after
    hierarchies (``words``, n × 2), and counts records into ``tally`` (4): [invalid by a mandatory edit,
    invalid by an MCE edit, overridden by a mandatory edit, not scored: new enrollee]. Mode 1 writes each row's
    number of entries into ``ptr[i + 1]``; mode 2 writes its columns ``segment * V + variable`` into
    ``indices`` from ``ptr[i]``. One loop for the three, so the score and the design cannot disagree.
    """
    buf = np.empty(8 + var_hcc.shape[0] + inter_var.shape[0], dtype=np.int32)
    n_variables = factors.shape[1]
    n_inter = inter_var.shape[0]
    one = np.uint64(1)
    zero = np.uint64(0)
    community = np.array([[1, 0], [5, 4], [3, 2]], dtype=np.int8)  # CND CNA / CPD CPA / CFD CFA
    for i in range(start, stop):
        a = age[i]
        if fixed_segment >= 0:
            s = fixed_segment
        elif lti[i] != 0:
            s = 6
        elif new_enrollee[i] != 0:
            s = 7
        else:
            s = community[max(dual[i], 0), 1 if a >= 65 else 0]
        sx = sex[i] - 1
        o = orec[i]
        n = 0
        total = np.int64(0)
        lo = dx_ptr[i]
        hi = dx_ptr[i + 1]
        w0 = zero
        w1 = zero
        if is_ne[s]:
            band = ne_band[a]
            if a == 64 and o == 0:
                band = ne_band[65]
            cell = (1 if medicaid[i] != 0 else 0) + (2 if (a >= 65 and o == 1) else 0)
            v = var_ne[cell, sx, band]
            if v >= 0:
                if mode == 0:
                    total += factors[s, v]
                elif present[s, v]:
                    buf[n] = v
                    n += 1
            for r in range(lo, hi):
                if dx_code[r] >= 0:
                    tally[3] += 1
        else:
            disabl = a < 65 and o != 0
            v = var_ce[sx, ce_band[a]]
            if mode == 0:
                total += factors[s, v]
            elif present[s, v]:
                buf[n] = v
                n += 1
            if o == 1 and not disabl:
                v = var_origdis[sx]
                if v >= 0:
                    if mode == 0:
                        total += factors[s, v]
                    elif present[s, v]:
                        buf[n] = v
                        n += 1
                if var_origds >= 0:
                    if mode == 0:
                        total += factors[s, var_origds]
                    elif present[s, var_origds]:
                        buf[n] = var_origds
                        n += 1
            if medicaid[i] != 0 and var_ltimcaid >= 0:
                if mode == 0:
                    total += factors[s, var_ltimcaid]
                elif present[s, var_ltimcaid]:
                    buf[n] = var_ltimcaid
                    n += 1
            for r in range(lo, hi):
                c = dx_code[r]
                if c < 0:
                    continue
                flag = code_flag[c]
                if flag == 0:
                    w0 |= code_mask[c, 0]
                    w1 |= code_mask[c, 1]
                    continue
                fired = False
                if flag & 1:
                    if med_sex[c] != 0:
                        fired = sx + 1 == med_sex[c]
                    else:
                        fired = a >= med_lo[c] or a <= med_hi[c]
                    if fired and med_kind[c] == 2:
                        tally[0] += 1
                        continue
                if mce_on and (flag & 2) and (a >= mce_lo[c] or a <= mce_hi[c]):
                    tally[1] += 1
                    continue
                if fired:
                    tally[2] += 1
                    w0 |= med_mask[c, 0]
                    w1 |= med_mask[c, 1]
                else:
                    w0 |= code_mask[c, 0]
                    w1 |= code_mask[c, 1]
            if cc223 >= 0 and (w0 | w1) != zero:
                if cc223 < 64:
                    bit = (w0 >> np.uint64(cc223)) & one
                else:
                    bit = (w1 >> np.uint64(cc223 - 64)) & one
                if bit != zero and (w0 & cc223_keep[0]) == zero and (w1 & cc223_keep[1]) == zero:
                    if cc223 < 64:
                        w0 &= ~(one << np.uint64(cc223))
                    else:
                        w1 &= ~(one << np.uint64(cc223 - 64))
            # Hierarchies: visit the parents present in ascending order (CMS's order), re-reading the words
            # after each drop, so a parent dropped by an earlier parent drops nothing (as CMS's SAS macro does).
            rest = w0 & parent_mask[0]
            while rest != zero:
                k = _DEBRUIJN_TABLE[np.int64((((rest) & (zero - (rest))) * _DEBRUIJN) >> np.uint64(58))]
                w0 &= ~child_mask[k, 0]
                w1 &= ~child_mask[k, 1]
                rest = w0 & parent_mask[0] & ~((one << np.uint64(k)) - one) & ~(one << np.uint64(k))
            rest = w1 & parent_mask[1]
            while rest != zero:
                k = _DEBRUIJN_TABLE[np.int64((((rest) & (zero - (rest))) * _DEBRUIJN) >> np.uint64(58))]
                w0 &= ~child_mask[64 + k, 0]
                w1 &= ~child_mask[64 + k, 1]
                rest = w1 & parent_mask[1] & ~((one << np.uint64(k)) - one) & ~(one << np.uint64(k))
            count = 0
            for word in range(2):
                rest = w0 if word == 0 else w1
                while rest != zero:
                    k = _DEBRUIJN_TABLE[np.int64((((rest) & (zero - (rest))) * _DEBRUIJN) >> np.uint64(58))] + 64 * word
                    rest &= rest - one
                    count += 1
                    v = var_hcc[k]
                    if mode == 0:
                        total += factors[s, v]
                    elif present[s, v]:
                        buf[n] = v
                        n += 1
            if count > 0:
                for j in range(n_inter):
                    on_a = (inter_disabl[j, 0] and disabl) or (
                        (w0 & inter_mask[j, 0, 0]) | (w1 & inter_mask[j, 0, 1])) != zero
                    if on_a:
                        on_b = (inter_disabl[j, 1] and disabl) or (
                            (w0 & inter_mask[j, 1, 0]) | (w1 & inter_mask[j, 1, 1])) != zero
                        if on_b:
                            if mode == 0:
                                total += factors[s, inter_var[j]]
                            elif present[s, inter_var[j]]:
                                buf[n] = inter_var[j]
                                n += 1
                v = var_count[min(count, 10) - 1]
                if v >= 0:
                    if mode == 0:
                        total += factors[s, v]
                    elif present[s, v]:
                        buf[n] = v
                        n += 1
        if mode == 0:
            seg[i] = s
            raw[i] = total
            normalised = (2 * total * 1000 + normalisation) // (2 * normalisation)
            payment[i] = (2 * normalised * (1000 - coding_intensity) + 1000) // 2000
            words[i, 0] = w0
            words[i, 1] = w1
        elif mode == 1:
            ptr[i + 1] = n
        else:
            base = np.int64(s) * n_variables
            at = ptr[i]
            for j in range(n):
                indices[at + j] = np.int32(base + buf[j])
