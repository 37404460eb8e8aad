"""Refresh the third-party browser assets we serve ourselves (no CDN: shops run on private networks).

Every package is pinned in ``services/gateway/static/vendor/manifest.json`` with the files we keep
and their SHA-256. ``python -m infra.vendor`` fetches each pinned package from the npm registry
with ``npm pack`` (a maintainer's tool only: running shopmind needs no Node), copies the listed
files and the licences, and rewrites the checksums. ``tests/unit/test_vendor_assets.py`` checks
that what is committed matches the manifest.

To upgrade a package, change its ``version`` in the manifest and run this module.

A few npm tarballs ship no licence file (vega, vega-interpreter: their ``package.json`` says
BSD-3-Clause). For those the manifest's ``licence_text_from`` names a sibling package of the same
project and copyright holder whose LICENSE we copy beside them, and their ``package.json`` is kept
as the record of what they declare.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent.parent / "services" / "gateway" / "static" / "vendor"
MANIFEST = VENDOR_DIR / "manifest.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refresh(package: str, entry: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{package}@{entry['version']}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        source = Path(tmp) / "package"
        released = json.loads((source / "package.json").read_text())["version"]
        if released != entry["version"]:
            raise SystemExit(f"{package}: npm gave {released}, the manifest pins {entry['version']}")
        target = VENDOR_DIR / package
        target.mkdir(parents=True, exist_ok=True)
        checksums = {}
        for name in [*entry["files"], *entry["licences"]]:
            data = (source / name).read_bytes()
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(data)
            checksums[name] = hashlib.sha256(data).hexdigest()
        if sibling := entry.get("licence_text_from"):
            data = (VENDOR_DIR / sibling / "LICENSE").read_bytes()
            (target / "LICENSE").write_bytes(data)
            checksums["LICENSE"] = hashlib.sha256(data).hexdigest()
    return {**entry, "sha256": checksums}


def main() -> None:
    manifest = json.loads(MANIFEST.read_text())
    for package, entry in manifest["packages"].items():
        print(f"{package}@{entry['version']}", file=sys.stderr)
        manifest["packages"][package] = refresh(package, entry)
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
