"""Design study 1: a three-wave IPS trial with 20% attrition per wave.

Question: how many participants must be randomised for 80% power to detect the serial
indirect effect IPS -> competitive employment (6 months) -> self-esteem (12 months) ->
quality of life (12 months), when 20% of those still in the study drop out at each
follow-up and the analysis uses FIML?

Population (``POPULATION`` below). Cited (Winsper et al., 2020, via the logic model):
IPS roughly doubles competitive employment, rates near 55-60% vs 20-25%; the 12-month
rates are the conservative ends, 55% vs 25%. Assumptions, not evidence: 6-month rates
40% vs 18%; nobody works at baseline (IPS enrols people out of work, so baseline
employment is not a variable); every other number (residual variance 1 for continuous
variables, stabilities 0.5/0.4, employment -> self-esteem 0.30 per wave, self-esteem ->
QoL 0.30, employment -> QoL 0.10, no direct effect of IPS on self-esteem or QoL);
dropout is MAR: the odds of leaving fall by a factor e^0.5 per SD of the previous wave's
self-esteem and QoL. Employment enters the analysis as a 0/1 variable (linear
probability scale), so the indirect effect is on that mixed scale.

Run: ``python simulations/ips_trial_3wave/run.py`` (about 2-4 minutes on 2 cores;
resumable: replicates are kept in runs.db).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]

from _common import report  # noqa: E402

from pathmodels import power  # noqa: E402
from pathmodels.simulate import Attrition, Binary  # noqa: E402

POPULATION = """
# wave 2 (6 months)
employ_2 ~ a*arm
selfest_2 ~ 0.50*selfest_1 + 0.30*employ_2 + 0*arm
qol_2 ~ 0.40*qol_1 + 0.30*selfest_2 + 0.10*employ_2 + 0*arm
# wave 3 (12 months)
employ_3 ~ 1.20*employ_2 + 0.15*selfest_2 + arm
selfest_3 ~ 0.50*selfest_2 + d*0.30*employ_2 + 0.30*employ_3 + 0*arm
qol_3 ~ 0.40*qol_2 + b*0.30*selfest_3 + 0.10*employ_3 + cp*0*arm
# baseline
selfest_1 ~~ 0.30*qol_1
ind_serial := a*d*b
"""

BINARY = {
    "employ_2": Binary(rates=(0.18, 0.40)),  # assumption
    "employ_3": Binary(rates=(0.25, 0.55)),
}  # cited conservative ends
ATTRITION = Attrition(0.2, mechanism="mar", strength=-0.5)
N = [300, 500, 700, 900, 1200, 1600]


def main(reps: int = 400, n_jobs: int = 2) -> None:
    res = power(
        POPULATION,
        n=N,
        reps=reps,
        seed=2020,
        targets=["ind_serial"],
        tests=["joint", "mc", "sobel"],
        binary=BINARY,
        arms=(1, 1),
        attrition=ATTRITION,
        n_jobs=n_jobs,
        store=HERE / "runs.db",
    )
    report(
        res,
        HERE,
        "Three-wave IPS trial, 20% attrition per wave: serial indirect effect",
        __doc__.split("\n\n")[1],
    )


if __name__ == "__main__":
    main()
