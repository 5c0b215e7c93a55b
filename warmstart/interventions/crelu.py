"""Concatenated ReLU in every hidden layer (Shang et al. 2016; against loss of plasticity, Abbas
et al. 2023, "Loss of plasticity in continual deep reinforcement learning"), an architectural arm.

A different network (``warmstart.models.mlp`` with ``activation="crelu"``: each hidden layer's
``width`` pre-activations give ``[relu(x), relu(−x)]``, ``2 · width`` features, so the next layer
has twice the inputs and weights; a unit's output is never zero on both halves). Trained by the
arena as a study of its own, seed by seed (its own pretraining, warm and fresh starts), as
``layernorm`` is.
"""

from warmstart.interventions.base import Intervention

INTERVENTION = Intervention("crelu", {}, models=("mlp",), variant={"activation": "crelu"}, chains=False)
