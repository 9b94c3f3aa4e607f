# Shared helpers of make_reference.R and make_reference_longitudinal.R: libraries,
# locations, data writing, fitting and the JSON layout. Sourced by both scripts.

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
