"""The literature the rules cite (titles and permanent links); shared/research/ has the detail."""

from __future__ import annotations

from gradsight_server.diagnosis.model import Reference

PALM = Reference(
    "Chowdhery et al., PaLM: Scaling Language Modeling with Pathways (2022), §5.1 training instability",
    "https://arxiv.org/abs/2204.02311",
)
BLOOM = Reference(
    "BigScience, BLOOM training lessons learned (loss spikes, rollback and skip)",
    "https://github.com/bigscience-workshop/bigscience/blob/master/train/lessons-learned.md",
)
OPT = Reference(
    "Zhang et al., OPT-175B logbook (loss-scale collapse, lowering β₂, rollbacks)",
    "https://github.com/facebookresearch/metaseq/tree/main/projects/OPT/chronicles",
)
PLAYBOOK = Reference(
    "Google Deep Learning Tuning Playbook: clip at the 90th percentile of gradient norms; warmup",
    "https://github.com/google-research/tuning_playbook",
)
ZCLIP = Reference(
    "Kumar et al., ZClip: Adaptive Spike Mitigation for LLM Pre-Training (2025)",
    "https://arxiv.org/abs/2504.02507",
)
SPAM = Reference(
    "Huang et al., SPAM: Spike-Aware Adam with Momentum Reset for Stable LLM Training (ICLR 2025)",
    "https://arxiv.org/abs/2501.06842",
)
TAKASE = Reference(
    "Takase et al., Spike No More: Stabilizing the Pre-training of Large Language Models (2023)",
    "https://arxiv.org/abs/2312.16903",
)
WORTSMAN = Reference(
    "Wortsman et al., Small-scale proxies for large-scale Transformer training instabilities (2023)",
    "https://arxiv.org/abs/2309.14322",
)
MOLYBOG = Reference(
    "Molybog et al., A Theory on Adam Instability in Large-Scale Machine Learning (2023)",
    "https://arxiv.org/abs/2304.09871",
)
OLMO2 = Reference(
    "OLMo 2 team, 2 OLMo 2 Furious (2024): QK-norm, z-loss, ε", "https://arxiv.org/abs/2501.00656"
)
CS231N = Reference(
    "CS231n notes: the update/weight ratio should be around 1e-3",
    "https://cs231n.github.io/neural-networks-3/#ratio",
)
AUTOTRAINER = Reference(
    "Zhang et al., AutoTrainer: An Automatic DNN Training Problem Detection and Repair System (ICSE 2021)",
    "https://github.com/shiningrain/AUTOTRAINER",
)
SMD = Reference(
    "Amazon SageMaker Debugger built-in rules (DeadRelu, VanishingGradient, Overfit, LossNotDecreasing)",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/debugger-built-in-rules.html",
)
SMD_PROFILER = Reference(
    "Amazon SageMaker Debugger profiler rules (BatchSize: p95 GPU memory under 70 %, LowGPUUtilization)",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/debugger-built-in-profiler-rules.html",
)
HE_INIT = Reference(
    "He et al., Delving Deep into Rectifiers (2015): initialisation for ReLU networks",
    "https://arxiv.org/abs/1502.01852",
)
GLOROT = Reference(
    "Glorot & Bengio, Understanding the difficulty of training deep feedforward networks (2010)",
    "https://proceedings.mlr.press/v9/glorot10a.html",
)
PASCANU = Reference(
    "Pascanu et al., On the difficulty of training recurrent neural networks (2013): gradient clipping",
    "https://arxiv.org/abs/1211.5063",
)
IOFFE = Reference("Ioffe & Szegedy, Batch Normalization (2015)", "https://arxiv.org/abs/1502.03167")
LN = Reference("Ba et al., Layer Normalization (2016)", "https://arxiv.org/abs/1607.06450")
LOSHCHILOV = Reference(
    "Loshchilov & Hutter, Decoupled Weight Decay Regularization (AdamW, 2019)",
    "https://arxiv.org/abs/1711.05101",
)
PRECHELT = Reference(
    "Prechelt, Early Stopping — But When? (1998)", "https://link.springer.com/chapter/10.1007/3-540-49430-8_3"
)
SRIVASTAVA = Reference(
    "Srivastava et al., Dropout (JMLR 2014)", "https://jmlr.org/papers/v15/srivastava14a.html"
)
MICIKEVICIUS = Reference(
    "Micikevicius et al., Mixed Precision Training (2018): loss scaling", "https://arxiv.org/abs/1710.03740"
)
BF16 = Reference(
    "Kalamkar et al., A Study of BFLOAT16 for Deep Learning Training (2019)",
    "https://arxiv.org/abs/1905.12322",
)
TORCH_DATA = Reference(
    "PyTorch DataLoader: num_workers, pin_memory, persistent_workers, prefetch_factor",
    "https://pytorch.org/docs/stable/data.html#multi-process-data-loading",
)
WEIGHTWATCHER = Reference(
    "Martin, Peng & Mahoney, Predicting trends in the quality of state-of-the-art neural networks without access to training or testing data (Nature Comms 2021)",
    "https://www.nature.com/articles/s41467-021-24025-8",
)
ZHAI = Reference(
    "Zhai et al., Stabilizing Transformer Training by Preventing Attention Entropy Collapse (σReparam, 2023)",
    "https://arxiv.org/abs/2303.06296",
)
KAPLAN = Reference(
    "Kaplan et al., Scaling Laws for Neural Language Models (2020): 6N FLOPs per token",
    "https://arxiv.org/abs/2001.08361",
)
MEGATRON = Reference(
    "Narayanan et al., Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM (2021): MFU",
    "https://arxiv.org/abs/2104.04473",
)
STEP_LAW = Reference(
    "Li et al., Predictable Scale: Part I — Optimal Hyperparameter Scaling Law in Large Language Model Pretraining (2025)",
    "https://arxiv.org/abs/2503.04715",
)
MCCANDLISH = Reference(
    "McCandlish et al., An Empirical Model of Large-Batch Training (2018): gradient noise scale",
    "https://arxiv.org/abs/1812.06162",
)
EOS = Reference(
    "Cohen et al., Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability (2021)",
    "https://arxiv.org/abs/2103.00065",
)
SILENT = Reference(
    "Li et al., Silent Inconsistency in Data-Parallel Full Fine-Tuning: Diagnosing Worker-Level Optimization Misalignment (2026)",
    "https://arxiv.org/abs/2602.14462",
)
MEGASCALE = Reference(
    "Jiang et al., MegaScale: Scaling Large Language Model Training to More Than 10,000 GPUs (2024): straggler and hang diagnosis",
    "https://arxiv.org/abs/2402.15627",
)
TORCH_SAMPLER = Reference(
    "PyTorch DistributedSampler: shard the dataset per rank; call set_epoch() every epoch",
    "https://pytorch.org/docs/stable/data.html#torch.utils.data.distributed.DistributedSampler",
)
TORCH_DIST_DEBUG = Reference(
    "PyTorch distributed debugging: TORCH_DISTRIBUTED_DEBUG, collective timeouts, flight recorder",
    "https://pytorch.org/docs/stable/distributed.html#debugging-torch-distributed-applications",
)
