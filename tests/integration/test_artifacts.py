"""Model registry: versioned artifacts with checksums, promote/rollback, hot swap under load."""

import threading
import time

import numpy as np
import pytest

from shared import artifacts
from shared.db import session_scope

SHOP_LANGUAGE = "en"  # these tests read the API's messages in English


def _save(settings, shop_id, version_value, service="recommendation", metrics=None):
    with session_scope(shop_id, settings.database_url) as session:
        row = artifacts.save_version(
            session, settings, shop_id, service,
            arrays={"weights": np.full(2000, float(version_value)), "ids": np.array(["a", "b"])},
            files={"model.json": b'{"trees": []}'}, params={"factors": 64}, metrics=metrics or {"ndcg": 0.1},
            data_window={"from": "2025-01-01", "to": "2026-11-20"},
        )
        return row.id


def test_save_and_load_round_trip(settings, shop):
    model_id = _save(settings, shop.id, 1)
    with session_scope(shop.id, settings.database_url) as session:
        row = session.get(artifacts.ModelVersion, model_id)
        loaded = artifacts.load_artifact(row, settings)
    assert row.status == "ready" and row.version == 1 and len(row.checksum) == 64
    assert np.array_equal(loaded.arrays["weights"], np.full(2000, 1.0))
    assert loaded.arrays["ids"].tolist() == ["a", "b"]
    assert loaded.files == {"model.json": b'{"trees": []}'} and loaded.params == {"factors": 64}
    assert _save(settings, shop.id, 2) != model_id


def test_a_tampered_artifact_is_refused(settings, shop):
    model_id = _save(settings, shop.id, 1)
    with session_scope(shop.id, settings.database_url) as session:
        row = session.get(artifacts.ModelVersion, model_id)
        (settings.artifact_dir / row.artifact_path / "model.json").write_bytes(b'{"evil": true}')
        with pytest.raises(artifacts.ArtifactCorrupt) as refused:
            artifacts.load_artifact(row, settings)
    assert "checksum" in refused.value.detail.render("en") and "校验和" in refused.value.detail.render("zh-CN")


def test_arrays_are_memory_mapped_read_only(settings, shop):
    """Workers share the page cache's copy: nothing in a loaded model may write to it."""
    model_id = _save(settings, shop.id, 3)
    with session_scope(shop.id, settings.database_url) as session:
        loaded = artifacts.load_artifact(session.get(artifacts.ModelVersion, model_id), settings)
    weights = loaded.arrays["weights"]
    assert type(weights) is np.ndarray and not weights.flags.writeable
    assert isinstance(weights.base, np.memmap)  # backed by the file, not a private copy
    with pytest.raises(ValueError, match="read-only"):
        weights[0] = 0.0
    assert float((weights * 2).sum()) == 12000.0  # results computed from it are ordinary arrays


def test_a_tampered_array_file_is_refused(settings, shop):
    model_id = _save(settings, shop.id, 1)
    with session_scope(shop.id, settings.database_url) as session:
        row = session.get(artifacts.ModelVersion, model_id)
        path = settings.artifact_dir / row.artifact_path / "arrays" / "weights.npy"
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 0xFF
        path.write_bytes(bytes(raw))
        with pytest.raises(artifacts.ArtifactCorrupt):
            artifacts.load_artifact(row, settings)


def test_a_version_saved_as_one_npz_still_loads(settings, shop):
    """Versions written before arrays were mapped: one arrays.npz in the manifest."""
    import hashlib
    import io
    import json

    model_id = _save(settings, shop.id, 5)
    with session_scope(shop.id, settings.database_url) as session:
        row = session.get(artifacts.ModelVersion, model_id)
        directory = settings.artifact_dir / row.artifact_path
        buffer = io.BytesIO()
        np.savez(buffer, weights=np.full(3, 5.0))
        (directory / "arrays.npz").write_bytes(buffer.getvalue())
        manifest = {name: digest for name, digest in json.loads((directory / "manifest.json").read_text()).items()
                    if not name.startswith("arrays/")}
        manifest["arrays.npz"] = hashlib.sha256(buffer.getvalue()).hexdigest()
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        (directory / "manifest.json").write_bytes(manifest_bytes)
        row.checksum = hashlib.sha256(manifest_bytes).hexdigest()
        loaded = artifacts.load_artifact(row, settings)
    assert loaded.arrays["weights"].tolist() == [5.0, 5.0, 5.0] and "arrays.npz" not in loaded.files


def test_promote_and_rollback_through_the_api(client, shop, settings):
    v1, v2, v3 = (_save(settings, shop.id, n) for n in (1, 2, 3))
    h = shop.headers()
    assert client.post(f"/v1/models/{v1}/promote", headers=h).get_json()["status"] == "active"
    assert client.post(f"/v1/models/{v2}/promote", headers=h).get_json()["status"] == "active"
    assert client.post(f"/v1/models/{v3}/promote", headers=h).get_json()["status"] == "active"
    listed = client.get("/v1/models?service=recommendation", headers=h).get_json()["items"]
    status = {m["id"]: m["status"] for m in listed}
    assert status == {v1: "retired", v2: "retired", v3: "active"}
    assert client.post("/v1/models/recommendation/rollback", headers=h).get_json()["id"] == v2
    assert client.post("/v1/models/recommendation/rollback", headers=h).get_json()["id"] == v1
    again = client.post("/v1/models/recommendation/rollback", headers=h)
    assert again.status_code == 409 and "nothing to roll back" in again.get_json()["detail"]
    listed = client.get("/v1/models", headers=h).get_json()["items"][0]
    assert {"id", "service", "version", "status", "params", "metrics", "trained_at", "data_window"} <= set(listed)
    assert client.post("/v1/models/999999/promote", headers=h).status_code == 404


def test_promote_if_better_keeps_the_better_model(settings, shop):
    good = _save(settings, shop.id, 1, service="forecasting", metrics={"wape": 0.30})
    worse = _save(settings, shop.id, 2, service="forecasting", metrics={"wape": 0.35})
    with session_scope(shop.id, settings.database_url) as session:
        assert artifacts.promote_if_better(session, session.get(artifacts.ModelVersion, good), "wape", False)
        assert not artifacts.promote_if_better(session, session.get(artifacts.ModelVersion, worse), "wape", False)
        assert artifacts.active_version(session, "forecasting").id == good


def test_hot_swap_under_concurrent_reads(settings, shop):
    """Readers always get a whole model, versions only move forward, and the newest wins fast."""
    cache = artifacts.ActiveModelCache("pricing", lambda art: (art.version, art.arrays["weights"]))
    ids = [_save(settings, shop.id, n, service="pricing") for n in (1, 2, 3)]
    with session_scope(shop.id, settings.database_url) as session:
        artifacts.promote(session, session.get(artifacts.ModelVersion, ids[0]))
    errors, stop = [], threading.Event()

    def reader():
        last = 0
        try:
            while not stop.is_set():
                loaded = cache.get(shop.id, settings)
                version, weights = loaded.model
                assert version == loaded.version and np.all(weights == version), "half-swapped model"
                assert version >= last, "went back in time"
                last = version
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    for model_id in ids[1:]:
        time.sleep(0.3)
        with session_scope(shop.id, settings.database_url) as session:
            artifacts.promote(session, session.get(artifacts.ModelVersion, model_id))
    deadline = time.monotonic() + 5
    while cache.get(shop.id, settings).version != 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert cache.get(shop.id, settings).version == 3
