"""The study's protocol: how every arm is trained, stopped and read, what "converged" means, the
thresholds, margins and seeds, declared before any data (the config's ``protocol`` section).

* **Read-out** (``read``): every tuning run (warm, fresh, every arm, every chain round, Table 1)
  trains until ``consecutive`` consecutive epochs whose training data, evaluated in eval mode, reach
  accuracy ``train_acc`` (or its epoch cap), counting only epochs after its data schedule has ended
  (the smooth shift's drift: then both its arms count only epochs after it), and is read as the
  mean over those epochs. ``consecutive: 1`` is Ash &
  Adams 2020's "train until 99% training accuracy". Evaluation is lean (``warmstart.train``): below
  the threshold, the training data's accuracy is censored (counting stops once the threshold is out
  of reach), and the test set is evaluated where an epoch can be read; the read-out is exactly the
  full evaluation's wherever a seed's logits do not depend on the batch it is evaluated in (tested
  on the CPU; ``warmstart.train.screen``). Chosen on a validation split
  (``tools/select_readout.py``).
* **Converged**: a run is fitted when its eval-mode training accuracy reaches ``train_acc`` at every
  epoch read (``final.csv``'s ``fit_min``); a pair is converged when both arms are. A convex run
  finished at its optimum (``warmstart.convex``) is fitted when it reached the optimum.
* **Speed**: epochs to fit, the first tuning epoch (from 1) whose eval-mode training accuracy
  reaches ``train_acc``; valid only when no arm meets it at its start (``start_fit_validation``, the
  highest start accuracy seen on the validation split, must lie below it; the tables check the
  study's own starts too).
* **Verdicts**: ``alpha`` (Holm over each experiment's primary contrasts, both directions in one
  family), the equivalence margins, and ``check_tolerance`` of the built-in identity checks.

The protocol's **hash** (``warmstart.experiments.protocol_hash``, beside the registry whose
experiments it reads) covers this section (less ``compatible``) and what every experiment declares
with it: its number of seeds, the epoch caps, the smooth shift's drift length, its config section
and the code that decides its verdicts (``warmstart.experiments.declared``). Every run records the
hash it was trained under; the verdicts refuse a run under any other hash (``check_recorded``)
unless ``compatible`` lists it with a reason. A change after results is a new
``version``, listed with its date and reason in ``docs/protocol.md`` (a test holds
``config.yaml``'s hash to the one listed there).
"""

from __future__ import annotations

from warmstart.errors import ConfigError


def read_rule(config: dict) -> dict:
    """The stopping and read-out rule of every tuning run: ``{train_acc, consecutive}``."""
    r = config["protocol"]["read"]
    return {"train_acc": r["train_acc"], "consecutive": r["consecutive"]}


def check_recorded(recorded: dict[str, str | None], study: str, compatible: dict[str, str]) -> None:
    """Raise ``ConfigError`` in one line when a run (``recorded``: run -> the protocol hash its
    ``provenance.json`` records) was trained under another hash than the ``study``'s and not one
    that ``compatible`` (hash -> reason, the config's ``protocol.compatible``) accepts; the line
    names each other hash, how many runs and one of them."""
    other: dict[str | None, list[str]] = {}
    for run, h in recorded.items():
        if h != study and h not in compatible:
            other.setdefault(h, []).append(run)
    if other:
        named = "; ".join(f"{len(runs)} runs under {h or 'no recorded protocol'} (e.g. {min(runs)})" for h, runs in other.items())
        raise ConfigError(
            f"results/runs: {named}, where the study's protocol hash is {study}: retrain them, or list the hash under "
            "protocol.compatible with the reason it is the same protocol (docs/protocol.md)"
        )
