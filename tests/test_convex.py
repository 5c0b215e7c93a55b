"""The convex control trained to its optimum (``warmstart.convex``)."""

import torch
import torch.nn.functional as F

from warmstart import data
from warmstart.convex import gradient_max, to_optimum
from warmstart.models import build_model


def test_two_starts_far_apart_reach_the_same_optimum_of_logistic_regression():
    d = data.prepare("mnist1d", num_train=2000, num_test=300)  # not linearly separable (300 examples are: no finite optimum)
    x, y = d["x_train"], d["y_train"]
    near, far = build_model("logreg", (1, 40), 10, seed=0), build_model("logreg", (1, 40), 10, seed=1)
    with torch.no_grad():
        for p in far.parameters():
            p.mul_(30)  # a start far from the first, as a long pretraining leaves one
    assert gradient_max(near, x, y) > 1e-2
    for m in (near, far):
        reached, g = to_optimum(m, x, y, tol=1e-5, max_iter=2000)
        assert reached and g <= 1e-5 and gradient_max(m.double(), x.double(), y) <= 1e-5
        m.float()
    loss = [F.cross_entropy(m(x), y).item() for m in (near, far)]
    assert abs(loss[0] - loss[1]) < 1e-5  # convex: one minimal loss
    assert torch.equal(near(d["x_test"]).argmax(1), far(d["x_test"]).argmax(1))  # and the same predictions: no trace of the start
    assert next(near.parameters()).dtype == torch.float32
