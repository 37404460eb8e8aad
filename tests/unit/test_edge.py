"""What sits at the edge: the cap on waiting requests, nginx's conf and the gunicorn limits behind it."""

from __future__ import annotations

import re
import runpy
import threading
from pathlib import Path

import pytest
import yaml

from infra import nginx_conf
from shared.waits import WaitSlots, default_total

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_wait_slots_bound_the_process_and_each_shop():
    slots = WaitSlots(total=3, per_shop=2)
    assert slots.try_acquire(1) and slots.try_acquire(1)
    assert not slots.try_acquire(1)  # the shop's two are taken
    assert slots.try_acquire(2)
    assert not slots.try_acquire(3)  # all three of the process are taken
    slots.release(1)
    assert slots.in_use() == 2 and slots.in_use(1) == 1
    assert slots.try_acquire(3)


def test_a_slot_is_given_back_whatever_happens_while_holding_it():
    slots = WaitSlots(total=1, per_shop=1)
    with pytest.raises(ValueError), slots.hold(7) as granted:
        assert granted
        raise ValueError("the wait failed")
    with slots.hold(7) as granted, slots.hold(8) as second:
        assert granted and not second
    assert slots.in_use() == 0
    with pytest.raises(RuntimeError):
        slots.release(7)  # never more releases than acquisitions


def test_wait_slots_never_over_grant_under_contention():
    slots, granted, barrier = WaitSlots(total=5, per_shop=5), [], threading.Barrier(40)

    def race():
        barrier.wait()
        granted.append(slots.try_acquire(1))

    threads = [threading.Thread(target=race) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 5


def test_half_the_request_threads_may_wait_and_a_sync_worker_none():
    from shared.config import load_settings

    assert [default_total(n) for n in (1, 2, 8, 9)] == [0, 1, 4, 4]
    assert WaitSlots(total=0, per_shop=2).try_acquire(1) is False
    assert WaitSlots(total=1, per_shop=2).per_shop == 1
    threaded = load_settings({"GUNICORN_THREADS": "16", "SHOPMIND_ADMIN_TOKEN": "x", "SHOPMIND_INTERNAL_TOKEN": "y"})
    assert (threaded.max_waiters, threaded.max_waiters_per_shop) == (8, 2)
    sync = load_settings({"GUNICORN_THREADS": "1", "SHOPMIND_ADMIN_TOKEN": "x", "SHOPMIND_INTERNAL_TOKEN": "y"})
    assert sync.max_waiters == 0
    chosen = load_settings({"SHOPMIND_MAX_WAITERS": "3", "SHOPMIND_MAX_WAITERS_PER_SHOP": "1",
                            "SHOPMIND_ADMIN_TOKEN": "x", "SHOPMIND_INTERNAL_TOKEN": "y"})
    assert (chosen.max_waiters, chosen.max_waiters_per_shop) == (3, 1)


def test_the_template_problem_documents_match_the_message_catalogues():
    template = nginx_conf.TEMPLATE.read_text()
    assert nginx_conf.with_problems(template) == template, "run: python -m infra.nginx_conf --update-problems"


def test_every_template_value_has_a_default_and_compose_sets_it_the_same():
    names = nginx_conf.placeholders()
    assert {name.removeprefix(nginx_conf.PREFIX).lower() for name in names} == set(nginx_conf.DEFAULTS)
    env = COMPOSE["nginx"]["environment"]
    assert set(env) >= names
    for name in names:
        key = name.removeprefix(nginx_conf.PREFIX).lower()
        if key not in ("gateway", "listen"):
            assert str(env[name]) == nginx_conf.DEFAULTS[key], name
    assert env[nginx_conf.PREFIX + "GATEWAY"] == "gateway:8000"
    assert "${" not in nginx_conf.render(environ={})


def _seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([sm]?)", value).groups()
    return int(number) * (60 if unit == "m" else 1)


def _bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()
    return int(number) * 1024 ** " kmg".index(unit or " ")


def test_nginx_limits_agree_with_the_app_behind_it():
    from shared.config import Settings
    from shared.jobs import MAX_WAIT_S

    defaults = nginx_conf.DEFAULTS
    assert _seconds(defaults["proxy_read_timeout"]) > MAX_WAIT_S  # a full ?wait= is never cut off
    assert _bytes(defaults["client_max_body_size"]) <= Settings.max_body_bytes
    assert _seconds(defaults["client_header_timeout"]) <= 15
    gunicorn = runpy.run_path(str(ROOT / "infra" / "gunicorn.conf.py"))
    assert gunicorn["timeout"] > MAX_WAIT_S
    # nginx's header buffers (4 x 8k) bound each header line to 8 KB; gunicorn allows no more.
    assert "large_client_header_buffers 4 8k;" in nginx_conf.TEMPLATE.read_text()
    assert gunicorn["limit_request_field_size"] <= 8192 and gunicorn["limit_request_line"] <= 8192
    assert 0 < gunicorn["limit_request_fields"] <= 100
    assert "keepalive_timeout 4s;" in nginx_conf.TEMPLATE.read_text() and gunicorn["keepalive"] > 4


@pytest.mark.parametrize("value", ["10s; return 200 x", "80 default_server", "a\nb", ""])
def test_a_value_that_is_not_one_nginx_word_is_refused(value):
    with pytest.raises(ValueError):
        nginx_conf.render({"client_header_timeout": value} if value else {"no_such_setting": "1"}, environ={})


def test_the_renderer_takes_settings_from_the_environment_and_the_command_line(tmp_path, capsys):
    conf = nginx_conf.render(environ={"SHOPMIND_NGINX_CLIENT_HEADER_TIMEOUT": "3s"})
    assert "client_header_timeout 3s;" in conf and "client_body_timeout 60s;" in conf
    nginx_conf.main(["--gateway", "10.0.0.5:8000", "--listen", "8080", "--set", "send_timeout=5s",
                     "--out", str(tmp_path / "shopmind.conf")])
    written = (tmp_path / "shopmind.conf").read_text()
    assert "server 10.0.0.5:8000;" in written and "listen 8080 default_server;" in written
    assert "send_timeout 5s;" in written
