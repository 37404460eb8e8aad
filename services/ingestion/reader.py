"""Turn an uploaded file into rows of strings, streamed in chunks.

The upload is already on disk. :class:`TableReader` finds out what the file is from its content
(never its name): CSV/TSV, JSON Lines or an Excel workbook, optionally gzip-compressed; for text,
its encoding (UTF-8, UTF-8 with BOM, GB18030/GBK) and delimiter. It then yields the rows as
``list[str]`` in chunks, reading the file as a stream so memory stays flat whatever its size.

Cleaning (ids, amounts, dates, status words) is the caller's job: cells come out as read. Every
problem with the file itself raises :class:`ImportFileError` (422, or 413 for a decompression
bomb) with a message a shop owner can act on and, where known, the row it happened on.

Pure module: no Flask, no SQL, no configuration reads.

Examples
--------
>>> with TableReader("orders.csv.gz") as reader:  # doctest: +SKIP
...     print(reader.info.encoding, reader.header)
...     for chunk in reader.chunks():
...         load(chunk.rows, chunk.row_numbers)
...         report_progress(chunk.bytes_read / reader.info.size_bytes)
...     skipped = reader.ragged_rows()
"""

from __future__ import annotations

import abc
import codecs
import csv
import gzip
import io
import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

from shared.i18n import join, t
from shared.problems import ShopmindError

SAMPLE_BYTES = 1024 * 1024
"""How much decompressed text is decoded up front to detect the encoding and format."""
BINARY_SNIFF_BYTES = 64 * 1024
"""How much of a supposed text file is checked for binary content."""
BINARY_CONTROL_RATIO = 0.10
"""Share of control bytes (other than tab, newlines, form feed) above which text is binary."""
READ_BUFFER_BYTES = 256 * 1024
TEXT_CHUNK_CHARS = 128 * 1024
DELIMITERS = (",", "\t", ";", "|")
"""Candidate CSV delimiters, in order of preference when the header line is ambiguous."""
JSONL_HEADER_SCAN_ROWS = 10_000
"""JSON Lines: the header is the union of the keys of this many first non-blank lines."""
MAX_RAGGED_RECORDED = 100_000
"""At most this many ragged rows are kept with their row numbers (all are counted)."""
MAX_LISTED_NAMES = 50
"""JSON Lines: at most this many keys not in the header are listed (see ``ignored_keys``)."""
MAX_LISTED_NAME_CHARS = 100
"""Names listed back to the caller are cut to this many characters."""
MAX_LINE_CHARS = 1024 * 1024
"""Default longest line (CSV, JSON Lines) a reader accepts; a longer one fails the file at once."""
MAX_COLUMNS = 1000
"""Default most columns a file may have (header names, or fields of the first row without one)."""
MAX_EXPANSION = 200
"""Default most a gzip or workbook may expand (decompressed ÷ compressed size) past :data:`EXPANSION_FLOOR`."""
EXPANSION_FLOOR = 64 * 1024 * 1024
"""Any compressed file may expand to this many bytes, whatever its ratio."""
HEADER_SCAN_ROWS = 1000
"""The header is the first non-empty row among this many (blank rows above it included)."""
JSONL_HEADER_SCAN_CHARS = 4 * 1024 * 1024
"""JSON Lines: the header scan also stops after this much text (its lines are kept in memory)."""
MAX_BLANK_RUN = 1_048_576
"""Most blank rows in a row a file may have: a spreadsheet's height, so no export of one has more."""
BLANK_TO_DATA_RATIO = 10
"""Past :data:`MAX_BLANK_RUN` blank rows in all, blank rows may outnumber data rows this many times."""

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 32), 127])
_JSON_ARRAY_START = re.compile(r"\[\s*\{")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Text encodings shop exports come in (names as codecs.lookup gives them). Others are refused:
# codecs that are not text encodings at all (base64, rot13), or that no CSV is written in (idna,
# punycode, unicode_escape, utf-7).
TEXT_ENCODINGS = tuple(dict.fromkeys(codecs.lookup(name).name for name in (
    "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
    "gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950", "ascii", "latin-1", "cp1252", "iso8859-15",
    "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949")))
