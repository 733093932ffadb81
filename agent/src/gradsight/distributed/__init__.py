"""Data-parallel training: one run per job, per-rank scalars, the rank-local gradient norm
(before DDP's all-reduce) and the gradient noise scale (docs/distributed.md)."""
