"""The question reader's tables: every row reads its own examples to its own value, and no two rows
of a table read the same words with the same priority (an ambiguity only the rows' order would
settle). Adding a phrase is adding a row with examples, plus its expected range below."""

import re
from datetime import date

import pytest

from services.insights import vocabulary
from services.insights.phrases import Row, ambiguities, pick, scan
from services.insights.time_phrases import FESTIVAL_WORDS, PERIODS, YEARS, time_range

AS_OF = date(2026, 11, 20)  # a Friday

TABLES = {
    "METRICS": vocabulary.METRICS,
    "DIMENSIONS": vocabulary.DIMENSIONS,
    "ROUTES": vocabulary.ROUTES,
    "RANKING": vocabulary.RANKING,
    "TREND": vocabulary.TREND,
    "RANKS_ITEMS": vocabulary.RANKS_ITEMS,
    "COMPARISONS": vocabulary.COMPARISONS,
    "SHARES": vocabulary.SHARES,
    "SORTS": vocabulary.SORTS,
    "TOP_N": vocabulary.TOP_N,
    "CHANNELS": vocabulary.CHANNELS,
    "YEARS": YEARS,
    "PERIODS": PERIODS,
}

# What each example of PERIODS reads on AS_OF (festivals: FESTIVAL_EXAMPLES below).
PERIOD_EXAMPLES = {
    **dict.fromkeys(("2026-11-01", "2026/11/1", "2026年11月1日", "2026.11.01"), (date(2026, 11, 1),) * 2),
    **dict.fromkeys(("11月1日", "11.1"), (date(2026, 11, 1),) * 2),
    "11月15号": (date(2026, 11, 15),) * 2,
    "15号": (date(2026, 11, 15),) * 2,
    "10月下旬": (date(2026, 10, 21), date(2026, 10, 31)),
    "11月头10天": (date(2026, 11, 1), date(2026, 11, 10)),
    "本月前5天": (date(2026, 11, 1), date(2026, 11, 5)),
    "本月上旬": (date(2026, 11, 1), date(2026, 11, 10)),
    "上个月月底": (date(2026, 10, 27), date(2026, 10, 31)),
    "上周五": (date(2026, 11, 13),) * 2,
    "本周一": (date(2026, 11, 16),) * 2,
    "上个星期天": (date(2026, 11, 15),) * 2,
    "1到10月": (date(2026, 1, 1), date(2026, 10, 31)),
    "3-5月": (date(2026, 3, 1), date(2026, 5, 31)),
    "7天内": (date(2026, 11, 14), AS_OF),
    "1 nov": (date(2026, 11, 1),) * 2,
    "nov 1st": (date(2026, 11, 1),) * 2,
    "november 11": (date(2026, 11, 11),) * 2,
    "三个月以内": (date(2026, 8, 23), AS_OF),
    **dict.fromkeys(("本季度", "这个季度", "这一季度", "this quarter"), (date(2026, 10, 1), AS_OF)),
    **dict.fromkeys(("上季度", "上个季度", "上一季度", "last quarter"), (date(2026, 7, 1), date(2026, 9, 30))),
    "前三个季度": (date(2026, 1, 1), date(2026, 9, 30)),
    "前2个季度": (date(2026, 4, 1), date(2026, 9, 30)),
    **dict.fromkeys(("第三季度", "三季度", "q3"), (date(2026, 7, 1), date(2026, 9, 30))),
    "第1季度": (date(2026, 1, 1), date(2026, 3, 31)),
    **dict.fromkeys(("上半年", "h1", "first half"), (date(2026, 1, 1), date(2026, 6, 30))),
    **dict.fromkeys(("下半年", "h2", "second half"), (date(2026, 7, 1), AS_OF)),
    "前两个月": (date(2026, 9, 1), date(2026, 10, 31)),
    "前3个月": (date(2026, 8, 1), date(2026, 10, 31)),
    "前两周": (date(2026, 11, 2), date(2026, 11, 15)),
    "前3个星期": (date(2026, 10, 26), date(2026, 11, 15)),
    **dict.fromkeys(("最近7天", "最近一周"), (date(2026, 11, 14), AS_OF)),
    **dict.fromkeys(("近三十天", "近一个月"), (date(2026, 10, 22), AS_OF)),
    **dict.fromkeys(("过去2周", "last 14 days", "past 2 weeks"), (date(2026, 11, 7), AS_OF)),
    **dict.fromkeys(("最近3个月", "last 3 months"), (date(2026, 8, 23), AS_OF)),
    **dict.fromkeys(("10月", "十月"), (date(2026, 10, 1), date(2026, 10, 31))),
    "3月份": (date(2026, 3, 1), date(2026, 3, 31)),
    **dict.fromkeys(("年初至今", "今年以来", "year to date", "ytd"), (date(2026, 1, 1), AS_OF)),
    **dict.fromkeys(("今天", "今日", "今儿个", "今儿", "today"), (AS_OF,) * 2),
    **dict.fromkeys(("昨天", "昨日", "昨儿个", "昨儿", "yesterday"), (date(2026, 11, 19),) * 2),
    **dict.fromkeys(("前天", "前儿个", "the day before yesterday"), (date(2026, 11, 18),) * 2),
    **dict.fromkeys(("大前天", "three days ago"), (date(2026, 11, 17),) * 2),
    **dict.fromkeys(("本周末", "这周末", "this weekend"), (date(2026, 11, 21), date(2026, 11, 22))),
    **dict.fromkeys(("上周末", "上个周末", "last weekend"), (date(2026, 11, 14), date(2026, 11, 15))),
    **dict.fromkeys(
        (
            "本周",
            "这周",
            "这一周",
            "这星期",
            "这个星期",
            "本星期",
            "这礼拜",
            "这个礼拜",
            "本礼拜",
            "this week",
            "week to date",
            "week-to-date",
            "wtd",
        ),
        (date(2026, 11, 16), AS_OF),
    ),
    **dict.fromkeys(
        ("上周", "上一周", "上星期", "上个星期", "上礼拜", "上个礼拜", "last week", "previous week"),
        (date(2026, 11, 9), date(2026, 11, 15)),
    ),
    **dict.fromkeys(
        ("上上周", "大上周", "上上个星期", "上上星期", "上上个礼拜", "the week before last"),
        (date(2026, 11, 2), date(2026, 11, 8)),
    ),
    **dict.fromkeys(
        ("本月", "这个月", "当月", "这月", "月初到现在", "月初至今", "月初以来", "月初到今天", "this month",
         "month to date", "month-to-date", "mtd"),
        (date(2026, 11, 1), AS_OF),
    ),
    **dict.fromkeys(
        ("上月", "上个月", "上一个月", "last month", "previous month"), (date(2026, 10, 1), date(2026, 10, 31))
    ),
    **dict.fromkeys(("上上个月", "上上月", "the month before last"), (date(2026, 9, 1), date(2026, 9, 30))),
}
# A festival word alone is its day, the latest that has come (双12 on 2026-11-20: 2025-12-12);
# 年货节 and 黄金周 are seasons.
FESTIVAL_DAYS = {
    "double11": date(2026, 11, 11),
    "double12": date(2025, 12, 12),
    "mid618": date(2026, 6, 18),
    "women38": date(2026, 3, 8),
    "spring_festival": date(2026, 2, 17),
    "valentine": date(2026, 2, 14),
    "may20": date(2026, 5, 20),
    "qixi": date(2026, 8, 19),
    "mid_autumn": date(2026, 9, 25),
    "national_day": date(2026, 10, 1),
    "new_year": date(2026, 1, 1),
    "labour_day": date(2026, 5, 1),
    "dragon_boat": date(2026, 6, 19),
}
FESTIVAL_SEASONS = {
    "newyear_goods": (date(2026, 1, 20), date(2026, 2, 9)),
    "national_day_week": (date(2026, 10, 1), date(2026, 10, 7)),
}
FESTIVAL_EXAMPLES = {
    word: FESTIVAL_SEASONS.get(code) or (FESTIVAL_DAYS[code],) * 2
    for code, words in FESTIVAL_WORDS.items()
    for word in words
}
YEAR_EXAMPLES = {
    "前年": 2024,
    "the year before last": 2024,
    "2025年": 2025,
    "25年": 2025,
    "'25": 2025,
    "2026": 2026,
    "去年": 2025,
    "last year": 2025,
    "今年": 2026,
    "本年": 2026,
    "this year": 2026,
}


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
    assert examples == set(PERIOD_EXAMPLES) | set(FESTIVAL_EXAMPLES), "give each new example its expected range here"
    for example, span in {**PERIOD_EXAMPLES, **FESTIVAL_EXAMPLES}.items():
        assert time_range(example, AS_OF)[0] == span, example


