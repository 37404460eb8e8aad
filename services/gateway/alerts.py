"""The alerts centre: every alert kind the services raise, as one list an operator works through
(open → acknowledged → resolved). Pure: the parts come from the services' own routes
(aggregate.py asks them), the states from ``alert_states`` (data.py).

An alert's id hashes its kind, its subject and what makes it a new alert (the stock-out date, the
spike's window, the rival's price...), so acknowledging today's spike does not silence next
month's, and the id stays the same however often the list is read.
"""

from __future__ import annotations

import hashlib

from shared.i18n import label, t

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
BAD_OUTCOMES = {"worse_than_predicted", "negative"}
ID_LENGTH = 24


def alert_id(kind: str, subject: str, state: str) -> str:
    return hashlib.sha256(f"{kind}\x1f{subject}\x1f{state}".encode()).hexdigest()[:ID_LENGTH]


def is_alert_id(text: str) -> bool:
    return len(text) == ID_LENGTH and all(ch in "0123456789abcdef" for ch in text)


def _alert(kind: str, subject: str, state: str, severity: str, title, link: str, since: str | None,
           data: dict) -> dict:
    return {"id": alert_id(kind, subject, state), "kind": kind, "subject": subject, "severity": severity,
            "title": title, "link": link, "since": since, "data": data}


def _item(item_id: str, title: str | None):
    """An item as people know it: its catalogue title and id, or the id alone."""
    return t("alerts.item_named", title=title, item_id=item_id) if title else item_id


def gather(parts: dict, failed_jobs: list[dict]) -> tuple[list[dict], list[dict]]:
    """(alerts, unavailable): each part turned into alerts; a part that failed is named instead."""
    found, unavailable = [], []
    for source, convert in (("stockout_risk", _stockouts), ("negative_reviews", _review_spikes),
                            ("anomalies", _anomalies), ("competitor_undercuts", _undercuts),
                            ("decisions", _outcomes)):
        part = parts.get(source)
        if not isinstance(part, dict) or "error" in part:
            unavailable.append({"source": source, "detail": (part or {}).get("error", {}).get("detail")
                                if isinstance(part, dict) else None})
            continue
        found += convert(part)
    found += [_alert("job_failed", job["id"], job["id"], "medium",
                     t("alerts.job_failed", kind=job["kind"], reason=job.get("reason") or "—"), "/admin",
                     job.get("finished_at"), job) for job in failed_jobs]
    found.sort(key=lambda a: (SEVERITY_ORDER[a["severity"]], a["kind"], a["subject"]))
    return found, unavailable


def with_states(alerts: list[dict], states: dict[str, dict]) -> list[dict]:
    """Each alert with its state (``open`` without one)."""
    return [{**alert, "status": states.get(alert["id"], {}).get("status", "open"),
             "status_by": states.get(alert["id"], {}).get("changed_by"),
             "status_at": states.get(alert["id"], {}).get("changed_at")} for alert in alerts]


def _stockouts(part: dict) -> list[dict]:
    return [_alert("stockout_risk", p["item_id"], str(p.get("stockout_date")), "high",
                   t("alerts.stockout", item=_item(p["item_id"], p.get("title")),
                     date=p.get("stockout_date") or "—", on_hand=p.get("on_hand")),
                   f"/forecasts?item={p['item_id']}", part.get("as_of"), p)
            for p in part.get("items", [])]


def _review_spikes(part: dict) -> list[dict]:
    found = []
    for a in part.get("alerts", []):
        aspect = label("aspect", a["aspect"]) if a.get("aspect") else "—"
        found.append(_alert("negative_review_spike", a["item_id"], a["window"]["from"], "high",
                            t("alerts.review_spike", item=_item(a["item_id"], a.get("title")),
                              share=f"{a['recent']['negative_share']:.0%}",
                              expected=f"{a['baseline']['expected_negative_share']:.0%}", aspect=aspect),
                            f"/reviews?item={a['item_id']}", a["window"]["to"], a))
    return found


def _anomalies(part: dict) -> list[dict]:
    metric = part.get("metric", "revenue")
    return [_alert("kpi_anomaly", f"{metric}@{a['date']}", a["date"], "medium",
                   t("alerts.anomaly", date=a["date"], metric=t(f"alerts.metric_{metric}"),
                     direction=t(f"alerts.direction_{a.get('direction', 'up')}"), value=a.get("value"),
                     expected=a.get("expected")),
                   f"/ask?q={a['date']}", a["date"], a)
            for a in part.get("anomalies", [])]


def _undercuts(part: dict) -> list[dict]:
    return [_alert("competitor_undercut", u["item_id"], f"{u['competitor']}@{u['competitor_price']}", "medium",
                   t("alerts.undercut", item=_item(u["item_id"], u.get("title")), competitor=u["competitor"],
                     price=u["competitor_price"], ours=u.get("our_price")),
                   f"/pricing?item={u['item_id']}", u.get("observed_at"), u)
            for u in part.get("undercuts", [])]


def _outcomes(part: dict) -> list[dict]:
    found = []
    for decision in part.get("items", []):
        outcome = decision.get("outcome") or {}
        if outcome.get("verdict") in BAD_OUTCOMES or outcome.get("stock") == "stockout_not_avoided":
            subject = _item(decision["item_id"], decision.get("item_title")) if decision.get("item_id") \
                else decision.get("segment") or ""
            found.append(_alert("decision_outcome", str(decision["id"]), outcome.get("measured_at", ""), "low",
                                t("alerts.outcome", id=decision["id"], subject=subject,
                                  kind=t(f"alerts.kind_{decision['kind']}")),
                                f"/decisions#{decision['id']}", (outcome.get("window") or [None, None])[1],
                                {"decision_id": decision["id"], "verdict": outcome.get("verdict"),
                                 "stock": outcome.get("stock")}))
    return found
