import subprocess
import sys
import textwrap
import time


def run_job(tmp_path, body: str) -> subprocess.CompletedProcess:
    script = tmp_path / "job.py"
    head = f"import atexit\nfrom warmstart.jobs import job\nwith job({str(tmp_path / 'log.txt')!r}):\n"
    script.write_text(head + textwrap.indent(textwrap.dedent(body), "    ") + "print('after the job', flush=True)\n")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)


def test_success_keeps_outputs_and_log_and_skips_shutdown(tmp_path):
    out = run_job(
        tmp_path,
        """
        print("into the log")
        (__import__("pathlib").Path("out.txt")).write_text("x" * 100_000)
        atexit.register(lambda: open("atexit-ran", "w").close())
        """,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out.txt").read_text() == "x" * 100_000
    assert (tmp_path / "log.txt").read_text() == "into the log\n"
    assert "after the job" not in out.stdout  # the process ended with the job
    assert not (tmp_path / "atexit-ran").exists()  # Python's shutdown was skipped


def test_user_error_is_one_line_and_a_bug_keeps_its_traceback(tmp_path):
    out = run_job(tmp_path, "from warmstart.data import DataError\nraise DataError('data/x.pt: missing')\n")
    assert out.returncode == 1 and out.stderr == "Error: data/x.pt: missing\n"
    out = run_job(tmp_path, "1 / 0\n")
    assert out.returncode == 1 and "ZeroDivisionError" in (tmp_path / "log.txt").read_text()


def test_process_age_is_within_the_process_lifetime():
    """Provenance's start_to_first_step: never more than the process has lived, seen from outside."""
    t = time.perf_counter()
    code = "from warmstart.provenance import process_age; print(process_age())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lifetime = time.perf_counter() - t
    assert 0 < float(out.stdout) <= lifetime + 0.02  # /proc counts in 10 ms ticks
