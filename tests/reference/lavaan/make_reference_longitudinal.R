# Generate the lavaan reference fixtures for pathmodels' longitudinal builders.
#
#   Rscript tests/reference/lavaan/make_reference_longitudinal.R      (from the repo root)
#
# Writes tests/reference/lavaan/longitudinal/<case>.json and
# tests/reference/lavaan/longitudinal/data/<case>.csv, in the layout of
# make_reference.R (see README.md next to it); the cases live in their own folder so
# that the main fixture set stays as it is. Load them with the same loader:
#
#   import tests.reference.lavaan_cases as lc
#   lc.CASES_DIR = lc.CASES_DIR / "longitudinal"   (or monkeypatch in a test)
#   lc.load_case("riclpm4_constrained")
#
# Every lavaan syntax below is written by hand, here, independently of pathmodels'
# builders (clpm(), riclpm(), half_longitudinal()); the tests check that the builders'
# specs reproduce these fits. Data: the bundled simulated IPS panel
# (pathmodels/data/ips_panel.csv) and the simulated data of the riclpm4 and
# riclpm3_trivariate cases of make_reference.R (read from their CSVs). No new data are
# simulated here.
#
# The helper functions (writing data, fitting, JSON layout) are copied verbatim from
# make_reference.R.

suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
  library(semTools)
})

t_script <- proc.time()[["elapsed"]]

## ---------------------------------------------------------------- locations
args_all <- commandArgs(trailingOnly = FALSE)
script_arg <- sub("^--file=", "", grep("^--file=", args_all, value = TRUE))
REF_DIR <- if (length(script_arg) == 1L) {
  dirname(normalizePath(script_arg))
} else {
  "tests/reference/lavaan"
}
DATA_DIR <- file.path(REF_DIR, "data")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)

ONLY <- Sys.getenv("REF_CASES", "")
ONLY <- if (nzchar(ONLY)) trimws(strsplit(ONLY, ",")[[1]]) else character(0)
selected <- function(case) length(ONLY) == 0L || case %in% ONLY

N_BOOT <- 2000L
BOOT_ISEED <- 2024L
MC_NREP <- 20000L
N_TIMING <- 20L

say <- function(...) {
  cat(sprintf("[%7.1fs] ", proc.time()[["elapsed"]] - t_script), ..., "\n",
      sep = "")
  flush.console()
}

VERSIONS <- list(
  lavaan_version = as.character(packageVersion("lavaan")),
  R_version = R.version.string,
  semTools_version = as.character(packageVersion("semTools")),
  jsonlite_version = as.character(packageVersion("jsonlite"))
)

## ---------------------------------------------------------------- helpers

# Write a data set, read it back, return what was read (this is what gets
# fitted).  Simulated numeric columns are rounded to 6 decimals before
# writing so the CSV text is an exact representation of the data (columns in
# no_round are written as they are, with write.csv's 15 significant digits).
write_data <- function(df, case, no_round = character(0)) {
  for (v in setdiff(names(df), no_round)) {
    if (is.double(df[[v]])) df[[v]] <- round(df[[v]], 6)
  }
  path <- file.path(DATA_DIR, paste0(case, ".csv"))
  if (selected(case)) {
    write.csv(df, path, row.names = FALSE, na = "")
    back <- read.csv(path, stringsAsFactors = FALSE)
  } else {
    # not regenerating this case: round-trip through a temporary file
    tmp <- tempfile(fileext = ".csv")
    write.csv(df, tmp, row.names = FALSE, na = "")
    back <- read.csv(tmp, stringsAsFactors = FALSE)
    unlink(tmp)
  }
  stopifnot(identical(dim(back), dim(df)), identical(names(back), names(df)))
  back
}

# length-1 protection for vectors that must stay JSON arrays
arr <- function(x) I(x)

opt_value <- function(x) {
  if (is.null(x)) return(NA)
  if (is.list(x)) return(NA)
  if (length(x) == 0L) return(arr(x))
  if (length(x) == 1L) return(unname(x))
  unname(x)
}

