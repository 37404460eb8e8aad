"""gunicorn settings for every shopmind process (``shopmind serve`` loads this file).

Domain services answer from memory or the database and use sync workers (fastest for short
requests here: docs/libraries.md). The gateway and all-in-one wait on other services, so
``shopmind serve`` gives them threaded workers instead.
"""

import os

workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"
# gunicorn switches sync workers to gthread when threads > 1, so services keep 1 whatever the
# environment says; `shopmind serve` gives the gateway and all-in-one GUNICORN_THREADS (default 8).
threads = 1
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "180"))  # above the 120 s maximum of ?wait=
graceful_timeout = 30
# Above nginx's upstream keepalive_timeout (4 s): nginx never reuses a connection gunicorn is closing.
keepalive = 5
# The same bounds nginx applies in front (infra/nginx/default.conf.template: large_client_header_buffers
# 4 8k), so a client that reaches gunicorn directly gets no more room than one behind nginx.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190
# Recycle workers now and then so a slow leak never becomes an outage; not so often that a busy
# worker (1,000+ recommendations a second) reloads its models every few seconds.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # "" turns it off
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'


def post_fork(server, worker):
    # A forked worker must open its own database connections.
    from shared.db import dispose_engines

    dispose_engines()


def post_worker_init(worker):
    # Load every shop's active models before this worker takes a request, so no request waits
    # for one (a recycled worker joins only once loaded). SHOPMIND_PRELOAD_MODELS=0 turns it off.
    if os.environ.get("SHOPMIND_PRELOAD_MODELS", "1") != "0":
        from shared.artifacts import preload_all
        from shared.config import load_settings

        preload_all(load_settings())
