"""Whole-process job: 2000-draw bootstrap of the IPS chain, percentile and BCa intervals.

Paired with ``boot_ips_chain.R`` (lavaan doing the same) to time both as whole processes,
start-up and imports included::

    /usr/bin/time -v /work/venv/bin/python benchmarks/boot_ips_chain.py
    /usr/bin/time -v Rscript benchmarks/boot_ips_chain.R
"""

import json
import sys
import warnings
from pathlib import Path

import pandas as pd

import pathmodels as pm

REF = Path(__file__).resolve().parent.parent / "tests" / "reference" / "lavaan"
meta = json.loads((REF / "ips_chain.json").read_text())
data = pd.read_csv(REF / meta["data_file"])
spec = pm.Spec.from_syntax(meta["syntax"], auto=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", pm.PathModelsWarning)
    perc = pm.fit(spec, data, se="bootstrap", n_boot=2000, ci="percentile", seed=1)
    bca = pm.fit(spec, data, se="bootstrap", n_boot=2000, ci="bca", seed=1)
for name, res in (("percentile", perc), ("bca", bca)):
    row = res.estimates.query("lhs == 'ind_total'").iloc[0]
    print(
        f"{name}: ind_total {row.est:.4f} [{row.ci_lower:.4f}, {row.ci_upper:.4f}]", file=sys.stdout
    )
