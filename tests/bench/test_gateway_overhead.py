"""Gateway overhead: a trivial routed endpoint through the gateway vs the same service directly.

Both servers run under gunicorn with infra/gunicorn.conf.py (2 workers each), on loopback, in
the same run, so the ratio is meaningful on a noisy machine. Run with `make bench`.
"""

import subprocess
from pathlib import Path

import pytest

from shared.auth import Principal, principal_headers
from tests.bench.load import run_load
from tests.bench.servers import free_port, new_shop, server_env, start_server

PATH = "/v1/imports/presets"





def _serve(target: str, port: int, env: dict) -> subprocess.Popen:
    return start_server(target, port, env, Path(env["SHOPMIND_DATA_DIR"]) / f"{target}.log", workers=2)


@pytest.mark.bench
def test_gateway_overhead(tmp_path):
    env = server_env(tmp_path)
    key = new_shop(env, "bench")["api_key"]["key"]
    service_port, gateway_port = free_port(), free_port()
    service = _serve("ingestion", service_port, env)
    gateway = _serve("gateway", gateway_port, {**env, "SHOPMIND_INGESTION_URL": f"http://127.0.0.1:{service_port}"})
    try:
        signed = principal_headers(Principal(1, "admin", 1), "bench-internal", "GET", PATH)
        run_load(service_port, PATH, signed, seconds=1)  # warm up both
        run_load(gateway_port, PATH, {"Authorization": f"Bearer {key}"}, seconds=1)
        direct = run_load(service_port, PATH, signed)
        routed = run_load(gateway_port, PATH, {"Authorization": f"Bearer {key}"})
    finally:
        for process in (gateway, service):
            process.terminate()
            process.wait(timeout=10)
    ratio = routed["rps"] / direct["rps"]
    print(f"\nGET {PATH}: direct {direct}  via gateway {routed}  ratio {ratio:.2f}")
    assert routed["requests"] > 0 and direct["requests"] > 0
