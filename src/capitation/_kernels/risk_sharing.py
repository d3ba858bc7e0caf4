"""Kernels of the risk-sharing simulation: practice costs drawn from resampled residuals, and a rule settled.

``simulate_costs`` draws each practice's actual cost in a year, and the part of it a high-cost pool pays, without
drawing every person. A person's cost is ``ŷ + σ e`` with ``e`` drawn uniformly from a sorted pool of residuals
(the pool of the person's band of need). Split that pool at a cut: with probability ``q`` (the share of the pool
at or above the cut) the person is *explicit* and ``e`` is drawn from the top of the pool, otherwise from the
rest. That is the same distribution, exactly. The explicit people of a practice are found by geometric skips
(a Bernoulli(``q``) process over its people, one uniform per explicit person), and each is drawn person by
person; the cut is low enough that nobody below it can reach a pool threshold, so every pool claim is drawn
exactly. The sum over the other people, given which people are explicit, has known mean, variance and third
central moment; it is drawn from the translated gamma distribution with those three moments. A persistent
practice effect ``u`` (lognormal, mean 1) multiplies every person's cost.

Randomness is counter-based (splitmix64 of seed, practice key and stream, as in the synthetic generator): the
draws of practice ``g`` in draw ``d`` and year ``t`` are a pure function of ``(seed, key[g], d, t)``, so results
do not depend on how the draws are cut into ranges, the number of threads, nor the order or codes of practices.

``settle`` applies a rule to drawn costs in whole pence, draw by draw, practices in a fixed order. Both are
serial over a range of draws; the caller runs ranges on the kernels' threads
(:func:`capitation._config.parallel_for`).
"""

from __future__ import annotations

import math

import numpy as np

from .._config import kernel
from .synthetic import _mix, _normal, _uniform, seed_state

#: Streams per draw: years use streams 0 … 62, the practice effect stream 63.
STREAMS_PER_DRAW = 64
_EFFECT_STREAM = 63


@kernel
def fingerprint(bits, codes, out):
    """Add ``mix(bits[i])`` into ``out[codes[i]]`` (uint64, wrapping): a key of each group's values, in any order."""
    for i in range(bits.shape[0]):
        c = codes[i]
        if c >= 0:
            out[c] += _mix(bits[i])


@kernel
def _gamma(state, shape):
    """Draw Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 by ``G(a + 1) · U^(1/a)``."""
    boost = 1.0
    a = shape
    if a < 1.0:
        state, u = _uniform(state)
        boost = u ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        state, z = _normal(state)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        state, u = _uniform(state)
        if math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v):
            return state, d * v * boost


@kernel
def translated_gamma(state, mean, var, k3):
    """Draw with this mean, variance and third central moment: ``mean ± θ (G − α)``, ``G ~ Gamma(α)``.

    ``α = 4 / γ²`` and ``θ = |γ| sd / 2`` with skewness ``γ = k3 / sd³``; normal when ``|γ| < 1e-6``, the
    mean itself when the variance is not positive.
    """
    if var <= 0.0:
        return state, mean
    sd = math.sqrt(var)
    g = k3 / (var * sd)
    if abs(g) < 1e-6:
        state, z = _normal(state)
        return state, mean + sd * z
    alpha = 4.0 / (g * g)
    theta = 0.5 * abs(g) * sd
    state, x = _gamma(state, alpha)
    if g > 0.0:
        return state, mean + theta * (x - alpha)
    return state, mean - theta * (x - alpha)


@kernel
def gamma_draws(seed, key, shape, out):
    """Fill ``out`` with Gamma(shape) draws of stream 0 of ``key`` (for tests of the sampler)."""
    state = seed_state(seed, key, np.uint64(0))
    for i in range(out.shape[0]):
        state, out[i] = _gamma(state, shape)


@kernel
def translated_gamma_draws(seed, key, mean, var, k3, out):
    """Fill ``out`` with translated-gamma draws of stream 0 of ``key`` (for tests of the sampler)."""
    state = seed_state(seed, key, np.uint64(0))
    for i in range(out.shape[0]):
        state, out[i] = translated_gamma(state, mean, var, k3)


