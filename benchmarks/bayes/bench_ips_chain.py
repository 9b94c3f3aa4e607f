"""Bayesian fits of the IPS chain: pathmodels vs pathmc vs a hand-written PyMC model.

Run from the repository root::

    /work/venv/bin/python benchmarks/bayes/bench_ips_chain.py [--repeats 3]

Data: the lavaan fixture ``tests/reference/lavaan/data/ips_chain.csv`` (N = 600)::

    employ ~ a*arm + age;  selfest ~ b1*employ + age;  support ~ b2*employ
    qol ~ c1*selfest + c2*support + age;  selfest ~~ support
    ind_total := a*b1*c1 + a*b2*c2

Contenders, each sampled with 4 chains x 1000 draws after 1000 tuning steps, 2 chains
in parallel (``cores=2``), ``target_accept=0.8`` (PyMC's default; pathmodels' own default
is 0.9), BLAS/OpenMP pinned to one thread (threadpoolctl), by PyMC's NUTS and by nutpie:

* ``pathmodels`` — ``pathmodels.fit(..., backend="pymc")`` (default priors);
* ``pathmc`` — ``pathmc.model(spec, data)`` (PyPI package, its default priors; residual
  covariance as MvNormal with an LKJ prior);
* ``hand (conditional)`` — a plain PyMC model: one ``pm.Normal`` likelihood per
  equation over the 600 rows, the residual covariance written as a regression of the
  support residual on the self-esteem residual; ``hand (MvNormal+LKJ)`` — the same with
  a bivariate normal and ``LKJCholeskyCov`` for (selfest, support).

Every run is a fresh subprocess (one warm-up round first fills the on-disk compile
caches for all, so that no contender is timed cold while another is warm); rounds are
interleaved and the median of ``--repeats`` is reported. Timed separately: *compile* =
model construction + compilation + sampler set-up (wall time minus sampling time) and
*sampling* = PyMC's ``sampling_time`` / nutpie's sampling wall time.

ESS: for every contender the posterior draws are mapped to the same 13 lavaan
parameters (8 regressions, 4 residual variances, the residual covariance) and bulk ESS
is computed with the same function (arviz-stats); "slowest" is the minimum over those
13. The criterion (issue 6): ESS/s of the slowest parameter >= 2x pathmc's and >= 0.8x
the hand-written model's, on the same machine in the same run. The posterior means of
the 13 parameters are checked against lavaan's ML estimates (within 2 posterior SD)
before a time counts.

Writes ``benchmarks/bayes/results/ips_chain.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
RESULTS = Path(__file__).resolve().parent / "results"

SYNTAX = """
employ ~ a*arm + age
selfest ~ b1*employ + age
support ~ b2*employ
qol ~ c1*selfest + c2*support + age
selfest ~~ support
ind_total := a*b1*c1 + a*b2*c2
"""
PARAMS = ["a", "employ~age", "b1", "selfest~age", "b2", "c1", "c2", "qol~age",
          "selfest~~support", "employ~~employ", "selfest~~selfest", "support~~support",
          "qol~~qol"]
CONTENDERS = ["pathmodels", "pathmc", "hand (conditional)", "hand (MvNormal+LKJ)"]
SAMPLERS = ["pymc", "nutpie"]
DRAWS, TUNE, CHAINS, CORES = 1000, 1000, 4, 2
TARGET_ACCEPT = 0.8  # PyMC's and nutpie's default, used for every contender


# ---------------------------------------------------------------------- workers
def _data() -> Any:
    from tests.reference.lavaan_cases import load_case

    return load_case("ips_chain").data


def _hand_model(data: Any, mvn: bool) -> Any:
    import numpy as np
    import pymc as pm

    arm, age = data["arm"].to_numpy(), data["age"].to_numpy()
    e, se, ss, q = (data[c].to_numpy() for c in ("employ", "selfest", "support", "qol"))
    with pm.Model() as model:
        a = pm.Normal("a", 0, 2.5)
        g1 = pm.Normal("employ~age", 0, 2.5)
        i1 = pm.Normal("i_employ", 0, 5)
        s1 = pm.HalfNormal("s_employ", 2.5)
        pm.Normal("employ", i1 + a * arm + g1 * age, s1, observed=e)
        b1 = pm.Normal("b1", 0, 2.5)
        g2 = pm.Normal("selfest~age", 0, 2.5)
        i2 = pm.Normal("i_selfest", 0, 5)
        b2 = pm.Normal("b2", 0, 2.5)
        i3 = pm.Normal("i_support", 0, 5)
        mu2 = i2 + b1 * e + g2 * age
        mu3 = i3 + b2 * e
        if mvn:
            chol, _, _ = pm.LKJCholeskyCov("chol", n=2, eta=2.0,
                                           sd_dist=pm.HalfNormal.dist(2.5), compute_corr=True)
            pm.MvNormal("selfest_support", mu=pm.math.stack([mu2, mu3], axis=1), chol=chol,
                        observed=np.column_stack([se, ss]))
            pm.Deterministic("cov", chol @ chol.T)
        else:
            s2 = pm.HalfNormal("s_selfest", 2.5)
            s3 = pm.HalfNormal("s_support", 2.5)
            lam = pm.Normal("lam", 0, 2.5)
            pm.Normal("selfest", mu2, s2, observed=se)
            pm.Normal("support", mu3 + lam * (se - mu2), s3, observed=ss)
        c1 = pm.Normal("c1", 0, 2.5)
        c2 = pm.Normal("c2", 0, 2.5)
        g3 = pm.Normal("qol~age", 0, 2.5)
        i4 = pm.Normal("i_qol", 0, 5)
        s4 = pm.HalfNormal("s_qol", 2.5)
        pm.Normal("qol", i4 + c1 * se + c2 * ss + g3 * age, s4, observed=q)
    return model


def _hand_params(post: Any, mvn: bool) -> dict[str, Any]:
    out = {k: post[k].values for k in ("a", "employ~age", "b1", "selfest~age", "b2", "c1", "c2",
                                       "qol~age")}
    out["employ~~employ"] = post["s_employ"].values ** 2
    out["qol~~qol"] = post["s_qol"].values ** 2
    if mvn:
        cov = post["cov"].values
        out["selfest~~selfest"] = cov[..., 0, 0]
        out["support~~support"] = cov[..., 1, 1]
        out["selfest~~support"] = cov[..., 0, 1]
    else:
        s2, s3, lam = (post[k].values for k in ("s_selfest", "s_support", "lam"))
        out["selfest~~selfest"] = s2 ** 2
        out["selfest~~support"] = lam * s2 ** 2
        out["support~~support"] = s3 ** 2 + lam ** 2 * s2 ** 2
    return out


def _pathmc_params(post: Any) -> dict[str, Any]:
    def beta(var: str, pred: str) -> Any:
        da = post[f"beta_{var}"]
        dim = next(d for d in da.dims if d.endswith("_predictors"))
        return da.sel({dim: pred}).values

    out = {"a": beta("employ", "arm"), "employ~age": beta("employ", "age"),
           "b1": beta("selfest", "employ"), "selfest~age": beta("selfest", "age"),
           "b2": beta("support", "employ"), "c1": beta("qol", "selfest"),
           "c2": beta("qol", "support"), "qol~age": beta("qol", "age")}
    out["employ~~employ"] = post["sigma_employ"].values ** 2
    out["qol~~qol"] = post["sigma_qol"].values ** 2
    sds = post["chol_selfest_support_stds"].values
    corr = post["chol_selfest_support_corr"].values
    out["selfest~~selfest"] = sds[..., 0] ** 2
    out["support~~support"] = sds[..., 1] ** 2
    out["selfest~~support"] = corr[..., 0, 1] * sds[..., 0] * sds[..., 1]
    return out


def _sample_model(model: Any, sampler: str, seed: int, var_names: list[str] | None = None
                  ) -> tuple[Any, float]:
    """(posterior DataTree, sampling seconds) with PyMC NUTS or nutpie."""
    import pymc as pm

    if sampler == "pymc":
        idata = pm.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, cores=CORES, random_seed=seed,
                          nuts_sampler="pymc", model=model, progressbar=False, quiet=True,
                          compute_convergence_checks=False, var_names=var_names,
                          target_accept=TARGET_ACCEPT)
        return idata, float(idata["posterior"].attrs["sampling_time"])
    import nutpie

    compiled = nutpie.compile_pymc_model(model, var_names=var_names)
    t0 = time.perf_counter()
    idata = nutpie.sample(compiled, draws=DRAWS, tune=TUNE, chains=CHAINS, cores=CORES,
                          seed=seed, progress_bar=False, save_warmup=False,
                          target_accept=TARGET_ACCEPT)
    return idata, time.perf_counter() - t0


def worker(contender: str, sampler: str, seed: int) -> dict[str, Any]:
    """One timed fit; returns times and the 13 parameters' draws summarised."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")
    data = _data()
    # Load every library that brings a BLAS/OpenMP pool *before* limiting the pools:
    # threadpoolctl only limits libraries already loaded (scipy's OpenBLAS loaded later
    # would run multithreaded in each of the 2 sampling processes, ~100x slower here).
    import nutpie  # noqa: F401
    import pathmc  # noqa: F401
    import pymc  # noqa: F401
    import scipy.linalg  # noqa: F401

    t0 = time.perf_counter()
    with threadpool_limits(limits=1):
        if contender == "pathmodels":
            import pathmodels as pm

            res = pm.fit(SYNTAX, data, backend="pymc", draws=DRAWS, tune=TUNE, chains=CHAINS,
                         sampler=sampler, seed=seed, target_accept=TARGET_ACCEPT)
            wall = time.perf_counter() - t0
            post = res.idata["posterior"]
            params = {k: post[k].values for k in PARAMS}
            sampling = float(res.info["sampling_seconds"])
            ind = post["ind_total"].values
        elif contender == "pathmc":
            import pathmc

            spec = SYNTAX.replace("ind_total := a*b1*c1 + a*b2*c2", "")
            model = pathmc.model(spec, data).pymc_model
            idata, sampling = _sample_model(model, sampler, seed)
            wall = time.perf_counter() - t0
            params = _pathmc_params(idata["posterior"])
            ind = params["a"] * (params["b1"] * params["c1"] + params["b2"] * params["c2"])
        else:
            mvn = "MvNormal" in contender
            model = _hand_model(data, mvn)
            idata, sampling = _sample_model(model, sampler, seed)
            wall = time.perf_counter() - t0
            params = _hand_params(idata["posterior"], mvn)
            ind = params["a"] * (params["b1"] * params["c1"] + params["b2"] * params["c2"])
    import arviz_stats as azs

    ess = {k: float(azs.ess(np.asarray(v), chain_axis=0, draw_axis=1, method="bulk"))
           for k, v in params.items()}
    slowest = min(ess, key=ess.get)  # type: ignore[arg-type]
    return {
        "contender": contender, "sampler": sampler, "seed": seed,
        "wall_s": wall, "sampling_s": sampling, "compile_s": wall - sampling,
        "ess": ess, "slowest": slowest, "min_ess": ess[slowest],
        "ess_per_s": ess[slowest] / sampling,
        "ind_ess": float(azs.ess(np.asarray(ind), chain_axis=0, draw_axis=1, method="bulk")),
        "mean": {k: float(np.mean(v)) for k, v in params.items()},
        "sd": {k: float(np.std(v, ddof=1)) for k, v in params.items()},
    }


