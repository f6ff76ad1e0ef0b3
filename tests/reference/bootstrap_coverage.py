"""Coverage of nominal-95% bootstrap intervals for the mean of a few values, the numbers quoted in
lib/stats/bootstrap.ts (why the studentized bootstrap): 1,000 seeded samples per case, 2,000 resamples each.

    /usr/bin/python3 tests/reference/bootstrap_coverage.py     # numpy 1.24, scipy 1.10 (Debian); about a minute

Cases: n = 6 and 8 values from a normal (mean 0.03, sd 0.05), a centred exponential, and Student t with 3 degrees of
freedom. Intervals: percentile, BCa (Efron 1987), studentized bootstrap (bootstrap-t), and the classical t interval.
"""
import numpy as np
from scipy.stats import norm, t as tdist

rng = np.random.default_rng(0)


def intervals(x, B=2000):
    n = len(x)
    xb = x[rng.integers(0, n, (B, n))]
    m, s = xb.mean(1), xb.std(1, ddof=1)
    mu, se = x.mean(), x.std(ddof=1) / np.sqrt(n)
    pct = np.quantile(m, [0.025, 0.975])
    z0 = norm.ppf((m < mu).mean() + 0.5 * (m == mu).mean())
    jk = np.array([np.delete(x, i).mean() for i in range(n)])
    d = jk.mean() - jk
    a = (d**3).sum() / (6 * ((d**2).sum()) ** 1.5) if (d**2).sum() > 0 else 0
    bca = np.quantile(m, [norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in norm.ppf([0.025, 0.975])])
    ok = s > 0
    tq = np.quantile((m[ok] - mu) / (s[ok] / np.sqrt(n)), [0.975, 0.025])
    boot_t = mu - tq * se
    classical = mu + np.array([-1, 1]) * tdist.ppf(0.975, n - 1) * se
    return pct, bca, boot_t, classical


for dist in ["normal", "exponential", "t3"]:
    for n in [6, 8]:
        cover = np.zeros(4)
        for _ in range(1000):
            if dist == "normal":
                x, mu = rng.normal(0.03, 0.05, n), 0.03
            elif dist == "exponential":
                x, mu = rng.exponential(1, n) - 1, 0.0
            else:
                x, mu = rng.standard_t(3, n), 0.0
            for k, c in enumerate(intervals(x)):
                cover[k] += c[0] <= mu <= c[1]
        print(f"{dist:12s} n={n}: coverage percentile {cover[0] / 1000:.3f}  BCa {cover[1] / 1000:.3f}  "
              f"bootstrap-t {cover[2] / 1000:.3f}  t {cover[3] / 1000:.3f}")