def test_every_year_example_reads_its_year():
    assert {example for row in YEARS for example in row.examples} == set(YEAR_EXAMPLES)
    for example, year in YEAR_EXAMPLES.items():
        assert time_range(example, AS_OF)[0] == (date(year, 1, 1), min(date(year, 12, 31), AS_OF)), example


@pytest.mark.parametrize(
    ("question", "span", "phrase"),
    [
        ("本周末和上周末", (date(2026, 11, 21), date(2026, 11, 22)), "本周末"),  # the longer phrase, not 本周
        ("上一季度", (date(2026, 7, 1), date(2026, 9, 30)), "2026 Q3"),  # not 一季度
        ("本月和上月", (date(2026, 11, 1), AS_OF), "本月"),  # of two times the first is the range, the second
        ("上月和本月", (date(2026, 10, 1), date(2026, 10, 31)), "上月"),  # what a comparison compares it with
        ("双11和上季度", (date(2026, 11, 11),) * 2, "2026 double11 day"),  # a festival alone is its day
        ("2025年双11当天", (date(2025, 11, 11),) * 2, "2025 double11 day"),  # the year named, not the latest
    ],
)
def test_overlaps_go_to_the_longest_and_the_first_time_named_is_the_range(question, span, phrase):
    assert time_range(question, AS_OF) == (span, phrase)


@pytest.mark.parametrize(
    "today", [date(2026, 12, 5), date(2026, 3, 31), date(2026, 3, 2), date(2024, 2, 29), date(2026, 1, 1)]
)
def test_the_dashboard_periods_are_the_days_the_same_words_name_in_a_question(today):
    from shared.calendar import KPI_PERIODS, kpi_period

    words = {"yesterday": "昨天", "this_week": "本周", "this_month": "本月", "last_30_days": "最近30天"}
    for period in KPI_PERIODS:
        span, before = kpi_period(period, today)
        assert time_range(f"{words[period]}的销售额", today)[0] == span, period
        assert before[1] < span[0] and before[0] <= before[1], period
    (month_start, _), (previous_start, previous_end) = kpi_period("this_month", today)
    assert previous_start.day == 1 and previous_end.day <= today.day
