"""The weekly report: one self-contained HTML page a shop owner reads on Monday. Pure.

Every part is computed by the caller and handed in as plain values; this module only lays them
out. Charts are inline SVG (no script, no external file), and every text from the shop's data is
HTML-escaped, so a product title or review holding markup stays inert.
"""

from __future__ import annotations

from html import escape

CSS = ("body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;max-width:860px;margin:24px auto;"
       "color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}"
       "table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:left}"
       ".up{color:#0a7d32}.down{color:#c62828}.muted{color:#888}")


def bar_chart_svg(labels: list[str], values: list[float], width: int = 820, height: int = 180) -> str:
    """A plain bar chart as inline SVG."""
    if not values:
        return '<p class="muted">no data</p>'
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


def _table(headers: list[str], rows: list[list]) -> str:
    if not rows:
        return '<p class="muted">nothing to show</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(shop: str, week: tuple[str, str], kpis: list[dict], daily: list[tuple[str, float]], top_items: list[dict],
           falling_items: list[dict], segments: list[dict] | None, anomalies: list[dict], complaints: list[dict],
           stock_risks: list[dict], price_advice: list[dict] | None = None) -> str:
    """kpis: [{"name","now","before","text_now"}]; items: [{"title","now","before"}]; price_advice:
    [{"title","current_price","price","expected_profit_gain_per_day","reason"}] (None: no pricing
    model yet); the rest as named."""
    segment_part = (_table(["分群", "人数", "销售额占比"],
                           [[escape(s["name"]), f'{s["customers"]:,}', f'{s["revenue_share"]:.1%}'] for s in segments])
                    if segments is not None else
                    '<p class="muted">尚未计算分群：POST /v1/admin/retrain {"models": ["insights"]}</p>')
    price_part = (_table(["商品", "现价", "建议价", "预计日利润增加", "理由"],
                         [[escape(a["title"]), f'¥{a["current_price"]:,.2f}', f'¥{a["price"]:,.2f}',
                           f'¥{a["expected_profit_gain_per_day"]:,.2f}'
                           if a.get("expected_profit_gain_per_day") is not None else "–", escape(a["reason"])]
                          for a in price_advice])
                  if price_advice is not None else
                  '<p class="muted">尚无定价模型：POST /v1/admin/retrain {"models": ["pricing"]}</p>')
    kpi_rows = [[escape(k["name"]), escape(k["text_now"]), escape(k["text_before"]), _change(k["now"], k["before"])]
                for k in kpis]
    parts = [f"<h1>{escape(shop)} · 周报 {escape(week[0])} 至 {escape(week[1])}</h1>",
             "<h2>核心指标（与上周相比）</h2>",
             _table(["指标", "本周", "上周", "变化"], kpi_rows),
             "<h2>每日销售额</h2>", bar_chart_svg([d for d, _v in daily], [v for _d, v in daily]),
             "<h2>热销商品</h2>",
             _table(["商品", "本周销量", "上周销量", "变化"],
                    [[escape(i["title"]), f'{i["now"]:,.0f}', f'{i["before"]:,.0f}', _change(i["now"], i["before"])]
                     for i in top_items]),
             "<h2>下滑最多的商品</h2>",
             _table(["商品", "本周销量", "上周销量", "变化"],
                    [[escape(i["title"]), f'{i["now"]:,.0f}', f'{i["before"]:,.0f}', _change(i["now"], i["before"])]
                     for i in falling_items]),
             "<h2>客户分群 (RFM)</h2>", segment_part,
             "<h2>异常</h2>",
             _table(["日期", "指标", "方向", "实际", "预期"],
                    [[escape(a["date"]), escape(a["metric"]), "↑" if a["direction"] == "up" else "↓",
                      f'{a["value"]:,.2f}', f'{a["expected"]:,.2f}' if a["expected"] is not None else "–"]
                     for a in anomalies]),
             "<h2>差评集中的商品</h2>",
             _table(["商品", "本周差评", "主要问题"],
                    [[escape(c["title"]), f'{c["negative"]:,}', escape(c["aspect"] or "–")] for c in complaints]),
             "<h2>断货风险</h2>",
             _table(["商品", "库存", "近28天日均销量", "约可售天数"],
                    [[escape(r["title"]), f'{r["on_hand"]:,}', f'{r["daily"]:.2f}', f'{r["days_left"]:.0f}']
                     for r in stock_risks]),
             "<h2>价格建议</h2>", price_part,
             '<p class="muted">shopmind · 全部价格建议见 GET /v1/pricing/suggestions</p>']
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{escape(shop)} 周报</title>'
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
