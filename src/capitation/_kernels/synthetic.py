"""Kernels of the Synthetic England generator.

Randomness is counter-based: every draw is a pure function of ``(seed, person_id, stream, draw number)``
through the splitmix64 mixer, so a person is the same whatever chunk, order or thread generates them. The
kernels loop over a range of people (shared out across threads by :func:`capitation._config.parallel_for`);
each writes only its own output slots, so results do not depend on the chunking or the thread count.
"""

from __future__ import annotations

import math

import numpy as np

from capitation._config import kernel

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0

STREAM_SIZE, STREAM_DEMO, STREAM_COND, STREAM_HIST, STREAM_OUT, STREAM_EXPO, STREAM_PRACTICE = 1, 2, 3, 4, 5, 6, 7


@kernel
def _mix(x):
    z = (x ^ (x >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@kernel
def seed_state(seed, key, stream):
    """Return the initial state of the stream ``stream`` of entity ``key`` (all uint64)."""
    return _mix(_mix(seed + _GOLD) ^ _mix(key * _GOLD + stream))


@kernel
def _uniform(state):
    state = state + _GOLD
    return state, (np.float64(_mix(state) >> _S11) + 0.5) * _INV53


@kernel
def uniform_draws(seed, keys, stream, out):
    """Fill ``out[i, j]`` with uniform draw ``j + 1`` of the stream ``stream`` of entity ``keys[i]`` (uint64s).

    The generator's own draws, for code that lays its people out in other files (:mod:`capitation.datasets`).
    """
    for i in range(out.shape[0]):
        state = seed_state(seed, keys[i], stream)
        for j in range(out.shape[1]):
            state, out[i, j] = _uniform(state)


@kernel
def _normal(state):
    state, u1 = _uniform(state)
    state, u2 = _uniform(state)
    return state, math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


@kernel
def _poisson(state, lam, cap):
    state, u = _uniform(state)
    p = math.exp(-lam)
    s = p
    k = 0
    while u > s and k < cap:
        k += 1
        p *= lam / k
        s += p
    return state, k


@kernel
def _pick(cum, lo, hi, u):
    """Index i in [lo, hi) with cum[i-1] < u * cum[hi-1] <= cum[i] (cum is a running total)."""
    target = u * cum[hi - 1]
    a = lo
    b = hi - 1
    while a < b:
        m = (a + b) // 2
        if cum[m] < target:
            a = m + 1
        else:
            b = m
    return a


@kernel
def ndtr(x, out):
    """Write the standard normal distribution function of every element of ``x`` (1-D) into ``out``."""
    for i in range(x.shape[0]):
        out[i] = 0.5 * math.erfc(-x[i] * 0.7071067811865476)


@kernel
def _put_record(d_pid, d_fy, d_set, d_pos, d_code, d_spell, i, pid, fy, setting, position, code, spell_id):
    """Write one diagnosis record into row ``i`` of the output columns."""
    d_pid[i] = pid
    d_fy[i] = fy
    d_set[i] = setting
    d_pos[i] = position
    d_code[i] = code
    d_spell[i] = spell_id


@kernel
def _group(age, edges):
    g = 0
    while g < edges.shape[0] and age >= edges[g]:
        g += 1
    return g


@kernel
def practice_draws(seed, keys, list_size, fraction, practice_sd, n_out, effect_out, start, stop):
    """People drawn per practice (stochastic rounding of ``list_size * fraction``) and effects, ``start:stop``."""
    for j in range(start, stop):
        st = seed_state(seed, keys[j], np.uint64(STREAM_SIZE))
        st, u = _uniform(st)
        x = list_size[j] * fraction
        n = math.floor(x)
        if u < x - n:
            n += 1
        n_out[j] = n
        st2 = seed_state(seed, keys[j], np.uint64(STREAM_PRACTICE))
        st2, z = _normal(st2)
        s2 = math.log1p(practice_sd * practice_sd)
        effect_out[j] = math.exp(math.sqrt(s2) * z - 0.5 * s2)


@kernel
def solve_shifts(share, num_tab, den_tab, grid, target, out):
    """Probit shift per (practice, register) so the expected recorded prevalence equals ``target``.

    ``num_tab[g, r, i]``: mass of broad age group ``g`` on register ``r`` at shift ``grid[i]``;
    ``den_tab[g, r]``: share of group ``g`` in the register's age range. Solved by bisection on the grid with
    linear interpolation (the expected prevalence is increasing in the shift).
    """
    n_p, n_g = share.shape
    n_r = num_tab.shape[1]
    n_i = grid.shape[0]
    for j in range(n_p):
        for r in range(n_r):
            den = 0.0
            for g in range(n_g):
                den += share[j, g] * den_tab[g, r]
            goal = target[j, r] * den
            lo = 0
            hi = n_i - 1
            vlo = 0.0
            vhi = 0.0
            for g in range(n_g):
                vlo += share[j, g] * num_tab[g, r, lo]
                vhi += share[j, g] * num_tab[g, r, hi]
            if goal <= vlo:
                out[j, r] = grid[lo]
                continue
            if goal >= vhi:
                out[j, r] = grid[hi]
                continue
            while hi - lo > 1:
                mid = (lo + hi) // 2
                v = 0.0
                for g in range(n_g):
                    v += share[j, g] * num_tab[g, r, mid]
                if v < goal:
                    lo = mid
                    vlo = v
                else:
                    hi = mid
                    vhi = v
            w = (goal - vlo) / (vhi - vlo) if vhi > vlo else 0.5
            out[j, r] = grid[lo] + w * (grid[hi] - grid[lo])


@kernel
def _code_cat_of(c, cat_code_ptr):
    a = 0
    b = cat_code_ptr.shape[0] - 2
    while a < b:
        m = (a + b + 1) // 2
        if cat_code_ptr[m] <= c:
            a = m
        else:
            b = m - 1
    return a


@kernel
def _history(write, st, pid, sex, age, regs, cancer_site, log_rate0, depz, beds_dev, prm_f, prm_i, bg_cum,
             link_cat, link_cum, reg_sec_code, sec_cum, sec_cat, code_cum, cat_code_ptr, n_codes, rate_edges,
             grp_edges, base_rate, reg_rate, reg_link_w, reg_sec_p, frailty,
             off, d_pid, d_fy, d_set, d_pos, d_code, d_spell):
    """Two years of hospital history of one person. Returns (rows, category bits, ip spells y0, y1).

    With ``write`` False only counts; with True writes rows from ``off``. The draws are identical in both.
    """
    year_sd = prm_f[0]
    dep_rate = prm_f[1]
    beds_rate = prm_f[2]
    op_base = prm_f[3]
    op_per_ip = prm_f[4]
    op_coded = prm_f[5]
    sec_a = prm_f[6]
    sec_b = prm_f[7]
    dot_share = prm_f[8]
    three_share = prm_f[9]
    max_spells = prm_i[0]
    birth_code = prm_i[1]
    r69_code = prm_i[2]
    # prm_i[3]: category of the birth episode
    n_reg = reg_rate.shape[0]
    rows = 0
    bits = np.uint64(0)
    spell = 0
    ip0 = 0
    ip1 = 0
    link_total = 0.0
    for r in range(n_reg):
        if (regs >> r) & 1:
            link_total += reg_link_w[r]
    for y in range(2):
        age_y = age - 2 + y
        if age_y < -1:
            continue
        if age_y == -1:
            # born during this year: a birth episode
            if write:
                _put_record(d_pid, d_fy, d_set, d_pos, d_code, d_spell, off + rows, pid, y, 0, 0, birth_code,
                            pid * 1000 + spell)
            rows += 1
            spell += 1
            bits |= np.uint64(1) << np.uint64(prm_i[3])
            if y == 0:
                ip0 += 1
            else:
                ip1 += 1
            continue
        rg = _group(age_y, rate_edges)
        st, zy = _normal(st)
        lam = math.exp(log_rate0 + math.log(base_rate[sex, rg]) + frailty + dep_rate * depz
                       + beds_rate * beds_dev + year_sd * zy)
        st, n_ip = _poisson(st, lam, max_spells)
        ag = _group(age_y, grp_edges)
        if y == 0:
            ip0 = n_ip
        else:
            ip1 = n_ip
        for _s in range(n_ip):
            # primary diagnosis: a register's condition or the age-sex background
            st, u = _uniform(st)
            cat = -1
            if u * (1.0 + link_total) < link_total:
                st, u2 = _uniform(st)
                target = u2 * link_total
                acc = 0.0
                rr = 0
                for r in range(n_reg):
                    if (regs >> r) & 1:
                        acc += reg_link_w[r]
                        rr = r
                        if acc >= target:
                            break
                st, u3 = _uniform(st)
                i = 0
                while i < 2 and u3 > link_cum[rr, i]:
                    i += 1
                cat = link_cat[rr, i]
                if cat < 0:
                    cat = cancer_site
            else:
                st, u2 = _uniform(st)
                cat = _pick(bg_cum[sex, ag], 0, bg_cum.shape[2], u2)
            st, u4 = _uniform(st)
            code = _pick(code_cum, cat_code_ptr[cat], cat_code_ptr[cat + 1], u4)
            sid = pid * 1000 + spell
            spell += 1
            # secondary diagnoses: recorded chronic conditions, then comorbidity and status codes
            st, n_extra = _poisson(st, sec_a + sec_b * max(age_y - 40, 0), 12)
            for pos in range(1 + n_reg + n_extra):
                if pos == 0:
                    c = code
                elif pos <= n_reg:
                    r = pos - 1
                    if not ((regs >> r) & 1):
                        continue
                    st, u5 = _uniform(st)
                    if u5 >= reg_sec_p[r]:
                        continue
                    c = reg_sec_code[r]
                    if c < 0:
                        c = cat_code_ptr[cancer_site]
                else:
                    st, u5 = _uniform(st)
                    kk = _pick(sec_cum, 0, sec_cum.shape[0], u5)
                    k2 = sec_cat[kk]
                    st, u6 = _uniform(st)
                    c = _pick(code_cum, cat_code_ptr[k2], cat_code_ptr[k2 + 1], u6)
                bits |= np.uint64(1) << np.uint64(_code_cat_of(c, cat_code_ptr))
                if write:
                    st, uf = _uniform(st)
                    variant = 0
                    if uf < dot_share:
                        variant = 1
                    elif uf < dot_share + three_share:
                        variant = 2
                    _put_record(d_pid, d_fy, d_set, d_pos, d_code, d_spell, off + rows, pid, y, 0,
                                0 if pos == 0 else 1, c + variant * n_codes, sid)
                else:
                    st, uf = _uniform(st)
                rows += 1
        # outpatient attendances: mostly uncoded (R69X)
        st, n_op = _poisson(st, op_base * math.exp(0.5 * frailty) + op_per_ip * lam, max_spells)
        for _o in range(n_op):
            st, u = _uniform(st)
            if u < op_coded:
                st, u2 = _uniform(st)
                cat = _pick(bg_cum[sex, ag], 0, bg_cum.shape[2], u2)
                st, u4 = _uniform(st)
                c = _pick(code_cum, cat_code_ptr[cat], cat_code_ptr[cat + 1], u4)
            else:
                c = r69_code
            if write:
                _put_record(d_pid, d_fy, d_set, d_pos, d_code, d_spell, off + rows, pid, y, 1, 0, c,
                            pid * 1000 + spell)
            spell += 1
            rows += 1
    return st, rows, bits, ip0, ip1


@kernel
def people_pass(seed, p_key, p_of, k_of, mix_ptr, mix_lsoa, mix_cum, p_shift, p_depmean, p_icb, p_effect,
                p_tilt, l_broad, l_depz, l_need, l_supply, age_cum, reg_m, reg_k, reg_dep, reg_cluster, reg_min_age,
                reg_rate, reg_link_w, reg_sec_p, reg_sec_code, reg_cost, link_cat, link_cum, site_cum, bg_cum,
                sec_cum, sec_cat, code_cum, cat_code_ptr, cat_cost, cell_cost, need_coef, supply_coef,
                supply_mean, icb_effect, rate_edges, grp_edges, base_rate, ghost_p, leave_p, join_p, prm_f, prm_i,
                site_map,
                o_pid, o_lsoa, o_age, o_sex, o_regs, o_bits, o_ip0, o_ip1, o_rows, o_ghost, o_died, o_expo,
                o_mu, o_need, o_cost, o_site, o_frail, start, stop):
    """Everything about people ``start:stop`` except the diagnosis rows (which :func:`history_rows` writes)."""
    n_ages = reg_m.shape[2]
    n_reg = reg_m.shape[0]
    n_cat = cat_cost.shape[0]
    n_codes = code_cum.shape[0]
    load_g = prm_f[10]
    load_c = prm_f[11]
    frail_sd = prm_f[12]
    frail_rho = prm_f[13]
    death_a = prm_f[14]
    death_b = prm_f[15]
    death_frail = prm_f[16]
    death_infant = prm_f[17]
    pi_a = prm_f[18]
    pi_b = prm_f[19]
    pi_min = prm_f[20]
    pi_max = prm_f[21]
    sigma = prm_f[22]
    beds_mean = supply_mean[1]
    dummy_i = np.zeros(1, np.int64)
    dummy_f = np.zeros(1, np.int8)
    dummy_c = np.zeros(1, np.int32)
    for i in range(start, stop):
        j = p_of[i]
        pid = np.int64(p_key[j]) * 1000000 + k_of[i]
        upid = np.uint64(pid)
        o_pid[i] = pid
        # --- demography: small area, broad age group, single year of age and sex
        st = seed_state(seed, upid, np.uint64(STREAM_DEMO))
        st, u = _uniform(st)
        m = _pick(mix_cum, mix_ptr[j], mix_ptr[j + 1], u) if mix_ptr[j + 1] > mix_ptr[j] else -1
        lsoa = mix_lsoa[m]
        st, u = _uniform(st)
        w0 = l_broad[lsoa, 0]
        w1 = l_broad[lsoa, 1]
        w2 = l_broad[lsoa, 2] * p_tilt[j]
        u = u * (w0 + w1 + w2)
        g = 0 if u < w0 else (1 if u < w0 + w1 else 2)
        st, u = _uniform(st)
        cell = _pick(age_cum[g], 0, age_cum.shape[1], u)
        sex = cell // n_ages
        age = cell - sex * n_ages
        rg = _group(age, rate_edges)
        st, u = _uniform(st)
        ghost = u < ghost_p[rg]
        o_lsoa[i] = lsoa
        o_age[i] = age
        o_sex[i] = sex
        o_ghost[i] = ghost
        # --- GP-recorded conditions: probit liabilities sharing a general and a cluster factor
        st = seed_state(seed, upid, np.uint64(STREAM_COND))
        st, zg = _normal(st)
        z0 = 0.0
        z1 = 0.0
        z2 = 0.0
        z3 = 0.0
        st, z0 = _normal(st)
        st, z1 = _normal(st)
        st, z2 = _normal(st)
        st, z3 = _normal(st)
        ddep = l_depz[lsoa] - p_depmean[j]
        regs = np.uint32(0)
        for r in range(n_reg):
            st, e = _normal(st)
            if age < reg_min_age[r]:
                continue
            cl = reg_cluster[r]
            zc = z0 if cl == 0 else (z1 if cl == 1 else (z2 if cl == 2 else z3))
            liab = reg_k[r] * (reg_m[r, sex, age] + p_shift[j, r] + reg_dep[r] * ddep) + load_g * zg \
                + load_c * zc + e
            if liab > 0.0:
                regs |= np.uint32(1) << np.uint32(r)
        st, zf = _normal(st)
        frailty = frail_sd * (frail_rho * zg + math.sqrt(1.0 - frail_rho * frail_rho) * zf)
        st, u = _uniform(st)
        site = site_map[_pick(site_cum[sex], 0, site_cum.shape[1], u)]
        o_regs[i] = regs
        o_frail[i] = frailty
        o_site[i] = site
        # --- hospital history (counting pass)
        log_rate0 = 0.0
        for r in range(n_reg):
            if (regs >> r) & 1:
                log_rate0 += reg_rate[r]
        bits = np.uint64(0)
        rows = 0
        ip0 = 0
        ip1 = 0
        if not ghost:
            sth = seed_state(seed, upid, np.uint64(STREAM_HIST))
            # typed arguments, not literals: one compiled _history serves this counting pass and the writing
            # pass of history_rows (literal True/False/0 made numba compile it three times, ~3 s)
            sth, rows, bits, ip0, ip1 = _history(
                np.bool_(False), sth, pid, sex, age, np.uint32(regs), site, log_rate0, l_depz[lsoa],
                l_supply[lsoa, 1] - beds_mean,
                prm_f, prm_i, bg_cum, link_cat, link_cum, reg_sec_code, sec_cum, sec_cat, code_cum, cat_code_ptr,
                n_codes, rate_edges, grp_edges, base_rate, reg_rate, reg_link_w, reg_sec_p, frailty,
                np.int64(0), dummy_i, dummy_f, dummy_f, dummy_f, dummy_c, dummy_i)
        o_bits[i] = bits
        o_rows[i] = rows
        o_ip0[i] = ip0
        o_ip1[i] = ip1
        # --- registration during the outcome year: joiners, deaths, leavers
        st = seed_state(seed, upid, np.uint64(STREAM_EXPO))
        start = 0.0
        end = 1.0
        st, u = _uniform(st)
        st, v = _uniform(st)
        if u < join_p[rg] and not ghost:
            start = v
        q = math.exp(death_a + death_b * age + death_frail * frailty)
        if age == 0:
            q += death_infant
        st, u = _uniform(st)
        st, v = _uniform(st)
        died = False
        if not ghost and u < min(q, 0.9):
            died = True
            end = start + (1.0 - start) * v
        else:
            st, u = _uniform(st)
            if u < leave_p[rg] and not ghost:
                end = start + (1.0 - start) * v
        expo = max(end - start, 1.0 / 365.0)
        o_died[i] = died
        o_expo[i] = expo
        # --- outcome: mu(x) is linear in what a modeller can observe
        b = min(age // 5, cell_cost.shape[1] - 1)
        mu = cell_cost[sex, b]
        for k in range(n_cat):
            if (bits >> np.uint64(k)) & np.uint64(1):
                mu += cat_cost[k]
        for r in range(n_reg):
            if (regs >> r) & 1:
                mu += reg_cost[r]
        for v_ in range(need_coef.shape[0]):
            mu += need_coef[v_] * l_need[lsoa, v_]
        need = mu
        for v_ in range(supply_coef.shape[0]):
            mu += supply_coef[v_] * l_supply[lsoa, v_]
            need += supply_coef[v_] * supply_mean[v_]
        mu += icb_effect[p_icb[j]]
        st = seed_state(seed, upid, np.uint64(STREAM_OUT))
        st, u = _uniform(st)
        st, z = _normal(st)
        if ghost:
            o_mu[i] = 0.0
            o_need[i] = 0.0
            o_cost[i] = 0.0
            continue
        o_mu[i] = mu
        o_need[i] = need
        pi = min(max(pi_a + pi_b * math.sqrt(max(mu, 0.0) / 850.0), pi_min), pi_max)
        cost = 0.0
        if u < pi:
            cost = expo * mu * p_effect[j] / pi * math.exp(sigma * z - 0.5 * sigma * sigma)
        o_cost[i] = cost


@kernel
def history_rows(seed, o_pid, o_age, o_sex, o_regs, o_site, o_frail, o_lsoa, o_ghost, offsets,
                 l_depz, l_supply, supply_mean, prm_f, prm_i, bg_cum, link_cat, link_cum, reg_sec_code, sec_cum,
                 sec_cat, code_cum, cat_code_ptr, rate_edges, grp_edges, base_rate, reg_rate, reg_link_w,
                 reg_sec_p, d_pid, d_fy, d_set, d_pos, d_code, d_spell, start, stop):
    """Write the diagnosis rows of people ``start:stop`` from ``offsets[i]`` (the writing pass of ``_history``)."""
    n_reg = reg_rate.shape[0]
    n_codes = code_cum.shape[0]
    beds_mean = supply_mean[1]
    for i in range(start, stop):
        if o_ghost[i] or offsets[i + 1] == offsets[i]:
            continue
        pid = o_pid[i]
        regs = o_regs[i]
        lsoa = o_lsoa[i]
        log_rate0 = 0.0
        for r in range(n_reg):
            if (regs >> r) & 1:
                log_rate0 += reg_rate[r]
        sth = seed_state(seed, np.uint64(pid), np.uint64(STREAM_HIST))
        _history(np.bool_(True), sth, pid, o_sex[i], o_age[i], np.uint32(regs), o_site[i], log_rate0, l_depz[lsoa],
                 l_supply[lsoa, 1] - beds_mean, prm_f, prm_i, bg_cum, link_cat, link_cum, reg_sec_code, sec_cum,
                 sec_cat, code_cum, cat_code_ptr, n_codes, rate_edges, grp_edges, base_rate, reg_rate, reg_link_w,
                 reg_sec_p, o_frail[i], offsets[i], d_pid, d_fy, d_set, d_pos, d_code, d_spell)
