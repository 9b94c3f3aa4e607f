# Reference numbers for pathmodels.ml.fitmeasures and pathmodels.ml.compare.
#
# Source: R lavaan (external reference). Run from the repository root:
#
#     Rscript tests/ml/data/fitmeasures_reference.R
#
# writes tests/ml/data/fitmeasures_reference.json. For every case it stores what
# pathmodels' closed-form functions need (per group: n, sample covariance and mean with
# the N divisor, model-implied covariance and mean, which observed variables are
# exogenous covariates (lavaan's ov.x, also under fixed.x = FALSE); npar as free rows
# of the parameter table and the rank of the equality constraints) and lavaan's own
# fitMeasures(fit, "all"), plus lavTestLRT() tables. Data are the datasets
# shipped with lavaan (HolzingerSwineford1939, PoliticalDemocracy); the FIML case deletes
# values with a seeded MCAR mechanism (seed below). Tests never run R.

suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

out_path <- file.path("tests", "ml", "data", "fitmeasures_reference.json")
fiml_seed <- 20240501L

# lavaan's RMSEA interval uses uniroot() with its default tolerance
# (.Machine$double.eps^0.25, about 1.2e-4 on the non-centrality scale). This copy of
# lavaan:::lav_fit_rmsea_ci differs only in passing tol = 1e-12, so the tests can check
# pathmodels' exact root against the exact definition as well as against fitMeasures().
rmsea_ci_precise <- function(X2, df, N, G = 1L, level = 0.90) {
  upper.perc <- (1 - (1 - level) / 2)
  lower.perc <- (1 - level) / 2
  lower.lambda <- function(lambda) pchisq(X2, df = df, ncp = lambda) - upper.perc
  upper.lambda <- function(lambda) pchisq(X2, df = df, ncp = lambda) - lower.perc
  if (df < 1 || lower.lambda(0) < 0) {
    lo <- 0
  } else {
    lambda.l <- uniroot(f = lower.lambda, lower = 0, upper = X2, tol = 1e-12)$root
    lo <- sqrt(lambda.l / (N * df)) * sqrt(G)
  }
  N.RMSEA <- max(N, X2 * 4)
  if (df < 1 || upper.lambda(N.RMSEA) > 0 || upper.lambda(0) < 0) {
    hi <- 0
  } else {
    lambda.u <- uniroot(f = upper.lambda, lower = 0, upper = N.RMSEA, tol = 1e-12)$root
    hi <- sqrt(lambda.u / (N * df)) * sqrt(G)
  }
  list(lower = lo, upper = hi)
}

as_plain <- function(x) {
  x <- unclass(x)
  attributes(x) <- attributes(x)[intersect(names(attributes(x)), c("dim"))]
  x
}

describe_fit <- function(name, call, fit, note = "") {
  G <- lavInspect(fit, "ngroups")
  meanstructure <- lavInspect(fit, "meanstructure")
  ov <- lavNames(fit, "ov")
  groups <- vector("list", G)
  for (g in seq_len(G)) {
    ov.g <- fit@Data@ov.names[[g]]
    ov.x <- fit@pta$vnames$ov.x[[g]]  # observed exogenous, also when fixed.x = FALSE
    grp <- list(
      ov_names = ov.g,
      n = fit@SampleStats@nobs[[g]],
      exo = ov.g %in% ov.x,
      implied_cov = as_plain(fit@implied$cov[[g]])
    )
    if (fit@SampleStats@missing.flag) {
      # FIML: the saturated (EM) moments stand in for the sample moments
      grp$sample_cov <- as_plain(fit@SampleStats@missing.h1[[g]]$sigma)
      grp$sample_mean <- as.numeric(fit@SampleStats@missing.h1[[g]]$mu)
    } else {
      grp$sample_cov <- as_plain(fit@SampleStats@cov[[g]])
      grp$sample_mean <- as.numeric(fit@SampleStats@mean[[g]])
    }
    if (meanstructure) grp$implied_mean <- as.numeric(fit@implied$mean[[g]])
    groups[[g]] <- grp
  }
  fm <- fitMeasures(fit, "all")
  npar_free <- lavaan:::lav_partable_npar(parTable(fit))
  indep <- lavaan:::lav_object_independence(fit)
  ci <- rmsea_ci_precise(fm[["chisq"]], fm[["df"]], fm[["ntotal"]], G)
  list(
    name = name,
    call = call,
    note = note,
    options = list(
      estimator = lavInspect(fit, "options")$estimator,
      likelihood = lavInspect(fit, "options")$likelihood,
      fixed.x = lavInspect(fit, "options")$fixed.x,
      missing = lavInspect(fit, "options")$missing,
      meanstructure = meanstructure
    ),
    ngroups = G,
    meanstructure = meanstructure,
    npar_free = npar_free,
    n_eq_constraints = npar_free - fm[["npar"]],
    groups = groups,
    baseline_logl = indep@loglik$loglik,
    baseline_npar = indep@loglik$npar,
    rmsea_ci_precise = ci,
    fit_measures = as.list(setNames(as.numeric(fm), names(fm)))
  )
}

HS <- HolzingerSwineford1939
PD <- PoliticalDemocracy
cases <- list()
fits <- list()

