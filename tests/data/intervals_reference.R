# Reference intervals for tests/test_intervals.py.
#
#   Rscript tests/data/intervals_reference.R        (from the repository root)
#
# Writes tests/data/intervals_reference.json.  Every interval in it is computed by
# R itself -- by lavaan::parameterEstimates() or by the boot package -- never by
# pathmodels, so the file is *external* reference output.  Sections:
#
#   lavaan:  a small mediation model fitted with se = "bootstrap"; the bootstrap
#            draws of the free parameters (lavInspect(fit, "boot")) and of the
#            defined parameters (the model's def.function applied to each draw),
#            the bootstrap frequency matrix lavaan uses for its "bca" intervals,
#            and parameterEstimates() intervals for boot.ci.type = "perc",
#            "bca.simple" and "bca" at two levels, with the number of "extreme order
#            statistics used as endpoints" warnings each call gave.
#   norm_inter: synthetic draws (with NaN/Inf entries, tiny R, R = 999) and the
#            endpoints of boot:::norm.inter(), the interpolation lavaan copies into
#            parameterEstimates() for its percentile-type intervals.
#   boot_bca: boot::boot.ci(type = c("perc", "bca")) on a real bootstrap of a
#            skewed statistic, with L the centred jackknife influence values
#            (Efron 1987), plus the jackknife estimates themselves.
suppressPackageStartupMessages({
  library(lavaan)
  library(boot)
  library(jsonlite)
})

# jsonlite prints at most 15 significant digits; write every number with 17 so the
# draws read back bit-for-bit.  Non-finite values become the strings "NaN", "Inf", "-Inf".
num1 <- function(v) ifelse(is.finite(v), sprintf("%.17g", v), sprintf('"%s"', v))
num <- function(v) structure(paste0("[", paste(num1(v), collapse = ","), "]"), class = "json")
mat <- function(M) structure(
  paste0("[", paste(apply(M, 1, function(r) paste0("[", paste(num1(r), collapse = ","), "]")),
                    collapse = ","), "]"),
  class = "json"
)

args_all <- commandArgs(trailingOnly = FALSE)
script_arg <- sub("^--file=", "", grep("^--file=", args_all, value = TRUE))
OUT_DIR <- if (length(script_arg) == 1L) dirname(normalizePath(script_arg)) else "tests/data"

## ------------------------------------------------------------------ lavaan
set.seed(20240501)
n <- 40L
x <- rnorm(n)
m <- 0.5 * x + rnorm(n)
y <- 0.4 * m + 0.1 * x + rnorm(n)
dat <- round(data.frame(x = x, m = m, y = y), 6)
model <- "
  m ~ a*x
  y ~ b*m + c*x
  ind := a*b
  total := c + a*b
"
R_BOOT <- 200L
ISEED <- 2024L
fit <- sem(model, data = dat, se = "bootstrap", bootstrap = R_BOOT, iseed = ISEED)
BOOT <- lavInspect(fit, "boot")
error_idx <- attr(BOOT, "error.idx")
stopifnot(length(error_idx) == 0L)
BOOT_DEF <- t(apply(BOOT, 1, fit@Model@def.function))
FREQ <- lavaan:::lav_utils_bootstrap_indices(
  R = R_BOOT, nobs = list(n), iseed = attr(BOOT, "seed"),
  return.freq = TRUE, merge.groups = TRUE
)
pt <- parTable(fit)
free_rows <- which(pt$free > 0L)
def_rows <- which(pt$op == ":=")
rows <- c(free_rows, def_rows)
row_names <- ifelse(pt$label[rows] != "", pt$label[rows],
                    paste0(pt$lhs[rows], pt$op[rows], pt$rhs[rows]))