OPTION_NAMES <- c(
  "estimator", "se", "test", "missing", "fixed.x", "conditional.x",
  "meanstructure", "information", "h1.information", "observed.information",
  "likelihood", "group.equal", "group.partial", "bootstrap", "iseed",
  "int.ov.free", "int.lv.free", "auto.fix.first", "auto.fix.single",
  "auto.var", "auto.cov.lv.x", "auto.cov.y", "std.lv", "orthogonal",
  "ceq.simple", "optim.method", "model.type", "mimic", "sample.cov.rescale"
)

fit_options <- function(fit, extra) {
  o <- lavInspect(fit, "options")
  out <- list()
  for (nm in OPTION_NAMES) out[[nm]] <- opt_value(o[[nm]])
  g <- lavInspect(fit, "group")
  out$group <- if (length(g) == 0L) NA else g
  gl <- lavInspect(fit, "group.label")
  out$group.label <- arr(as.character(gl))
  out$group.equal <- arr(as.character(o$group.equal))
  out$information <- arr(as.character(o$information))
  out$h1.information <- arr(as.character(o$h1.information))
  out$observed.information <- arr(as.character(o$observed.information))
  for (nm in names(extra)) out[[nm]] <- extra[[nm]]
  out
}

matrix_json <- function(M) {
  M <- unclass(M)
  list(names = arr(rownames(M)), matrix = unname(M))
}

vector_json <- function(v) {
  list(names = arr(names(v)), values = arr(unname(as.numeric(v))))
}

# implied / sampstat: always a list (one element per group)
moments_json <- function(obj, fit) {
  glabels <- lavInspect(fit, "group.label")
  if (length(glabels) == 0L) {
    obj <- list(obj)
    glabels <- NA
  }
  lapply(seq_along(obj), function(g) {
    el <- obj[[g]]
    res <- list(group = g, group_label = glabels[g])
    if (!is.null(el$cov)) res$cov <- matrix_json(el$cov)
    if (!is.null(el$mean)) res$mean <- vector_json(el$mean)
    res
  })
}

df_rows <- function(df) {
  df <- as.data.frame(df, stringsAsFactors = FALSE)
  rownames(df) <- NULL
  for (v in names(df)) {
    if (inherits(df[[v]], "factor")) df[[v]] <- as.character(df[[v]])
    attributes(df[[v]]) <- NULL
  }
  df
}

estimates_table <- function(fit) {
  pe <- parameterEstimates(fit, standardized = TRUE, ci = TRUE, level = 0.95,
                           rsquare = TRUE)
  pe <- as.data.frame(pe)
  # single-group fits: lavaan reports no block/group columns; fill them in
  # the way lavaan does for multi-group fits (0 for := and constraint rows,
  # which belong to no group, as in parTable())
  nogroup <- pe$op %in% c(":=", "==", "<", ">")
  if (!"block" %in% names(pe)) pe$block <- ifelse(nogroup, 0L, 1L)
  if (!"group" %in% names(pe)) pe$group <- ifelse(nogroup, 0L, 1L)
  if (!"label" %in% names(pe)) pe$label <- ""
  for (v in c("std.lv", "std.all", "std.nox")) {
    if (!v %in% names(pe)) pe[[v]] <- NA_real_
  }
  first <- c("lhs", "op", "rhs", "block", "group", "label", "est", "se", "z",
             "pvalue", "ci.lower", "ci.upper", "std.lv", "std.all", "std.nox")
  pe <- pe[, c(first, setdiff(names(pe), first))]
  df_rows(pe)
}

fit_measures <- function(fit) {
  fm <- fitMeasures(fit)
  out <- as.list(unname(as.numeric(fm)))
  names(out) <- names(fm)
  out
}

# evaluate a call string in an environment with `model` and `data`
run_call <- function(call, model, data) {
  env <- new.env(parent = globalenv())
  env$model <- model
  env$data <- data
  eval(parse(text = call)[[1]], envir = env)
}

