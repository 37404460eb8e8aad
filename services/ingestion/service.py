"""Ingestion's use cases: accept an upload (checked before it is queued) and run the import job
(read the uploaded file, clean it chunk by chunk, stage it, apply it at once).

``ingestion.import`` takes only the job id; its params name the saved upload (its file name in
the upload folder, never a path) and the options. Nothing reaches the real tables until every
row has been read and cleaned: in ``strict`` mode a single rejected row means nothing is
written at all; in ``lenient`` mode the good rows are applied in one transaction and the
rejected ones are kept for the report.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from services.ingestion import loader
from services.ingestion.cleaning import Rejection, clean_chunk, extract
from services.ingestion.presets import (
    ENTITY_FIELDS,
    PRESET_ENTITY,
    ColumnPlan,
    guess_entities,
    looks_like_user_behavior,
    plan_columns,
)
from services.ingestion.reader import (
    MAX_COLUMNS,
    ImportFileError,
    TableReader,
    decompressed_limit,
    gzip_declared_size,
)
from shared import activity, jobs, webhooks
from shared.config import Settings
from shared.db import get_engine
from shared.errors import InvalidInput, NotFound
from shared.i18n import Message, t
from shared.jobs import JobContext, is_transient
from shared.models import Job, Shop

log = logging.getLogger(__name__)
CHUNK_ROWS = 50_000
SHOWN_REJECTIONS = 100
# A preview shows this many rows, reading at most this many chunks of them (blank stretches).
PREVIEW_ROWS = 5
PREVIEW_MAX_CHUNKS = 20
# Derived data another service keeps per entity: its job runs after an import that changed rows.
FOLLOW_UP = {"reviews": "sentiment.score", "competitor_prices": "pricing.watch",
             # new sales or stock may complete a decision's outcome window (docs/decisions.md)
             "orders": "decisions.check_outcomes", "order_items": "decisions.check_outcomes",
             "inventory": "decisions.check_outcomes"}


def open_table(path: Path, params: dict, settings: Settings) -> tuple[TableReader, bool]:
    """Open the file as a table: (reader, headerless). Only the behaviour log comes headerless."""
    options = {"encoding": params.get("encoding"), "sheet": params.get("sheet"),
               "max_decompressed_bytes": settings.max_import_bytes, "max_expansion": settings.max_import_ratio,
               "max_line_chars": settings.max_import_line_chars}
    reader = TableReader(path, **options)
    headerless = params["preset"] == "taobao_user_behavior" or (
        params["preset"] == "auto" and looks_like_user_behavior(reader.header))
    if headerless:
        reader.close()
        reader = TableReader(path, has_header=False, **options)
    return reader, headerless


def open_source(path: Path, params: dict, settings: Settings) -> tuple[TableReader, ColumnPlan]:
    """Open the file and plan its columns; the API runs this too, to refuse a bad file at once."""
    reader, headerless = open_table(path, params, settings)
    try:
        plan = plan_columns(params["entity"], params["preset"], reader.header, params.get("mapping"), headerless)
    except Exception:
        reader.close()
        raise
    return reader, plan


def preview_import(settings: Settings, args: dict, saved: Path, mapping: str | None) -> dict:
    """What importing this file would do, without importing it: the entity it most likely holds
    (unless ``args`` names one), the preset, each column's field with masked sample values, and
    the required fields still without a column. The console shows this before the upload starts."""
    check_size(saved, settings)
    params = {**args, "mapping": parse_mapping(mapping)}
    reader, headerless = open_table(saved, params, settings)
    with reader:
        guesses = guess_entities(reader.header, headerless)
        entity = args.get("entity") or PRESET_ENTITY.get(args["preset"]) or guesses[0][0]
        plan = plan_columns(entity, args["preset"], reader.header, params["mapping"], headerless, complete=False)
        samples = sample_rows(reader, PREVIEW_ROWS)
        info = reader.info
    required, optional = ENTITY_FIELDS[entity]
    return {"entity": entity, "entity_guessed": not args.get("entity"),
            "candidates": [{"entity": e, "preset": p, "score": s} for e, p, s in guesses[:3]],
            "format": info.format, "compression": info.compression, "encoding": info.encoding,
            "header": not headerless, "rows_sampled": len(samples),
            "preset": plan.preset, "preset_confidence": round(plan.confidence, 2), "preset_reason": plan.reason,
            "columns": plan.columns(samples), "fields_required": list(required), "fields_optional": list(optional),
            "fields_missing": plan.missing, "ready": not plan.missing}


def is_header_row(row: list[str], header_key: list[str]) -> bool:
    """A repeated header (concatenated exports repeat theirs): skipped, never read as data."""
    return [c.strip() for c in row] == header_key


def sample_rows(reader: TableReader, count: int) -> list[list[str]]:
    """The first ``count`` data rows (repeated headers and blank rows skipped), reading no more
    than a bounded prefix of the file."""
    rows: list[list[str]] = []
    header_key = [h.strip() for h in reader.header]
    for read, chunk in enumerate(reader.chunks(count)):
        rows += [row for row in chunk.rows if not is_header_row(row, header_key)]
        if len(rows) >= count or read >= PREVIEW_MAX_CHUNKS:
            break
    return rows[:count]


def start_import(session: Session, settings: Settings, shop_id: int, args: dict, saved: Path,
                 filename: str | None, mapping: str | None) -> Job:
    """Check an uploaded file and queue its import; refused files raise before anything is queued."""
    # The upload's name in the upload folder, never its path: params are shown with the job.
    params = {**args, "upload": saved.name, "filename": display_name(filename), "mapping": parse_mapping(mapping)}
    preflight(saved, params, settings)
    return jobs.start(session, settings, shop_id, "ingestion.import", params)


def parse_mapping(raw: str | None) -> dict | None:
    """The form's ``mapping`` field: a JSON object of file column -> field, or nothing."""
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except ValueError:
        raise InvalidInput(t("ingestion.mapping_not_json"), errors={"mapping": [t("ingestion.invalid_json")]}) from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                                for k, v in mapping.items()):
        raise InvalidInput(t("ingestion.mapping_not_object"), errors={"mapping": [t("ingestion.not_strings")]})
    if len(mapping) > MAX_COLUMNS:
        raise InvalidInput(t("ingestion.mapping_too_large", count=f"{len(mapping):,}", limit=f"{MAX_COLUMNS:,}"),
                           errors={"mapping": [t("ingestion.mapping_too_large", count=f"{len(mapping):,}",
                                                 limit=f"{MAX_COLUMNS:,}")]})
    return mapping


