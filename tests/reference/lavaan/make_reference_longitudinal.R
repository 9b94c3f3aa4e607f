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
# The helper functions (writing data, fitting, JSON layout) are shared with
# make_reference.R through reference_helpers.R.

## ---------------------------------------------------------------- shared helpers
local({
  args_all <- commandArgs(trailingOnly = FALSE)
  script_arg <- sub("^--file=", "", grep("^--file=", args_all, value = TRUE))
  here <- if (length(script_arg) == 1L) dirname(normalizePath(script_arg)) else
    file.path(getwd(), "tests", "reference", "lavaan")
  source(file.path(here, "reference_helpers.R"), local = globalenv())
})

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