# fit while recording (and printing) warnings
fit_with_warnings <- function(call, model, data) {
  warns <- character(0)
  fit <- withCallingHandlers(
    run_call(call, model, data),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  list(fit = fit, warnings = warns)
}

boot_section <- function(boot_call, model, data) {
  t0 <- proc.time()[["elapsed"]]
  fw <- fit_with_warnings(boot_call, model, data)
  secs <- proc.time()[["elapsed"]] - t0
  fb <- fw$fit
  B <- lavInspect(fb, "boot")
  cols <- c("lhs", "op", "rhs", "label", "est", "se", "ci.lower", "ci.upper")
  perc <- parameterEstimates(fb, boot.ci.type = "perc", level = 0.95)
  bca <- parameterEstimates(fb, boot.ci.type = "bca.simple", level = 0.95)
  list(
    n_boot = N_BOOT,
    iseed = BOOT_ISEED,
    call = boot_call,
    n_rows = nrow(B),
    n_failed = length(attr(B, "error.idx")),
    n_nonadmissible = length(attr(B, "nonadmissible")),
    seconds = secs,
    warnings = arr(unique(fw$warnings)),
    perc = df_rows(as.data.frame(perc)[, cols]),
    bca_simple = df_rows(as.data.frame(bca)[, cols])
  )
}

mc_section <- function(fit, seed) {
  set.seed(seed)
  mc <- semTools::monteCarloCI(fit, nRep = MC_NREP, level = 0.95)
  mc <- as.data.frame(mc)
  rows <- data.frame(name = rownames(mc), est = mc$est,
                     ci.lower = mc$ci.lower, ci.upper = mc$ci.upper,
                     stringsAsFactors = FALSE)
  list(n_rep = MC_NREP, seed = seed, level = 0.95,
       call = sprintf("set.seed(%d); semTools::monteCarloCI(fit, nRep = %d, level = 0.95)",
                      seed, MC_NREP),
       rows = df_rows(rows))
}

lrt_section <- function(fit_restricted, fit_free, name_restricted, name_free) {
  tab <- lavTestLRT(fit_restricted, fit_free,
                    model.names = c(name_restricted, name_free))
  tab <- as.data.frame(tab)
  rows <- cbind(data.frame(model = rownames(tab), stringsAsFactors = FALSE), tab)
  list(
    restricted = name_restricted,
    free = name_free,
    call = sprintf("lavTestLRT(fit_%s, fit_%s)", name_restricted, name_free),
    rows = df_rows(rows)
  )
}

timing_section <- function(call, model, data) {
  secs <- numeric(N_TIMING)
  for (i in seq_len(N_TIMING)) {
    t0 <- proc.time()[["elapsed"]]
    suppressWarnings(run_call(call, model, data))
    secs[i] <- proc.time()[["elapsed"]] - t0
  }
  list(fit_seconds_median = median(secs), n_repeats = N_TIMING,
       fit_seconds_min = min(secs), fit_seconds_max = max(secs))
}

FITS <- list()

# Fit one case and (if selected) write its JSON.
#   call       : the exact R call, evaluated with `model` and `data` bound
#   boot_call  : optional bootstrap call (same model and data)
#   mc_seed    : optional seed for semTools::monteCarloCI
#   lrt        : optional list(fit = <other fit>, name = <other case>,
#                              role = "restricted"|"free") -- role of THIS case
fit_case <- function(case, model, data, call, seed = NA, extra = list(),
                     boot_call = NULL, mc_seed = NULL, lrt = NULL,
                     description = "", group_var = NULL) {
  say("fitting ", case)
  fw <- fit_with_warnings(call, model, data)
  fit <- fw$fit
  FITS[[case]] <<- fit
  if (length(fw$warnings)) say("  lavaan warnings: ", paste(unique(fw$warnings), collapse = " | "))
  if (!lavInspect(fit, "converged")) say("  *** NOT CONVERGED ***")
  if (!selected(case)) return(invisible(fit))

  n <- if (is.null(group_var)) nrow(data) else
    as.integer(table(factor(data[[group_var]],
                            levels = lavInspect(fit, "group.label"))))
  out <- c(
    list(case = case, kind = "external", description = description),
    VERSIONS,
    list(
      call = call,
      options = fit_options(fit, extra),
      seed = seed,
      data_file = paste0("data/", case, ".csv"),
      n = if (length(n) > 1L) arr(n) else n,
      nobs = if (length(lavInspect(fit, "nobs")) > 1L)
        arr(as.integer(lavInspect(fit, "nobs"))) else as.integer(lavInspect(fit, "nobs")),
      syntax = model,
      warnings = arr(unique(fw$warnings)),
      converged = lavInspect(fit, "converged"),
      iterations = lavInspect(fit, "iterations"),
      partable = df_rows(parTable(fit)),
      estimates = estimates_table(fit),
      vcov = matrix_json(lavInspect(fit, "vcov")),
      fit = fit_measures(fit),
      implied = moments_json(lavInspect(fit, "implied"), fit),
      sampstat = moments_json(lavInspect(fit, "sampstat"), fit)
    )
  )
  if (!is.null(boot_call)) {
    say("  bootstrap (", N_BOOT, " draws) ...")
    out$boot <- boot_section(boot_call, model, data)
    say(sprintf("  bootstrap done in %.1f s (%d failed)", out$boot$seconds,
                out$boot$n_failed))
  }
  if (!is.null(mc_seed)) {
    say("  Monte Carlo CI (", MC_NREP, " draws) ...")
    out$mc <- mc_section(fit, mc_seed)
  }
  if (!is.null(lrt)) {
    out$lrt <- if (lrt$role == "restricted")
      lrt_section(fit, lrt$fit, case, lrt$name) else
        lrt_section(lrt$fit, fit, lrt$name, case)
  }
  out$timing <- timing_section(call, model, data)
  path <- file.path(REF_DIR, paste0(case, ".json"))
  write_json(out, path, auto_unbox = TRUE, digits = NA, na = "null",
             pretty = TRUE)
  say(sprintf("  wrote %s (chisq = %.4f, df = %g, median fit %.4f s)",
              basename(path), fitMeasures(fit, "chisq"), fitMeasures(fit, "df"),
              out$timing$fit_seconds_median))
  invisible(fit)
}

boot_call_for <- function(call) {
  # same call plus bootstrap arguments
  sub("\\)$", sprintf(", se = \"bootstrap\", bootstrap = %dL, iseed = %dL)",
                      N_BOOT, BOOT_ISEED), call)
}

## ------------------------------------------------------- this script's folder
REF_DIR <- file.path(REF_DIR, "longitudinal")
DATA_DIR <- file.path(REF_DIR, "data")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)
MAIN_DATA <- file.path(dirname(REF_DIR), "data")
PANEL_CSV <- file.path(dirname(dirname(dirname(dirname(REF_DIR)))), "pathmodels", "data",
                       "ips_panel.csv")
