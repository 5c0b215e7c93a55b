"""A published study comes from one clean commit (``provenance.published_code``)."""

import pytest

from warmstart.errors import DataError
from warmstart.provenance import published_code

CLEAN, OTHER = "a" * 40, "b" * 40


def test_runs_of_one_clean_commit_are_published():
    assert published_code({CLEAN: 5104}) == CLEAN


@pytest.mark.parametrize(
    "commits",
    [{CLEAN: 10, OTHER: 1}, {CLEAN + "-dirty": 10}, {"unknown": 3}, {CLEAN: 9, CLEAN + "-dirty": 1}],
)
def test_mixed_or_uncommitted_code_is_refused_naming_every_commit_unless_asked(commits):
    with pytest.raises(DataError) as e:
        published_code(commits)
    message = str(e.value)
    assert "\n" not in message and all(f"{c} ({n} runs)" in message for c, n in commits.items())
    assert "docs_mixed_code=True" in message  # says how to publish them anyway
    assert published_code(commits, mixed=True) == max(commits, key=commits.get)
