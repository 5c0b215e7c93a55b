"""Names of each model's units, input to output (no torch needed: the run table uses them)."""


def unit_names(model: str, depth: int) -> list[str]:
    """``resnet``: stem, module1..4, head (Berariu et al.'s six units); ``mlp``: layer1..depth,
    head; ``cnn``: conv1..depth, head; ``logreg``: head."""
    if model == "resnet":
        return ["stem", "module1", "module2", "module3", "module4", "head"]
    if model == "logreg":
        return ["head"]
    prefix = {"mlp": "layer", "cnn": "conv"}[model]
    return [f"{prefix}{i + 1}" for i in range(depth)] + ["head"]
