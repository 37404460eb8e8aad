"""The paraphrase set's scorer (tests/support/paraphrases.py): the reader's format mapped onto the
set's, and every field that makes a reading wrong."""

from tests.support import paraphrases as pp

ANSWER = {"interpretation": {"metric": "revenue", "dimension": None, "time_range": ["2026-06-18", "2026-06-18"],
                             "shape": "total", "top_n": None, "sort": "desc", "filters": {"province": "浙江省"},
                             "comparison": None, "compare_range": None}}
EXPECT = {"metric": "revenue", "from": "2026-06-18", "to": "2026-06-18", "shape": "total",
          "filters": {"province": ["浙江省"]}, "day_reading": "day"}


def test_a_matching_reading_is_right_and_each_wrong_field_is_named():
    got = pp.reading(ANSWER)
    assert got["filters"] == {"province": ["浙江省"]} and pp.problem(EXPECT, got) is None
    assert pp.problem({**EXPECT, "to": "2026-06-19"}, got).startswith("to:")
    assert pp.problem({**EXPECT, "metric": "units"}, got).startswith("metric:")
    assert pp.problem({**EXPECT, "filters": {}}, got).startswith("filters:")
    assert pp.problem({**EXPECT, "shape": "ranking", "dimension": "item", "top_n": 10}, got).startswith("shape:")


def test_rankings_check_their_length_and_order_and_comparisons_their_other_range():
    ranking = {"interpretation": {**ANSWER["interpretation"], "shape": "ranking", "dimension": "item", "top_n": 5,
                                  "sort": "asc", "filters": {}}}
    expect = {"metric": "revenue", "from": "2026-06-18", "to": "2026-06-18", "shape": "ranking", "dimension": "item",
              "top_n": 5, "sort": "asc"}
    assert pp.problem(expect, pp.reading(ranking)) is None
    assert pp.problem({**expect, "top_n": 10}, pp.reading(ranking)).startswith("top_n:")
    assert pp.problem({**expect, "sort": "desc"}, pp.reading(ranking)).startswith("sort:")
    compared = {"interpretation": {**ANSWER["interpretation"], "shape": "comparison", "filters": {},
                                   "compare_range": ["2026-06-17", "2026-06-17"]}}
    expect = {"metric": "revenue", "from": "2026-06-18", "to": "2026-06-18", "shape": "comparison",
              "compare_from": "2026-06-17", "compare_to": "2026-06-17"}
    assert pp.problem(expect, pp.reading(compared)) is None
    assert pp.problem({**expect, "compare_from": "2025-06-18"}, pp.reading(compared)).startswith("compare_from:")


def test_the_score_counts_misses_by_kind_and_hides_held_out_questions():
    cases = [{"id": "h1", "kind": "festival_day", "question": "秘密", "expect": EXPECT},
             {"id": "h2", "kind": "status", "question": "秘密2", "expect": {**EXPECT, "metric": "orders"}}]
    report = pp.score(cases, lambda question: (200, ANSWER), show_questions=False)
    assert report["share_right"] == 0.5 and report["misses_by_kind"] == {"status": 1} and "misses" not in report
    assert "秘密" not in str(report)
    shown = pp.score(cases, lambda question: (422, {}), show_questions=True)
    assert shown["right"] == 0 and len(shown["misses"]) == 2 and "HTTP 422" in shown["misses"][0]


def test_both_parts_parse_and_cover_every_kind_alike():
    dev, held_out = pp.load("dev"), pp.load("heldout")
    assert len(dev) >= 150 and len(held_out) >= 150
    assert {c["kind"] for c in dev} == {c["kind"] for c in held_out}
    assert not {c["question"] for c in dev} & {c["question"] for c in held_out}
    assert all(c["expect"]["from"] <= c["expect"]["to"] <= pp.AS_OF for c in dev + held_out)