_BOM_NEEDED = {"utf-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE),
               "utf-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)}

# Undecodable bytes become this lone surrogate while we look for the row that holds them; no
# decoder produces a lone surrogate from valid input, so it cannot be mistaken for real text.
_UNDECODABLE = "\ud800"
_MARK_ERRORS = "shopmind.mark-undecodable"
codecs.register_error(_MARK_ERRORS, lambda exc: (_UNDECODABLE, exc.end))


class ImportFileError(ShopmindError):
    """The uploaded file cannot be read as a table; the message says why and what to do.

    Parameters
    ----------
    detail : str
        What is wrong, written for the person who uploaded the file.
    row : int, optional
        The row (as the person sees it in the source) where it went wrong; carried in the
        problem document as ``row`` when given.
    status : int
        422 (default), or 413 for a file that expands beyond the allowed size (slug
        ``import-too-large``).
    errors : dict, optional
        Field errors, as for any :class:`ShopmindError`.
    """

    status = 422
    slug = "bad-import-file"

    def __init__(self, detail: str, row: int | None = None, status: int = 422,
                 errors: dict[str, list[str]] | None = None):
        extra = {} if row is None else {"row": row}
        super().__init__(detail, errors=errors, **extra)
        self.row = row
        self.status = status
        if status == 413:
            self.slug = "import-too-large"


@dataclass(frozen=True)
class SourceInfo:
    """What the file turned out to be.

    Attributes
    ----------
    format : str
        ``"csv"``, ``"xlsx"`` or ``"jsonl"``.
    compression : str or None
        ``"gzip"`` or None.
    encoding : str or None
        Python codec name used for text (``"utf-8"``, ``"utf-8-sig"``, ``"gb18030"``, ``"utf-16"``
        or the normalised name the caller forced); None for xlsx.
    encoding_detected : bool
        True when the encoding was detected, False when the caller forced it (and for xlsx).
    sheet : str or None
        The worksheet read (xlsx only).
    size_bytes : int
        Size of the file on disk (compressed size for gzip).
    delimiter : str or None
        The CSV delimiter used; None for other formats.
    """

    format: str
    compression: str | None
    encoding: str | None
    encoding_detected: bool
    sheet: str | None
    size_bytes: int
    delimiter: str | None = None


@dataclass
class Chunk:
    """Consecutive rows of the source.

    Attributes
    ----------
    rows : list of list of str
        Each row has exactly ``len(reader.header)`` cells.
    row_numbers : list of int
        For each row, the number a person sees in the source: for CSV and XLSX the header is
        row 1 (so the first data row is 2; without a header the first row is 1), counting every
        record (a quoted multi-line field is one row) and blank rows; for JSON Lines the line
        number.
    bytes_read : int
        Bytes consumed from the file on disk so far (compressed bytes for gzip). Reads run ahead
        of the rows by up to a few hundred KB, so for a small file every chunk may report the
        whole size; ``bytes_read / info.size_bytes`` is a progress fraction.
    formula_cells : list of (int, int, str)
        XLSX: cells of these rows holding a formula the workbook has no computed value for, as
        ``(row_number, column_index, formula)``; the cell itself reads as "". Empty otherwise.
    """

    rows: list[list[str]]
    row_numbers: list[int]
    bytes_read: int
    formula_cells: list[tuple[int, int, str]] = field(default_factory=list)


def decompressed_limit(size: int, max_bytes: int, max_expansion: int) -> int:
    """Most bytes a compressed file of ``size`` bytes may expand to.

    ``max_bytes`` at most; below that, :data:`EXPANSION_FLOOR` or ``max_expansion`` times the
    size on disk, whichever is more: ordinary exports compress 3-20 times, a bomb a thousand.
    """
    return min(max_bytes, max(EXPANSION_FLOOR, max_expansion * size))


def gzip_declared_size(path: str | os.PathLike) -> int | None:
    """The uncompressed size a gzip file declares in its trailer (ISIZE, modulo 2**32).

    Cheap (reads 4 bytes) so an API can refuse an obvious bomb before queuing an import. The
    value is only what the file claims: the last member's size modulo 2**32, possibly forged;
    :class:`TableReader` still counts the real bytes while reading.

    Parameters
    ----------
    path : str or os.PathLike
        The file on disk.

    Returns
    -------
    int or None
        The declared size, or None when the file is not gzip (or too short to be one).
    """
    with open(path, "rb") as file:
        if file.read(2) != GZIP_MAGIC:
            return None
        file.seek(0, os.SEEK_END)
        if file.tell() < 18:  # 10-byte header + 8-byte trailer
            return None
        file.seek(-4, os.SEEK_END)
        return int.from_bytes(file.read(4), "little")


class TableReader:
    """Reads an uploaded CSV, JSON Lines or XLSX file (optionally gzipped) as rows of strings.

    Detection and the header happen in the constructor, so a file that cannot be read fails
    there, before any row is loaded.

    Parameters
    ----------
    path : str or os.PathLike
        The uploaded file on disk.
    encoding : str, optional
        Force the text encoding (CSV/JSON Lines) instead of detecting it.
    sheet : str, optional
        XLSX: the worksheet to read (default: the first one).
    has_header : bool
        CSV/XLSX: whether the first non-empty row is a header. Without one, the header is
        ``["col1", ..., "colN"]`` from the width of the first row and every row is data.
        Ignored for JSON Lines (the keys are the header).
    max_decompressed_bytes : int
        Gzip: stop with a 413 once the decompressed stream exceeds this; XLSX: refuse a
        workbook whose members declare more than this in total.
    max_field_chars : int
        A field longer than this is an error (422) naming the row. Note: Python's
        ``csv.field_size_limit`` is process-wide; it is set from this value before every read.
    max_line_chars : int
        CSV and JSON Lines: a line longer than this is an error (422) naming the line. Lines are
        read with this limit, so a huge line costs no more memory than the limit.
    max_columns : int
        A header (or headerless first row, or JSON Lines key set) wider than this is a 422.
    max_expansion : int
        Gzip and XLSX: past :data:`EXPANSION_FLOOR` bytes, the file may expand at most this many
        times its size on disk (413 beyond).
    max_blank_run : int
        More blank rows than this in a row is a 422, and so are blank rows outnumbering data rows
        :data:`BLANK_TO_DATA_RATIO` to one once there are more than this in all.

    Attributes
    ----------
    info : SourceInfo
        What the file is.
    header : list of str
        Column names, stripped of whitespace and BOM, trailing empty names dropped.

    Raises
    ------
    ImportFileError
        The file is empty, binary, of an unknown encoding, a zip that is not a workbook, a
        decompression bomb (413), a corrupt workbook, or names a sheet that does not exist.
    """

    def __init__(self, path: str | os.PathLike, *, encoding: str | None = None, sheet: str | None = None,
                 has_header: bool = True, max_decompressed_bytes: int = 2 * 1024**3,
                 max_field_chars: int = 1_000_000, max_line_chars: int = MAX_LINE_CHARS,
                 max_columns: int = MAX_COLUMNS, max_expansion: int = MAX_EXPANSION,
                 max_blank_run: int = MAX_BLANK_RUN):
        self._path = os.fspath(path)
        self._encoding = encoding
        self._sheet = sheet
        self._has_header = has_header
        size = os.path.getsize(self._path)
        self._limits = _Limits(decompressed_limit(size, max_decompressed_bytes, max_expansion), max_field_chars,
                               max_line_chars, max_columns, max_blank_run)
        self._ragged = _RaggedLog(MAX_RAGGED_RECORDED)
        self._source: _Source | None = None
        self._started = False
        try:
            self.info, self._source = self._open()
        except BaseException:
            self.close()
            raise
        self.header: list[str] = self._source.header

    # -- public API ---------------------------------------------------------------------------

    def chunks(self, chunk_rows: int = 50_000) -> Iterator[Chunk]:
        """Yield the data rows in chunks of at most ``chunk_rows`` rows.

        Rows dropped for a wrong field count (see :meth:`ragged_rows`) and blank rows leave a
        chunk short, or empty: a chunk comes for every ``chunk_rows`` rows read, so progress
        moves through a stretch of blank rows too. A file with a header and no data yields at
        most one empty chunk.
        The reader can be iterated once; it closes its file when the iteration ends.

        Parameters
        ----------
        chunk_rows : int
            Maximum rows per chunk.

        Yields
        ------
        Chunk

        Raises
        ------
        ImportFileError
            Undecodable bytes, an over-long line or field, too many blank rows, corrupt gzip or
            workbook data, or (413) a gzip stream expanding beyond its limit, with the row (or
            line) when known.
        """
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        if self._started:
            raise RuntimeError("chunks() can be iterated once; open a new TableReader to read again")
        self._started = True
        return self._iter_chunks(chunk_rows)

    def ragged_rows(self) -> list[tuple[int, int]]:
        """Rows not yielded because their field count did not fit the header.

        Returns
        -------
        list of (int, int)
            ``(row_number, field_count)`` in file order, for rows with more non-empty fields
            than the header or fewer fields than it; JSON Lines lines that are not a JSON
            object appear as ``(line_number, 0)``. Only the first
            :data:`MAX_RAGGED_RECORDED` are kept; :attr:`ragged_count` counts all.
        """
        return list(self._ragged.rows)

    @property
    def ragged_count(self) -> int:
        """How many rows were dropped as ragged so far (not capped)."""
        return self._ragged.count

    def ignored_keys(self) -> dict[str, int]:
        """JSON Lines: keys first seen after the header scan, with the line where each first appeared.

        The header is the union of the keys of the first :data:`JSONL_HEADER_SCAN_ROWS`
        non-blank lines (or fewer, :data:`JSONL_HEADER_SCAN_CHARS` of text; first-seen order);
        values of keys that first appear later are not read. The first :data:`MAX_LISTED_NAMES`
        such keys are listed. Empty for other formats.
        """
        return dict(getattr(self._source, "ignored_keys", {}))

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._source is not None:
            self._source.close()

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- detection ----------------------------------------------------------------------------

    def _open(self) -> tuple[SourceInfo, _Source]:
        size = os.path.getsize(self._path)
        if size == 0:
            raise ImportFileError(t("ingestion.file_empty"))
        with open(self._path, "rb") as file:
            magic = file.read(8)
        if magic.startswith(ZIP_MAGIC):
            return self._open_xlsx(size)
        _refuse_known_binary(magic, compressed=False)
        compression = "gzip" if magic.startswith(GZIP_MAGIC) else None
        return self._open_text(size, compression)

    def _open_xlsx(self, size: int) -> tuple[SourceInfo, _Source]:
        _check_workbook_archive(self._path, self._limits.decompressed_bytes)
        source = _XlsxSource(self._path, sheet=self._sheet, has_header=self._has_header, ragged=self._ragged,
                             size=size, limits=self._limits)
        info = SourceInfo("xlsx", None, None, False, source.sheet, size)
        return info, source

    def _open_text(self, size: int, compression: str | None) -> tuple[SourceInfo, _Source]:
        def open_bytes() -> _ByteStream:
            return _ByteStream(self._path, compression, self._limits.decompressed_bytes)

        sample, at_eof = _read_sample(open_bytes)
        if not sample:
            raise ImportFileError(t("ingestion.file_empty"))
        if compression:
            _refuse_known_binary(sample, compressed=True)
        encoding, detected = self._choose_encoding(sample, at_eof)
        text = codecs.getincrementaldecoder(encoding)(_MARK_ERRORS).decode(sample, final=at_eof)
        if _is_wide(encoding) and "\x00" in text:
            raise ImportFileError(t("ingestion.binary", byte=2 * text.index(chr(0)) + 2))
        content = text.lstrip("\ufeff").strip()
        if not content and at_eof:
            raise ImportFileError(t("ingestion.file_empty"))
        fmt = _text_format(content)
        delimiter = _sniff_delimiter(text) if fmt == "csv" else None
        if _UNDECODABLE in text:  # only possible with a forced encoding: detection decodes the sample
            raise _wrong_encoding_error(sample, at_eof, encoding, fmt, delimiter, open_bytes, self._limits)
        if not at_eof and not _has_nonempty_row(text, delimiter or ",", self._limits):
            # The header is looked for in this first stretch only: the request that uploads a file
            # reads no more than a bounded prefix of it before queuing the import.
            raise ImportFileError(t("ingestion.blank_start", limit=f"{SAMPLE_BYTES:,}"))
        options = dict(open_bytes=open_bytes, encoding=encoding, limits=self._limits, ragged=self._ragged)
        if fmt == "jsonl":
            source: _Source = _JsonlSource(**options)
        else:
            source = _CsvSource(**options, delimiter=delimiter, has_header=self._has_header)
        info = SourceInfo(fmt, compression, encoding, detected, None, size, delimiter)
        return info, source

    def _choose_encoding(self, sample: bytes, at_eof: bool) -> tuple[str, bool]:
        if self._encoding is None:
            encoding = _bom_encoding(sample)
            if not (encoding and _is_wide(encoding)):
                _refuse_binary(sample)
            encoding = encoding or _detect_encoding(sample, at_eof)
            if encoding is None:
                raise ImportFileError(t("ingestion.unknown_encoding"))
            return encoding, True
        encoding = text_encoding(self._encoding)
        if encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"  # same encoding; keeps the BOM out of the first cell
        if encoding in _BOM_NEEDED and not sample.startswith(_BOM_NEEDED[encoding]):
            # Python would guess the byte order; a wrong guess reads every character wrong.
            raise ImportFileError(t("ingestion.bom_needed", encoding=encoding),
                                  errors={"encoding": [t("ingestion.use_byte_order", encoding=encoding)]})
        if not _is_wide(encoding):
            _refuse_binary(sample)
        return encoding, False

    # -- reading ------------------------------------------------------------------------------

    def _iter_chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        source = self._source
        try:
            for rows, numbers in source.batches(chunk_rows):
                # Yielded even when every row was blank or ragged: the caller's progress moves.
                yield Chunk(rows, numbers, source.bytes_read(), source.take_formula_cells())
        finally:
            source.close()


@dataclass(frozen=True)
class _Limits:
    """What one file may cost (see the parameters of :class:`TableReader`)."""

    decompressed_bytes: int
    field_chars: int
    line_chars: int
    columns: int
    blank_run: int

    def check_width(self, width: int) -> None:
        if width > self.columns:
            raise ImportFileError(t("ingestion.too_many_columns", columns=f"{width:,}", limit=f"{self.columns:,}"))


def _bounded_lines(stream: io.TextIOBase, limit: int) -> Iterator[str]:
    """The lines of ``stream``, each read with ``limit`` so a huge line is never held whole.

    Raises ImportFileError (422, naming the line) at the first line longer than ``limit``
    characters, newline excluded.
    """
    readline = stream.readline
    size = limit + 2  # room for "\r\n"
    number = 0
    while line := readline(size):
        number += 1
        if len(line) > limit and len(line.rstrip("\r\n")) > limit:
            raise ImportFileError(t("ingestion.line_too_long", line=number, chars=f"{limit:,}"), row=number)
        yield line


def _csv_reader(lines: Iterable[str], delimiter: str, limits: _Limits) -> Iterator[list[str]]:
    # csv.field_size_limit is process-wide: set it again for every reader made here.
    csv.field_size_limit(limits.field_chars)
    return csv.reader(lines, delimiter=delimiter)


def _has_nonempty_row(text: str, delimiter: str, limits: _Limits) -> bool:
    """Whether the decoded sample holds a row with a value (the header must be in it)."""
    try:
        return any(map(any, _csv_reader(io.StringIO(text, newline=""), delimiter, limits)))
    except csv.Error:
        return True  # an unbalanced quote: the reader proper says where


class _BlankRows:
    """The blank-row budget (see ``max_blank_run``); counts blank and data rows as they are read."""

    def __init__(self, run_limit: int):
        self._run_limit = run_limit
        self.run = 0
        self.total = 0
        self.data = 0

    def blank(self, number: int) -> None:
        self.run += 1
        self.total += 1
        if self.run > self._run_limit or (
                self.total > self._run_limit and self.total > BLANK_TO_DATA_RATIO * self.data):
            raise ImportFileError(t("ingestion.too_many_blank_rows", row=number, blank=f"{self.total:,}",
                                    run=f"{self.run:,}", limit=f"{self._run_limit:,}"), row=number)

    def rows(self, count: int) -> None:
        self.data += count
        self.run = 0


# -- detection helpers ----------------------------------------------------------------------------


def _read_sample(open_bytes: Callable[[], _ByteStream]) -> tuple[bytes, bool]:
    """The first :data:`SAMPLE_BYTES` decompressed bytes, and whether that is the whole file."""
    stream = open_bytes()
    try:
        with _gzip_errors():
            data = stream.buffer.read(SAMPLE_BYTES + 1)
    finally:
        stream.close()
    return data[:SAMPLE_BYTES], len(data) <= SAMPLE_BYTES


def _refuse_known_binary(head: bytes, *, compressed: bool) -> None:
    """Name the binary formats people upload by mistake instead of saying "binary"."""
    if head.startswith(OLE2_MAGIC):
        raise ImportFileError(t("ingestion.xls"))
    if compressed and head.startswith(ZIP_MAGIC):
        raise ImportFileError(t("ingestion.gzipped_zip"))


def _refuse_binary(sample: bytes) -> None:
    offset = _binary_offset(sample)
    if offset is not None:
        raise ImportFileError(t("ingestion.binary", byte=offset))


def _binary_offset(sample: bytes) -> int | None:
    """Offset of the first NUL byte, or of the first control byte when control bytes abound."""
    head = sample[:BINARY_SNIFF_BYTES]
    nul = head.find(b"\x00")
    if nul >= 0:
        return nul
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > len(head) * BINARY_CONTROL_RATIO:
        return _BINARY_BYTES.search(head).start()
    return None


def _bom_encoding(sample: bytes) -> str | None:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export
    return None


def _detect_encoding(sample: bytes, at_eof: bool) -> str | None:
    """``utf-8-sig`` / ``utf-16`` by BOM, else the first of UTF-8, GB18030 the sample decodes as."""
    bom = _bom_encoding(sample)
    if bom:
        return bom
    for encoding in ("utf-8", "gb18030"):
        try:
            # final=False when the sample was cut: a multi-byte character split at the cut is fine
            codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=at_eof)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def _wrong_encoding_error(sample: bytes, at_eof: bool, encoding: str, fmt: str, delimiter: str | None,
                          open_bytes: Callable[[], _ByteStream], limits: _Limits) -> ImportFileError:
    """422 for a forced encoding the file does not decode with: where it fails, what it looks like instead."""
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=at_eof)
        where = []
    except UnicodeDecodeError as exc:
        where = [t("ingestion.at_byte", byte=exc.start)]
    locate = _first_undecodable_line if fmt == "jsonl" else _first_undecodable_record
    row = locate(open_bytes, encoding, delimiter, limits)
    if row:
        where.insert(0, t("ingestion.at_row", row=row))
    suggestion = _detect_encoding(sample, at_eof)
    if suggestion and suggestion != encoding:
        hint = t("ingestion.looks_like_encoding", encoding=suggestion)
    else:
        hint = t("ingestion.no_known_encoding")
    return ImportFileError(t("ingestion.wrong_encoding", encoding=encoding, where=join(where), hint=hint), row=row)


