"""Maximum-likelihood fitting: engine, fit measures and model comparison."""
