# Whole-process job: lavaan's 2000-draw bootstrap of the IPS chain with percentile and
# bca.simple intervals (the pair of benchmarks/boot_ips_chain.py).
#   /usr/bin/time -v Rscript benchmarks/boot_ips_chain.R        (from the repo root)
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
ref <- "tests/reference/lavaan"
meta <- fromJSON(file.path(ref, "ips_chain.json"), simplifyVector = TRUE)
data <- read.csv(file.path(ref, meta$data_file))
fit <- sem(meta$syntax, data = data, se = "bootstrap", bootstrap = 2000L, iseed = 2024L)
for (type in c("perc", "bca.simple")) {
  pe <- suppressWarnings(parameterEstimates(fit, boot.ci.type = type))
  r <- pe[pe$lhs == "ind_total", ]
  cat(sprintf("%s: ind_total %.4f [%.4f, %.4f]\n", type, r$est, r$ci.lower, r$ci.upper))
}
