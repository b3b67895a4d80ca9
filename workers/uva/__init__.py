"""UVA (Unified Video Action model): simulated task, datasets, training, inference and evaluation.

The network itself lives in ``workers.models.uva`` (registered in the zoo as ``"uva"``).
"""
