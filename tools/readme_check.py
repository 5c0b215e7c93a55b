"""Run the README's commands as a newcomer would type them, in a fresh copy with a fresh environment.

The commands are read from README.md itself, so that README and check cannot drift: every indented
line of the section "## Run it" (a trailing backslash continues a line; ``#`` starts a comment).
They run in order, in one bash session (so ``source .venv/bin/activate`` holds for the lines after
it), in a copy of the repository's tracked files in a temporary directory: a new virtual
environment, exactly the README's install, no extras unless a line installs them.

Two kinds of command are not run in full, and the check says so for each:

- a ``snakemake`` command that runs a whole study (every one but the quick study's, those with
  ``configs/quick.yaml``) is planned with ``-n`` (the study takes an hour or more; its plan is
  what a mistake in the command would break), and a ``--report`` of such a study is not built;
- ``pytest`` is left out (``.ci/run`` runs the suite itself).

Usage: ``python tools/readme_check.py [--readme README.md] [--keep DIR]``. Exit status 1 names the
line that failed.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = "configs/quick.yaml"


def commands(readme: str, section: str = "Run it") -> list[str]:
    """The indented command lines of ``## <section>`` (up to the next ``## `` heading), comments
    removed and continued lines joined."""
    m = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", readme, flags=re.S | re.M)
    if not m:
        raise SystemExit(f"README: no section '## {section}'")
    lines, current = [], ""
    for raw in m.group(1).splitlines():
        if not raw.startswith("    ") or not raw.strip():
            continue
        text = raw.strip()
        current += text[:-1] + " " if text.endswith("\\") else text
        if not text.endswith("\\"):
            command = current.split(" #")[0].strip()
            if command:
                lines.append(command)
            current = ""
    return lines


def adapt(command: str) -> tuple[str, str | None]:
    """The command as the check runs it, and a note when it differs from the README's."""
    parts, notes = [], []
    for part in (p.strip() for p in command.split("&&")):
        words = shlex.split(part)
        if words and words[0] == "pytest":
            notes.append("pytest left out (.ci/run runs the suite)")
            continue
        if words and words[0] == "snakemake" and QUICK not in words:
            if "--report" in words:
                notes.append("the report of a study that was only planned: not built")
                continue
            part += " -n"
            notes.append("a whole study: planned (-n), not run")
        parts.append(part)
    return " && ".join(parts) or "true", "; ".join(notes) or None


def script(lines: list[str]) -> str:
    """One bash session that echoes and runs each line, stopping at the first that fails."""
    out = ["set -eo pipefail"]
    for i, line in enumerate(lines, 1):
        run, note = adapt(line)
        shown = f"[{i}/{len(lines)}] $ {line}" + (f"   ({note})" if note else "")
        out += [f"echo {shlex.quote(shown)}", f"{run} || {{ echo {shlex.quote(f'README line failed: {line}')}; exit 1; }}"]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--keep", help="run in this directory (kept) instead of a temporary one")
    args = parser.parse_args()
    lines = commands(Path(args.readme).read_text())
    with tempfile.TemporaryDirectory(prefix="readme-check-") as tmp:
        work = Path(args.keep or tmp) / "warmstart"
        work.mkdir(parents=True, exist_ok=True)
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-cf", "-", "--null", "-T", "-"], cwd=ROOT, input=tracked, check=True, stdout=open(work / ".tar", "wb"))
        subprocess.run(["tar", "-xf", ".tar"], cwd=work, check=True)
        (work / ".tar").unlink()
        print(f"README commands in {work} ({len(lines)} lines)", flush=True)
        return subprocess.run(["bash", "-c", script(lines)], cwd=work).returncode


if __name__ == "__main__":
    sys.exit(main())
