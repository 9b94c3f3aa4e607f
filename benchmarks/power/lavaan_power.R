## Monte Carlo power with lavaan, written the way simsem users write the loop:
## simulate a data set, fit it with sem(), read parameterEstimates(), repeat.
##
## Usage: Rscript lavaan_power.R CASE REPS N1,N2,... SEED OUT.json
##   CASE = mediation : m ~ a*x, y ~ b*m + cp*x, a = b = 0.39, cp = 0, x ~ N(0, 1),
##                      unit residual variances; tests joint, Sobel (delta, lavaan's :=
##                      p-value) and Monte Carlo CI (1000 draws from N(est, vcov), the
##                      same number pathmodels draws by default).
##   CASE = riclpm    : four-wave bivariate RI-CLPM (Hamaker et al., 2015), lavaan()
##                      with meanstructure; Wald test of the wave-2 cross-lag wy2 ~ wx1.
##   CASE = fm        : as mediation, joint test only, with OLS t-tests via lm() --
##                      Fritz & MacKinnon's (2007) method; a = b from the env var AB.
## Data are drawn with rnorm()/matrix algebra (cheaper than simulateData(), so the timing
## is lavaan's fitting, not data generation). Writes timings and the power table as JSON.
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
case <- args[1]; reps <- as.integer(args[2])
ns <- as.integer(strsplit(args[3], ",")[[1]]); seed <- as.integer(args[4]); out <- args[5]
n_mc <- 1000L
set.seed(seed)

mc_ci <- function(est, V, n_draws) {
  R <- chol(V)
  z <- matrix(rnorm(n_draws * 2), n_draws, 2) %*% R
  ab <- (est[1] + z[, 1]) * (est[2] + z[, 2])
  quantile(ab, c(0.025, 0.975), names = FALSE)
}

MOD_MED <- "m ~ a*x\ny ~ b*m + cp*x\nind := a*b"
gen_med <- function(n, a, b) {
  x <- rnorm(n); m <- a * x + rnorm(n); y <- b * m + rnorm(n)
  data.frame(x = x, m = m, y = y)
}

MOD_RI <- "RIx =~ 1*x1 + 1*x2 + 1*x3 + 1*x4
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
wx2 ~ wx1 + cl*wy1
wy2 ~ clyx*wx1 + wy1
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
RIx ~~ RIy"
## Population (must match benchmarks/power/bench_power.py RICLPM_POP): random intercepts
## with variance 1 and covariance 0.3; within-person wave-1 variances 1, covariance 0.3;
## autoregressions 0.4, cross-lags x -> y 0.15 and y -> x 0.10; residual variances 0.7,
## residual covariances 0.2.
ri_sigma <- function() {
  obs <- c(paste0("x", 1:4), paste0("y", 1:4))
  lat <- c("RIx", "RIy", paste0("wx", 1:4), paste0("wy", 1:4))
  v <- c(obs, lat); k <- length(v); A <- matrix(0, k, k, dimnames = list(v, v)); S <- A
  for (t in 1:4) {
    A[paste0("x", t), "RIx"] <- 1; A[paste0("y", t), "RIy"] <- 1
    A[paste0("x", t), paste0("wx", t)] <- 1; A[paste0("y", t), paste0("wy", t)] <- 1
  }
  for (t in 2:4) {
    A[paste0("wx", t), paste0("wx", t - 1)] <- 0.4; A[paste0("wy", t), paste0("wy", t - 1)] <- 0.4
    A[paste0("wy", t), paste0("wx", t - 1)] <- 0.15; A[paste0("wx", t), paste0("wy", t - 1)] <- 0.10
    S[paste0("wx", t), paste0("wx", t)] <- 0.7; S[paste0("wy", t), paste0("wy", t)] <- 0.7
    S[paste0("wx", t), paste0("wy", t)] <- S[paste0("wy", t), paste0("wx", t)] <- 0.2
  }
  S["RIx", "RIx"] <- S["RIy", "RIy"] <- 1; S["RIx", "RIy"] <- S["RIy", "RIx"] <- 0.3
  S["wx1", "wx1"] <- S["wy1", "wy1"] <- 1; S["wx1", "wy1"] <- S["wy1", "wx1"] <- 0.3
  B <- solve(diag(k) - A); full <- B %*% S %*% t(B)
  full[obs, obs]
}

