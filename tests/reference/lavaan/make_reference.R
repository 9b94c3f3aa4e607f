# Generate the lavaan reference fixtures for pathmodels.
#
#   Rscript tests/reference/lavaan/make_reference.R          (from the repo root)
#
# Optional: REF_CASES=simple_mediation,cfa_hs Rscript ... regenerates only the
# listed cases (every model is still fitted, because some cases need another
# case's fit for a likelihood-ratio test, but only the listed cases get their
# bootstrap / Monte Carlo / timing run and their files written).
#
# Every data set is simulated here with its own set.seed() (or taken from
# lavaan's bundled data), rounded to 6 decimals, written to data/<case>.csv,
# READ BACK from that CSV and only then fitted, so the numbers lavaan saw are
# exactly the numbers in the CSV.  For each case a JSON file <case>.json is
# written next to this script; see README.md for its layout.
#
# The JSON files and their contents are *external* reference output: they are
# what lavaan computes, never edited by hand.

## ---------------------------------------------------------------- shared helpers
local({
  args_all <- commandArgs(trailingOnly = FALSE)
  script_arg <- sub("^--file=", "", grep("^--file=", args_all, value = TRUE))
  here <- if (length(script_arg) == 1L) dirname(normalizePath(script_arg)) else
    file.path(getwd(), "tests", "reference", "lavaan")
  source(file.path(here, "reference_helpers.R"), local = globalenv())
})

###########################################################################
## 1/2/9/11  simple mediation (and variants on the same data)
##   seed 1005, N = 300
##   x ~ N(0,1);  m = 0.4 x + e_m;  y = 0.35 m + 0.1 x + e_y;  e ~ N(0,1)
##   population: a = .4, b = .35, cp = .1, ind = .14, total = .24
##   (seed 1001 was tried first: its sample cp = .233 > .2 would have left the
##   inequality constraint of case inequality_constraint inactive; seed 1005
##   gives sample cp = .089, so cp > 0.2 is active there.)
###########################################################################
set.seed(1005)
n <- 300
x <- rnorm(n)
m <- 0.4 * x + rnorm(n)
y <- 0.35 * m + 0.1 * x + rnorm(n)
simple_raw <- data.frame(x = x, m = m, y = y)

MOD_SIMPLE <- "m ~ a*x
y ~ b*m + cp*x
ind := a*b
total := cp + a*b"

d <- write_data(simple_raw, "simple_mediation")
call <- "sem(model, data = data)"
fit_case("simple_mediation", MOD_SIMPLE, d, call, seed = 1005L,
         description = "Simple mediation x -> m -> y, ML, delta-method SEs; bootstrap and Monte Carlo CIs for ind/total.",
         boot_call = boot_call_for(call), mc_seed = 5001L)

d <- write_data(simple_raw, "simple_mediation_means")
fit_case("simple_mediation_means", MOD_SIMPLE, d,
         "sem(model, data = data, meanstructure = TRUE)", seed = 1005L,
         description = "simple_mediation data and model with meanstructure = TRUE (intercepts).")

## 9. inequality constraint cp > 0.2 (true cp = .1, so it is active)
MOD_INEQ <- paste0(MOD_SIMPLE, "\ncp > 0.2")
d <- write_data(simple_raw, "inequality_constraint")
fit_case("inequality_constraint", MOD_INEQ, d, "sem(model, data = data)",
         seed = 1005L,
         description = "simple_mediation data with the inequality constraint cp > 0.2 (active at the solution; true cp = .1).")

## 11. FIML: ~20% MAR missingness in m and in y (independently), with
##   P(missing) = plogis(-1.5 + 0.8 x); missingness seed 1011
set.seed(1011)
fiml_raw <- simple_raw
p_miss <- plogis(-1.5 + 0.8 * fiml_raw$x)
fiml_raw$m[runif(n) < p_miss] <- NA
fiml_raw$y[runif(n) < p_miss] <- NA
say(sprintf("fiml_mediation: %.1f%% of m, %.1f%% of y missing, %d complete rows",
            100 * mean(is.na(fiml_raw$m)), 100 * mean(is.na(fiml_raw$y)),
            sum(complete.cases(fiml_raw))))
