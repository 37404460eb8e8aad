"""Import files built to eat the machine: each must fail fast, with a reason, in bounded memory."""

import gzip
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.support.imports import import_file, wait_for_job

SHOP_LANGUAGE = "en"
MIB = 1024 * 1024


def _gzip_lines(path: Path, head: bytes, piece: bytes, repeat: int, tail: bytes = b"") -> Path:
    """A gzip written piece by piece, so the test never holds the expanded text either."""
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head)
        for _ in range(repeat):
            out.write(piece)
        out.write(tail)
    return path


def _one_huge_line(tmp_path: Path, mib: int) -> Path:
    """item_id,title, a row, then one line of ``mib`` MiB (a few hundred KB compressed)."""
    return _gzip_lines(tmp_path / "huge-line.csv.gz", b"item_id,title\n1,ok\n2,", b"x" * MIB, mib, b"\n3,after\n")


def test_one_huge_line_fails_the_job_naming_the_line_and_the_limit(client, shop, tmp_path):
    path = _one_huge_line(tmp_path, 60)  # within what any gzip may expand to (64 MiB), so it is read
    assert path.stat().st_size < 1_000_000
    started = time.monotonic()
    status, body = import_file(client, shop.headers(), path, "products", wait=30)
    job = wait_for_job(client, shop.headers(), body["job"])
    assert job["status"] == "failed" and job["error"]["status"] == 422, job
    assert "line 3 is longer than 1,048,576 characters" in job["error"]["detail"]
    assert time.monotonic() - started < 20


def test_reading_a_huge_line_costs_no_more_memory_than_the_limit(tmp_path):
    """Peak resident memory of a process that reads a 200 MB line, against the same process idle."""
    path = _one_huge_line(tmp_path, 200)
    script = textwrap.dedent(f"""
        import re
        from services.ingestion.reader import ImportFileError, TableReader

        def kib(field):
            return int(re.search(field + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

        before = kib("VmRSS")
        try:
            with TableReader({str(path)!r}, max_expansion=10_000) as reader:  # past the ratio check
                for _ in reader.chunks():
                    pass
            print("read", 0)
        except ImportFileError as exc:
            print(exc.detail.render("en"), kib("VmHWM") - before)
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    detail, grown_kib = run.stdout.strip().rsplit(" ", 1)
    assert "line 3 is longer than 1,048,576 characters" in detail
    print(f"\n200 MB line: peak memory grew by {int(grown_kib) // 1024} MB before the reader refused it")
    assert int(grown_kib) < 100 * 1024, f"peak memory grew by {int(grown_kib) // 1024} MB"


def test_millions_of_blank_lines_end_quickly_with_the_budget_reason_and_progress(client, shop, tmp_path):
    path = _gzip_lines(tmp_path / "blank.csv.gz", b"item_id,title\n1,ok\n", b"\n" * 1_000_000, 5)
    started = time.monotonic()
    status, body = import_file(client, shop.headers(), path, "products", wait=60)
    job = wait_for_job(client, shop.headers(), body["job"])
    assert job["status"] == "failed" and job["error"]["status"] == 422, job
    assert "blank rows" in job["error"]["detail"] and "1,048,576" in job["error"]["detail"]
    assert job["progress"] > 0  # how far the reading got before the budget stopped it
    assert time.monotonic() - started < 30


def test_blank_lines_before_the_header_are_refused_before_queuing(client, shop, settings, tmp_path):
    path = _gzip_lines(tmp_path / "blank-first.csv.gz", b"", b"\n" * 1_000_000, 3, b"item_id\n1\n")
    started = time.monotonic()
    status, body = import_file(client, shop.headers(), path, "products")
    assert status == 422 and "header row must be near the start" in body["detail"], body
    assert time.monotonic() - started < 10
    assert list(settings.upload_dir.glob("*.upload")) == []


def test_a_small_gzip_expanding_two_hundredfold_is_refused_before_queuing(client, shop, settings, tmp_path):
    path = _gzip_lines(tmp_path / "bomb.csv.gz", b"item_id\n", b"1\n" * 1_000_000, 100)  # 200 MB
    assert path.stat().st_size < 1_000_000
    status, body = import_file(client, shop.headers(), path, "products")
    assert status == 413 and "decompressed" in body["detail"], body
    assert list(settings.upload_dir.glob("*.upload")) == []
