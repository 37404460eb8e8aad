"""The question reader's tables: every row reads its own examples to its own value, and no two rows
of a table read the same words with the same priority (an ambiguity only the rows' order would
settle). Adding a phrase is adding a row with examples, plus its expected range below."""

import re
from datetime import date

import pytest

from services.insights import vocabulary
from services.insights.phrases import Row, ambiguities, pick, scan
from services.insights.time_phrases import PERIODS, YEARS, time_range

AS_OF = date(2026, 11, 20)  # a Friday

TABLES = {"METRICS": vocabulary.METRICS, "DIMENSIONS": vocabulary.DIMENSIONS, "ROUTES": vocabulary.ROUTES,
          "RANKING": vocabulary.RANKING, "TREND": vocabulary.TREND, "RANKS_ITEMS": vocabulary.RANKS_ITEMS,
          "COMPARISONS": vocabulary.COMPARISONS, "SHARES": vocabulary.SHARES, "SORTS": vocabulary.SORTS,
          "TOP_N": vocabulary.TOP_N, "CHANNELS": vocabulary.CHANNELS, "YEARS": YEARS, "PERIODS": PERIODS}

# What each example of PERIODS reads on AS_OF.
PERIOD_EXAMPLES = {
    "2026-11-01": (date(2026, 11, 1),) * 2, "2026/11/1": (date(2026, 11, 1),) * 2,
    "2026年11月1日": (date(2026, 11, 1),) * 2, "2026.11.01": (date(2026, 11, 1),) * 2,
    "11月1日": (date(2026, 11, 1),) * 2, "11月15号": (date(2026, 11, 15),) * 2,
    "双11当天": (date(2026, 11, 11),) * 2, "双十一当天": (date(2026, 11, 11),) * 2,
    **dict.fromkeys(("双11", "双十一", "double 11", "11.11", "singles day"), (date(2026, 10, 24), date(2026, 11, 11))),
    **dict.fromkeys(("618", "六一八"), (date(2026, 6, 1), date(2026, 6, 18))),
    **dict.fromkeys(("双12", "双十二", "double 12", "12.12"), (date(2025, 12, 8), date(2025, 12, 12))),
    **dict.fromkeys(("本季度", "这个季度", "这一季度", "this quarter"), (date(2026, 10, 1), AS_OF)),
    **dict.fromkeys(("上季度", "上个季度", "上一季度", "last quarter"), (date(2026, 7, 1), date(2026, 9, 30))),
    **dict.fromkeys(("第三季度", "三季度", "q3"), (date(2026, 7, 1), date(2026, 9, 30))),
    "第1季度": (date(2026, 1, 1), date(2026, 3, 31)),
    "上半年": (date(2026, 1, 1), date(2026, 6, 30)), "下半年": (date(2026, 7, 1), AS_OF),
    "最近7天": (date(2026, 11, 14), AS_OF), "近三十天": (date(2026, 10, 22), AS_OF),
    "过去2周": (date(2026, 11, 7), AS_OF), "最近3个月": (date(2026, 8, 21), AS_OF),
    "last 14 days": (date(2026, 11, 7), AS_OF), "past 2 weeks": (date(2026, 11, 7), AS_OF),
    "last 3 months": (date(2026, 8, 21), AS_OF),
    **dict.fromkeys(("10月", "十月"), (date(2026, 10, 1), date(2026, 10, 31))),
    "3月": (date(2026, 3, 1), date(2026, 3, 31)),
    **dict.fromkeys(("今天", "今日", "today"), (AS_OF, AS_OF)),
    **dict.fromkeys(("昨天", "昨日", "yesterday"), (date(2026, 11, 19),) * 2),
    **dict.fromkeys(("本周末", "这周末", "this weekend"), (date(2026, 11, 21), date(2026, 11, 22))),
    **dict.fromkeys(("本周", "这周", "这一周", "this week"), (date(2026, 11, 16), AS_OF)),
    **dict.fromkeys(("上周", "上一周", "上星期", "last week"), (date(2026, 11, 9), date(2026, 11, 15))),
    **dict.fromkeys(("本月", "这个月", "当月", "this month"), (date(2026, 11, 1), AS_OF)),
    **dict.fromkeys(("上月", "上个月", "last month"), (date(2026, 10, 1), date(2026, 10, 31))),
}
YEAR_EXAMPLES = {"2025年": 2025, "2026": 2026, "去年": 2025, "last year": 2025, "今年": 2026, "本年": 2026,
                 "this year": 2026}


