# Time lavaan on the benchmark cases, in-process, for benchmarks/bench_fit.py.
#
#   Rscript benchmarks/lavaan_bench.R                      (from the repo root)
#   Rscript benchmarks/lavaan_bench.R --repeats 20 --boot-repeats 5 \
#           --out benchmarks/results/lavaan_times.json
#
# Models, data and the exact lavaan calls are read from the committed reference
# fixtures (tests/reference/lavaan/<case>.json and data/<case>.csv), so lavaan
# and pathmodels fit the same model to the same numbers.  Tasks:
#
#   fit   one ML fit with the fixture's own call: one warm-up, then the median of
#         --repeats (>= 20) timed fits.  The fit's estimates are compared with the
#         fixture (same lavaan, same data: the difference should be 0).
#   boot  the ips_chain call plus se = "bootstrap", bootstrap = 2000L (the call
#         the fixture used, with its iseed), followed by
#         parameterEstimates(boot.ci.type = "perc") and
#         parameterEstimates(boot.ci.type = "bca.simple") -- the two bootstrap
#         intervals lavaan offers for se = "bootstrap".  Median of
#         --boot-repeats (>= 3) runs; the fit and the two interval tables are
#         timed separately and in total.
#
# Times are wall-clock seconds from Sys.time() (microsecond resolution); each entry also
# has "cpu", the process's CPU seconds (proc.time() user + system, millisecond
# resolution), which other processes on a shared machine hardly move.
# Output: a JSON file with versions, machine and every timing.

suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

## ---------------------------------------------------------------- arguments
args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default) {
  i <- match(name, args)
  if (is.na(i) || i == length(args)) default else args[[i + 1L]]
}
REPEATS <- as.integer(opt("--repeats", "20"))
BOOT_REPEATS <- as.integer(opt("--boot-repeats", "5"))
N_BOOT <- as.integer(opt("--n-boot", "2000"))
OUT <- opt("--out", "benchmarks/results/lavaan_times.json")
REF_DIR <- opt("--ref-dir", "tests/reference/lavaan")
FIT_CASES <- strsplit(opt("--cases", "simple_mediation,ips_chain,riclpm4,riclpm4_fiml"),
                      ",")[[1]]
BOOT_CASES <- strsplit(opt("--boot-cases", "ips_chain"), ",")[[1]]
if (identical(BOOT_CASES, "none")) BOOT_CASES <- character(0)
stopifnot(REPEATS >= 1L, BOOT_REPEATS >= 1L)

# progress goes to stderr (stdout carries the JSON replies in --serve mode)
say <- function(...) {
  cat(format(Sys.time(), "[%H:%M:%S] "), ..., "\n", sep = "", file = stderr())
}
now <- function() as.numeric(Sys.time())
# CPU seconds of this process (user + system): unlike wall time, hardly moved by other
# processes competing for the cores of a shared machine.
cpu <- function() {
  p <- proc.time()
  p[["user.self"]] + p[["sys.self"]]
}

## ---------------------------------------------------------------- helpers
load_case <- function(case) {
  meta <- fromJSON(file.path(REF_DIR, paste0(case, ".json")), simplifyVector = TRUE)
  data <- read.csv(file.path(REF_DIR, meta$data_file), stringsAsFactors = FALSE)
  list(case = case, meta = meta, data = data, model = meta$syntax, call = meta$call)
}

run_call <- function(call, model, data) {
  env <- new.env(parent = globalenv())
  env$model <- model
  env$data <- data
  eval(parse(text = call)[[1]], envir = env)
}

# largest |est - fixture est| over the rows both tables have
est_diff <- function(fit, meta) {
  pe <- parameterEstimates(fit, ci = FALSE, se = FALSE, zstat = FALSE, pvalue = FALSE)
  ref <- as.data.frame(meta$estimates)[, c("lhs", "op", "rhs", "group", "est")]
  if (!"group" %in% names(pe)) pe$group <- 1L
  ref$group[is.na(ref$group)] <- 1L
  pe$group[pe$op == ":="] <- 0L
  ref$group[ref$op == ":="] <- 0L
  m <- merge(pe[, c("lhs", "op", "rhs", "group", "est")], ref,
             by = c("lhs", "op", "rhs", "group"), suffixes = c("", ".ref"))
  if (nrow(m) == 0L) return(NA_real_)
  max(abs(m$est - m$est.ref))
}

