"""Run the README's commands as a newcomer would type them, in a fresh copy with a fresh environment.

The commands are read from README.md itself, so that README and check cannot drift: every line of
the indented code blocks of the section "## Run it" (its subsections included; a trailing
backslash continues a line; ``#`` outside quotes starts a comment). They run in order, in one bash
session (so ``source .venv/bin/activate`` holds for the lines after it), in a copy of the
repository's tracked files in a temporary directory, with an environment cleared of any virtual
environment, ``PYTHONPATH`` and pip settings of the caller: a new virtual environment and exactly
the README's install, no extras unless a line installs them. After the install line the check
asserts that ``snakemake`` is the new environment's.

Two kinds of command are not run in full, and the check prints why for each:

- a ``snakemake`` command (also as ``python -m snakemake``) that runs a whole study (every study but
  the quick one, ``configs/quick.yaml``) is planned with ``-n``: it takes an hour or more, and its
  plan is what a mistake in the command would break; the ``--report`` of such a study is not built.
  The quick study's report is built and must exist afterwards;
- ``pytest`` is left out (``.ci/run`` runs the suite itself).

Usage: ``python tools/readme_check.py [--readme README.md] [--keep DIR]``. Exit status 1 names the
line that failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = "configs/quick.yaml"


def commands(readme: str, section: str = "Run it") -> list[str]:
    """The command lines of the code blocks of ``## <section>`` (up to the next ``## `` heading):
    indented lines after a blank line, continued lines joined, comments removed."""
    m = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", readme, flags=re.S | re.M)
    if not m:
        raise SystemExit(f"README: no section '## {section}'")
    lines, current, in_block, previous_blank = [], "", False, True
    for raw in m.group(1).splitlines():
        indented = raw.startswith("    ") and raw.strip()
        in_block = bool(indented) and (in_block or previous_blank)
        previous_blank = not raw.strip()
        if not in_block:
            if current:
                raise SystemExit(f"README: a command ends in a backslash with nothing after it: {current}")
            continue
        text = raw.strip()
        current += text[:-1] + " " if text.endswith("\\") else text
        if not text.endswith("\\"):
            words = shlex.split(current, comments=True)
            if words:
                lines.append(" && ".join(shlex.join(p) for p in split_and(words)))
            current = ""
    return lines


def split_and(words: list[str]) -> list[list[str]]:
    """The words of a command line split at ``&&``."""
    parts = [[]]
    for w in words:
        parts.append([]) if w == "&&" else parts[-1].append(w)
    return [p for p in parts if p]


def snakemake_words(words: list[str]) -> list[str] | None:
    """The arguments of a Snakemake call (``snakemake ...``, ``python -m snakemake ...``, after
    ``VAR=value`` prefixes), or ``None`` when the words call something else."""
    while words and re.match(r"^\w+=", words[0]):
        words = words[1:]
    if words[:1] == ["snakemake"]:
        return words[1:]
    if len(words) > 2 and re.match(r"^python[\d.]*$", words[0]) and words[1:3] == ["-m", "snakemake"]:
        return words[3:]
    return None


def option(args: list[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in ``args`` (the first, for a list)."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def adapt(command: str) -> tuple[str, str | None]:
    """The command as the check runs it, and a note when it differs from the README's."""
    parts, notes = [], []
    for words in split_and(shlex.split(command)):
        if "pytest" in words:
            notes.append("pytest left out (.ci/run runs the suite)")
            continue
        args = snakemake_words(words)
        part = shlex.join(words)
        if args is not None and QUICK not in args and option(args, "--configfile") != QUICK:
            if option(args, "--report"):
                notes.append("the report of a study that was only planned: not built")
                continue
            part += " -n"
            notes.append("a whole study: planned (-n), not run")
        elif args is not None and option(args, "--report"):  # the quick study's report: it must be written
            where = Path(option(args, "--directory") or ".") / option(args, "--report")
            part += f" && test -s {shlex.quote(str(where))}"
        parts.append(part)
    return " && ".join(parts) or "true", "; ".join(notes) or None


def script(lines: list[str]) -> str:
    """One bash session that echoes and runs each line, stopping at the first that fails; after
    the line that activates a virtual environment, ``snakemake`` must come from it."""
    out = ["set -eo pipefail"]
    for i, line in enumerate(lines, 1):
        run, note = adapt(line)
        shown = f"[{i}/{len(lines)}] $ {line}" + (f"   ({note})" if note else "")
        out += [f"echo {shlex.quote(shown)}", f"{run} || {{ echo {shlex.quote(f'README line failed: {line}')}; exit 1; }}"]
        if line.startswith("pip install"):
            wrong = 'echo "README: snakemake is not the new environment\'s"; exit 1'
            out.append(f'case "$(command -v snakemake)" in "$PWD"/.venv/*) ;; *) {wrong};; esac')
    return "\n".join(out) + "\n"


def clean_environment() -> dict[str, str]:
    """The caller's environment without its virtual environment, Python path or pip settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith("PIP_")}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(venv))
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--keep", help="run in this new directory (kept) instead of a temporary one")
    args = parser.parse_args()
    lines = commands(Path(args.readme).read_text())
    if args.keep and Path(args.keep).exists():
        raise SystemExit(f"--keep {args.keep}: exists; give a new directory")
    with tempfile.TemporaryDirectory(prefix="readme-check-") as tmp:
        work = Path(args.keep or tmp) / "warmstart"
        work.mkdir(parents=True)
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
        tracked = "\0".join(f for f in listed if f and (ROOT / f).exists())
        packed = subprocess.run(["tar", "-cf", "-", "--null", "-T", "-"], cwd=ROOT, input=tracked.encode(), capture_output=True, check=True)
        subprocess.run(["tar", "-xf", "-"], cwd=work, input=packed.stdout, check=True)
        print(f"README commands in {work} ({len(lines)} lines)", flush=True)
        return subprocess.run(["bash", "-c", script(lines)], cwd=work, env=clean_environment()).returncode


if __name__ == "__main__":
    sys.exit(main())
