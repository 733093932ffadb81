"""The diagnosis engine: small pure rules over a run's series (no database access inside a
rule), an engine that reconciles their findings with stored diagnoses (open → resolved),
and the hyper-parameter advisor. shared/RULES.md holds the knowledge behind the rules."""
