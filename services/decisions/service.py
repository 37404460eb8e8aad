"""Decision use cases: recording accepted or rejected advice, sending it to the business systems,
and checking later how it turned out. No HTTP here (api.py), no maths (outcomes.py), no SQL (data.py).

A decision is written in one transaction with the webhook deliveries that carry it out
(``price_change_accepted`` ...), so an event exists exactly when the decision does; the same
decision posted twice (the same ``Idempotency-Key``, suggestion or content) returns the first one
and sends nothing more. ``decisions.check_outcomes`` measures every accepted decision whose window
the shop's data now covers, stores the outcome on it and sends ``decision_outcome``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.decisions import advice, data, outcomes
from shared import jobs, suggestions, webhooks
from shared.auth import Principal
from shared.calendar import shop_today
from shared.catalogue import titles as item_titles
from shared.config import Settings
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput
from shared.i18n import t
from shared.jobs import JobContext
from shared.models import Decision, Job, actor, shop_timezone

# Days after the effective day an outcome is measured over, per kind (a decision may set its own).
DEFAULT_WINDOW_DAYS = {"price_change": 14, "restock": 14, "campaign": 14}
DEFAULT_HOLDOUT_SHARE = 0.10
# Days before a price change that form its baseline (at least the window's length).
BASELINE_DAYS = 28
# How far back a decision may be recorded (one taken before shopmind knew of it), and ahead.
MAX_DAYS_BACK, MAX_DAYS_AHEAD = 5 * 366, 90
MAX_CAMPAIGN_MEMBERS = 200_000
MAX_SUBJECT_CHARS = 64  # an item id or segment name, as the tables hold them
ACCEPTED_EVENT = {"price_change": "price_change_accepted", "restock": "restock_accepted",
                  "campaign": "campaign_accepted"}
OUTCOME_EVENT = "decision_outcome"
CHECK_JOB = "decisions.check_outcomes"


# --- requests -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    decision: dict
    created: bool


def record(session: Session, shop_id: int, principal: Principal, args: dict, idempotency_key: str | None) -> Recorded:
    """Record a decision (fetching the advice it follows) and queue its webhook event if accepted."""
    kind, status = args["kind"], args["status"]
    subject = _subject(kind, args)
    timezone = shop_timezone(session, shop_id)
    effective_on, effective_at = _effective(args.get("effective_at"), timezone)
    window = args.get("outcome_window_days") or DEFAULT_WINDOW_DAYS[kind]
    given_suggestion = _check_suggestion(kind, subject, args.get("suggestion_id"))
    key = _dedupe_key(kind, status, subject, args, effective_on, given_suggestion, idempotency_key)
    if (existing := data.find_by_dedupe_key(session, key)) is not None:
        return Recorded(to_dict(session, existing), created=False)

    value = dict(args.get("value") or {})
    members: list[str] = []
    if kind == "price_change":
        found, value = advice.price_change(principal, subject, value.get("price"), window)
        # The moment the new price applies, for a pricing tool to schedule: as given, else the day's start.
        value["effective_at"] = effective_at.isoformat()
    elif kind == "restock":
        found, decided = advice.restock(principal, subject, value.get("quantity"), value.get("lead_time_days"),
                                        effective_on, window)
        value = {**value, **decided}
    else:
        # Only an accepted campaign reaches customers: a rejected one keeps the advice, not the list.
        found, members = advice.campaign(principal, subject, MAX_CAMPAIGN_MEMBERS, with_members=status == "accepted")
    if given_suggestion is not None and given_suggestion.model_version != found["model_version"]:
        raise Conflict(t("decisions.stale_suggestion", suggestion_id=args["suggestion_id"],
                         version=found["model_version"]))
    holdout_share = None
    if kind == "campaign" and status == "accepted":
        holdout_share = args.get("holdout_share")
        holdout_share = DEFAULT_HOLDOUT_SHARE if holdout_share is None else holdout_share

    decision = Decision(
        shop_id=shop_id, kind=kind, status=status, item_id=subject if kind != "campaign" else None,
        segment=subject if kind == "campaign" else None, suggestion_id=args.get("suggestion_id"), dedupe_key=key,
        advice=found, value=value, note=args.get("note"), decided_by=actor(session, principal),
        decided_at=utcnow(), effective_on=effective_on, outcome_window_days=window, holdout_share=holdout_share)
    session.add(decision)
    try:
        session.flush()
        if kind == "campaign":
            held = outcomes.holdout_members(members, holdout_share or 0.0, seed=int(key[:8], 16))
            data.add_members(session, shop_id, decision.id, members, held)
        answer = to_dict(session, decision)
        if status == "accepted":
            webhooks.emit(session, shop_id, ACCEPTED_EVENT[kind], event_payload(answer))
        session.commit()
    except IntegrityError:  # the same decision, posted at the same moment by another request
        session.rollback()
        existing = data.find_by_dedupe_key(session, key)
        if existing is None:
            raise
        return Recorded(to_dict(session, existing), created=False)
    return Recorded(answer, created=True)


def list_decisions(session: Session, filters: dict, limit: int, cursor: str | None) -> dict:
    rows, next_cursor = data.page(session, filters, limit, cursor)
    titles = item_titles(session, (row.item_id for row in rows))
    return {"items": [to_dict(session, row, counts=False, titles=titles) for row in rows], "next_cursor": next_cursor}


def get_decision(session: Session, decision_id: int) -> dict:
    return to_dict(session, data.get(session, decision_id))


@dataclass(frozen=True)
class MembersPage:
    user_ids: list[str]
    next_cursor: str | None


def members(session: Session, decision_id: int, group: str, limit: int, cursor: str | None) -> MembersPage:
    """One group of a campaign's members (``treatment`` to contact, ``holdout`` to leave alone)."""
    _campaign(session, decision_id)
    ids = data.members_page(session, decision_id, group == "holdout", cursor, limit + 1)
    return MembersPage(ids[:limit], ids[limit - 1] if len(ids) > limit else None)