rows <- list(); timings <- list()
for (n in ns) {
  t0 <- proc.time()[["elapsed"]]; c0 <- sum(proc.time()[c("user.self", "sys.self")])
  if (case == "mediation") {
    sig_joint <- sig_sobel <- sig_mc <- logical(reps); conv <- logical(reps)
    for (r in seq_len(reps)) {
      d <- gen_med(n, 0.39, 0.39)
      fit <- sem(MOD_MED, data = d)
      conv[r] <- lavInspect(fit, "converged")
      if (!conv[r]) next
      pe <- parameterEstimates(fit)
      pa <- pe$pvalue[pe$label == "a"]; pb <- pe$pvalue[pe$label == "b"]
      sig_joint[r] <- pa < 0.05 && pb < 0.05
      sig_sobel[r] <- pe$pvalue[pe$label == "ind"] < 0.05
      V <- vcov(fit)[c("a", "b"), c("a", "b")]
      ci <- mc_ci(coef(fit)[c("a", "b")], V, n_mc)
      sig_mc[r] <- ci[1] > 0 || ci[2] < 0
    }
    for (tst in c("joint", "sobel", "mc")) {
      p <- mean(get(paste0("sig_", tst)))
      rows[[length(rows) + 1]] <- list(n = n, target = "ind", test = tst, power = p,
                                       mcse = sqrt(p * (1 - p) / reps), reps = reps,
                                       n_converged = sum(conv))
    }
  } else if (case == "fm") {
    ab <- as.numeric(Sys.getenv("AB", "0.39"))
    sig <- logical(reps)
    for (r in seq_len(reps)) {
      d <- gen_med(n, ab, ab)
      pa <- summary(lm(m ~ x, d))$coefficients["x", 4]
      pb <- summary(lm(y ~ m + x, d))$coefficients["m", 4]
      sig[r] <- pa < 0.05 && pb < 0.05
    }
    p <- mean(sig)
    rows[[length(rows) + 1]] <- list(n = n, target = "ind", test = "joint_ols_t", power = p,
                                     mcse = sqrt(p * (1 - p) / reps), reps = reps,
                                     n_converged = reps)
  } else if (case == "riclpm") {
    L <- chol(ri_sigma())
    sig <- logical(reps); conv <- logical(reps); est <- rep(NA_real_, reps)
    for (r in seq_len(reps)) {
      d <- as.data.frame(matrix(rnorm(n * 8), n, 8) %*% L)
      names(d) <- c(paste0("x", 1:4), paste0("y", 1:4))
      fit <- lavaan(MOD_RI, data = d, meanstructure = TRUE, int.ov.free = TRUE)
      conv[r] <- lavInspect(fit, "converged")
      if (!conv[r]) next
      pe <- parameterEstimates(fit)
      sig[r] <- pe$pvalue[which(pe$label == "clyx")] < 0.05
      est[r] <- pe$est[which(pe$label == "clyx")]
    }
    p <- mean(sig)
    rows[[length(rows) + 1]] <- list(n = n, target = "clyx", test = "wald", power = p,
                                     mcse = sqrt(p * (1 - p) / reps), reps = reps,
                                     n_converged = sum(conv), mean_est = mean(est, na.rm = TRUE))
  } else stop("unknown case ", case)
  timings[[length(timings) + 1]] <- list(
    n = n, seconds = proc.time()[["elapsed"]] - t0,
    cpu_seconds = sum(proc.time()[c("user.self", "sys.self")]) - c0)
}
write_json(list(case = case, reps = reps, seed = seed, lavaan = as.character(packageVersion("lavaan")),
                R = R.version.string, table = rows, timings = timings,
                total_seconds = sum(sapply(timings, function(t) t$seconds)),
                total_cpu_seconds = sum(sapply(timings, function(t) t$cpu_seconds)),
                load_average = readLines("/proc/loadavg")),
           out, auto_unbox = TRUE, digits = NA, pretty = TRUE)
