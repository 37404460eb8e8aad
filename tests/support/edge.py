"""The deployment as operators run it, for tests: ``shopmind serve`` under real gunicorn, and a
real nginx (Debian's package) in front of it with the conf of infra/nginx, each on a free port."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from infra import nginx_conf
from tests.conftest import ROOT
from tests.support.commands import SHOPMIND
from tests.support.processes import stop_process


def nginx_binary() -> str | None:
    return shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(check, process: subprocess.Popen, log: Path, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited ({process.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if check():
                return
        except (OSError, httpx.TransportError):
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{what} did not start within {timeout_s} s:\n{log.read_text(errors='replace')[-3000:]}")


class Served:
    """``shopmind serve <target>`` on a free loopback port, its output in ``log``."""

    def __init__(self, target: str, env: dict, log: Path, workers: int = 1, timeout_s: float = 90):
        self.port, self.log = free_port(), log
        self._out = open(log, "wb")
        self.process = subprocess.Popen(
            [*SHOPMIND, "serve", target, "--port", str(self.port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT)
        self.address = f"127.0.0.1:{self.port}"
        _wait_for(lambda: httpx.get(f"http://{self.address}/healthz", timeout=1).status_code == 200,
                  self.process, log, f"shopmind serve {target}", timeout_s)

    def stop(self) -> None:
        stop_process(self.process)
        self._out.close()


class Nginx:
    """nginx with infra/nginx/default.conf.template filled in (``settings``: names of
    infra.nginx_conf.DEFAULTS), its pid, logs and temporary files in ``run_dir``."""

    def __init__(self, run_dir: Path, gateway: str, settings: dict | None = None):
        binary = nginx_binary()
        if binary is None:
            pytest.skip("needs the nginx binary (Debian package nginx; .ci/run installs it)")
        run_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = nginx_conf.render({"listen": f"127.0.0.1:{self.port}", "gateway": gateway, **(settings or {})},
                                 environ={})
        # A root master would run its worker as "nobody", who cannot enter pytest's private tmp dirs.
        user = getpass.getuser() if os.geteuid() == 0 else None
        conf = run_dir / "nginx.conf"
        conf.write_text(nginx_conf.standalone(site, run_dir, user=user))
        self.error_log = run_dir / "error.log"
        self._stderr = open(run_dir / "stderr.log", "wb")
        self.process = subprocess.Popen(
            [binary, "-p", str(run_dir), "-e", str(self.error_log), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=self._stderr)

        def accepts() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        _wait_for(accepts, self.process, run_dir / "stderr.log", "nginx", 15)

    def stop(self) -> None:
        stop_process(self.process)
        self._stderr.close()