def members_csv(session: Session, decision_id: int, group: str) -> str:
    _campaign(session, decision_id)
    frame = data.members(session, decision_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["user_id"])
    writer.writerows([u] for u in sorted(frame.loc[frame["holdout"] == (group == "holdout"), "user_id"]))
    return buffer.getvalue()


def _campaign(session: Session, decision_id: int) -> Decision:
    """The decision, which must be a campaign (only a campaign has members): else a 409."""
    decision = data.get(session, decision_id)
    if decision.kind != "campaign":
        raise Conflict(t("decisions.not_a_campaign", decision_id=decision_id))
    return decision


def audit(session: Session, service: str | None) -> dict:
    """Per model (service and version): decisions measured, how many held up, predicted against
    realised effect; and per service across its versions."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for decision in data.measured(session):
        source = decision.advice.get("service")
        if service and source != service:
            continue
        groups.setdefault((source, decision.advice.get("model_version")), []).append(decision.outcome)
    models = [{"service": source, "model_version": version, **outcomes.audit(found)}
              for (source, version), found in sorted(groups.items(), key=lambda kv: (kv[0][0], -(kv[0][1] or 0)))]
    services = {}
    for source in sorted({source for source, _ in groups}):
        services[source] = outcomes.audit([o for (s, _), found in groups.items() if s == source for o in found])
    return {"models": models, "services": services}


# --- the outcome check --------------------------------------------------------------------------

def start_check(session: Session, settings: Settings, shop_id: int) -> Job:
    """Start the outcome check (one at a time per shop: a running one is returned instead)."""
    return jobs.start(session, settings, shop_id, CHECK_JOB, reuse_unfinished=True)


def check_outcomes(ctx: JobContext) -> dict:
    """Measure every accepted decision whose window the shop's data covers; send ``decision_outcome``."""
    ctx.progress(0.05, t("decisions.progress_reading"))
    with ctx.session() as session:
        timezone = shop_timezone(session, ctx.shop_id)
        through = data.data_through(session, timezone)
        waiting = data.unmeasured_accepted(session)
        due = [d.id for d in waiting if through is not None and _window(d)[1] <= through]
    measured = []
    for number, decision_id in enumerate(due):
        ctx.progress(0.1 + 0.85 * number / max(1, len(due)), t("decisions.progress_measuring",
                                                                done=number, total=len(due)))
        with ctx.session() as session:
            decision = data.get(session, decision_id)
            decision.outcome = measure(session, decision, timezone)
            decision.measured_at = utcnow()
            webhooks.emit(session, ctx.shop_id, OUTCOME_EVENT, event_payload(to_dict(session, decision)))
            measured.append({"id": decision.id, "kind": decision.kind, "verdict": decision.outcome["verdict"]})
    return {"data_through": through.isoformat() if through else None, "measured": len(measured),
            "waiting": len(waiting) - len(measured), "decisions": measured[:100]}


