"""LayerNorm in every hidden layer (Ba et al. 2016; against loss of plasticity, Lyle et al. 2023,
"Understanding plasticity in neural networks", and 2024, "Disentangling the causes of plasticity
loss in neural networks"), an architectural arm.

Not something done to a warm start but a different network (``warmstart.models.mlp`` with
``norm="layernorm"``: Linear, LayerNorm with its affine scale and shift, ReLU). The arena trains
it as a study of its own, seed by seed: its own pretraining, its own warm start and its own fresh
start, all from the seed's initialisation of that network. Its claim is read as every arm's,
against its own fresh start (its own gap) and the plain warm start; its accuracy against the plain
network's fresh start is a note.
"""

from warmstart.interventions.base import Intervention

INTERVENTION = Intervention("layernorm", {}, models=("mlp",), variant={"norm": "layernorm"}, chains=False)
