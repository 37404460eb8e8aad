"""The weekly report: one self-contained HTML page a shop owner reads on Monday. Pure.

Every part is computed by the caller and handed in as plain values; this module only lays them
out, in the reader's language (headings and labels from the message catalogue). Charts are inline
SVG (no script, no external file), and every text from the shop's data is HTML-escaped, so a
product title or review holding markup stays inert.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from shared import i18n
from shared.i18n import Message, current_language, t

CSS = ("body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;max-width:860px;margin:24px auto;"
       "color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}"
       "table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:left}"
       ".up{color:#0a7d32}.down{color:#c62828}.muted{color:#888}")


@dataclass(frozen=True)
class Unavailable:
    """A section the report could not fill, and why (no model trained yet, a service down)."""

    reason: str | Message


def bar_chart_svg(labels: list[str], values: list[float], width: int = 820, height: int = 180) -> str:
    """A plain bar chart as inline SVG."""
    if not values:
        return f'<p class="muted">{escape(str(t("report.no_data")))}</p>'
    top = max(max(values), 1e-9)
    step = width / len(values)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (height - 30) * value / top
        x = i * step + step * 0.15
        bars.append(f'<rect x="{x:.1f}" y="{height - 20 - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                    f'fill="#4e79a7"><title>{escape(label)}: {value:,.2f}</title></rect>'
                    f'<text x="{x + step * 0.35:.1f}" y="{height - 5}" font-size="10" text-anchor="middle">'
                    f'{escape(label[-5:])}</text>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{"".join(bars)}</svg>'


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None or before == 0:
        return '<span class="muted">–</span>'
    change = now / before - 1
    return f'<span class="{"up" if change >= 0 else "down"}">{change:+.1%}</span>'


def _table(headers: list[Message], rows: list[list]) -> str:
    if not rows:
        return f'<p class="muted">{escape(str(t("report.nothing_to_show")))}</p>'
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(headers: list[Message], rows: list[dict] | Unavailable, cells) -> str:
    """A table of ``rows`` (``cells`` makes a row's cells), or why the section is empty."""
    if isinstance(rows, Unavailable):
        return f'<p class="muted">{escape(str(rows.reason))}</p>'
    return _table(headers, [cells(row) for row in rows])


def render(shop: str, week: tuple[str, str], kpis: list[dict], daily: list[tuple[str, float]], top_items: list[dict],
           falling_items: list[dict], segments: list[dict] | Unavailable, anomalies: list[dict],
           complaints: list[dict], stock_risks: list[dict] | Unavailable,
           price_advice: list[dict] | Unavailable) -> str:
    """kpis: [{"name","now","before","text_now"}]; items: [{"title","now","before"}]; stock_risks:
    [{"title","on_hand","daily","days_left","reorder_qty"}]; price_advice:
    [{"title","current_price","price","expected_profit_gain_per_day","reason"}]; the rest as named.
    A section given as :class:`Unavailable` shows its reason instead."""
    segment_part = _section([t("report.col_segment"), t("report.col_customers"), t("report.col_revenue_share")],
                            segments, lambda s: [escape(str(s.get("title", s["name"]))), f'{s["customers"]:,}',
                                                 f'{s["revenue_share"]:.1%}'])
    price_part = _section([t("report.col_item"), t("report.col_price_now"), t("report.col_price_advised"),
                           t("report.col_profit_gain"), t("report.col_reason")],
                          price_advice,
                          lambda a: [escape(a["title"]), f'¥{a["current_price"]:,.2f}', f'¥{a["price"]:,.2f}',
                                     f'¥{a["expected_profit_gain_per_day"]:,.2f}'
                                     if a.get("expected_profit_gain_per_day") is not None else "–",
                                     escape(str(a["reason"]))])
    stock_part = _section([t("report.col_item"), t("report.col_on_hand"), t("report.col_daily_units"),
                           t("report.col_days_left"), t("report.col_reorder_qty")],
                          stock_risks,
                          lambda r: [escape(r["title"]), f'{r["on_hand"]:,}', f'{r["daily"]:.2f}',
                                     f'{r["days_left"]:.0f}' if r["days_left"] is not None else "–",
                                     f'{r["reorder_qty"]:,}'])
    kpi_rows = [[escape(str(k["name"])), escape(str(k["text_now"])), escape(str(k["text_before"])),
                 _change(k["now"], k["before"])] for k in kpis]
    units_headers = [t("report.col_item"), t("report.col_units_week"), t("report.col_units_last_week"),
                     t("report.col_change")]
    parts = [f"<h1>{escape(str(t('report.heading', shop=shop, start=week[0], end=week[1])))}</h1>",
             _h2("report.kpis"),
             _table([t("report.col_metric"), t("report.col_this_week"), t("report.col_last_week"),
                     t("report.col_change")], kpi_rows),
             _h2("report.daily_revenue"), bar_chart_svg([d for d, _v in daily], [v for _d, v in daily]),
             _h2("report.top_items"),
             _table(units_headers,
                    [[escape(i["title"]), f'{i["now"]:,.0f}', f'{i["before"]:,.0f}', _change(i["now"], i["before"])]
                     for i in top_items]),
             _h2("report.falling_items"),
             _table(units_headers,
                    [[escape(i["title"]), f'{i["now"]:,.0f}', f'{i["before"]:,.0f}', _change(i["now"], i["before"])]
                     for i in falling_items]),
             _h2("report.segments"), segment_part,
             _h2("report.anomalies"),
             _table([t("report.col_date"), t("report.col_metric"), t("report.col_direction"), t("report.col_actual"),
                     t("report.col_expected")],
                    [[escape(a["date"]), escape(str(a["metric"])), "↑" if a["direction"] == "up" else "↓",
                      f'{a["value"]:,.2f}', f'{a["expected"]:,.2f}' if a["expected"] is not None else "–"]
                     for a in anomalies]),
             _h2("report.complaints"),
             _table([t("report.col_item"), t("report.col_negative_week"), t("report.col_main_issue")],
                    [[escape(c["title"]), f'{c["negative"]:,}', escape(str(i18n.label("aspect", c["aspect"] or "–")))]
                     for c in complaints]),
             _h2("report.stock_risks"), stock_part,
             _h2("report.price_advice"), price_part,
             f'<p class="muted">{escape(str(t("report.footer")))}</p>']
    title = escape(str(t("report.title", shop=shop)))
    return (f'<!doctype html><html lang="{current_language()}"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")


def _h2(key: str) -> str:
    return f"<h2>{escape(str(t(key)))}</h2>"