@kernel
def simulate_costs(seed, keys, n_draws, block, start, stop, seg_ptr, seg_lo, seg_hi, seg_cut, seg_top, seg_all,
                   seg_log1mq, seg_mu, seg_var, seg_k3, yhat, sigma, pool, bulk_mean, bulk_var, bulk_k3, to_pence,
                   log_sd, z_clip, thresholds, costs, claims):
    """Draw practice costs ``costs[d, t, g]`` and pool claims ``claims[r, d, t, g]`` in whole pence.

    Tasks ``start:stop`` of ``G × ⌈n_draws / block⌉``: task ``k`` is practice ``k // n_blocks`` over the draws of
    block ``k % n_blocks`` (one practice at a time, so that its people stay in the cache). Segment ``s`` of
    practice ``g`` (``seg_ptr[g] ≤ s < seg_ptr[g + 1]``) holds the people ``seg_lo[s] … seg_hi[s] − 1`` of one
    band and class; their explicit residuals are ``pool[seg_cut[s] : seg_top[s]]``, drawn with probability
    ``q`` (``seg_log1mq = log(1 − q)``), or always when ``seg_all``. ``bulk_*`` are the moments of the practice's
    sum over everyone not in an all-explicit segment, as if nobody were explicit; ``seg_mu/var/k3`` are those of
    the segment's pool below the cut. ``to_pence[g]`` turns the model's £ into pence (100 × scale); ``log_sd``
    is the practice effect's log-sd (0 for none), its normal deviate clipped at ``± z_clip``. A person's cost
    in pence above ``thresholds[r]`` is claimed by pool ``r``.
    """
    years = costs.shape[1]
    n_r = thresholds.shape[0]
    n_blocks = (n_draws + block - 1) // block
    for task in range(start, stop):
        g = task // n_blocks
        first = (task - g * n_blocks) * block
        for d in range(first, min(first + block, n_draws)):
            base = np.uint64(d) * np.uint64(STREAMS_PER_DRAW)
            u = 1.0
            if log_sd > 0.0:
                st = seed_state(seed, keys[g], base + np.uint64(_EFFECT_STREAM))
                st, z = _normal(st)
                z = min(max(z, -z_clip), z_clip)
                u = math.exp(log_sd * z - 0.5 * log_sd * log_sd)
            f = to_pence[g] * u
            for t in range(years):
                st = seed_state(seed, keys[g], base + np.uint64(t))
                total = np.int64(0)
                m1 = bulk_mean[g]
                v = bulk_var[g]
                k3 = bulk_k3[g]
                for s in range(seg_ptr[g], seg_ptr[g + 1]):
                    hi = seg_hi[s]
                    cut = seg_cut[s]
                    width = seg_top[s] - cut
                    every = seg_all[s]
                    log1mq = seg_log1mq[s]
                    mu_s = seg_mu[s]
                    var_s = seg_var[s]
                    k3_s = seg_k3[s]
                    i = seg_lo[s] - 1
                    while True:
                        if every:
                            i += 1
                        else:
                            st, u1 = _uniform(st)
                            gap = math.floor(math.log(u1) / log1mq)
                            if gap >= hi - i:
                                break
                            i += 1 + np.int64(gap)
                        if i >= hi:
                            break
                        st, u2 = _uniform(st)
                        j = cut + np.int64(u2 * width)
                        if j >= cut + width:
                            j = cut + width - 1
                        yi = yhat[i]
                        si = sigma[i]
                        cents = np.int64(np.rint(f * (yi + si * pool[j])))
                        total += cents
                        for r in range(n_r):
                            if cents > thresholds[r]:
                                claims[r, d, t, g] += cents - thresholds[r]
                        if not every:
                            m1 -= yi + mu_s * si
                            s2 = si * si
                            v -= var_s * s2
                            k3 -= k3_s * s2 * si
                st, b = translated_gamma(st, m1, v, k3)
                total += np.int64(np.rint(f * b))
                costs[d, t, g] = total