stopifnot(file.exists(PANEL_CSV), file.exists(file.path(MAIN_DATA, "riclpm4.csv")))

# Hamaker, Kuiper & Grasman (2015) RI-CLPM syntax for stems `vars` observed as
# <stem><sep><wave>; lagged paths labelled ar_<v>[_<t>] / cl_<to>_<from>[_<t>]
# (no wave suffix when held equal over time); `arm` predicts the within components
# at waves 2.. ("followup"); `arm_between = c(arm, covariates...)` makes the arm
# (labelled) and the covariates (unlabelled) predict the random intercepts and the
# wave-1 within components instead.
ri_syntax <- function(vars, waves, sep = "", equal_lags = FALSE, equal_rc = FALSE,
                      equal_means = FALSE, arm = NULL, arm_between = NULL) {
  col <- function(v, t) paste0(v, sep, t)
  w <- function(v, t) paste0("w", v, t)
  L <- c()
  for (v in vars)
    L <- c(L, sprintf("RI%s =~ %s", v, paste(sprintf("1*%s", col(v, waves)), collapse = " + ")))
  for (v in vars) for (t in waves) L <- c(L, sprintf("%s =~ 1*%s", w(v, t), col(v, t)))
  for (v in vars) for (t in waves) L <- c(L, sprintf("%s ~~ 0*%s", col(v, t), col(v, t)))
  if (!is.null(arm_between)) {
    a <- arm_between[1]; covs <- arm_between[-1]
    for (node in c(paste0("RI", vars), w(vars, waves[1])))
      L <- c(L, sprintf("%s ~ %s", node,
                        paste(c(sprintf("%s_%s*%s", a, node, a), covs), collapse = " + ")))
  }
  for (i in seq_along(waves)[-1]) {
    t <- waves[i]; p <- waves[i - 1]
    for (to in vars) {
      terms <- c()
      for (from in vars) {
        lab <- if (from == to) paste0("ar_", to) else paste0("cl_", to, "_", from)
        if (!equal_lags) lab <- paste0(lab, "_", t)
        terms <- c(terms, sprintf("%s*%s", lab, w(from, p)))
      }
      if (!is.null(arm)) terms <- c(terms, sprintf("%s_%s*%s", arm, w(to, t), arm))
      L <- c(L, sprintf("%s ~ %s", w(to, t), paste(terms, collapse = " + ")))
    }
  }
  for (i in seq_along(waves)) {
    t <- waves[i]
    pairs <- combn(vars, 2)
    for (k in seq_len(ncol(pairs))) {
      a <- pairs[1, k]; b <- pairs[2, k]
      mod <- if (equal_rc && i > 1) sprintf("rc_%s_%s*", a, b) else ""
      L <- c(L, sprintf("%s ~~ %s%s", w(a, t), mod, w(b, t)))
    }
  }
  for (v in vars) for (t in waves) L <- c(L, sprintf("%s ~~ %s", w(v, t), w(v, t)))
  for (a in seq_along(vars)) for (b in a:length(vars))
    L <- c(L, sprintf("RI%s ~~ RI%s", vars[a], vars[b]))
  for (a in vars) for (b in vars) L <- c(L, sprintf("RI%s ~~ 0*%s", a, w(b, waves[1])))
  for (v in vars) for (t in waves)
    L <- c(L, sprintf("%s ~ %s1", col(v, t), if (equal_means) paste0("mean_", v, "*") else ""))
  paste(L, collapse = "\n")
}

