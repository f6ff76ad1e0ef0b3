"""Reference numbers for tests/stats_bootstrap.test.ts, computed with Debian's numpy 1.24 / scipy 1.10:

    /usr/bin/python3 tests/reference/stats_reference.py

1. The studentized bootstrap (bootstrap-t) 95% interval of the mean of X over *every* one of the n^n resamples (an
   exhaustive bootstrap, so no random numbers are involved), with numpy's default (linear) quantiles; resamples whose
   standard deviation is 0 are left out.
2. Student t quantiles from scipy.stats.t.ppf.
3. numpy.quantile (linear) of a small list.
"""
import itertools
import json

import numpy as np
from scipy import stats

X = np.array([0.12, -0.05, 0.31, 0.07, 0.02])
n = len(X)
mean = X.mean()
se = X.std(ddof=1) / np.sqrt(n)
t = []
for idx in itertools.product(range(n), repeat=n):
    xb = X[list(idx)]
    sd = xb.std(ddof=1)
    if sd > 0:
        t.append((xb.mean() - mean) / (sd / np.sqrt(n)))
t = np.array(t)
lo = mean - np.quantile(t, 0.975) * se
hi = mean - np.quantile(t, 0.025) * se
print(json.dumps({
    "bootstrapT": {"x": X.tolist(), "mean": mean, "lo": lo, "hi": hi, "used": int(len(t)), "drawn": n**n},
    "tQuantiles": {f"{p}|{df}": stats.t.ppf(p, df) for p in (0.975, 0.995, 0.9) for df in (1, 2, 4, 7, 30)},
    "quantiles": {str(p): float(np.quantile([3.0, -1.0, 4.0, 1.5, 9.0, 2.0], p)) for p in (0.025, 0.3, 0.5, 0.975)},
}, indent=1))