add_case <- function(name, call, note = "") {
  fit <- eval(parse(text = call))
  stopifnot(lavInspect(fit, "converged"))
  fits[[name]] <<- fit
  cases[[length(cases) + 1L]] <<- describe_fit(name, call, fit, note)
}

pd_model <- "
  ind60 =~ x1 + x2 + x3
  dem60 =~ y1 + a*y2 + b*y3 + c*y4
  dem65 =~ y5 + a*y6 + b*y7 + c*y8
  dem60 ~ ind60
  dem65 ~ ind60 + dem60
  y1 ~~ y5
  y2 ~~ y4 + y6
  y3 ~~ y7
  y4 ~~ y8
  y6 ~~ y8
"
pd_model_free <- gsub("[abc]\\*", "", pd_model)
pd_model_more <- sub("y1 ~~ y5", "y1 ~~ e*y5", sub("y3 ~~ y7", "y3 ~~ e*y7", pd_model))
hs_cfa <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
hs_path <- "x4 ~ x1 + x2\n x5 ~ x4 + x1\n x6 ~ x5"
hs_path_means <- "x4 ~ x1 + x2\n x5 ~ x4 + x1\n x6 ~ x5\n x5 ~ i*1\n x6 ~ i*1"

add_case("pd_labels", "sem(pd_model, data = PD)",
         "shared labels a, b, c: three == constraints")
add_case("pd_free", "sem(pd_model_free, data = PD)")
add_case("pd_labels_more", "sem(pd_model_more, data = PD)",
         "pd_labels plus one more equality: y1 ~~ e*y5, y3 ~~ e*y7")
add_case("hs_cfa", "cfa(hs_cfa, data = HS)")
add_case("hs_path_fixed_x", "sem(hs_path, data = HS)",
         "x1, x2 are fixed.x exogenous covariates")
add_case("hs_path_fixed_x_false", "sem(hs_path, data = HS, fixed.x = FALSE)",
         "same model, exogenous moments estimated")
add_case("hs_path_meanstructure", "sem(hs_path_means, data = HS, meanstructure = TRUE)",
         "fixed.x with a meanstructure; equal intercepts make the means misfit")
add_case("hs_saturated", "sem('x6 ~ x1 + x2', data = HS)", "df = 0")
add_case("hs_cfa_2group", "cfa(hs_cfa, data = HS, group = 'school')")
add_case("hs_cfa_2group_loadings",
         "cfa(hs_cfa, data = HS, group = 'school', group.equal = 'loadings')")
add_case("hs_path_2group", "sem(hs_path, data = HS, group = 'school')",
         "two groups with fixed.x covariates")
add_case("hs_path_2group_regressions",
         "sem(hs_path, data = HS, group = 'school', group.equal = 'regressions')")

set.seed(fiml_seed)
HSmiss <- HS
for (v in paste0("x", 1:9)) HSmiss[runif(nrow(HSmiss)) < 0.10, v] <- NA
add_case("hs_cfa_fiml", "cfa(hs_cfa, data = HSmiss, missing = 'ml')",
         paste0("FIML; 10% MCAR per indicator with set.seed(", fiml_seed, ")"))

lrt_table <- function(name, call, names) {
  tab <- eval(parse(text = call))
  models <- lapply(names, function(m) {
    f <- fits[[m]]
    fm <- fitMeasures(f)
    list(name = m, chisq = fm[["chisq"]], df = fm[["df"]], npar = fm[["npar"]],
         aic = fm[["aic"]], bic = fm[["bic"]], n = fm[["ntotal"]],
         ngroups = lavInspect(f, "ngroups"))
  })
  rows <- lapply(seq_len(nrow(tab)), function(i) {
    list(model = rownames(tab)[i], df = tab[i, "Df"], aic = tab[i, "AIC"],
         bic = tab[i, "BIC"], chisq = tab[i, "Chisq"],
         chisq_diff = tab[i, "Chisq diff"], rmsea = tab[i, "RMSEA"],
         df_diff = tab[i, "Df diff"], pvalue = tab[i, "Pr(>Chisq)"])
  })
  list(name = name, call = call, models = models, table = rows)
}

lrt <- list(
  lrt_table("pd_three_models",
            paste0("lavTestLRT(fits$pd_labels, fits$pd_labels_more, fits$pd_free, ",
                   "model.names = c('pd_labels', 'pd_labels_more', 'pd_free'))"),
            c("pd_labels", "pd_labels_more", "pd_free")),
  lrt_table("hs_cfa_configural_vs_metric",
            paste0("lavTestLRT(fits$hs_cfa_2group, fits$hs_cfa_2group_loadings, ",
                   "model.names = c('hs_cfa_2group', 'hs_cfa_2group_loadings'))"),
            c("hs_cfa_2group", "hs_cfa_2group_loadings")),
  lrt_table("hs_path_2group",
            paste0("lavTestLRT(fits$hs_path_2group, fits$hs_path_2group_regressions, ",
                   "model.names = c('hs_path_2group', 'hs_path_2group_regressions'))"),
            c("hs_path_2group", "hs_path_2group_regressions"))
)

result <- list(
  source = "external",
  generator = "tests/ml/data/fitmeasures_reference.R",
  lavaan_version = as.character(packageVersion("lavaan")),
  r_version = R.version.string,
  created = format(Sys.Date()),
  cases = cases,
  lrt = lrt
)
write_json(result, out_path, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
cat("wrote", out_path, "\n")