def text_encoding(encoding: str) -> str:
    """The codec name for an ``encoding`` a caller asked for, if it is one of :data:`TEXT_ENCODINGS`.

    Parameters
    ----------
    encoding : str
        A name or alias (``GBK``, ``utf8``, ``UTF-16LE`` ...).

    Returns
    -------
    str
        The normalised codec name (``gbk``, ``utf-8``, ``utf-16-le`` ...).

    Raises
    ------
    ImportFileError
        422 naming the ``encoding`` field: not a codec name, or a codec that is no text encoding
        a CSV is written in.
    """
    allowed = ", ".join(TEXT_ENCODINGS)
    try:
        name = codecs.lookup(encoding).name if encoding.isprintable() and len(encoding) <= 40 else None
    except LookupError:
        name = None
    if name is None:
        detail = t("ingestion.no_such_encoding", encoding=encoding[:40])
    elif name not in TEXT_ENCODINGS:
        detail = t("ingestion.not_text_encoding", encoding=encoding)
    else:
        return name
    raise ImportFileError(detail, errors={"encoding": [t("ingestion.one_of", values=allowed)]})


def _is_wide(encoding: str) -> bool:
    """Encodings whose text legitimately contains NUL bytes."""
    return encoding.startswith(("utf-16", "utf-32"))