@kernel
def expected_excess(yhat, sigma, band, pool, cumulative, band_lo, band_hi, to_pence, effects, weights, threshold,
                    start, stop, out):
    """``out[i] = Σ_k w_k E[max(f u_k (ŷ_i + σ_i e) − T, 0)]`` over ``e`` uniform on person ``i``'s band pool.

    The pool of band ``b`` is ``pool[band_lo[b]:band_hi[b]]``, sorted; ``cumulative[j] = Σ pool[:j]``. People
    with ``band < 0`` cost nothing. Pence, before rounding; for people ``start:stop``.
    """
    effects_max = effects.max()
    for i in range(start, stop):
        out[i] = 0.0
        b = band[i]
        if b < 0:
            continue
        lo = band_lo[b]
        hi = band_hi[b]
        m = hi - lo
        total = 0.0
        if (threshold / (to_pence[i] * effects_max) - yhat[i]) / sigma[i] >= pool[hi - 1]:
            continue  # nobody's cost reaches the threshold, even with the largest practice effect
        for k in range(effects.shape[0]):
            fu = to_pence[i] * effects[k]
            t = (threshold / fu - yhat[i]) / sigma[i]
            if t >= pool[hi - 1]:
                continue
            a = lo
            z = hi  # first index in [lo, hi) whose value exceeds t
            while a < z:
                mid = (a + z) // 2
                if pool[mid] <= t:
                    a = mid + 1
                else:
                    z = mid
            count = hi - a
            total += weights[k] * (count * (fu * yhat[i] - threshold) + fu * sigma[i] * (cumulative[hi] -
                                                                                         cumulative[a])) / m
        out[i] = total


@kernel
def settle(costs, claims, budgets, caps, cons, reserve_in, pool_in, keep_num, keep_den, bear_num, bear_den,
           limit_num, limit_den, start, stop, positions, deficit_any, accounts, exhausted):
    """Apply a risk-sharing rule to the drawn costs of draws ``start:stop``, in whole pence.

    Each year, practice ``g`` of consortium ``cons[g]`` has ``x = budgets[g] + carry − (costs − claims)``; it
    keeps ``⌊x · keep_num / keep_den⌋`` of a surplus and bears ``⌊x · bear_num / bear_den⌋`` of a deficit,
    clipped to ``± caps[g]`` (no cap when negative); what it does not keep goes to the reserve. The pool is
    funded ``pool_in`` and pays the claims; the reserve gets ``reserve_in`` and the year's net flow, and the
    consortium meets whatever would take the reserve below zero (``exhausted``). ``positions[d, g]`` is what the
    practice carries out of the last year; ``deficit_any[d, g]`` whether it was ever below ``−limit_num /
    limit_den`` of its budget; ``accounts[d, c]`` holds the pool, reserve and consortium balances.
    """
    years = costs.shape[1]
    n_g = costs.shape[2]
    n_c = reserve_in.shape[0]
    carry = np.zeros(n_g, dtype=np.int64)
    reserve = np.zeros(n_c, dtype=np.int64)
    pool = np.zeros(n_c, dtype=np.int64)
    short = np.zeros(n_c, dtype=np.int64)
    flow = np.zeros(n_c, dtype=np.int64)
    for d in range(start, stop):
        carry[:] = 0
        reserve[:] = 0
        pool[:] = 0
        short[:] = 0
        for t in range(years):
            for c in range(n_c):
                flow[c] = 0
            for g in range(n_g):
                c = cons[g]
                claim = claims[d, t, g]
                pool[c] -= claim
                x = budgets[g] + carry[g] - (costs[d, t, g] - claim)
                if x >= 0:
                    k = (x * keep_num) // keep_den
                else:
                    k = (x * bear_num) // bear_den
                cap = caps[g]
                if cap >= 0:
                    if k > cap:
                        k = cap
                    elif k < -cap:
                        k = -cap
                flow[c] += x - k
                carry[g] = k
                if k * limit_den < -limit_num * budgets[g]:
                    deficit_any[d, g] = 1
            for c in range(n_c):
                pool[c] += pool_in[c]
                reserve[c] += reserve_in[c] + flow[c]
                if reserve[c] < 0:
                    short[c] -= reserve[c]
                    reserve[c] = 0
                    exhausted[d, c] = 1
        for g in range(n_g):
            positions[d, g] = carry[g]
        for c in range(n_c):
            accounts[d, c, 0] = pool[c]
            accounts[d, c, 1] = reserve[c]
            accounts[d, c, 2] = -short[c]
