"""The README tells the truth about the repository: every file, config and tool it names exists, every
config and tool that exists is named, and the commands CI runs are the README's own."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
sys.path.insert(0, str(ROOT / "tools"))
import readme_check  # noqa: E402

TOP = ("configs/", "docs/", "warmstart/", "workflow/", "tools/", "tests/", "benchmarks/", "slurm/", "profiles/", ".ci/", "envs/")


def named_paths(text: str) -> set[str]:
    """Repository paths named in ``text``: in backticks, as link targets, or as the first word of
    a line of an indented block (the layout)."""
    words = set(re.findall(r"`([^`\s]+)`", text)) | set(re.findall(r"\]\(([^)\s#]+)\)", text))
    words |= {m.split()[0] for m in re.findall(r"^    (\S[^\n]*)$", text, re.M)}
    return {w.rstrip(",") for w in words if w.startswith(TOP) or w in ("Snakefile", "config.yaml", "pyproject.toml")}


def test_every_path_the_readme_names_exists():
    missing = []
    for path in sorted(named_paths(README)):
        pattern = re.sub(r"<[^>]+>", "*", path).replace("{", "").replace("}", "")
        if not (ROOT / path).exists() and not list(ROOT.glob(pattern.split(",")[0])):
            missing.append(path)
    assert not missing, f"README names files that do not exist: {missing}"


def test_every_config_and_tool_is_named_in_the_readme_layout():
    layout = README[README.index("## Layout") : README.index("## Extending")]
    shipped = [*(ROOT / "configs").glob("*.yaml"), *(p for p in (ROOT / "tools").iterdir() if p.is_file())]
    unnamed = [p.name for p in shipped if not re.search(rf"(?<![\w-]){re.escape(p.stem)}(?![\w-])", layout)]
    assert not unnamed, f"not named in README's layout: {unnamed}"


def test_the_checked_commands_are_the_readmes_in_order():
    lines = readme_check.commands(README)
    assert lines[:2] == ["python3 -m venv .venv && source .venv/bin/activate", "pip install -e ."]  # exactly the install, no extras
    quick = [i for i, c in enumerate(lines) if "configs/quick.yaml" in c]
    full = lines.index("snakemake --cores 8")
    assert quick and quick[0] < full  # the first-contact study comes first
    assert any("--report" in c for c in lines) and any(c.startswith("snakemake --profile slurm") for c in lines)
    assert all(not c.endswith("\\") and "#" not in c for c in lines)  # continuations joined, comments dropped


def test_only_code_blocks_are_commands_and_comments_respect_quotes():
    text = """## Run it

Prose that is not indented.

    echo 'a # inside quotes' # a comment
    snakemake --cores 2 \\
        --configfile configs/quick.yaml
    # a comment alone

- a list item
    whose continuation is indented

## Next
"""
    assert readme_check.commands(text) == ["echo 'a # inside quotes'", "snakemake --cores 2 --configfile configs/quick.yaml"]


@pytest.mark.parametrize(
    "line,run,noted",
    [
        ("pip install -e .", "pip install -e .", False),
        ("snakemake --cores 2 --directory quick --configfile configs/quick.yaml", None, False),
        ("snakemake --cores 8", "snakemake --cores 8 -n", True),
        ("python -m snakemake --cores 8", "python -m snakemake --cores 8 -n", True),
        ("X=1 snakemake --cores 8", "X=1 snakemake --cores 8 -n", True),
        ("snakemake --cores 2 --configfile=configs/quick.yaml", None, False),
        ("snakemake --report report.html", "true", True),
        (
            "snakemake --directory quick --configfile configs/quick.yaml --report report.html",
            "snakemake --directory quick --configfile configs/quick.yaml --report report.html && test -s quick/report.html",
            False,
        ),
        ("pip install -e '.[test]' && pytest", "pip install -e '.[test]'", True),
        ("pip install -e '.[test]' && python -m pytest -x", "pip install -e '.[test]'", True),
    ],
)
def test_long_commands_are_planned_and_the_rest_run_as_written(line, run, noted):
    adapted, note = readme_check.adapt(line)
    assert adapted == (run or line) and (note is not None) == noted


def test_the_check_stops_at_the_first_failing_line(tmp_path):
    import subprocess

    script = readme_check.script(["true", "false", "touch reached"])
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 1 and "README line failed: false" in out.stdout and not (tmp_path / "reached").exists()
