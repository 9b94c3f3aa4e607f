"""Design study 2: employment <-> self-esteem cross-lagged effects in a three-wave RI-CLPM.

Question: with the library model ``employ_selfest_riclpm`` (random-intercept
cross-lagged panel model of Hamaker et al., 2015, randomised IPS arm shifting employment
after baseline, binary employment), how many participants give 80% power for the
within-person cross-lagged effects — employment -> later self-esteem
(``cl_selfest_employ_2``, ``cl_selfest_employ_3``) and self-esteem -> later employment
(``cl_employ_selfest_2``, ``cl_employ_selfest_3``) — with complete data and with 20%
MCAR attrition per follow-up wave (FIML)?

Population: the library entry's ``population`` block (cited employment rates 25% vs 55%
at 12 months; every other number an assumption, listed in the YAML). Employment is cut
from its latent propensity and analysed as 0/1, so the cross-lags into and out of
employment are on the linear-probability scale; the table's population values are the
values the estimator converges to on that scale.

Run: ``python simulations/employ_selfest_riclpm/run.py`` (about 3-5 minutes on 2 cores;
resumable: replicates are kept in runs.db).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]

from _common import report  # noqa: E402

from pathmodels import power  # noqa: E402

TARGETS = [
    "cl_selfest_employ_2",
    "cl_selfest_employ_3",
    "cl_employ_selfest_2",
    "cl_employ_selfest_3",
]
N = [200, 400, 600, 900, 1300, 2000, 3000]


def main(reps: int = 200, n_jobs: int = 2) -> None:
    res = power(
        "employ_selfest_riclpm",
        n=N,
        reps=reps,
        seed=2015,
        targets=TARGETS,
        tests=["wald"],
        attrition=[0.0, 0.2],
        n_jobs=n_jobs,
        store=HERE / "runs.db",
    )
    report(
        res,
        HERE,
        "Employment <-> self-esteem: RI-CLPM cross-lagged effects",
        __doc__.split("\n\n")[1],
        by=["attrition"],
    )


if __name__ == "__main__":
    main()