def display_name(filename: str | None) -> str | None:
    """The uploaded file's own name as the job shows it: no folders, no control characters, cut."""
    if not filename:
        return None
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name[:200] or None


def preflight(path: Path, params: dict, settings: Settings) -> None:
    """Refuse what can be refused before queuing: empty, unreadable, a bomb, no usable columns."""
    check_size(path, settings)
    reader, _plan = open_source(path, params, settings)  # reads a bounded prefix: detection and header
    reader.close()


def check_size(path: Path, settings: Settings) -> None:
    """Refuse an empty file, and one over the size limits, before reading it."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(t("ingestion.file_empty"), errors={"file": [t("ingestion.empty")]})
    if size > settings.max_import_bytes:
        raise ImportFileError(t("ingestion.too_large_file", limit=f"{settings.max_import_bytes:,}"), status=413)
    declared = gzip_declared_size(path)
    limit = decompressed_limit(size, settings.max_import_bytes, settings.max_import_ratio)
    if declared is not None and declared > limit:
        raise ImportFileError(t("ingestion.too_large_import", limit=f"{limit:,}"), status=413)


def rejection_lines(session: Session, settings: Settings, shop_id: int, job_id: str, language: str):
    """The rows an import rejected, as CSV lines for a download; 404 for a job that is no import."""
    if loader.get_import_job(session, job_id) is None:
        raise NotFound(t("ingestion.no_such_import", job_id=job_id))
    # The generator opens its own session: it runs after the request's context is gone.
    return loader.rejection_report(settings.database_url, shop_id, job_id, language)


def record_events(session: Session, shop_id: int, settings: Settings, events: list[dict]) -> tuple[int, int]:
    """Behaviour events from a front end: (accepted, duplicates); the recommender reads them live."""
    return loader.record_events(session, shop_id, events, settings.redis_url)


def report_url(job_id: str) -> str:
    return f"/v1/imports/{job_id}/rejections.csv"


def upload_path(settings: Settings, params: dict) -> Path:
    """The saved upload a job's params name: a file name in the upload folder, nothing else.

    Jobs queued before uploads were named this way carry a ``path``; it is honoured only inside
    the upload folder.
    """
    folder = settings.upload_dir
    if "upload" in params:
        name = str(params["upload"])
    else:
        legacy = Path(params.get("path") or "")
        name = legacy.name if legacy.parent == folder else ""
    if not name or name != Path(name).name or name in (".", ".."):
        raise InvalidInput(t("ingestion.upload_gone"))
    return folder / name


def import_file(ctx: JobContext) -> dict:
    """Import one uploaded file (see the module docstring)."""
    path = upload_path(ctx.settings, ctx.params)
    try:
        result = _import(ctx, path)
    except Exception as exc:
        # A retry, or the attempt that took this one's place, needs the file; a final end does not.
        if not is_transient(exc) and not isinstance(exc, jobs.JobSuperseded):
            path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)
    return result


def _import(ctx: JobContext, path: Path) -> dict:
    params = ctx.params
    if not path.exists():
        raise InvalidInput(t("ingestion.upload_gone"))
    with ctx.session() as session:
        shop = session.get(Shop, ctx.shop_id)
        salt, timezone = shop.user_id_salt, params.get("timezone") or shop.timezone
        loader.forget_rejections(session, ctx.job_id)  # a redelivered import starts from scratch
    reader, plan = open_source(path, params, ctx.settings)
    header_key = [h.strip() for h in reader.header]
    totals = {"rows_total": 0, "rows_rejected": 0, "header_rows_skipped": 0}
    shown: list[Rejection] = []
    stored = 0
    ctx.progress(0.0, t("ingestion.progress_reading", format=reader.info.format,
                        encoding=reader.info.encoding or "binary"), force=True)
    timings = Timings()
    read_fraction = 0.0
    with reader, loader.staging_connection(ctx.settings.database_url) as connection:
        staging = loader.StagingLoader(connection, plan.entity, ctx.shop_id, columns=plan.fields_present,
                                       empty_cells=params.get("empty_cells") or "keep")
        try:
            # One pass of this loop per chunk of the file (CHUNK_ROWS rows read, blank ones included).
            for chunk in reader.chunks(CHUNK_ROWS):
                ctx.check_cancelled()  # between chunks: only the staging table holds anything yet
                rows, numbers = [], []
                for row, number in zip(chunk.rows, chunk.row_numbers, strict=True):
                    if plan.preset != "taobao_user_behavior" and is_header_row(row, header_key):
                        totals["header_rows_skipped"] += 1  # concatenated exports repeat their header
                        continue
                    rows.append(row)
                    numbers.append(number)
                totals["rows_total"] += len(rows)
                timings.lap("read")
                if rows:
                    cleaned = clean_chunk(plan, extract(plan, rows, numbers), timezone, salt, chunk.formula_cells)
                    timings.lap("clean")
                    staging.stage(cleaned.frame)
                    timings.lap("stage")
                    totals["rows_rejected"] += cleaned.rows_rejected
                    stored += _keep_rejections(ctx, cleaned.rejections, stored, shown)
                read_fraction = chunk.bytes_read / max(reader.info.size_bytes, 1)
                ctx.progress(0.85 * read_fraction,
                             t("ingestion.progress_read", rows=f"{totals['rows_total']:,}",
                               rejected=f"{totals['rows_rejected']:,}"))
        except ImportFileError:
            # The failed job shows how far it got (a throttled progress write may not have landed).
            ctx.progress(0.85 * read_fraction, force=True)
            raise
        ragged = [Rejection(row, t("ingestion.whole_row"), "", _ragged_reason(count, len(reader.header)))
                  for row, count in reader.ragged_rows()]
        totals["rows_total"] += reader.ragged_count  # the list above is capped; the count is not
        totals["rows_rejected"] += reader.ragged_count
        stored += _keep_rejections(ctx, ragged, stored, shown)
        shown.sort(key=lambda r: r.row)
        summary = {**plan.report(), "entity": plan.entity, "format": reader.info.format,
                   "encoding": reader.info.encoding, "mode": params["mode"], "filename": params.get("filename"),
                   "report_url": report_url(ctx.job_id),
                   "rejections": [r.__dict__ for r in shown[:SHOWN_REJECTIONS]], **totals}
        if reader.ignored_keys():
            summary["jsonl_keys_ignored"] = reader.ignored_keys()

        if params["mode"] == "strict" and totals["rows_rejected"]:
            connection.rollback()
            raise InvalidInput(
                t("ingestion.strict_rejected", rejected=f"{totals['rows_rejected']:,}",
                  total=f"{totals['rows_total']:,}"),
                errors={f"row {r.row}": [t("ingestion.column_reason", column=r.column, reason=r.reason)]
                        for r in shown[:20]},
                report_url=report_url(ctx.job_id), rows_rejected=totals["rows_rejected"])

        ctx.progress(0.87, t("ingestion.progress_checking"), force=True)
        duplicates_in_file = staging.dedupe()
        timings.lap("dedupe")
        summary["quality"] = staging.quality()
        timings.lap("quality")
        if plan.entity == "order_items":
            summary["referential"] = staging.orphan_order_items()
        if plan.entity == "events":
            start, end = staging.event_months()
            # Staging holds a lock on events (CREATE TEMP TABLE ... LIKE events); release it, or the
            # partition DDL on the other connection would wait for this one forever. Temp rows stay.
            connection.commit()
            with get_engine(ctx.settings.database_url).begin() as ddl:
                loader.ensure_event_partitions(ddl, start, end)
        # The last progress write before the lock, and the last point where a cancel is honoured.
        ctx.progress(0.92, t("ingestion.progress_writing"), force=True)
        staging.lock_for_write()
        timings.lap("partitions")
        if plan.entity == "events":  # before the commit: see shared.activity
            activity.mark(ctx.settings.redis_url, ctx.shop_id, staging.latest_event_by_user())
        counts = staging.apply()
        staging.close()
        connection.commit()
        timings.lap("apply")
        if counts["inserted"] or counts["updated"]:
            staging.refresh_statistics()
            timings.lap("analyze")
    summary.update(rows_loaded=counts["inserted"], rows_updated=counts["updated"],
                   rows_duplicate=duplicates_in_file + counts["unchanged"])
    summary["timings_s"] = timings.report()
    summary["quality"]["duplicates"] = {"in_file": duplicates_in_file, "already_stored": counts["unchanged"]}
    if summary["rows_loaded"] == 0 and summary["rows_updated"] == 0 and summary["rows_duplicate"]:
        summary["note"] = t("ingestion.nothing_changed")
    with ctx.session() as session:
        webhooks.emit(session, ctx.shop_id, "import_finished",
                      {"job_id": ctx.job_id, "entity": plan.entity,
                       **{k: summary[k] for k in ("rows_total", "rows_loaded", "rows_updated", "rows_duplicate",
                                                  "rows_rejected")}})
    if (summary["rows_loaded"] or summary["rows_updated"]) and plan.entity in FOLLOW_UP:
        summary["follow_up_jobs"] = _start_follow_up(ctx, FOLLOW_UP[plan.entity])
    log.info("import %s: %s", ctx.job_id, {k: v for k, v in summary.items() if k.startswith("rows_")})
    return summary


def _start_follow_up(ctx: JobContext, kind: str) -> list[dict]:
    """Start the job that keeps derived data current (the import itself stands either way)."""
    try:
        with ctx.session() as session:
            job = jobs.start(session, ctx.settings, ctx.shop_id, kind, {"trigger": f"import {ctx.job_id}"})
            return [{"kind": kind, "id": job.id}]
    except Exception as exc:  # the queue being down must not undo a finished import
        log.warning("import %s: could not start %s: %s", ctx.job_id, kind, exc)
        return [{"kind": kind, "error": f"not started ({type(exc).__name__}); it runs with the next retrain"}]


class Timings:
    """Seconds spent per phase, reported with the job (where an import spends its time)."""

    def __init__(self):
        self._last = time.perf_counter()
        self._spent: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self._spent[phase] = self._spent.get(phase, 0.0) + now - self._last
        self._last = now

    def report(self) -> dict[str, float]:
        return {phase: round(seconds, 3) for phase, seconds in self._spent.items()}


def _ragged_reason(fields: int, expected: int) -> Message:
    if fields == 0:
        return t("ingestion.reject_not_object")
    return t("ingestion.reject_ragged", fields=fields, expected=expected)


def _keep_rejections(ctx: JobContext, rejections: list[Rejection], stored: int, shown: list[Rejection]) -> int:
    if not rejections:
        return 0
    room = SHOWN_REJECTIONS - len(shown)
    if room > 0:
        shown.extend(rejections[:room])
    with ctx.session() as session:
        return loader.save_rejections(session, ctx.shop_id, ctx.job_id, rejections, stored)