RI_CALL <- "lavaan(model, data = data, meanstructure = TRUE, int.ov.free = TRUE)"
RI_FIML_CALL <- "lavaan(model, data = data, missing = \"ml\", meanstructure = TRUE, int.ov.free = TRUE)"

panel_raw <- read.csv(PANEL_CSV, stringsAsFactors = FALSE)
riclpm4_raw <- read.csv(file.path(MAIN_DATA, "riclpm4.csv"))
clpm3_raw <- read.csv(file.path(MAIN_DATA, "clpm3_free.csv"))
tri_raw <- read.csv(file.path(MAIN_DATA, "riclpm3_trivariate.csv"))

###########################################################################
## L1/L2  reciprocal RI-CLPMs on the bundled IPS panel (3 waves, ~15% dropout
##        per follow-up wave, MAR): employment <-> self-esteem and
##        employment <-> social support; the randomised arm predicts the
##        within components at the follow-up waves; FIML.
###########################################################################
for (other in c("selfest", "support")) {
  case <- paste0("panel_riclpm_employ_", other)
  d <- write_data(panel_raw, case)
  fit_case(case, ri_syntax(c("employ", other), 1:3, sep = "_", arm = "arm"), d,
           RI_FIML_CALL, seed = 101816L,
           extra = list(missing_model = "ips_panel.csv: monotone dropout, MAR (see pathmodels/data/make_ips_panel.py)"),
           description = sprintf("Three-wave RI-CLPM employ <-> %s on the bundled IPS panel; arm predicts the follow-up within components; FIML.", other))
}

###########################################################################
## L2b self-esteem <-> social support on the panel, with the arm (labelled)
##     and age (unlabelled) predicting the random intercepts and the wave-1
##     within components; FIML.
###########################################################################
d <- write_data(panel_raw, "panel_riclpm_arm_between")
fit_case("panel_riclpm_arm_between",
         ri_syntax(c("selfest", "support"), 1:3, sep = "_", arm_between = c("arm", "age")),
         d, RI_FIML_CALL, seed = 101816L,
         extra = list(missing_model = "ips_panel.csv: monotone dropout, MAR (see pathmodels/data/make_ips_panel.py)"),
         description = "Three-wave RI-CLPM selfest <-> support on the bundled IPS panel; arm and age predict the random intercepts and the wave-1 within components; FIML.")