# ---------------------------------------------------------------------- driver
def _run(contender: str, sampler: str, seed: int) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--worker", contender, sampler, str(seed)],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{contender}/{sampler} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check(result: dict[str, Any]) -> bool:
    from tests.reference.lavaan_cases import load_case

    ref = load_case("ips_chain").estimates
    ok = True
    for name in PARAMS:
        if "~~" in name:
            lhs, rhs = name.split("~~")
            row = ref[(ref["op"] == "~~") & (ref["lhs"] == lhs) & (ref["rhs"] == rhs)]
        elif "~" in name:
            lhs, rhs = name.split("~")
            row = ref[(ref["op"] == "~") & (ref["lhs"] == lhs) & (ref["rhs"] == rhs)]
        else:
            row = ref[ref["label"] == name]
        est = float(row["est"].iloc[0])
        ok &= abs(result["mean"][name] - est) < 2 * result["sd"][name]
    return bool(ok)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in ("pymc", "pytensor", "numba", "nutpie", "pathmc", "arviz", "numpy"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - report what is installed
            out[pkg] = "not installed"
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=3)
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], int(args.worker[2]))))
        return
    samplers = args.samplers.split(",")
    started = _dt.datetime.now().isoformat(timespec="seconds")
    load0 = os.getloadavg()
    for sampler in samplers:  # warm-up round: fills the on-disk compile caches
        for c in CONTENDERS:
            print(f"warm-up {c} / {sampler}", file=sys.stderr, flush=True)
            _run(c, sampler, 1)
    runs: list[dict[str, Any]] = []
    for rep in range(args.repeats):
        for sampler in samplers:
            for c in CONTENDERS:
                r = _run(c, sampler, 100 + rep)
                r["agrees_with_lavaan"] = _check(r)
                print(f"{c:22s} {sampler:6s} compile {r['compile_s']:6.1f} s  sampling "
                      f"{r['sampling_s']:6.2f} s  min ESS {r['min_ess']:7.0f} ({r['slowest']})"
                      f"  ESS/s {r['ess_per_s']:7.0f}", file=sys.stderr, flush=True)
                runs.append(r)
    rows = []
    for sampler in samplers:
        for c in CONTENDERS:
            rs = [r for r in runs if r["contender"] == c and r["sampler"] == sampler]
            rows.append({
                "contender": c, "sampler": sampler,
                "compile_s": statistics.median(r["compile_s"] for r in rs),
                "sampling_s": statistics.median(r["sampling_s"] for r in rs),
                "min_ess": statistics.median(r["min_ess"] for r in rs),
                "slowest": statistics.mode(r["slowest"] for r in rs),
                "ess_per_s": statistics.median(r["ess_per_s"] for r in rs),
                "ind_ess": statistics.median(r["ind_ess"] for r in rs),
                "agrees": all(r["agrees_with_lavaan"] for r in rs),
            })
    verdicts = []
    for sampler in samplers:
        by = {r["contender"]: r for r in rows if r["sampler"] == sampler}
        ours = by["pathmodels"]["ess_per_s"]
        verdicts.append({
            "sampler": sampler,
            "vs_pathmc": ours / by["pathmc"]["ess_per_s"],
            "vs_hand": ours / by["hand (conditional)"]["ess_per_s"],
            "vs_hand_mvn": ours / by["hand (MvNormal+LKJ)"]["ess_per_s"],
        })
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(),
               "load_before": load0, "load_after": os.getloadavg(), "started": started,
               "versions": _versions()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ips_chain.json").write_text(json.dumps(
        {"rows": rows, "verdicts": verdicts, "runs": runs, "machine": machine}, indent=1))
    lines = ["# IPS chain (N = 600): ESS/s of the slowest of 13 parameters", "",
             f"4 chains x {DRAWS} draws (tune {TUNE}), cores={CORES}, BLAS 1 thread; median of "
             f"{args.repeats} interleaved runs, each in a fresh process.", "",
             "| contender | sampler | compile s | sampling s | min ESS (bulk) | slowest | "
             "ESS/s | ESS of ind_total | agrees with lavaan |",
             "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['contender']} | {r['sampler']} | {r['compile_s']:.1f} | "
                     f"{r['sampling_s']:.2f} | {r['min_ess']:.0f} | {r['slowest']} | "
                     f"{r['ess_per_s']:.0f} | {r['ind_ess']:.0f} | {r['agrees']} |")
    lines += ["", "| sampler | ours / pathmc (target >= 2) | ours / hand conditional "
              "(target >= 0.8) | ours / hand MvNormal+LKJ |", "| --- | ---: | ---: | ---: |"]
    for v in verdicts:
        lines.append(f"| {v['sampler']} | {v['vs_pathmc']:.2f} | {v['vs_hand']:.2f} | "
                     f"{v['vs_hand_mvn']:.2f} |")
    lines += ["", f"Machine: {machine['platform']}, {machine['cpus']} CPUs, load average "
              f"before {load0[0]:.1f}, after {machine['load_after'][0]:.1f} (shared machine: "
              "other jobs were running; runs are interleaved so that load affects all "
              "contenders alike).", "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())]
    (RESULTS / "ips_chain.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
