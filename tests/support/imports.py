"""Helpers to write export files in various shapes and import them through the gateway."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

TMALL_ORDERS_HEADER = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额",
                       "买家实际支付金额", "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系电话",
                       "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司",
                       "订单备注", "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "是否手机订单"]


def tmall_order_row(order_id: str, nick: str, paid: str, status: str = "交易成功",
                    created: str = "2024-11-11 00:01:02", close_reason: str = "") -> list[str]:
    row = dict.fromkeys(TMALL_ORDERS_HEADER, "")
    row.update({"订单编号": order_id, "买家会员名": nick, "买家支付宝账号": "138****0000", "总金额": paid,
                "买家实际支付金额": paid, "买家应付邮费": "0.00", "订单状态": status, "收货人姓名": "张三",
                "收货地址": "浙江省 杭州市 西湖区 文三路8号", "联系手机": "13800000000", "订单创建时间": created,
                "订单付款时间": created, "订单关闭原因": close_reason, "是否手机订单": "手机订单",
                "买家留言": "请尽快发货 电话13800000000"})
    return [row[h] for h in TMALL_ORDERS_HEADER]


def csv_bytes(header: list[str] | None, rows: list[list[str]], encoding: str = "utf-8",
              line_end: str = "\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def write(path: Path, data: bytes, gzipped: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def products_csv(path: Path, rows: int, title: str) -> Path:
    """A plain products file of ``rows`` items (ids 0.., titles ``title`` + id): big ones for
    jobs that must be caught midway."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("item_id,title,category,price\n")
        for i in range(rows):
            handle.write(f"{i},{title}{i},女装,{i % 500 + 1}.50\n")
    return path


def import_file(client, headers, path: Path, entity: str, preset: str = "auto", mode: str = "lenient",
                wait: float = 60, **extra):
    """POST /v1/imports and wait; returns (status_code, body)."""
    query = "&".join(f"{k}={v}" for k, v in {"entity": entity, "preset": preset, "mode": mode, "wait": wait,
                                              **{k: v for k, v in extra.items() if k != "mapping"}}.items())
    form = {"file": (open(path, "rb"), path.name)}
    if "mapping" in extra:
        form["mapping"] = extra["mapping"]
    reply = client.post(f"/v1/imports?{query}", data=form, headers=headers, content_type="multipart/form-data")
    return reply.status_code, reply.get_json()


def wait_for_job(client, headers, job: dict, rounds: int = 3) -> dict:
    """Poll ``GET /v1/jobs/{id}?wait=120`` until the job finishes (or ``rounds`` polls pass)."""
    for _ in range(rounds):
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        job = client.get(f"/v1/jobs/{job['id']}?wait=120", headers=headers).get_json()
    return job


def retrain(client, headers, model: str, wait: int = 120) -> dict:
    """``POST /v1/admin/retrain`` for one model and the job once it has finished."""
    reply = client.post(f"/v1/admin/retrain?wait={wait}", json={"models": [model]}, headers=headers)
    return wait_for_job(client, headers, reply.get_json()["jobs"][0])