d <- write_data(fiml_raw, "fiml_mediation")
fit_case("fiml_mediation", MOD_SIMPLE, d,
         "sem(model, data = data, missing = \"ml\")", seed = 1011L,
         extra = list(missing_model = "P(m missing) = P(y missing) = plogis(-1.5 + 0.8*x), independently; data seed 1005, missingness seed 1011"),
         description = "simple_mediation data with MAR missingness in m and y (depends on x); FIML (missing = 'ml').")
d <- write_data(fiml_raw, "fiml_mediation_listwise")
fit_case("fiml_mediation_listwise", MOD_SIMPLE, d,
         "sem(model, data = data, missing = \"listwise\")", seed = 1011L,
         extra = list(missing_model = "same data as fiml_mediation"),
         description = "fiml_mediation data fitted with listwise deletion.")

###########################################################################
## 3/8  parallel mediation
##   seed 1003, N = 250
##   x ~ N(0,1); (e1, e2) ~ N(0, [[1,.3],[.3,1]])
##   m1 = .5 x + e1;  m2 = .3 x + e2;  y = .4 m1 + .3 m2 + .1 x + e_y
##   population: ind1 = .20, ind2 = .09, total_ind = .29, total = .39, diff = .11
###########################################################################
set.seed(1003)
n <- 250
x <- rnorm(n)
e1 <- rnorm(n)
e2 <- 0.3 * e1 + sqrt(1 - 0.3^2) * rnorm(n)
m1 <- 0.5 * x + e1
m2 <- 0.3 * x + e2
y <- 0.4 * m1 + 0.3 * m2 + 0.1 * x + rnorm(n)
parallel_raw <- data.frame(x = x, m1 = m1, m2 = m2, y = y)

MOD_PARALLEL <- "m1 ~ a1*x
m2 ~ a2*x
y ~ b1*m1 + b2*m2 + cp*x
m1 ~~ m2
ind1 := a1*b1
ind2 := a2*b2
total_ind := ind1 + ind2
total := cp + ind1 + ind2
diff := ind1 - ind2"

d <- write_data(parallel_raw, "parallel_mediation")
call <- "sem(model, data = data)"
fit_par <- fit_case("parallel_mediation", MOD_PARALLEL, d, call, seed = 1003L,
                    description = "Parallel mediation x -> (m1, m2) -> y with correlated mediator residuals; bootstrap and Monte Carlo CIs.",
                    boot_call = boot_call_for(call), mc_seed = 5003L)

MOD_EQ <- "m1 ~ a1*x
m2 ~ a2*x
y ~ b*m1 + b*m2 + cp*x
a1 == a2
m1 ~~ m2
ind1 := a1*b
ind2 := a2*b"
d <- write_data(parallel_raw, "equality_constraints")
fit_case("equality_constraints", MOD_EQ, d, "sem(model, data = data)",
         seed = 1003L,
         lrt = list(fit = fit_par, name = "parallel_mediation", role = "restricted"),
         description = "parallel_mediation data; b1 = b2 via a shared label, a1 == a2 via an explicit constraint; LRT against parallel_mediation.")

###########################################################################
## 4  serial mediation
##   seed 1004, N = 300
##   x ~ N(0,1); m1 = .5 x + e; m2 = .4 m1 + .2 x + e; y = .35 m2 + .2 m1 + .1 x + e
##   population: a1 = .5, a2 = .2, d21 = .4, b1 = .2, b2 = .35, cp = .1
###########################################################################
set.seed(1004)
n <- 300
x <- rnorm(n)
m1 <- 0.5 * x + rnorm(n)
m2 <- 0.4 * m1 + 0.2 * x + rnorm(n)
y <- 0.35 * m2 + 0.2 * m1 + 0.1 * x + rnorm(n)
serial_raw <- data.frame(x = x, m1 = m1, m2 = m2, y = y)