def _text_format(content: str) -> str:
    if content.startswith("{"):
        return "jsonl"
    if _JSON_ARRAY_START.match(content):
        raise ImportFileError(t("ingestion.json_array"))
    return "csv"


def _sniff_delimiter(text: str) -> str:
    """The delimiter among :data:`DELIMITERS` that splits the first non-blank line into most fields."""
    line = next((line for line in _LINE_BREAK.split(text) if line.strip()), "")
    best, best_fields = DELIMITERS[0], 1
    for delimiter in DELIMITERS:
        try:
            fields = len(next(csv.reader([line], delimiter=delimiter), []))
        except csv.Error:
            continue
        if fields > best_fields:
            best, best_fields = delimiter, fields
    return best


def _check_workbook_archive(path: str, max_bytes: int) -> None:
    """A zip is read as XLSX only if it holds ``xl/workbook.xml``, within the size limit."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(t("ingestion.bad_workbook", error=str(exc))) from None
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise ImportFileError(t("ingestion.xlsb"))
        raise ImportFileError(t("ingestion.zip_not_workbook"))
    declared = sum(member.file_size for member in members)
    if declared > max_bytes:
        raise ImportFileError(t("ingestion.workbook_too_large", limit=f"{max_bytes:,}", declared=f"{declared:,}"),
                              status=413)


# -- byte streams ---------------------------------------------------------------------------------


class _LimitedReader(io.RawIOBase):
    """Counts the bytes read from ``inner`` and raises 413 past ``limit``."""

    def __init__(self, inner: io.BufferedIOBase, limit: int):
        self._inner = inner
        self._limit = limit
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._inner.readinto(buffer)
        self.total += count
        if self.total > self._limit:
            raise ImportFileError(t("ingestion.too_large_decompressed", limit=f"{self._limit:,}"), status=413)
        return count


class _ByteStream:
    """The decompressed bytes of a file (``buffer``), and the position on disk for progress."""

    def __init__(self, path: str, compression: str | None, limit: int):
        self._raw = open(path, "rb", buffering=0)
        self._gzip = None
        if compression == "gzip":
            self._gzip = gzip.GzipFile(fileobj=self._raw, mode="rb")
            inner: io.RawIOBase = _LimitedReader(self._gzip, limit)
        else:
            inner = self._raw
        self.buffer = io.BufferedReader(inner, buffer_size=READ_BUFFER_BYTES)

    def text(self, encoding: str, errors: str = "strict") -> io.TextIOWrapper:
        """The stream as text, newlines untranslated (as the csv module needs)."""
        stream = io.TextIOWrapper(self.buffer, encoding=encoding, errors=errors, newline="")
        stream._CHUNK_SIZE = TEXT_CHUNK_CHARS  # fewer, larger decode calls
        self._text = stream  # held here: a wrapper closes the file under it when it is collected
        return stream

    def position(self) -> int:
        return 0 if self._raw.closed else self._raw.tell()

    def close(self) -> None:
        self.buffer.close()
        if self._gzip is not None:
            self._gzip.close()
        self._raw.close()


@contextmanager
def _gzip_errors() -> Iterator[None]:
    """Turn corrupt or truncated gzip data into a 422."""
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ImportFileError(t("ingestion.bad_gzip", error=str(exc))) from None


def _first_undecodable_record(open_bytes: Callable[[], _ByteStream], encoding: str,
                              delimiter: str | None, limits: _Limits) -> int | None:
    """Row number (1-based, every record counted) of the first CSV record with undecodable bytes.

    Used only after a decode error: the text layer decodes ahead of the parser, so the row being
    parsed when the error surfaced is not the row that holds the bad bytes.
    """
    stream = open_bytes()
    try:
        lines = _bounded_lines(stream.text(encoding, _MARK_ERRORS), limits.line_chars)
        for number, row in enumerate(_csv_reader(lines, delimiter or ",", limits), 1):
            if _UNDECODABLE in "".join(row):
                return number
    except (csv.Error, ImportFileError, UnicodeError, OSError, EOFError, zlib.error):
        return None
    finally:
        stream.close()
    return None


def _first_undecodable_line(open_bytes: Callable[[], _ByteStream], encoding: str,
                            delimiter: str | None, limits: _Limits) -> int | None:
    """Line number of the first line with undecodable bytes (JSON Lines)."""
    stream = open_bytes()
    try:
        for number, line in enumerate(_bounded_lines(stream.text(encoding, _MARK_ERRORS), limits.line_chars), 1):
            if _UNDECODABLE in line:
                return number
    except (ImportFileError, UnicodeError, OSError, EOFError, zlib.error):
        return None
    finally:
        stream.close()
    return None


class _RaggedLog:
    def __init__(self, cap: int):
        self.rows: list[tuple[int, int]] = []
        self.count = 0
        self._cap = cap

    def add(self, row_number: int, field_count: int) -> None:
        self.count += 1
        if len(self.rows) < self._cap:
            self.rows.append((row_number, field_count))


def _header_names(cells: Iterable[str]) -> list[str]:
    """Header cells stripped of whitespace and a BOM, trailing empty names dropped."""
    names = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ImportFileError(t("ingestion.no_column_names"), row=None)
    return names


def _generic_header(width: int) -> list[str]:
    return [f"col{index}" for index in range(1, width + 1)]


# -- sources --------------------------------------------------------------------------------------


class _Source(abc.ABC):
    """One format's reader: ``header``, ``batches(n)`` of (rows, row_numbers), progress, close."""

    header: list[str]

    @abc.abstractmethod
    def batches(self, size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        """Rows of at most ``size`` with their source row numbers."""

    @abc.abstractmethod
    def bytes_read(self) -> int:
        """Compressed bytes consumed so far (for progress)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the file."""

    def take_formula_cells(self) -> list[tuple[int, int, str]]:
        """Formula cells without a value in the rows of the last batch (XLSX only)."""
        return []


class _CsvSource(_Source):
    """Delimited text through the C ``csv`` reader; rows are passed on as the reader builds them."""

    def __init__(self, *, open_bytes: Callable[[], _ByteStream], encoding: str, delimiter: str,
                 has_header: bool, limits: _Limits, ragged: _RaggedLog):
        self._open_bytes = open_bytes
        self._encoding = encoding
        self._delimiter = delimiter
        self._limits = limits
        self._max_field_chars = limits.field_chars
        self._ragged = ragged
        self._blank = _BlankRows(limits.blank_run)
        self._bytes = open_bytes()
        try:
            lines = _bounded_lines(self._bytes.text(encoding), limits.line_chars)
            self._reader = _csv_reader(lines, delimiter, limits)
            self._records = 0  # records taken from the csv reader so far, blank ones included
            first = self._first_nonempty_row()
            limits.check_width(len(first) if not has_header else len(_header_names(first)))
            if has_header:
                self.header = _header_names(first)
                self._pending: list[list[str]] = []
            else:
                self.header = _generic_header(len(first))
                self._pending = [first]  # the first row is data: it goes out with the first batch
        except BaseException:
            self.close()
            raise
        self._width = len(self.header)
        self._slice_data = itemgetter(slice(0, self._width))
        self._slice_extra = itemgetter(slice(self._width, None))

    def _first_nonempty_row(self) -> list[str]:
        for _ in range(HEADER_SCAN_ROWS):
            batch = self._read(1)
            if not batch:
                raise ImportFileError(t("ingestion.no_values"))
            if any(batch[0]):
                return batch[0]
        raise ImportFileError(t("ingestion.no_header", rows=f"{HEADER_SCAN_ROWS:,}"))

    def _read(self, size: int) -> list[list[str]]:
        """Up to ``size`` records from the csv reader, with read errors turned into ImportFileError."""
        rows: list[list[str]] = []
        csv.field_size_limit(self._max_field_chars)
        try:
            with _gzip_errors():
                rows.extend(islice(self._reader, size))  # keeps the rows read before an error
        except csv.Error as exc:
            raise self._csv_error(exc, self._records + len(rows) + 1) from None
        except UnicodeDecodeError:
            near = self._records + len(rows) + 1
            row = _first_undecodable_record(self._open_bytes, self._encoding, self._delimiter, self._limits)
            where = t("ingestion.at_row", row=row) if row else t("ingestion.at_or_after_row", row=near)
            raise ImportFileError(t("ingestion.mixed_encoding", where=where, encoding=self._encoding),
                                  row=row or near) from None
        self._records += len(rows)
        return rows

    def _csv_error(self, exc: csv.Error, row: int) -> ImportFileError:
        if "field larger than field limit" in str(exc):
            return ImportFileError(t("ingestion.field_too_long_quote", row=row, chars=f"{self._max_field_chars:,}"),
                                   row=row)
        return ImportFileError(t("ingestion.csv_error", row=row, error=str(exc)), row=row)

    def batches(self, size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        while True:
            first_number = self._records + 1 - len(self._pending)
            rows = self._pending + self._read(size - len(self._pending))
            self._pending = []
            if not rows:
                return
            yield self._fit(rows, first_number)
            if len(rows) < size:
                return

    def _fit(self, rows: list[list[str]], first_number: int) -> tuple[list[list[str]], list[int]]:
        """Keep rows of the header's width (trimming empty extra cells); log the ragged ones."""
        width = self._width
        lengths = set(map(len, rows))
        if lengths == {width} and all(map(any, rows)):  # the common case: no per-row Python work
            self._blank.rows(len(rows))
            return rows, list(range(first_number, first_number + len(rows)))
        if len(lengths) == 1 and width < lengths.pop() and not any(map(any, map(self._slice_extra, rows))):
            trimmed = list(map(self._slice_data, rows))  # trailing delimiter on every line
            if all(map(any, trimmed)):
                self._blank.rows(len(rows))
                return trimmed, list(range(first_number, first_number + len(rows)))
        kept: list[list[str]] = []
        numbers: list[int] = []
        blank = self._blank
        for number, row in enumerate(rows, first_number):
            count = len(row)
            if count != width:
                if count > width and not any(row[width:]):
                    row = row[:width]
                elif not any(row):
                    blank.blank(number)
                    continue
                else:
                    self._ragged.add(number, count)
                    blank.rows(1)
                    continue
            if any(row):
                kept.append(row)
                numbers.append(number)
                blank.rows(1)
            else:
                blank.blank(number)
        return kept, numbers

    def bytes_read(self) -> int:
        return self._bytes.position()

    def close(self) -> None:
        self._bytes.close()


class _JsonNumber(str):
    """A JSON number kept as its source text (no float rounding, no int-to-float)."""


_JSON_DECODER = json.JSONDecoder(parse_int=_JsonNumber, parse_float=_JsonNumber, parse_constant=_JsonNumber)
_NOT_AN_OBJECT = object()


class _JsonlSource(_Source):
    """One JSON object per line; the header is the keys of the first lines (see ``ignored_keys``)."""

    def __init__(self, *, open_bytes: Callable[[], _ByteStream], encoding: str, limits: _Limits,
                 ragged: _RaggedLog):
        self._open_bytes = open_bytes
        self._encoding = encoding
        self._limits = limits
        self._max_field_chars = limits.field_chars
        self._ragged = ragged
        self._blank = _BlankRows(limits.blank_run)
        self.ignored_keys: dict[str, int] = {}
        self._bytes = open_bytes()
        try:
            self._lines = enumerate(_bounded_lines(self._bytes.text(encoding), limits.line_chars), 1)
            self._last_line = 0
            self._scanned = self._scan_header()
        except BaseException:
            self.close()
            raise
        self._keys = frozenset(self.header)

    def _scan_header(self) -> list[tuple[int, Any]]:
        scanned: list[tuple[int, Any]] = []
        chars = 0
        for record in self._records():  # bounded: the scanned lines are kept to be read again
            scanned.append(record)
            chars += self._last_chars
            if len(scanned) >= JSONL_HEADER_SCAN_ROWS or chars >= JSONL_HEADER_SCAN_CHARS:
                break
        keys: dict[str, None] = {}
        for _, value in scanned:
            if isinstance(value, dict):
                keys.update(dict.fromkeys(value))
        if not keys:
            raise ImportFileError(t("ingestion.no_json_keys", lines=len(scanned)))
        self._limits.check_width(len(keys))
        self.header = list(keys)
        return scanned

    def _records(self) -> Iterator[tuple[int, Any]]:
        """(line number, parsed object or _NOT_AN_OBJECT) for each non-blank line."""
        blank = self._blank
        try:
            with _gzip_errors():
                for number, line in self._lines:
                    self._last_line = number
                    if not line.strip():
                        blank.blank(number)
                        continue
                    blank.rows(1)
                    self._last_chars = len(line)
                    try:
                        value = _JSON_DECODER.decode(line)
                    except ValueError:
                        value = _NOT_AN_OBJECT
                    yield number, value
        except UnicodeDecodeError:
            line = _first_undecodable_line(self._open_bytes, self._encoding, None, self._limits)
            near = self._last_line + 1
            where = t("ingestion.at_line", line=line) if line else t("ingestion.at_or_after_line", line=near)
            raise ImportFileError(t("ingestion.mixed_encoding", where=where, encoding=self._encoding),
                                  row=line or near) from None

    def batches(self, size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        records = self._records()
        scanned, self._scanned = self._scanned, []
        pending = iter(scanned)
        while True:
            batch = list(islice(pending, size))
            if len(batch) < size:
                batch += islice(records, size - len(batch))
            if not batch:
                return
            yield self._rows(batch)
            if len(batch) < size:
                return

    def _rows(self, batch: list[tuple[int, Any]]) -> tuple[list[list[str]], list[int]]:
        header, keys = self.header, self._keys
        rows: list[list[str]] = []
        numbers: list[int] = []
        for number, value in batch:
            if not isinstance(value, dict):
                self._ragged.add(number, 0)
                continue
            if not keys.issuperset(value) and len(self.ignored_keys) < MAX_LISTED_NAMES:
                for key in value.keys() - keys:
                    if len(self.ignored_keys) < MAX_LISTED_NAMES:
                        self.ignored_keys.setdefault(key[:MAX_LISTED_NAME_CHARS], number)
            row = [_json_cell(value.get(key)) for key in header]
            if max(map(len, row)) > self._max_field_chars:
                raise ImportFileError(t("ingestion.field_too_long", row=number, chars=f"{self._max_field_chars:,}"),
                                      row=number)
            rows.append(row)
            numbers.append(number)
        return rows, numbers

    def bytes_read(self) -> int:
        return self._bytes.position()

    def close(self) -> None:
        self._bytes.close()


def _json_cell(value: Any) -> str:
    """A JSON value as a cell: strings as is, numbers as written, null as "", nested as JSON text."""
    kind = type(value)
    if kind is str:
        return value
    if kind is _JsonNumber:
        return str.__str__(value)
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    return _json_text(value)


def _json_text(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)``, but numbers exactly as they were written."""
    if isinstance(value, dict):
        items = (f"{json.dumps(key, ensure_ascii=False)}: {_json_text(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_json_text, value)) + "]"
    if type(value) is _JsonNumber:
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)


class _XlsxSource(_Source):
    """A worksheet read with openpyxl in read-only mode, row by row."""

    def __init__(self, path: str, *, sheet: str | None, has_header: bool, ragged: _RaggedLog, size: int,
                 limits: _Limits):
        from openpyxl import load_workbook  # heavy import, only for workbooks

        self._ragged = ragged
        self._size = size
        self._done = False
        self._book = None
        self._blank = _BlankRows(limits.blank_run)
        self._formula_cells: list[tuple[int, int, str]] = []
        self._file = open(path, "rb")
        try:
            with _workbook_errors():
                self._book = load_workbook(self._file, read_only=True, data_only=True)
                worksheet = self._worksheet(sheet)
                self.sheet = worksheet.title
                self._values = _sheet_values(worksheet)
            self._records = 0
            first = self._first_nonempty_row()
            limits.check_width(len(first) if not has_header else len(_header_names(first)))
            if has_header:
                self.header = _header_names(first)
                self._pending: list[list[str]] = []
            else:
                self.header = _generic_header(len(first))
                self._pending = [first]  # the first row is data: it goes out with the first batch
        except BaseException:
            self.close()
            raise
        self._width = len(self.header)

    def _worksheet(self, sheet: str | None) -> Any:
        book = self._book
        if sheet is None:
            if not book.worksheets:
                raise ImportFileError(t("ingestion.no_worksheet"))
            return book.worksheets[0]
        if sheet not in book.sheetnames:
            names = ", ".join(repr(name) for name in book.sheetnames)
            raise ImportFileError(t("ingestion.no_such_sheet", sheet=sheet, sheets=names))
        worksheet = book[sheet]
        if not hasattr(worksheet, "iter_rows"):
            raise ImportFileError(t("ingestion.chart_sheet", sheet=sheet))
        return worksheet

    def _first_nonempty_row(self) -> list[str]:
        for _ in range(HEADER_SCAN_ROWS):
            batch = self._read(1)
            if not batch:
                raise ImportFileError(t("ingestion.empty_sheet", sheet=self.sheet))
            if any(batch[0]):
                self._formula_cells.clear()  # a header cell is a name, whatever computed it
                return batch[0]
        raise ImportFileError(t("ingestion.no_header", rows=f"{HEADER_SCAN_ROWS:,}"))

    def _read(self, size: int) -> list[list[str]]:
        with _workbook_errors():
            values = list(islice(self._values, size))
        first_number = self._records + 1
        self._records += len(values)
        if len(values) < size:
            self._done = True
        rows = [[cell if type(cell) is str else _cell_text(cell) for cell in row] for row in values]
        if _FormulaCell.seen:  # rare: only workbooks written by programs that compute nothing
            for number, row in enumerate(rows, first_number):
                for index, cell in enumerate(row):
                    if type(cell) is _FormulaCell:
                        self._formula_cells.append((number, index, str.__str__(cell)))
                        row[index] = ""
        return rows

    def take_formula_cells(self) -> list[tuple[int, int, str]]:
        cells, self._formula_cells = self._formula_cells, []
        return cells

    def batches(self, size: int) -> Iterator[tuple[list[list[str]], list[int]]]:
        while True:
            first_number = self._records + 1 - len(self._pending)
            rows = self._pending + self._read(size - len(self._pending))
            self._pending = []
            if not rows:
                return
            yield self._fit(rows, first_number)
            if len(rows) < size:
                return

    def _fit(self, rows: list[list[str]], first_number: int) -> tuple[list[list[str]], list[int]]:
        """Pad short rows (empty cells are not stored), drop blank rows, log non-empty overflow."""
        width = self._width
        kept: list[list[str]] = []
        numbers: list[int] = []
        blank = self._blank
        for number, row in enumerate(rows, first_number):
            count = len(row)
            if count < width:
                row.extend([""] * (width - count))
            elif count > width:
                if any(row[width:]):
                    self._ragged.add(number, count)
                    blank.rows(1)
                    continue
                del row[width:]
            if any(row) or any(cell[0] == number for cell in self._formula_cells):
                kept.append(row)
                numbers.append(number)
                blank.rows(1)
            else:
                blank.blank(number)
        return kept, numbers

    def bytes_read(self) -> int:
        if self._done or self._file.closed:
            return self._size
        return min(self._file.tell(), self._size)

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
        self._file.close()


@contextmanager
def _workbook_errors() -> Iterator[None]:
    """openpyxl raises a grab bag of exceptions for damaged files; report them as one 422."""
    try:
        yield
    except ImportFileError:
        raise
    except Exception as exc:  # zipfile, XML, KeyError, ValueError...: all mean "damaged"
        raise ImportFileError(t("ingestion.bad_workbook", error=f"{type(exc).__name__}: {exc}")) from None


class _FormulaCell(str):
    """A formula cell the workbook holds no computed value for (its text, e.g. ``=SUM(B2:B9)``)."""

    seen = False  # set once any workbook had one: only then are rows searched for them


def _sheet_values(worksheet: Any) -> Iterator[tuple]:
    """The rows of a read-only worksheet as ``iter_rows(values_only=True)`` gives them (blank rows
    included, every cell read whatever the stored dimensions say), except that a formula cell
    without a cached value comes as a :class:`_FormulaCell` instead of None.

    openpyxl's ``data_only`` reads the value Excel computed and saved with each formula; a
    workbook written by a program that computes nothing has none, and openpyxl says None, the
    same as for an empty cell. Its sheet parser is asked for the formula where the value is missing.
    """
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            # No value, or an empty one (openpyxl writes <v/>); t="str" with an empty value is a
            # formula that computed "", which is a value.
            if cell["value"] is None and not element.findtext(VALUE_TAG) and element.get("t") != "str":
                formula = element.find(FORMULA_TAG)
                if formula is not None:
                    cell["value"] = _FormulaCell("=" + (formula.text or ""))
                    _FormulaCell.seen = True
            return cell

    book = worksheet.parent
    with worksheet._get_source() as source:
        parser = Parser(source, worksheet._shared_strings, data_only=True, epoch=book.epoch,
                        date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        expected = 1
        for number, cells in parser.parse():
            if number < expected:
                continue  # a row repeated out of order: openpyxl keeps the first
            yield from repeat((), number - expected)
            values = [None] * max((cell["column"] for cell in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield tuple(values)
            expected = number + 1


def _cell_text(value: Any) -> str:
    """An XLSX cell value as text (strings are handled by the caller)."""
    if value is None:
        return ""
    kind = type(value)
    if kind is _FormulaCell:
        return value  # kept as is: the reader reports it
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _float_text(value)
    if kind is datetime:
        if value.hour == value.minute == value.second == value.microsecond == 0 and value.tzinfo is None:
            return value.strftime("%Y-%m-%d")  # a date cell: openpyxl returns dates as midnight datetimes
        return value.isoformat(sep=" ", timespec="seconds")
    if kind is date:
        return value.isoformat()
    if kind is time:
        return value.isoformat(timespec="seconds")
    if kind is timedelta:
        return str(value)
    return str(value)


def _float_text(value: float) -> str:
    """Integral floats below 1e15 as integers; others as the shortest round-trip text.

    From 1e15 up a float cannot hold every digit of a 16+ digit id, so it is written in
    scientific notation (``2.389012345678901e+15``), which the caller recognises as a ruined id.
    """
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if math.isfinite(value) and abs(value) >= 1e15 and "e" not in text:
        for digits in range(17):
            scientific = f"{value:.{digits}e}"
            if float(scientific) == value:
                return scientific
    return text
