"""How the verdict rules behave on simulated studies with the default's structure and 32 seeds
per experiment: the share of each verdict per claim with no effect anywhere and with the claim
planted at 3, 4 and 5 standard errors (``warmstart.simulate``). Prints a Markdown table.

    python benchmarks/verdict_power.py [--draws 200]
"""

import argparse
from pathlib import Path

import yaml

from warmstart.config import validate
from warmstart.simulate import rates

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["seeds"] = 32
    for section in config["experiments"].values():
        section.pop("seeds", None)
    config = validate(config, ROOT / "workflow/schemas/config.schema.yaml")
    v = config["protocol"]
    r = rates(config, args.draws, (3.0, 4.0, 5.0), {"accuracy": v["margin_accuracy"], "epochs": v["margin_epochs"]})
    positive = r.get("reproduced", 0) + r.get("mixed", 0) + r.get("partly reproduced", 0)
    table = r.assign(positive=positive)[["positive"] + [c for c in ("reproduced",) if c in r]].unstack("effect_se")
    print("| experiment | claim | no effect: reproduced, mixed or partly | planted 3 SE: reproduced | 4 SE | 5 SE |")
    print("|---|---|---|---|---|---|")
    for (exp, claim), row in table.iterrows():
        planted = " | ".join(f"{row[('reproduced', se)]:.1%}" for se in (3.0, 4.0, 5.0))
        print(f"| {exp} | {claim} | {row[('positive', 0.0)]:.1%} | {planted} |")