###########################################################################
## L3  three-wave CLPM of IPS -> employment -> quality of life on the panel:
##     the arm predicts every variable at every wave; the arm's effect on
##     qol at wave 3 decomposed into every route (:=); FIML.
###########################################################################
MOD_PANEL_CLPM <- "employ_1 ~ arm_employ1*arm
qol_1 ~ arm_qol1*arm
employ_2 ~ ar_employ_2*employ_1 + cl_employ_qol_2*qol_1 + arm_employ2*arm
qol_2 ~ cl_qol_employ_2*employ_1 + ar_qol_2*qol_1 + arm_qol2*arm
employ_3 ~ ar_employ_3*employ_2 + cl_employ_qol_3*qol_2 + arm_employ3*arm
qol_3 ~ cl_qol_employ_3*employ_2 + ar_qol_3*qol_2 + arm_qol3*arm
employ_1 ~~ qol_1
employ_2 ~~ qol_2
employ_3 ~~ qol_3
ind_arm_employ1_employ2_qol3 := arm_employ1*ar_employ_2*cl_qol_employ_3
ind_arm_employ1_qol2_qol3 := arm_employ1*cl_qol_employ_2*ar_qol_3
ind_arm_qol1_employ2_qol3 := arm_qol1*cl_employ_qol_2*cl_qol_employ_3
ind_arm_qol1_qol2_qol3 := arm_qol1*ar_qol_2*ar_qol_3
ind_arm_employ2_qol3 := arm_employ2*cl_qol_employ_3
ind_arm_qol2_qol3 := arm_qol2*ar_qol_3
mediated_arm_qol3 := ind_arm_employ1_employ2_qol3 + ind_arm_employ1_qol2_qol3 + ind_arm_qol1_employ2_qol3 + ind_arm_employ2_qol3
total_ind_arm_qol3 := ind_arm_employ1_employ2_qol3 + ind_arm_employ1_qol2_qol3 + ind_arm_qol1_employ2_qol3 + ind_arm_qol1_qol2_qol3 + ind_arm_employ2_qol3 + ind_arm_qol2_qol3
total_arm_qol3 := arm_qol3 + total_ind_arm_qol3"
d <- write_data(panel_raw, "panel_clpm_mediation")
fit_case("panel_clpm_mediation", MOD_PANEL_CLPM, d,
         "sem(model, data = data, missing = \"ml\")", seed = 101816L,
         extra = list(missing_model = "ips_panel.csv: monotone dropout, MAR (see pathmodels/data/make_ips_panel.py)"),
         description = "Three-wave CLPM arm -> employ -> qol on the bundled IPS panel with every route from the arm to qol at wave 3 as :=; FIML.")

###########################################################################
## L4  the riclpm4 data (make_reference.R, seed 1013) with lagged paths,
##     within residual covariances and grand means equal over time.
###########################################################################
d <- write_data(riclpm4_raw, "riclpm4_constrained")
fit_case("riclpm4_constrained",
         ri_syntax(c("x", "y"), 1:4, equal_lags = TRUE, equal_rc = TRUE, equal_means = TRUE),
         d, RI_CALL, seed = 1013L,
         description = "riclpm4 data; RI-CLPM with autoregressive and cross-lagged paths, within residual covariances and grand means equal over time.")

###########################################################################
## L4b the clpm3_free data (make_reference.R, seed 1012): 3-wave CLPM with
##     every class held equal over time: lagged paths, residual covariances
##     and variances, and the regression intercepts of waves 2 and 3.
###########################################################################
MOD_CLPM3_STATIONARY <- "x2 ~ ar_x*x1 + cl_x_y*y1
y2 ~ cl_y_x*x1 + ar_y*y1
x3 ~ ar_x*x2 + cl_x_y*y2
y3 ~ cl_y_x*x2 + ar_y*y2
x1 ~~ y1
x2 ~~ rc_x_y*y2
x3 ~~ rc_x_y*y3
x2 ~~ rv_x*x2
y2 ~~ rv_y*y2
x3 ~~ rv_x*x3
y3 ~~ rv_y*y3
x2 ~ int_x*1
x3 ~ int_x*1
y2 ~ int_y*1
y3 ~ int_y*1"
d <- write_data(clpm3_raw, "clpm3_stationary")
fit_case("clpm3_stationary", MOD_CLPM3_STATIONARY, d, "sem(model, data = data)", seed = 1012L,
         description = "clpm3_free data; CLPM with lagged paths, residual covariances, residual variances and intercepts equal over time (a mean structure from the intercept rows).")