MOD_SERIAL <- "m1 ~ a1*x
m2 ~ d21*m1 + a2*x
y ~ b1*m1 + b2*m2 + cp*x
ind1 := a1*b1
ind2 := a2*b2
ind3 := a1*d21*b2
total_ind := ind1 + ind2 + ind3
total := cp + ind1 + ind2 + ind3"
d <- write_data(serial_raw, "serial_mediation")
fit_case("serial_mediation", MOD_SERIAL, d, "sem(model, data = data)",
         seed = 1004L,
         description = "Serial mediation x -> m1 -> m2 -> y with all paths; three specific indirect effects.")

###########################################################################
## 5  IPS trial chain
##   seed 1105, N = 600
##   arm ~ Bernoulli(.5) (0/1); age ~ N(0,1) (standardised)
##   employ  = 0.6 arm + 0.1 age + e                (continuous propensity)
##   selfest = 0.35 employ + 0.1 age + u1
##   support = 0.3 employ + u2;   (u1, u2) ~ N(0, [[1,.2],[.2,1]])
##   qol     = 0.3 selfest + 0.25 support + 0.1 age + e
##   population: ind_se = .6*.35*.3 = .063, ind_ss = .6*.3*.25 = .045,
##               ind_total = .108;  model df = 5
###########################################################################
set.seed(1105)
n <- 600
arm <- rbinom(n, 1, 0.5)
age <- rnorm(n)
employ <- 0.6 * arm + 0.1 * age + rnorm(n)
u1 <- rnorm(n)
u2 <- 0.2 * u1 + sqrt(1 - 0.2^2) * rnorm(n)
selfest <- 0.35 * employ + 0.1 * age + u1
support <- 0.3 * employ + u2
qol <- 0.3 * selfest + 0.25 * support + 0.1 * age + rnorm(n)
ips_raw <- data.frame(arm = as.integer(arm), age = age, employ = employ,
                      selfest = selfest, support = support, qol = qol)

MOD_IPS <- "employ ~ a*arm + age
selfest ~ b1*employ + age
support ~ b2*employ
qol ~ c1*selfest + c2*support + age
selfest ~~ support
ind_se := a*b1*c1
ind_ss := a*b2*c2
ind_total := ind_se + ind_ss"
d <- write_data(ips_raw, "ips_chain")
call <- "sem(model, data = data)"
fit_case("ips_chain", MOD_IPS, d, call, seed = 1105L,
         description = "Simulated IPS trial: arm -> employment -> (self-esteem, support) -> quality of life, age-adjusted; over-identified (df = 5); bootstrap (timed) and Monte Carlo CIs.",
         boot_call = boot_call_for(call), mc_seed = 5005L)

###########################################################################
## 6  CFA, HolzingerSwineford1939 (lavaan's data, N = 301)
###########################################################################
hs <- lavaan::HolzingerSwineford1939[, c("id", "sex", "ageyr", "agemo",
                                         "school", "grade", paste0("x", 1:9))]
hs$school <- as.character(hs$school)
MOD_CFA <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
d <- write_data(hs, "cfa_hs", no_round = names(hs))  # keep lavaan's values
fit_case("cfa_hs", MOD_CFA, d, "cfa(model, data = data)", seed = NA,
         extra = list(data_source = "lavaan::HolzingerSwineford1939"),
         description = "Three-factor CFA on lavaan's HolzingerSwineford1939 data (the classic example).")