@pytest.mark.parametrize("name", TABLES)
def test_no_two_rows_of_a_table_read_the_same_words_with_the_same_priority(name):
    assert ambiguities(TABLES[name]) == []


def test_an_ambiguous_row_is_reported():
    same = Row("sales again", re.compile(r"sales|income"), "revenue", 1, ("sales",))
    assert ("sales", "sales again", "revenue") in ambiguities((*vocabulary.METRICS, same))


@pytest.mark.parametrize("name", TABLES)
def test_every_example_is_read_by_its_own_row(name):
    for row in TABLES[name]:
        assert row.examples, f"{row.name} has no examples"
        for example in row.examples:
            read = pick(scan(example, TABLES[name]))
            assert read is not None and read.row is row, f"{example!r}: {read and read.row.name} is not {row.name}"


def test_every_period_example_reads_its_range():
    examples = {example for row in PERIODS for example in row.examples}
    assert examples == set(PERIOD_EXAMPLES), "give each new example its expected range here"
    for example, span in PERIOD_EXAMPLES.items():
        assert time_range(example, AS_OF)[0] == span, example


def test_every_year_example_reads_its_year():
    assert {example for row in YEARS for example in row.examples} == set(YEAR_EXAMPLES)
    for example, year in YEAR_EXAMPLES.items():
        assert time_range(example, AS_OF)[0] == (date(year, 1, 1), min(date(year, 12, 31), AS_OF)), example


@pytest.mark.parametrize(("question", "span", "phrase"), [
    ("本周末和上周末", (date(2026, 11, 21), date(2026, 11, 22)), "本周末"),  # the longer phrase, not 本周
    ("上一季度", (date(2026, 7, 1), date(2026, 9, 30)), "2026 Q3"),  # not 一季度
    ("本月和上月", (date(2026, 11, 1), AS_OF), "本月"),  # 本月 outranks 上月 wherever they stand
    ("上月和本月", (date(2026, 11, 1), AS_OF), "本月"),
    ("双11和上季度", (date(2026, 10, 24), date(2026, 11, 11)), "2026 double11"),  # a campaign outranks a quarter
    ("2025年双11当天", (date(2025, 11, 11),) * 2, "2025 double11 day"),  # the year named, not the latest
])
def test_overlaps_go_to_the_longest_and_rivals_to_the_higher_priority(question, span, phrase):
    assert time_range(question, AS_OF) == (span, phrase)


@pytest.mark.parametrize("today", [date(2026, 12, 5), date(2026, 3, 31), date(2026, 3, 2), date(2024, 2, 29),
                                   date(2026, 1, 1)])
def test_the_dashboard_periods_are_the_days_the_same_words_name_in_a_question(today):
    from shared.calendar import KPI_PERIODS, kpi_period

    words = {"yesterday": "昨天", "this_week": "本周", "this_month": "本月", "last_30_days": "最近30天"}
    for period in KPI_PERIODS:
        span, before = kpi_period(period, today)
        assert time_range(f"{words[period]}的销售额", today)[0] == span, period
        assert before[1] < span[0] and before[0] <= before[1], period
    (month_start, _), (previous_start, previous_end) = kpi_period("this_month", today)
    assert previous_start.day == 1 and previous_end.day <= today.day