###########################################################################
## L5  the riclpm3_trivariate data (make_reference.R, seed 1017): 4-wave
##     X-M-Y CLPM with lag-1 and lag-2 paths, all lagged paths equal over
##     time; lagged indirect effects x_t -> . -> y_(t+2) as :=.
###########################################################################
lag_line <- function(to, t) {
  terms <- c()
  for (lag in 1:2) {
    if (t - lag < 1) next
    for (from in c("x", "m", "y")) {
      base <- paste0(if (from == to) "ar" else "cl", if (lag == 2) "2" else "")
      lab <- if (from == to) paste0(base, "_", to) else paste0(base, "_", to, "_", from)
      terms <- c(terms, sprintf("%s*%s%d", lab, from, t - lag))
    }
  }
  sprintf("%s%d ~ %s", to, t, paste(terms, collapse = " + "))
}
L <- c()
for (t in 2:4) for (v in c("x", "m", "y")) L <- c(L, lag_line(v, t))
for (t in 1:4) L <- c(L, sprintf("x%d ~~ m%d", t, t), sprintf("x%d ~~ y%d", t, t),
                      sprintf("m%d ~~ y%d", t, t))
for (t in 1:2) {
  a <- sprintf("x%d", t); b <- sprintf("y%d", t + 2)
  L <- c(L,
         sprintf("ind_x%d_x%d_y%d := ar_x*cl_y_x", t, t + 1, t + 2),
         sprintf("ind_x%d_m%d_y%d := cl_m_x*cl_y_m", t, t + 1, t + 2),
         sprintf("ind_x%d_y%d_y%d := cl_y_x*ar_y", t, t + 1, t + 2),
         sprintf("total_ind_x%d_y%d := ind_x%d_x%d_y%d + ind_x%d_m%d_y%d + ind_x%d_y%d_y%d",
                 t, t + 2, t, t + 1, t + 2, t, t + 1, t + 2, t, t + 1, t + 2),
         sprintf("total_x%d_y%d := cl2_y_x + total_ind_x%d_y%d", t, t + 2, t, t + 2))
}
MOD_CLPM_TRI_LAG2 <- paste(L, collapse = "\n")
d <- write_data(tri_raw, "clpm_tri_lag2")
fit_case("clpm_tri_lag2", MOD_CLPM_TRI_LAG2, d, "sem(model, data = data)", seed = 1017L,
         description = "riclpm3_trivariate data; 4-wave X-M-Y CLPM with lag-1 and lag-2 paths equal over time; lagged indirect effects of x_t on y_(t+2) as :=.")

###########################################################################
## L6  half-longitudinal mediation (Cole & Maxwell, 2003) on waves 1-2 of the
##     riclpm3_trivariate data: the saturated two-wave model, a = x1 -> m2,
##     b = m1 -> y2, cp = x1 -> y2, ind = a*b.
###########################################################################
MOD_HALF <- "x2 ~ x1 + m1 + y1
m2 ~ a*x1 + m1 + y1
y2 ~ cp*x1 + b*m1 + y1
x1 ~~ m1
x1 ~~ y1
m1 ~~ y1
x2 ~~ m2
x2 ~~ y2
m2 ~~ y2
ind := a*b
total := cp + ind"
d <- write_data(tri_raw, "half_longitudinal")
fit_case("half_longitudinal", MOD_HALF, d, "sem(model, data = data)", seed = 1017L,
         description = "Two-wave (half-longitudinal) mediation on waves 1-2 of the riclpm3_trivariate data; ind = a*b.")

say("all done")
