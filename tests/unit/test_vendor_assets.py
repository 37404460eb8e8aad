"""Every vendored browser package ships with its licence, and the committed files are the pinned ones."""

import copy
import json

import pytest

from infra import vendor

MANIFEST = json.loads(vendor.MANIFEST.read_text())
# What each declared licence's text must say (its grant and its conditions, not just its name).
LICENCE_WORDS = {
    "BSD-3-Clause": ["Redistribution and use in source and binary forms", "Neither the name of",
                     "THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\""],
    "Apache-2.0": ["Apache License", "Version 2.0", "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"],
}


def test_the_committed_assets_have_no_problems():
    assert vendor.problems() == []


@pytest.mark.parametrize("package", sorted(MANIFEST["packages"]))
def test_every_vendored_package_ships_its_licence_text(package):
    entry = MANIFEST["packages"][package]
    licence = vendor.VENDOR_DIR / package / entry["licence_file"]
    text = licence.read_text()
    assert "Copyright" in text or "copyright" in text, package
    for words in LICENCE_WORDS[entry["licence"]]:
        assert words in text, (package, words)
    if entry["licence"] == "BSD-3-Clause":  # the holder is named, not left as a template's blank
        assert "University of Washington Interactive Data Lab" in text.splitlines()[0]
    if "licence_source" in entry:  # fetched from the source repository when the tarball has none
        assert entry["licence_source"].startswith("https://raw.githubusercontent.com/")
        assert json.loads((vendor.VENDOR_DIR / package / "package.json").read_text())["license"] == entry["licence"]


def test_vega_and_its_interpreter_carry_the_vega_repositorys_own_licence():
    """Not vega-lite's (another repository, another copyright line): the monorepo's LICENSE."""
    texts = {package: (vendor.VENDOR_DIR / package / "LICENSE").read_text()
             for package in ("vega", "vega-interpreter", "vega-lite")}
    assert texts["vega"] == texts["vega-interpreter"]
    assert texts["vega"].startswith("Copyright (c) 2015-2023, University of Washington Interactive Data Lab\n")
    assert texts["vega-lite"] != texts["vega"]


def test_the_check_names_a_package_without_a_licence_or_with_a_changed_one():
    broken = copy.deepcopy(MANIFEST)
    del broken["packages"]["vega"]["licence_file"]
    broken["packages"]["vega-embed"]["sha256"]["LICENSE"] = "0" * 64
    found = vendor.problems(broken)
    assert "vega: no licence_file in the manifest" in found
    assert "vega-embed: LICENSE is not the file the manifest pins" in found
    unlisted = copy.deepcopy(MANIFEST)
    del unlisted["packages"]["vega-interpreter"]
    assert "vega-interpreter: vendored but not in the manifest" in vendor.problems(unlisted)
