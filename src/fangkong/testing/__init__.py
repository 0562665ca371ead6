"""Mass nucleic-acid testing: rounds, sites, pooled tubes, labs, results, re-checks, coverage."""