def measure(session: Session, decision: Decision, timezone: str) -> dict:
    """The outcome of one decision on the shop's data (outcomes.py holds the maths)."""
    start, end = _window(decision)
    if decision.kind == "price_change":
        result = _measure_price(session, decision, timezone, start, end)
    elif decision.kind == "restock":
        days = data.item_days(session, timezone, [decision.item_id], (start, end))
        units = _daily(days, start, end)["units"].to_numpy()
        result = outcomes.restock(units, len(data.out_of_stock_dates(session, decision.item_id, (start, end))),
                                  decision.advice.get("predicted", {}))
    else:
        result = _measure_campaign(session, decision, timezone, start, end)
    return {"window": [start.isoformat(), end.isoformat()], "measured_at": utcnow().isoformat(), **result}


def _measure_price(session: Session, decision: Decision, timezone: str, start: date, end: date) -> dict:
    baseline = max(BASELINE_DAYS, decision.outcome_window_days)
    before_span = (start - timedelta(days=baseline), start - timedelta(days=1))
    peers = data.category_peers(session, decision.item_id)
    days = data.item_days(session, timezone, [decision.item_id, *peers], (before_span[0], end))
    stockouts = data.out_of_stock_dates(session, decision.item_id, (before_span[0], end))
    own = days[days["item_id"] == decision.item_id]
    before = _window_of(own, before_span, stockouts)
    after = _window_of(own, (start, end), stockouts)
    control_before = control_after = None
    still = _still_priced(days[days["item_id"] != decision.item_id], before_span, (start, end))
    if still:
        peer_days = days[days["item_id"].isin(still)]
        control_before, control_after = _window_of(peer_days, before_span), _window_of(peer_days, (start, end))
    result = outcomes.price_change(before, after, control_before, control_after,
                                   decision.advice.get("predicted", {}), decision.advice.get("cost"))
    result["observed"]["control_items"] = len(still)
    result["observed"]["out_of_stock_days_dropped"] = len(stockouts)
    return result


def _measure_campaign(session: Session, decision: Decision, timezone: str, start: date, end: date) -> dict:
    members_frame = data.members(session, decision.id)
    bought = data.buyer_totals(session, timezone, (start, end)).set_index("user_id")
    before = data.buyer_totals(session, timezone, (start - timedelta(days=decision.outcome_window_days),
                                                   start - timedelta(days=1)))
    joined = members_frame.join(bought, on="user_id").fillna({"orders": 0, "revenue": 0.0})

    def group(rows: pd.DataFrame) -> outcomes.Group:
        return outcomes.Group(members=len(rows), buyers=int((rows["orders"] > 0).sum()),
                              revenue=rows["revenue"].to_numpy(float))

    size = max(1, len(members_frame))
    predicted = {**decision.advice.get("predicted", {}),
                 "buy_rate_before": round(float(members_frame["user_id"].isin(before["user_id"]).sum()) / size, 4)}
    return outcomes.campaign(group(joined[~joined["holdout"].astype(bool)]),
                             group(joined[joined["holdout"].astype(bool)]), predicted)


