"""Refresh the third-party browser assets we serve ourselves (no CDN: shops run on private networks).

Every package is pinned in ``services/gateway/static/vendor/manifest.json`` with the files we keep
and their SHA-256. ``python -m infra.vendor`` fetches each pinned package from the npm registry
with ``npm pack`` (a maintainer's tool only: running shopmind needs no Node), copies the listed
files and the licences, and rewrites the checksums. ``python -m infra.vendor --check`` (no
network) says what is wrong with the committed files; ``tests/unit/test_vendor_assets.py`` runs
the same check.

Each package names its ``licence_file``: the file beside it that holds the licence's text, which
must ship with it. Most npm tarballs carry it. A few do not (vega, vega-interpreter: their
``package.json`` only says BSD-3-Clause); for those ``licence_source`` is the raw URL of the LICENSE
in the package's source repository at the release (the Vega monorepo's, which covers every package
in it), fetched here, and their ``package.json`` is kept as the record of what they declare.
Without network the committed copy is kept if it still matches the manifest, with a warning.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
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
        name = entry["licence_file"]
        if name not in checksums:
            data = (source / name).read_bytes() if (source / name).is_file() else _licence_from_source(package, entry)
            (target / name).write_bytes(data)
            checksums[name] = hashlib.sha256(data).hexdigest()
    return {**entry, "sha256": checksums}


def _licence_from_source(package: str, entry: dict) -> bytes:
    """The licence text of a package whose tarball has none, from its repository at the release."""
    name, url = entry["licence_file"], entry.get("licence_source")
    if not url:
        raise SystemExit(f"{package}@{entry['version']}: the npm tarball has no {name}; name the licence text's "
                         "raw URL in the repository at this release as licence_source")
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.read()
    except OSError as exc:
        committed = VENDOR_DIR / package / name
        if committed.is_file() and entry["sha256"].get(name) == sha256(committed):
            print(f"{package}: cannot fetch {url} ({exc}); keeping the committed {name}, which matches the "
                  "manifest: check it against that URL", file=sys.stderr)
            return committed.read_bytes()
        raise SystemExit(f"{package}: cannot fetch {url} ({exc}), and no committed {name} "
                         "matches the manifest") from None


def problems(manifest: dict | None = None) -> list[str]:
    """What is wrong with the committed assets: a package without its licence file, a file
    missing or not the one the manifest pins, a folder the manifest does not know."""
    manifest = manifest or json.loads(MANIFEST.read_text())
    found = []
    for package, entry in manifest["packages"].items():
        name = entry.get("licence_file")
        if not name:
            found.append(f"{package}: no licence_file in the manifest")
        elif name not in entry["sha256"]:
            found.append(f"{package}: its licence file {name} has no checksum in the manifest")
        for listed in [*entry["files"], *entry["licences"], *([name] if name else [])]:
            path = VENDOR_DIR / package / listed
            if not path.is_file():
                found.append(f"{package}: {listed} is missing")
            elif sha256(path) != entry["sha256"].get(listed):
                found.append(f"{package}: {listed} is not the file the manifest pins")
    unknown = {p.name for p in VENDOR_DIR.iterdir() if p.is_dir()} - set(manifest["packages"])
    found += [f"{folder}: vendored but not in the manifest" for folder in sorted(unknown)]
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.vendor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check the committed files only (no network)")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        print("\n".join(found) or "all vendored files match the manifest, each package with its licence")
        raise SystemExit(1 if found else 0)
    manifest = json.loads(MANIFEST.read_text())
    for package, entry in manifest["packages"].items():
        print(f"{package}@{entry['version']}", file=sys.stderr)
        manifest["packages"][package] = refresh(package, entry)
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