summ <- function(secs) {
  list(median = median(secs), min = min(secs), max = max(secs),
       repeats = length(secs), seconds = secs)
}

boot_call_for <- function(call, n_boot, iseed) {
  sub("\\)$", sprintf(", se = \"bootstrap\", bootstrap = %dL, iseed = %dL)",
                      n_boot, iseed), call)
}

first_line <- function(path, pattern) {
  x <- tryCatch(readLines(path, warn = FALSE), error = function(e) character(0))
  x <- grep(pattern, x, value = TRUE)
  if (length(x)) trimws(sub("^[^:]*:", "", x[[1]])) else NA_character_
}

## ---------------------------------------------------------------- machine
si <- sessionInfo()
cpu_model <- first_line("/proc/cpuinfo", "^model name")
machine <- list(
  cpu_model = cpu_model,
  logical_cpus = parallel::detectCores(logical = TRUE),
  sysname = Sys.info()[["sysname"]],
  release = Sys.info()[["release"]],
  machine = Sys.info()[["machine"]],
  OPENBLAS_CORETYPE = Sys.getenv("OPENBLAS_CORETYPE", NA_character_),
  OPENBLAS_L2_SIZE = Sys.getenv("OPENBLAS_L2_SIZE", NA_character_),
  loadavg_start = tryCatch(readLines("/proc/loadavg", warn = FALSE), error = function(e) NA)
)
versions <- list(
  R = R.version.string,
  lavaan = as.character(packageVersion("lavaan")),
  jsonlite = as.character(packageVersion("jsonlite")),
  blas = if (!is.null(si$BLAS)) si$BLAS else NA_character_,
  lapack = La_library(),
  lapack_version = La_version()
)
say("lavaan ", versions$lavaan, " on ", versions$R, "; ", cpu_model, ", ",
    machine$logical_cpus, " logical CPUs; BLAS ", versions$blas)

## ---------------------------------------------------------------- serve mode
# `Rscript benchmarks/lavaan_bench.R --serve`: used by `bench_fit.py --paired`, which
# alternates one lavaan run with one pathmodels run so both meet the same load on a shared
# machine.  Reads one request a line on stdin -- "fit <case>", "boot <case>" or "quit" --
# runs it once and answers one JSON line: {"wall": s, "cpu": s, "max_abs_diff": d}.
# A "boot" request times the se = "bootstrap" fit plus both interval tables.
if ("--serve" %in% args) {
  cases <- list()
  con <- file("stdin")
  open(con)
  cat(toJSON(list(ready = TRUE, versions = versions, machine = machine), auto_unbox = TRUE,
             digits = NA, na = "null"), "\n", sep = "")
  flush(stdout())
  repeat {
    line <- readLines(con, n = 1L)
    if (length(line) == 0L || identical(line, "quit")) break
    parts <- strsplit(trimws(line), "[[:space:]]+")[[1]]
    task <- parts[[1]]
    case <- parts[[2]]
    if (is.null(cases[[case]])) cases[[case]] <- load_case(case)
    cs <- cases[[case]]
    reply <- tryCatch({
      if (task == "fit") {
        c0 <- cpu()
        t0 <- now()
        fit <- suppressWarnings(run_call(cs$call, cs$model, cs$data))
        wall <- now() - t0
        cpus <- cpu() - c0
      } else if (task == "boot") {
        iseed <- if (!is.null(cs$meta$boot$iseed)) cs$meta$boot$iseed else 2024L
        bcall <- boot_call_for(cs$call, N_BOOT, iseed)
        c0 <- cpu()
        t0 <- now()
        fit <- suppressWarnings(run_call(bcall, cs$model, cs$data))
        perc <- suppressWarnings(parameterEstimates(fit, boot.ci.type = "perc"))
        bca <- suppressWarnings(parameterEstimates(fit, boot.ci.type = "bca.simple"))
        wall <- now() - t0
        cpus <- cpu() - c0
      } else {
        stop("unknown task ", task)
      }
      list(wall = wall, cpu = cpus, max_abs_diff = est_diff(fit, cs$meta))
    }, error = function(e) list(error = conditionMessage(e)))
    cat(toJSON(reply, auto_unbox = TRUE, digits = NA, na = "null"), "\n", sep = "")
    flush(stdout())
  }
  quit(save = "no", status = 0)
}