# --- shared by both -----------------------------------------------------------------------------

def to_dict(session: Session, decision: Decision, counts: bool = True, titles: dict[str, str] | None = None) -> dict:
    if titles is None:
        titles = item_titles(session, [decision.item_id])
    answer = {"id": decision.id, "kind": decision.kind, "status": decision.status, "item_id": decision.item_id,
              "item_title": titles.get(decision.item_id),
              "segment": decision.segment, "suggestion_id": decision.suggestion_id,
              "decided_by": decision.decided_by, "decided_at": decision.decided_at.isoformat(),
              "effective_on": decision.effective_on.isoformat(),
              "outcome_window_days": decision.outcome_window_days,
              "outcome_due_on": _window(decision)[1].isoformat(),
              "holdout_share": decision.holdout_share, "advice": decision.advice, "value": decision.value,
              "note": decision.note, "outcome": decision.outcome}
    if decision.kind == "campaign" and counts:
        answer["members"] = data.member_counts(session, decision.id)
    return answer


def event_payload(decision: dict) -> dict:
    """What a business system needs to act on a decision, without retyping numbers."""
    base = {"decision_id": decision["id"], "kind": decision["kind"], "status": decision["status"],
            "decided_by": decision["decided_by"], "decided_at": decision["decided_at"],
            "effective_on": decision["effective_on"],
            "model": {"service": decision["advice"].get("service"),
                      "version": decision["advice"].get("model_version")},
            "predicted": decision["advice"].get("predicted"), "outcome": decision["outcome"],
            "url": f"/v1/decisions/{decision['id']}"}
    value = decision["value"]
    if decision["kind"] == "price_change":
        base.update(item_id=decision["item_id"], new_price=value.get("price"), old_price=value.get("old_price"),
                    effective_at=value.get("effective_at"))
    elif decision["kind"] == "restock":
        base.update(item_id=decision["item_id"], quantity=value.get("quantity"),
                    lead_time_days=value.get("lead_time_days"), expected_arrival=value.get("expected_arrival"),
                    supplier=value.get("supplier"))
    else:
        counts = decision.get("members") or {}
        base.update(segment=decision["segment"], offer=value.get("offer"), channel=value.get("channel"),
                    members=counts.get("treatment"), holdout=counts.get("holdout"),
                    holdout_share=decision["holdout_share"],
                    members_url=f"/v1/decisions/{decision['id']}/members?group=treatment",
                    members_csv_url=f"/v1/decisions/{decision['id']}/members?group=treatment&format=csv")
    return base


def _window(decision: Decision) -> tuple[date, date]:
    """The local days an outcome is measured over: the effective day and the window after it."""
    return decision.effective_on, decision.effective_on + timedelta(days=decision.outcome_window_days - 1)


def _subject(kind: str, args: dict) -> str:
    """The item (price change, restock) or segment (campaign) a decision is about; a 422 when the
    other one is given or neither is (taken from the suggestion id when only that is given)."""
    wanted, other = ("segment", "item_id") if kind == "campaign" else ("item_id", "segment")
    if args.get(other):
        raise InvalidInput(t("decisions.wrong_subject", kind=t(f"decisions.kind_{kind}"), field=other),
                           errors={other: [t("decisions.not_for_kind", kind=t(f"decisions.kind_{kind}"))]})
    subject = args.get(wanted)
    if not subject and args.get("suggestion_id"):
        parsed = suggestions.parse(args["suggestion_id"])
        subject = parsed.subject if parsed else None
    if not subject:
        raise InvalidInput(t("decisions.subject_required", kind=t(f"decisions.kind_{kind}"), field=wanted),
                           errors={wanted: [t("validation.required")]})
    if len(subject) > MAX_SUBJECT_CHARS:  # only a suggestion id can carry one this long
        raise InvalidInput(t("decisions.bad_suggestion", suggestion_id=args.get("suggestion_id", "")[:80],
                             kind=t(f"decisions.kind_{kind}")),
                           errors={"suggestion_id": [t("decisions.suggestion_mismatch",
                                                       service=advice.SERVICE_OF_KIND[kind])]})
    return subject


