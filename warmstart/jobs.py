"""What every pipeline job shares: its output goes to its log, a user's mistake ends it with one
line (no traceback), SIGTERM ends it with the conventional status 143 after training saved, and
success ends the process at once."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

from warmstart.errors import ConfigError, CorruptFile, DataError, Interrupted

USER_ERRORS = (DataError, ConfigError, CorruptFile)


@contextlib.contextmanager
def job(log_path: str) -> Iterator[None]:
    """Run the body with stdout and stderr sent to ``log_path``; report user errors in one line.
    When the body succeeds, the log is closed and the process exits with status 0 right away: the
    body's outputs are written and closed by then, and Python's own shutdown (module teardown,
    torch's exit handlers) costs 0.3–0.5 s per job once torch is imported, for nothing."""
    real_stderr = sys.stderr
    with open(log_path, "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            yield
        except USER_ERRORS as e:
            print(f"Error: {e}", file=log)
            print(f"Error: {e}", file=real_stderr)
            raise SystemExit(1) from None
        except Interrupted as e:
            print(e, file=log)
            raise SystemExit(143) from None
        except Exception:
            traceback.print_exc(file=log)  # a bug, not a user error: keep the whole story in the log
            raise
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