intervals <- list()
for (type in c("perc", "bca.simple", "bca")) {
  for (level in c(0.95, 0.90)) {
    # Count norm.inter's "extreme order statistics" warnings: one per quantity whose
    # endpoint rank falls outside (1, R).
    n_extreme <- 0L
    pe <- withCallingHandlers(
      parameterEstimates(fit, boot.ci.type = type, level = level),
      warning = function(w) {
        if (grepl("extreme order statistics", conditionMessage(w))) {
          n_extreme <<- n_extreme + 1L
          invokeRestart("muffleWarning")
        }
      }
    )
    stopifnot(all(pe$lhs[rows] == pt$lhs[rows]), all(pe$op[rows] == pt$op[rows]))
    intervals[[length(intervals) + 1L]] <- list(
      type = type, level = level, n_extreme_warnings = n_extreme,
      lower = num(pe$ci.lower[rows]), upper = num(pe$ci.upper[rows])
    )
  }
}
lavaan_case <- list(
  call = sprintf(
    "sem(model, data = dat, se = 'bootstrap', bootstrap = %d, iseed = %d); parameterEstimates(fit, boot.ci.type = type, level = level)",
    R_BOOT, ISEED),
  model = model,
  names = row_names,
  n_free = length(free_rows),
  estimate = num(pt$est[rows]),
  draws = mat(cbind(unname(BOOT), unname(BOOT_DEF))),
  frequencies = unname(FREQ),
  intervals = intervals
)

## --------------------------------------------------------------- norm.inter
set.seed(7)
ni_cases <- list()
add_ni <- function(name, t, alpha, level = NA) {
  extreme <- FALSE
  out <- withCallingHandlers(boot:::norm.inter(t, alpha), warning = function(w) {
    extreme <<- TRUE
    invokeRestart("muffleWarning")
  })
  ni_cases[[length(ni_cases) + 1L]] <<- list(
    name = name, level = level, extreme_warning = extreme,
    draws = num(t), alpha = num(alpha), endpoints = num(out[, 2])
  )
}
# alpha written as lavaan writes it for a confidence level: (1 + c(-level, level))/2
add_ni("skewed_R200", exp(rnorm(200)), (1 + c(-0.95, 0.95)) / 2, 0.95)
add_ni("R999_integer_ranks", rnorm(999), (1 + c(-0.95, 0.95)) / 2, 0.95)
add_ni("R999_level90", rgamma(999, 2), (1 + c(-0.90, 0.90)) / 2, 0.90)
add_ni("tiny_R19_extreme", rnorm(19), (1 + c(-0.95, 0.95)) / 2, 0.95)
add_ni("with_nonfinite", c(rnorm(50), NaN, Inf, rnorm(47), -Inf, NaN), (1 + c(-0.95, 0.95)) / 2, 0.95)
add_ni("ties", round(rnorm(100), 1), (1 + c(-0.80, 0.80)) / 2, 0.80)
add_ni("asymmetric_alpha", rt(300, 3), c(0.013, 0.9)) # bca-style adjusted alphas

## ----------------------------------------------------------------- boot bca
set.seed(11)
d <- rexp(30)
stat <- function(d, i) var(d[i])
b <- boot(d, stat, R = 999)
jack <- vapply(seq_along(d), function(i) stat(d, seq_along(d)[-i]), numeric(1))
L <- (length(d) - 1) * (mean(jack) - jack)   # centred jackknife influence (Efron 1987)
boot_cases <- list()
for (level in c(0.95, 0.90)) {
  extreme <- FALSE
  ci <- withCallingHandlers(
    boot.ci(b, conf = level, type = c("perc", "bca"), L = L),
    warning = function(w) {
      extreme <<- TRUE
      invokeRestart("muffleWarning")
    }
  )
  boot_cases[[length(boot_cases) + 1L]] <- list(
    level = level, extreme_warning = extreme,
    perc = num(ci$percent[4:5]),
    bca = num(ci$bca[4:5])
  )
}
boot_case <- list(
  call = "boot(d, function(d, i) var(d[i]), R = 999); boot.ci(b, conf, type = c('perc', 'bca'), L = (n - 1) * (mean(jack) - jack))",
  estimate = num(b$t0),
  draws = num(as.vector(b$t)),
  jackknife = num(jack),
  intervals = boot_cases
)

out <- list(
  generated_by = "tests/data/intervals_reference.R",
  kind = "external",
  r_version = R.version.string,
  lavaan_version = as.character(packageVersion("lavaan")),
  boot_version = as.character(packageVersion("boot")),
  lavaan = lavaan_case,
  norm_inter = ni_cases,
  boot_bca = boot_case
)
writeLines(
  toJSON(out, auto_unbox = TRUE, json_verbatim = TRUE, matrix = "rowmajor"),
  file.path(OUT_DIR, "intervals_reference.json")
)