def _check_suggestion(kind: str, subject: str, given: str | None) -> suggestions.SuggestionId | None:
    if not given:
        return None
    parsed = suggestions.parse(given)
    if parsed is None or parsed.service != advice.SERVICE_OF_KIND[kind] or parsed.subject != subject:
        raise InvalidInput(t("decisions.bad_suggestion", suggestion_id=given, kind=t(f"decisions.kind_{kind}")),
                           errors={"suggestion_id": [t("decisions.suggestion_mismatch",
                                                       service=advice.SERVICE_OF_KIND[kind])]})
    return parsed


def _effective(when: datetime | date | None, timezone: str) -> tuple[date, pd.Timestamp]:
    """The shop-local day a decision takes effect and the moment it does (the time given, else that
    day's start; a time without an offset is the shop's own clock); a 422 outside the range."""
    today = shop_today(timezone)
    if isinstance(when, datetime):
        stamp = pd.Timestamp(when)
        moment = stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp.tz_convert(timezone)
    else:
        moment = pd.Timestamp(when or today).tz_localize(timezone)
    day = moment.date()
    if not (today - timedelta(days=MAX_DAYS_BACK) <= day <= today + timedelta(days=MAX_DAYS_AHEAD)):
        raise InvalidInput(t("decisions.effective_out_of_range", back=MAX_DAYS_BACK, ahead=MAX_DAYS_AHEAD),
                           errors={"effective_at": [t("decisions.effective_between",
                                                      low=(today - timedelta(days=MAX_DAYS_BACK)).isoformat(),
                                                      high=(today + timedelta(days=MAX_DAYS_AHEAD)).isoformat())]})
    return day, moment


def _dedupe_key(kind: str, status: str, subject: str, args: dict, effective_on: date,
                given: suggestions.SuggestionId | None, idempotency_key: str | None) -> str:
    """What makes two posts the same decision: the caller's Idempotency-Key, else the suggestion
    and the verdict on it, else the whole content (a double click)."""
    if idempotency_key:
        basis = ["key", idempotency_key]
    elif given is not None:
        basis = ["suggestion", str(given), status]
    else:
        basis = ["content", kind, status, subject, args.get("value") or {}, effective_on.isoformat(),
                 args.get("holdout_share"), args.get("outcome_window_days")]
    return hashlib.sha256(json.dumps(basis, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _daily(days: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Units and revenue per local day over [start, end], zero on days without sales."""
    index = pd.date_range(start, end, freq="D")
    summed = days.groupby("date")[["units", "revenue"]].sum() if not days.empty else pd.DataFrame(
        columns=["units", "revenue"], dtype=float)
    return summed.reindex(index, fill_value=0.0).astype(float)


def _window_of(days: pd.DataFrame, span: tuple[date, date], skipped: set[date] | None = None) -> outcomes.Window:
    daily = _daily(days, *span)
    if skipped:
        daily = daily[[d.date() not in skipped for d in daily.index]]
    return outcomes.Window(units=daily["units"].to_numpy(), revenue=daily["revenue"].to_numpy())


def _still_priced(days: pd.DataFrame, before: tuple[date, date], after: tuple[date, date]) -> list[str]:
    """The peers whose mean paid price after is within STILL_PRICE_SHARE of before: the control group."""
    if days.empty:
        return []

    def mean_price(span: tuple[date, date]) -> pd.Series:
        inside = days[(days["date"] >= pd.Timestamp(span[0])) & (days["date"] <= pd.Timestamp(span[1]))]
        summed = inside.groupby("item_id")[["units", "revenue"]].sum()
        return (summed["revenue"] / summed["units"].replace(0, np.nan)).dropna()

    ratio = (mean_price(after) / mean_price(before)).dropna()
    return sorted(ratio.index[(ratio - 1).abs() <= outcomes.STILL_PRICE_SHARE])
