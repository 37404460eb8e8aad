"""The load test's traffic (Locust), run by tests/bench/test_load.py against the gateway.

A shop's day as the API sees it: front ends asking for a buyer's recommendations (70%) and sending
their behaviour (15%) with the shop's client key; staff looking at an item's forecast (5%), its
review sentiment (5%) and asking a question (5%) with an analyst key. Every answer but a 2xx is a
failure, reported per route.

Reads LOAD_CLIENT_KEY, LOAD_ANALYST_KEY and LOAD_IDS (a JSON file: {"users": [...], "items": [...]}).
"""

import json
import os
import random

from locust import FastHttpUser, between, task

IDS = json.loads(open(os.environ["LOAD_IDS"], encoding="utf-8").read())
CLIENT = {"Authorization": f"Bearer {os.environ['LOAD_CLIENT_KEY']}"}
ANALYST = {"Authorization": f"Bearer {os.environ['LOAD_ANALYST_KEY']}"}
QUESTIONS = ["本月热销商品排名", "上周销售额是多少", "最近30天每天的订单数", "本月各品类销售额", "昨天的客单价",
             "上个月退款率", "最近7天的转化率", "今年每月销售额趋势"]


class ShopTraffic(FastHttpUser):
    wait_time = between(0.05, 0.2)

    def _call(self, method: str, path: str, name: str, headers: dict, body: dict | None = None, ok: int = 200):
        with self.client.request(method, path, name=name, headers=headers, json=body, catch_response=True) as reply:
            if reply.status_code != ok:
                reply.failure(f"HTTP {reply.status_code}")

    @task(70)
    def recommendations(self):
        user = random.choice(IDS["users"])
        self._call("GET", f"/v1/recommendations/users/{user}?n=10", "GET /v1/recommendations/users/{id}", CLIENT)

    @task(15)
    def events(self):
        event = {"user_id": random.choice(IDS["users"]), "item_id": random.choice(IDS["items"]),
                 "type": random.choice(["pv", "pv", "pv", "fav", "cart"])}
        self._call("POST", "/v1/events", "POST /v1/events", CLIENT, {"events": [event]}, ok=202)

    @task(5)
    def forecast(self):
        item = random.choice(IDS["items"])
        self._call("GET", f"/v1/forecasts/items/{item}?horizon=14", "GET /v1/forecasts/items/{id}", ANALYST)

    @task(5)
    def sentiment(self):
        item = random.choice(IDS["items"])
        self._call("GET", f"/v1/sentiment/items/{item}", "GET /v1/sentiment/items/{id}", ANALYST)

    @task(5)
    def ask(self):
        self._call("POST", "/v1/ask", "POST /v1/ask", ANALYST, {"question": random.choice(QUESTIONS)})
