"""What the model advised when a decision is taken, asked of the service that gives the advice.

A decision freezes the advice as it was (model version, the suggested action, the predicted effect
with its interval), so its outcome is later compared with what was predicted then, not with what a
retrained model says now. The advice comes from the other services' public routes, called as the
decider (shared.service_client), never from their code.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from shared.auth import Principal
from shared.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from shared.i18n import t
from shared.service_client import registry

# Who advises each kind of decision.
SERVICE_OF_KIND = {"price_change": "pricing", "restock": "forecasting", "campaign": "insights"}
# Members fetched per call while reserving a campaign's holdout (the route's own maximum).
MEMBERS_PAGE = 10000


def _get(service: str, path: str, caller: Principal, json_body: dict | None = None) -> dict:
    """Another service's answer; its 404/409/422 are passed on with its own words."""
    reply = registry().get(service).call("POST" if json_body is not None else "GET", path, caller, json_body)
    if reply.status == 200:
        return reply.body
    detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
    if reply.status == 404:
        raise NotFound(detail or t("decisions.advice_missing", service=service))
    if reply.status == 422:  # what was decided is outside what the model can speak to (an absurd price)
        errors = reply.body.get("errors") if isinstance(reply.body, dict) else None
        raise InvalidInput(detail or t("problem.status_422"),
                           errors={f"value.{field}": messages for field, messages in (errors or {}).items()})
    if reply.status == 409:
        raise Conflict(t("decisions.no_advice", service=service, reason=detail or reply.status))
    raise ServiceUnavailable(t("decisions.advice_unavailable", service=service,
                               reason=detail or t("gateway.http_status", status=reply.status)))


def price_change(caller: Principal, item_id: str, price: float | None, window_days: int) -> tuple[dict, dict]:
    """(advice, value): pricing's view of the item and its prediction at the decided price (the
    suggested one when none is given)."""
    item = _get("pricing", f"/v1/pricing/items/{quote(item_id, safe='')}", caller)
    suggestion = item.get("suggestion") or {}
    new_price = float(price if price is not None else suggestion.get("price") or item["current_price"])
    simulated = _get("pricing", "/v1/pricing/simulate", caller,
                     {"item_id": item_id, "price": new_price, "days": window_days})
    days = simulated["days"]
    expected, now = simulated["expected"], simulated["at_current_price"]
    elasticity = item["elasticity"]
    old_price = float(item["current_price"])
    predicted = {"old_price": old_price, "new_price": new_price, "elasticity": elasticity["value"],
                 "ci_low": elasticity["ci_low"], "ci_high": elasticity["ci_high"],
                 "elasticity_method": elasticity.get("method"),
                 "units_per_day": round(expected["units"] / days, 3),
                 "units_per_day_now": round(now["units"] / days, 3),
                 "units_ratio": round((new_price / old_price) ** elasticity["value"], 4) if old_price else None,
                 "units_per_day_interval": [round(simulated["low"]["units"] / days, 3),
                                            round(simulated["high"]["units"] / days, 3)],
                 "profit_change_pct": _change_pct(expected.get("profit"), now.get("profit")),
                 "profit_change_pct_interval": sorted(
                     p for p in (_change_pct(simulated["low"].get("profit"), now.get("profit")),
                                 _change_pct(simulated["high"].get("profit"), now.get("profit"))) if p is not None)}
    advice = {"service": "pricing", "model_version": item["model_version"], "as_of": item.get("as_of"),
              "suggestion_id": suggestion.get("suggestion_id"), "cost": item.get("cost"),
              # Numbers and codes only: the advice's sentences are written in one language, and the
              # decision is read later in any.
              "suggested": {k: suggestion.get(k) for k in ("price", "action", "confidence",
                                                             "expected_profit_change_pct")},
              "predicted": predicted}
    return advice, {"price": round(new_price, 2), "old_price": old_price}


def restock(caller: Principal, item_id: str, quantity: int | None, lead_time_days: int | None,
            effective_on: date, window_days: int) -> tuple[dict, dict]:
    """(advice, value): forecasting's replenishment plan of the item and its forecast over the window."""
    plans = _get("forecasting", f"/v1/replenishment?item_id={quote(item_id, safe='')}&limit=1", caller)
    if not plans.get("items"):
        raise NotFound(t("decisions.no_plan", item_id=item_id))
    plan = plans["items"][0]
    as_of = date.fromisoformat(plans["as_of"])
    skip = max(0, (effective_on - as_of).days - 1)  # forecasts start the day after as_of
    horizon = min(90, skip + window_days)
    forecast = _get("forecasting", f"/v1/forecasts/items/{quote(item_id, safe='')}?horizon={horizon}", caller)
    points = forecast["points"][skip:skip + window_days]
    predicted = {"stockout_date": plan.get("stockout_date"), "risk": plan.get("risk"),
                 "days_of_cover": plan.get("days_of_cover"), "on_hand": plan.get("on_hand"),
                 "on_order": plan.get("on_order"), "reorder_qty": plan.get("reorder_qty"),
                 "window_days": len(points),
                 **{f"units_{q}": round(sum(p[q] for p in points), 2) if points else None
                    for q in ("p10", "p50", "p90")}}
    lead = int(lead_time_days if lead_time_days is not None else plan.get("lead_time_days") or 7)
    chosen = int(quantity if quantity is not None else plan.get("reorder_qty") or 0)
    advice = {"service": "forecasting", "model_version": plans["model_version"], "as_of": plans["as_of"],
              "suggestion_id": plan.get("suggestion_id"),
              "suggested": {"quantity": plan.get("reorder_qty"), "lead_time_days": plan.get("lead_time_days")},
              "predicted": predicted}
    value = {"quantity": chosen, "lead_time_days": lead,
             "expected_arrival": (effective_on + timedelta(days=lead)).isoformat()}
    return advice, value


def campaign(caller: Principal, segment: str, max_members: int, with_members: bool = True
             ) -> tuple[dict, list[str]]:
    """(advice, member ids): the segment as insights sees it now, and every member's id (none
    unless ``with_members``)."""
    overview = _get("insights", "/v1/segments", caller)
    profile = next((row for row in overview.get("rfm", []) if row.get("name") == segment), None) or next(
        (row for row in (overview.get("clusters") or {}).get("groups", []) if row.get("name") == segment), None)
    if profile is None:  # insights' own 404 names the segments there are
        _get("insights", f"/v1/segments/{quote(segment, safe='')}/customers?limit=1", caller)
    members: list[str] = []
    offset = 0
    while with_members:
        page = _get("insights", f"/v1/segments/{quote(segment, safe='')}/customers?limit={MEMBERS_PAGE}"
                                f"&offset={offset}", caller)
        if page["total"] > max_members:
            raise Conflict(t("decisions.segment_too_large", segment=segment, size=page["total"], limit=max_members))
        members += [row["user_id"] for row in page["items"]]
        offset += MEMBERS_PAGE
        if offset >= page["total"] or not page["items"]:
            break
    advice = {"service": "insights", "model_version": overview["model_version"], "as_of": overview.get("as_of"),
              "suggested": {"segment": segment, "customers": (profile or {}).get("customers"),
                            "revenue_share": (profile or {}).get("revenue_share")},
              "predicted": {"segment_size": len(members) if with_members else (profile or {}).get("customers")}}
    return advice, members


def _change_pct(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return round(100 * (value / base - 1), 2)