## ---------------------------------------------------------------- single fits
results <- list()
for (case in FIT_CASES) {
  cs <- load_case(case)
  fit0 <- suppressWarnings(run_call(cs$call, cs$model, cs$data))  # warm-up
  secs <- cpus <- numeric(REPEATS)
  for (i in seq_len(REPEATS)) {
    c0 <- cpu()
    t0 <- now()
    fit <- suppressWarnings(run_call(cs$call, cs$model, cs$data))
    secs[i] <- now() - t0
    cpus[i] <- cpu() - c0
  }
  d <- est_diff(fit, cs$meta)
  s <- summ(secs)
  say(sprintf("fit  %-16s n = %4d  median %.4f s (min %.4f, max %.4f; %d runs)  max|est - fixture| = %.2g",
              case, nrow(cs$data), s$median, s$min, s$max, REPEATS, d))
  results[[length(results) + 1L]] <- c(
    list(case = case, task = "fit", n = nrow(cs$data), nobs = lavInspect(fit, "nobs"),
         call = cs$call, converged = lavInspect(fit, "converged"),
         iterations = lavInspect(fit, "iterations"),
         max_abs_diff_vs_fixture = d, cpu = summ(cpus)),
    s)
}

## ---------------------------------------------------------------- bootstrap
for (case in BOOT_CASES) {
  cs <- load_case(case)
  iseed <- if (!is.null(cs$meta$boot$iseed)) cs$meta$boot$iseed else 2024L
  bcall <- boot_call_for(cs$call, N_BOOT, iseed)
  t_fit <- t_perc <- t_bca <- c_total <- numeric(BOOT_REPEATS)
  for (i in seq_len(BOOT_REPEATS)) {
    c0 <- cpu()
    t0 <- now()
    fb <- suppressWarnings(run_call(bcall, cs$model, cs$data))
    t1 <- now()
    perc <- suppressWarnings(parameterEstimates(fb, boot.ci.type = "perc", level = 0.95))
    t2 <- now()
    bca <- suppressWarnings(parameterEstimates(fb, boot.ci.type = "bca.simple", level = 0.95))
    t3 <- now()
    c_total[i] <- cpu() - c0
    t_fit[i] <- t1 - t0
    t_perc[i] <- t2 - t1
    t_bca[i] <- t3 - t2
    say(sprintf("boot %-16s run %d: fit %.2f s, perc %.3f s, bca.simple %.3f s (cpu %.2f s)",
                case, i, t_fit[i], t_perc[i], t_bca[i], c_total[i]))
  }
  B <- lavInspect(fb, "boot")
  total <- t_fit + t_perc + t_bca
  s <- summ(total)
  say(sprintf("boot %-16s n = %4d  median total %.2f s (min %.2f, max %.2f; %d runs)",
              case, nrow(cs$data), s$median, s$min, s$max, BOOT_REPEATS))
  results[[length(results) + 1L]] <- c(
    list(case = case, task = "boot", n = nrow(cs$data), n_boot = N_BOOT, iseed = iseed,
         call = bcall,
         after = c('parameterEstimates(fit, boot.ci.type = "perc")',
                   'parameterEstimates(fit, boot.ci.type = "bca.simple")'),
         n_failed = length(attr(B, "error.idx")),
         max_abs_diff_vs_fixture = est_diff(fb, cs$meta),
         fit_only = summ(t_fit), perc_table = summ(t_perc), bca_simple_table = summ(t_bca),
         fit_plus_perc = summ(t_fit + t_perc), fit_plus_bca_simple = summ(t_fit + t_bca),
         cpu = summ(c_total)),
    s)
}

machine$loadavg_end <- tryCatch(readLines("/proc/loadavg", warn = FALSE),
                                error = function(e) NA)
out <- list(
  tool = "benchmarks/lavaan_bench.R",
  date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S%z"),
  timer = "Sys.time() wall clock, in-process; cpu: proc.time() user.self + sys.self",
  versions = versions,
  machine = machine,
  repeats = REPEATS,
  boot_repeats = BOOT_REPEATS,
  results = results
)
dir.create(dirname(OUT), showWarnings = FALSE, recursive = TRUE)
write_json(out, OUT, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)
say("wrote ", OUT)