###########################################################################
## 7  SEM, PoliticalDemocracy (lavaan's data, N = 75)
###########################################################################
pd <- lavaan::PoliticalDemocracy[, c(paste0("y", 1:8), paste0("x", 1:3))]
MOD_PD <- "ind60 =~ x1 + x2 + x3
dem60 =~ y1 + a*y2 + b*y3 + c*y4
dem65 =~ y5 + a*y6 + b*y7 + c*y8
dem60 ~ g1*ind60
dem65 ~ g2*ind60 + g3*dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
ind := g1*g3
total := g2 + g1*g3"
d <- write_data(pd, "sem_pd", no_round = names(pd))  # keep lavaan's values
fit_case("sem_pd", MOD_PD, d, "sem(model, data = data)", seed = NA,
         extra = list(data_source = "lavaan::PoliticalDemocracy"),
         description = "Classic PoliticalDemocracy SEM with equal loadings (a, b, c) over time, correlated residuals and an indirect effect of ind60 on dem65.")

###########################################################################
## 10  moderated mediation (first-stage moderation)
##   seed 1010, N = 400
##   x, w ~ N(0,1) independent; xw = x*w (computed from the rounded x, w)
##   m = .4 x + .2 w + .25 xw + e;  y = .4 m + .1 x + .1 w + e
##   population: index = .25*.4 = .10; conditional ind at w: (.4 + .25 w) .4
###########################################################################
set.seed(1010)
n <- 400
x <- round(rnorm(n), 6)
w <- round(rnorm(n), 6)
xw <- x * w
m <- 0.4 * x + 0.2 * w + 0.25 * xw + rnorm(n)
y <- 0.4 * m + 0.1 * x + 0.1 * w + rnorm(n)
modmed_raw <- data.frame(x = x, w = w, xw = xw, m = m, y = y)
d <- write_data(modmed_raw, "moderated_mediation", no_round = "xw")
stopifnot(max(abs(d$xw - d$x * d$w)) < 1e-12)
fmt <- function(v) sprintf("%.10f", v)
w_mean_s <- fmt(mean(d$w))
w_sd_s <- fmt(sd(d$w))
w_lo_s <- fmt(as.numeric(w_mean_s) - as.numeric(w_sd_s))
w_hi_s <- fmt(as.numeric(w_mean_s) + as.numeric(w_sd_s))
MOD_MODMED <- sprintf("m ~ a1*x + a2*w + a3*xw
y ~ b*m + cp*x + w
index := a3*b
ind_lo := (a1 + a3*(%s))*b
ind_mid := (a1 + a3*(%s))*b
ind_hi := (a1 + a3*(%s))*b", w_lo_s, w_mean_s, w_hi_s)
call <- "sem(model, data = data)"
fit_case("moderated_mediation", MOD_MODMED, d, call, seed = 1010L,
         extra = list(
           w_mean = as.numeric(w_mean_s), w_sd = as.numeric(w_sd_s),
           w_lo = as.numeric(w_lo_s), w_mid = as.numeric(w_mean_s),
           w_hi = as.numeric(w_hi_s),
           w_values_note = "w_sd is sd() with N-1; values rounded to 10 decimals exactly as written into the syntax; w_lo = w_mean - w_sd, w_hi = w_mean + w_sd"),
         description = "First-stage moderated mediation with a precomputed product xw; index of moderated mediation and conditional indirect effects at mean-sd, mean, mean+sd of w; bootstrap and Monte Carlo CIs.",
         boot_call = boot_call_for(call), mc_seed = 5010L)

###########################################################################
## 12  three-wave bivariate CLPM
##   seed 1012, N = 500
##   (x1, y1) ~ N(0, [[1,.3],[.3,1]])
##   x_t = .5 x_{t-1} + .1 y_{t-1} + u_t;  y_t = .5 y_{t-1} + .2 x_{t-1} + v_t
##   (u_t, v_t) ~ N(0, [[.7,.2],[.2,.7]])   (within-wave residual covariance)
###########################################################################
set.seed(1012)
n <- 500
S1 <- matrix(c(1, .3, .3, 1), 2)
Su <- matrix(c(.7, .2, .2, .7), 2)
w1 <- MASS::mvrnorm(n, c(0, 0), S1)
X <- matrix(NA, n, 3); Y <- matrix(NA, n, 3)
X[, 1] <- w1[, 1]; Y[, 1] <- w1[, 2]
for (t in 2:3) {
  u <- MASS::mvrnorm(n, c(0, 0), Su)
  X[, t] <- 0.5 * X[, t - 1] + 0.1 * Y[, t - 1] + u[, 1]
  Y[, t] <- 0.5 * Y[, t - 1] + 0.2 * X[, t - 1] + u[, 2]
}
clpm_raw <- data.frame(x1 = X[, 1], x2 = X[, 2], x3 = X[, 3],
                       y1 = Y[, 1], y2 = Y[, 2], y3 = Y[, 3])

MOD_CLPM3_FREE <- "x2 ~ x1 + y1
y2 ~ x1 + y1
x3 ~ x2 + y2
y3 ~ x2 + y2
x1 ~~ y1
x2 ~~ y2
x3 ~~ y3"
MOD_CLPM3_INV <- "x2 ~ ax*x1 + cyx*y1
y2 ~ cxy*x1 + ay*y1
x3 ~ ax*x2 + cyx*y2
y3 ~ cxy*x2 + ay*y2
x1 ~~ y1
x2 ~~ y2
x3 ~~ y3"
d <- write_data(clpm_raw, "clpm3_free")
fit_clpm_free <- fit_case("clpm3_free", MOD_CLPM3_FREE, d,
                          "sem(model, data = data)", seed = 1012L,
                          description = "Three-wave bivariate cross-lagged panel model, all lag-1 paths free.")
d <- write_data(clpm_raw, "clpm3_invariant")
fit_case("clpm3_invariant", MOD_CLPM3_INV, d, "sem(model, data = data)",
         seed = 1012L,
         lrt = list(fit = fit_clpm_free, name = "clpm3_free", role = "restricted"),
         description = "clpm3_free data with autoregressive and cross-lagged paths equal over time (shared labels); LRT against clpm3_free.")

###########################################################################
## 13/14/15  four-wave bivariate RI-CLPM
##   seed 1013, N = 800
##   (RIx, RIy) ~ N(0, [[1,.3],[.3,.5]]);  grand means x: 3, y: 2
##   (wx1, wy1) ~ N(0, [[1,.2],[.2,1]])
##   wx_t = .4 wx_{t-1} + .10 wy_{t-1} + u_t     (y -> x cross-lag .10)
##   wy_t = .3 wy_{t-1} + .15 wx_{t-1} + v_t     (x -> y cross-lag .15)
##   (u_t, v_t) ~ N(0, [[.8,.15],[.15,.8]])
##   x_t = 3 + RIx + wx_t;  y_t = 2 + RIy + wy_t
###########################################################################
set.seed(1013)
n <- 800
RI <- MASS::mvrnorm(n, c(0, 0), matrix(c(1, .3, .3, .5), 2))
W1 <- MASS::mvrnorm(n, c(0, 0), matrix(c(1, .2, .2, 1), 2))
WX <- matrix(NA, n, 4); WY <- matrix(NA, n, 4)
WX[, 1] <- W1[, 1]; WY[, 1] <- W1[, 2]
for (t in 2:4) {
  u <- MASS::mvrnorm(n, c(0, 0), matrix(c(.8, .15, .15, .8), 2))
  WX[, t] <- 0.4 * WX[, t - 1] + 0.10 * WY[, t - 1] + u[, 1]
  WY[, t] <- 0.3 * WY[, t - 1] + 0.15 * WX[, t - 1] + u[, 2]
}
XX <- 3 + RI[, 1] + WX
YY <- 2 + RI[, 2] + WY
riclpm_raw <- data.frame(XX, YY)
names(riclpm_raw) <- c(paste0("x", 1:4), paste0("y", 1:4))

# Hamaker, Kuiper & Grasman (2015) RI-CLPM, as in their published lavaan code
MOD_RICLPM4 <- "RIx =~ 1*x1 + 1*x2 + 1*x3 + 1*x4
RIy =~ 1*y1 + 1*y2 + 1*y3 + 1*y4
wx1 =~ 1*x1
wx2 =~ 1*x2
wx3 =~ 1*x3
wx4 =~ 1*x4
wy1 =~ 1*y1
wy2 =~ 1*y2
wy3 =~ 1*y3
wy4 =~ 1*y4
x1 ~~ 0*x1
x2 ~~ 0*x2
x3 ~~ 0*x3
x4 ~~ 0*x4
y1 ~~ 0*y1
y2 ~~ 0*y2
y3 ~~ 0*y3
y4 ~~ 0*y4
wx2 ~ wx1 + wy1
wy2 ~ wx1 + wy1
wx3 ~ wx2 + wy2
wy3 ~ wx2 + wy2
wx4 ~ wx3 + wy3
wy4 ~ wx3 + wy3
wx1 ~~ wy1
wx2 ~~ wy2
wx3 ~~ wy3
wx4 ~~ wy4
wx1 ~~ wx1
wy1 ~~ wy1
wx2 ~~ wx2
wy2 ~~ wy2
wx3 ~~ wx3
wy3 ~~ wy3
wx4 ~~ wx4
wy4 ~~ wy4
RIx ~~ RIx
RIy ~~ RIy
RIx ~~ RIy
RIx ~~ 0*wx1
RIx ~~ 0*wy1
RIy ~~ 0*wx1
RIy ~~ 0*wy1"
RICLPM_CALL <- "lavaan(model, data = data, meanstructure = TRUE, int.ov.free = TRUE)"
d_ri <- write_data(riclpm_raw, "riclpm4")
fit_ri <- fit_case("riclpm4", MOD_RICLPM4, d_ri, RICLPM_CALL, seed = 1013L,
                   description = "Four-wave bivariate RI-CLPM (Hamaker, Kuiper & Grasman, 2015 syntax, lavaan() with meanstructure and free observed intercepts).")

## 14  monotone MAR dropout (missingness seed 1014):
##   at waves t = 2, 3, 4, a participant still present drops out (x_t..x_4,
##   y_t..y_4 missing) with probability plogis(-2.7 + 0.5 * z_{t-1}), where
##   z_{t-1} = standardised (x_{t-1} + y_{t-1}) as observed at wave t-1.
##   About 20% of participants have dropped out by wave 4.
set.seed(1014)
drop_raw <- riclpm_raw
present <- rep(TRUE, n)
for (t in 2:4) {
  s <- drop_raw[[paste0("x", t - 1)]] + drop_raw[[paste0("y", t - 1)]]
  z <- (s - mean(s, na.rm = TRUE)) / sd(s, na.rm = TRUE)
  p <- plogis(-2.7 + 0.5 * z)
  drop_now <- present & (runif(n) < p)
  present <- present & !drop_now
  for (tt in t:4) {
    drop_raw[!present, paste0("x", tt)] <- NA
    drop_raw[!present, paste0("y", tt)] <- NA
  }
}
say(sprintf("riclpm4 dropout: %.1f%% dropped by wave 4, %.1f%% of cells missing",
            100 * mean(!present), 100 * mean(is.na(as.matrix(drop_raw)))))
d <- write_data(drop_raw, "riclpm4_fiml")
fit_case("riclpm4_fiml", MOD_RICLPM4, d,
         "lavaan(model, data = data, missing = \"ml\", meanstructure = TRUE, int.ov.free = TRUE)",
         seed = 1014L,
         extra = list(missing_model = "monotone dropout at waves 2-4 with P = plogis(-2.7 + 0.5*z), z = standardised (x+y) at the previous wave; data seed 1013, missingness seed 1014"),
         description = "riclpm4 data with ~20% monotone MAR dropout; FIML.")
d <- write_data(drop_raw, "riclpm4_listwise")
fit_case("riclpm4_listwise", MOD_RICLPM4, d,
         "lavaan(model, data = data, missing = \"listwise\", meanstructure = TRUE, int.ov.free = TRUE)",
         seed = 1014L,
         extra = list(missing_model = "same data as riclpm4_fiml"),
         description = "riclpm4_fiml data fitted with listwise deletion.")

## 15  CLPM fitted to the RI-CLPM data; LRT CLPM (restricted: no random
##     intercepts) vs RI-CLPM.  meanstructure = TRUE so both models have
##     saturated means and the same sample statistics.
MOD_CLPM4 <- "x2 ~ x1 + y1
y2 ~ x1 + y1
x3 ~ x2 + y2
y3 ~ x2 + y2
x4 ~ x3 + y3
y4 ~ x3 + y3
x1 ~~ y1
x2 ~~ y2
x3 ~~ y3
x4 ~~ y4"
d <- write_data(riclpm_raw, "clpm_on_riclpm")
fit_case("clpm_on_riclpm", MOD_CLPM4, d,
         "sem(model, data = data, meanstructure = TRUE)", seed = 1013L,
         lrt = list(fit = fit_ri, name = "riclpm4", role = "restricted"),
         description = "Four-wave CLPM (lag-1 paths free) fitted to the riclpm4 data; LRT CLPM vs RI-CLPM (random-intercept variances on the boundary, so the chi-square reference distribution is not exact).")

###########################################################################
## 16  two-group mediation
##   seed 1016, N = 250 per site; site "A": a = .5, site "B": a = .2
##   x ~ N(0,1); m = a x + e; y = .35 m + .1 x + e
###########################################################################
set.seed(1016)
mk_site <- function(site, a, n = 250) {
  x <- rnorm(n)
  m <- a * x + rnorm(n)
  y <- 0.35 * m + 0.1 * x + rnorm(n)
  data.frame(site = site, x = x, m = m, y = y, stringsAsFactors = FALSE)
}
twogroup_raw <- rbind(mk_site("A", 0.5), mk_site("B", 0.2))

MOD_2G_FREE <- "m ~ c(a1, a2)*x
y ~ c(b1, b2)*m + c(cp1, cp2)*x
ind1 := a1*b1
ind2 := a2*b2
ind_diff := ind1 - ind2"
MOD_2G_EQ <- "m ~ x
y ~ m + x"
d <- write_data(twogroup_raw, "twogroup_mediation_free")
fit_2g_free <- fit_case("twogroup_mediation_free", MOD_2G_FREE, d,
                        "sem(model, data = data, group = \"site\")",
                        seed = 1016L, group_var = "site",
                        description = "Two-group (site A / B) simple mediation, all regressions group-specific; group difference of the indirect effect.")
d <- write_data(twogroup_raw, "twogroup_mediation_equal")
fit_case("twogroup_mediation_equal", MOD_2G_EQ, d,
         "sem(model, data = data, group = \"site\", group.equal = c(\"regressions\"))",
         seed = 1016L, group_var = "site",
         lrt = list(fit = fit_2g_free, name = "twogroup_mediation_free", role = "restricted"),
         description = "Two-group mediation with group.equal = 'regressions'; LRT against twogroup_mediation_free.")

###########################################################################
## 17  trivariate (X - M - Y) RI-CLPM, 4 waves
##   seed 1017, N = 600
##   random intercepts (RIx, RIm, RIy) ~ N(0, Sigma_RI), variances 1, .8, .6,
##     correlations .3;  grand means x: 0, m: 1, y: 2
##   wave-1 within components ~ N(0, [[1,.2,.2],[.2,1,.2],[.2,.2,1]])
##   wx_t = .4 wx_{t-1} + u
##   wm_t = .3 wx_{t-1} (a) + .4 wm_{t-1} + u
##   wy_t = .3 wm_{t-1} (b) + .4 wy_{t-1} + .05 wx_{t-1} + u
##   innovations u ~ N(0, .8 on the diagonal, .1 off the diagonal)
##   population within indirect effect ind = a*b = .09
###########################################################################
set.seed(1017)
n <- 600
sd_ri <- sqrt(c(1, .8, .6))
R_ri <- matrix(.3, 3, 3); diag(R_ri) <- 1
RI <- MASS::mvrnorm(n, rep(0, 3), diag(sd_ri) %*% R_ri %*% diag(sd_ri))
S_w1 <- matrix(.2, 3, 3); diag(S_w1) <- 1
S_u <- matrix(.1, 3, 3); diag(S_u) <- .8
B <- rbind(c(.4, 0, 0),      # wx_t on (wx, wm, wy)_{t-1}
           c(.3, .4, 0),     # wm_t
           c(.05, .3, .4))   # wy_t
Wt <- vector("list", 4)
Wt[[1]] <- MASS::mvrnorm(n, rep(0, 3), S_w1)
for (t in 2:4) {
  Wt[[t]] <- Wt[[t - 1]] %*% t(B) + MASS::mvrnorm(n, rep(0, 3), S_u)
}
mu <- c(0, 1, 2)
tri <- list()
for (j in 1:3) {
  v <- c("x", "m", "y")[j]
  for (t in 1:4) tri[[paste0(v, t)]] <- mu[j] + RI[, j] + Wt[[t]][, j]
}
tri_raw <- as.data.frame(tri)

mk_tri_syntax <- function() {
  L <- c()
  for (v in c("x", "m", "y")) {
    L <- c(L, sprintf("RI%s =~ %s", v,
                      paste(sprintf("1*%s%d", v, 1:4), collapse = " + ")))
  }
  for (v in c("x", "m", "y")) for (t in 1:4)
    L <- c(L, sprintf("w%s%d =~ 1*%s%d", v, t, v, t))
  for (v in c("x", "m", "y")) for (t in 1:4)
    L <- c(L, sprintf("%s%d ~~ 0*%s%d", v, t, v, t))
  for (t in 2:4) {
    p <- t - 1
    L <- c(L,
           sprintf("wx%d ~ wx%d + wm%d + wy%d", t, p, p, p),
           sprintf("wm%d ~ a*wx%d + wm%d + wy%d", t, p, p, p),
           sprintf("wy%d ~ wx%d + b*wm%d + wy%d", t, p, p, p))
  }
  for (t in 1:4) {
    L <- c(L, sprintf("wx%d ~~ wm%d", t, t), sprintf("wx%d ~~ wy%d", t, t),
           sprintf("wm%d ~~ wy%d", t, t))
  }
  for (t in 1:4) for (v in c("x", "m", "y"))
    L <- c(L, sprintf("w%s%d ~~ w%s%d", v, t, v, t))
  L <- c(L, "RIx ~~ RIx", "RIm ~~ RIm", "RIy ~~ RIy",
         "RIx ~~ RIm", "RIx ~~ RIy", "RIm ~~ RIy")
  for (r in c("RIx", "RIm", "RIy")) for (v in c("x", "m", "y"))
    L <- c(L, sprintf("%s ~~ 0*w%s1", r, v))
  L <- c(L, "ind := a*b")
  paste(L, collapse = "\n")
}
MOD_TRI <- mk_tri_syntax()
d <- write_data(tri_raw, "riclpm3_trivariate")
fit_case("riclpm3_trivariate", MOD_TRI, d, RICLPM_CALL, seed = 1017L,
         description = "Trivariate X-M-Y RI-CLPM over 4 waves; within-person cross-lags wx->wm (a) and wm->wy (b) equal over time; within-person indirect effect ind = a*b.")

say("all done")
