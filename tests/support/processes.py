"""Child processes the tests start (servers, workers): stopped politely, then for sure."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen, timeout_s: float = 20) -> None:
    """SIGTERM, wait up to ``timeout_s``, then SIGKILL: a stuck child never hangs the run."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
