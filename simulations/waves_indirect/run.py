"""Design study 3: power for a longitudinal indirect effect with 2, 3 or 4 waves.

Question: the review warns that follow-up is often too short and asks for repeated
measurement. For a longitudinal mediation chain arm -> mechanism -> outcome (e.g. IPS ->
employment-related self-efficacy -> quality of life), measured at 2, 3 or 4 waves six
months apart, how does power for the indirect effect change with the number of waves, at
the same N, with complete data and with 20% attrition per follow-up wave?

Model: a cross-lagged panel model with time-invariant (stationary) lag-1 paths, the
half-longitudinal design of Cole & Maxwell (2003) when there are two waves: the arm
shifts the mechanism at every follow-up (``a``), the mechanism shifts the next wave's
outcome (``b``), each variable is stable over a wave (0.5), and the indirect effect per
lag is ``ind := a*b``; with more waves the same a and b are estimated from more
transitions (shared labels = equality constraints). All numbers are assumptions, not
evidence: a = 0.25 (a standardised mean difference per wave), b = 0.20, stabilities
0.5, outcome -> later mechanism 0.10, residual variances 1 and within-wave residual
correlation 0.2. Dropout in the attrition condition is MCAR.

Run: ``python simulations/waves_indirect/run.py`` (about 2-4 minutes on 2 cores;
resumable: replicates are kept in runs.db).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]

from _common import report  # noqa: E402

from pathmodels import power  # noqa: E402


def population(waves: int) -> str:
    """Stationary CLPM with a randomised arm, ``waves`` waves (>= 2)."""
    lines = ["m_1 ~~ 0.2*y_1"]
    for t in range(2, waves + 1):
        lines += [
            f"m_{t} ~ a*0.25*arm + 0.5*m_{t - 1} + 0.10*y_{t - 1}",
            f"y_{t} ~ b*0.20*m_{t - 1} + 0.5*y_{t - 1} + cp*0*arm",
            f"m_{t} ~~ 0.2*y_{t}",
        ]
    lines.append("ind := a*b")
    return "\n".join(lines)


N = [100, 150, 200, 300, 450, 650, 900]


def main(reps: int = 200, n_jobs: int = 2) -> None:
    res = power(
        population,
        n=N,
        reps=reps,
        seed=2003,
        waves=[2, 3, 4],
        arms=(1, 1),
        targets=["ind"],
        tests=["joint", "mc"],
        attrition=[0.0, 0.2],
        n_jobs=n_jobs,
        store=HERE / "runs.db",
    )
    report(
        res,
        HERE,
        "Power for a longitudinal indirect effect with 2, 3 or 4 waves",
        __doc__.split("\n\n")[1],
        by=["waves", "attrition"],
        test="joint",
    )


if __name__ == "__main__":
    main()
