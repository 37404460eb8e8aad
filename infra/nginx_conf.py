"""nginx in front of the gateway: fill in ``infra/nginx/default.conf.template`` for a plain nginx,
and keep the template's problem documents in step with the message catalogues.

docker compose needs neither: the official nginx image fills the template from its environment.
Elsewhere (a Debian ``apt install nginx``, the tests)::

    python -m infra.nginx_conf --gateway 127.0.0.1:8000 --listen 80 > /etc/nginx/conf.d/shopmind.conf
    python -m infra.nginx_conf --set client_header_timeout=5s ...   # any value below, or SHOPMIND_NGINX_<NAME>
    python -m infra.nginx_conf --update-problems                    # after editing the [edge] messages

Values come from ``--set``/``--gateway``/``--listen``, else ``SHOPMIND_NGINX_<NAME>`` in the
environment, else :data:`DEFAULTS`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "default.conf.template"
PREFIX = "SHOPMIND_NGINX_"
# name (without the prefix, lower case) -> default. docker-compose.yml repeats them for the image.
DEFAULTS = {
    "listen": "80",
    "gateway": "127.0.0.1:8000",
    "client_header_timeout": "10s",
    "client_body_timeout": "60s",
    "send_timeout": "60s",
    "keepalive_timeout": "15s",
    # An import file is the largest body; the default SHOPMIND_MAX_IMPORT_BYTES (2 GiB) plus room
    # for the multipart envelope would be pointless: a larger file is refused after the upload anyway.
    "client_max_body_size": "2g",
    "proxy_read_timeout": "150s",
    "connections_per_address": "64",
    "rate_per_address": "50r/s",
    "burst_per_address": "200",
}
PLACEHOLDER = re.compile(r"\$\{(" + PREFIX + r"[A-Z_]+)\}")
BEGIN, END = "    # BEGIN problems\n", "    # END problems\n"
# nginx's own errors -> (the status it answers, the message, the problem type's slug, extra headers). The statuses nginx
# makes itself; answers the gateway sends pass through untouched (proxy_intercept_errors is off).
PROBLEMS = {
    (400, 494): (400, "edge.bad_request", None, {}),
    (413,): (413, "edge.body_too_large", None, {}),
    (414,): (414, "edge.url_too_long", None, {}),
    (429,): (429, "edge.too_many_requests", "rate-limited", {"Retry-After": "1"}),  # the gateway's slug
    (502,): (502, "edge.gateway_down", None, {"Retry-After": "5"}),
    (504,): (504, "edge.gateway_timeout", None, {}),
}


def values_from(overrides: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None) -> dict:
    """Every template value: ``overrides`` (names as in DEFAULTS), then the environment, then defaults."""
    environ = os.environ if environ is None else environ
    unknown = set(overrides or {}) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown nginx settings {sorted(unknown)}; known: {', '.join(DEFAULTS)}")
    values = {name: environ.get(PREFIX + name.upper()) or default for name, default in DEFAULTS.items()}
    values.update({name: str(value) for name, value in (overrides or {}).items()})
    return values


def render(overrides: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
           template: str | None = None) -> str:
    """The template with every ``${SHOPMIND_NGINX_...}`` filled in (what envsubst does in the image)."""
    values = values_from(overrides, environ)
    for name, value in values.items():
        if not re.fullmatch(r"[\w.:/\[\]-]+", value):  # one nginx word: nothing that could end a directive
            raise ValueError(f"{PREFIX}{name.upper()}={value!r} is not a single nginx value")

    def fill(match: re.Match) -> str:
        name = match.group(1).removeprefix(PREFIX).lower()
        if name not in values:
            raise ValueError(f"the template names ${{{match.group(1)}}}, which has no default in DEFAULTS")
        return values[name]

    return PLACEHOLDER.sub(fill, TEMPLATE.read_text() if template is None else template)


def placeholders(template: str | None = None) -> set[str]:
    """The ``SHOPMIND_NGINX_...`` names the template uses."""
    return set(PLACEHOLDER.findall(TEMPLATE.read_text() if template is None else template))


def problem_block() -> str:
    """The error_page rules and one internal location per status and language, each answering a
    problem document made like the gateway's, with nginx's request id."""
    from shared import i18n
    from shared.errors import problem

    lines = []
    for statuses, (status, *_rest) in PROBLEMS.items():
        lines.append(f"    error_page {' '.join(map(str, statuses))} /_shopmind/problem/{status}-$shopmind_language;\n")
    for status, key, slug, headers in PROBLEMS.values():
        for language in i18n.LANGUAGES:
            # Placeholders stay ${...}: the message names the configured limit, filled in with the rest.
            params = {"limit": "${SHOPMIND_NGINX_CLIENT_MAX_BODY_SIZE}",
                      "timeout": "${SHOPMIND_NGINX_PROXY_READ_TIMEOUT}"}
            doc = i18n.render(problem(status, i18n.t(key, **params), slug=slug,
                                      request_id="$request_id"), language)
            body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
            if "$" in PLACEHOLDER.sub("", body).replace("$request_id", ""):
                raise ValueError(f"{key} ({language}) has a '$', which nginx would read as a variable")
            quoted = body.replace("\\", "\\\\").replace("'", "\\'")
            lines.append(f"    location = /_shopmind/problem/{status}-{language} {{\n"
                         "        internal;\n"
                         "        default_type application/problem+json;\n"
                         "        add_header Content-Language " + language + " always;\n"
                         "        add_header X-Request-ID $request_id always;\n"
                         + "".join(f"        add_header {name} {value} always;\n" for name, value in headers.items())
                         + f"        return {status} '{quoted}';\n"
                         "    }\n")
    return "".join(lines)


def with_problems(template: str) -> str:
    """The template with its generated block replaced by the current one."""
    start, end = template.index(BEGIN) + len(BEGIN), template.index(END)
    return template[:start] + problem_block() + template[end:]


def standalone(site: str, run_dir: Path, user: str | None = None) -> str:
    """A whole nginx.conf around ``site`` whose pid, logs and temporary files live in ``run_dir``
    (a test's nginx, or a one-off on a free port); ``user`` when the master runs as root."""
    run_dir = Path(run_dir)
    temp = {name: run_dir / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    return (
        (f"user {user};\n" if user else "")
        + "worker_processes 1;\n"
        f"pid {run_dir / 'nginx.pid'};\n"
        f"error_log {run_dir / 'error.log'} info;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {run_dir / 'access.log'};\n"
        f"    client_body_temp_path {temp['client_body']};\n"
        f"    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n"
        f"    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        + site
        + "}\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.nginx_conf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", help=f"host:port of the gateway [{DEFAULTS['gateway']}]")
    parser.add_argument("--listen", help=f"what nginx listens on: a port, or address:port [{DEFAULTS['listen']}]")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help=f"any of: {', '.join(DEFAULTS)}")
    parser.add_argument("--out", type=Path, help="write here instead of standard output")
    parser.add_argument("--update-problems", action="store_true",
                        help="regenerate the template's problem documents from shared/messages (maintainers)")
    args = parser.parse_args(argv)
    if args.update_problems:
        TEMPLATE.write_text(with_problems(TEMPLATE.read_text()))
        print(f"updated {TEMPLATE}", file=sys.stderr)
        return
    overrides = dict(item.split("=", 1) for item in args.settings if "=" in item)
    if len(overrides) != len(args.settings):
        parser.error("--set takes NAME=VALUE")
    overrides.update({name: value for name, value in (("gateway", args.gateway), ("listen", args.listen)) if value})
    try:
        conf = render(overrides)
    except ValueError as exc:
        parser.error(str(exc))
    if args.out:
        args.out.write_text(conf)
    else:
        sys.stdout.write(conf)


if __name__ == "__main__":
    main()
