"""Time phrases → a date range (dates inclusive). Pure: no Flask, no SQL.

Two tables, read with :mod:`services.insights.phrases`:

- ``YEARS``: the year a question is about, when it names one (2025年, 去年, 今年, last year). It is
  a context, not a range of its own: 2025年双11, 去年10月 and 2025年第三季度 take their year from it;
  alone (今年销售额) it is the whole year, up to today.
- ``PERIODS``: one row per phrase, with the interpreter that turns a match into a range. Explicit
  dates outrank everything, and two of them make a range (2026-11-01 到 2026-11-15); otherwise the
  match of the highest priority wins (a named day over a campaign over a quarter over 最近N天 over
  a month over 今天 … 上月), whatever its place in the question.

Relative phrases are read against ``as_of``; a period still running ends on ``as_of``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from services.insights.phrases import NUMBER, Match, Row, Unreadable, chinese_number, first, pick, scan, word_row
from shared.calendar import festival_days, monday, month_range, shift_months
from shared.i18n import t

# "最近N天" reaches back at most this far (ten years of days, weeks or months).
MAX_RECENT = {"day": 3660, "week": 523, "month": 120}

Span = tuple[date, date]


@dataclass(frozen=True)
class Context:
    as_of: date
    year: int | None  # the year the question names, if any




# --- the year context ------------------------------------------------------------------------------

# value: years from as_of's (20xx年 reads its own)
YEARS: tuple[Row, ...] = (
    Row("20xx年", re.compile(r"(20\d\d)\s*年?"), 0, 3, ("2025年", "2026")),
    Row("去年", re.compile(r"去年|\blast year\b"), -1, 2, ("去年", "last year")),
    Row("今年", re.compile(r"今年|本年|\bthis year\b"), 0, 1, ("今年", "本年", "this year")),
)


def named_year(text: str, as_of: date) -> int | None:
    match = first(text, YEARS)
    if match is None:
        return None
    if match.row.name == "20xx年":
        return int(match.found.group(1))
    return as_of.year + match.row.value


# --- interpreters: a match and the context → (range, the words that named it) ------------------

def read_date(text: str, default_year: int) -> date:
    numbers = [int(x) for x in re.findall(r"\d+", text)]
    if len(numbers) == 2:
        numbers.insert(0, default_year)
    try:
        return date(*numbers)
    except ValueError:  # 2024年2月30日, 13月1日
        raise Unreadable(t("insights.not_a_date", text=text)) from None


def campaign(match: Match, ctx: Context) -> tuple[Span, str]:
    """A shopping festival's campaign days; of the year named, else the latest that has begun."""
    name = match.row.value
    year = ctx.year
    if year is None:
        year = ctx.as_of.year if festival_days(ctx.as_of.year)[name][0] <= ctx.as_of else ctx.as_of.year - 1
    start, _peak, end = festival_days(year)[name]
    return (start, min(end, ctx.as_of) if year == ctx.as_of.year else end), f"{year} {name}"


def festival_day(match: Match, ctx: Context) -> tuple[Span, str]:
    """One day of the year (双11当天): of the year named, else the latest that has come."""
    month, day, name = match.row.value
    year = ctx.year
    if year is None:
        year = ctx.as_of.year if date(ctx.as_of.year, month, day) <= ctx.as_of else ctx.as_of.year - 1
    return (date(year, month, day),) * 2, f"{year} {name}"


def months_of_year(first_month: int, count: int, ctx: Context, label: str, year: int | None = None
                   ) -> tuple[Span, str]:
    """``count`` months from ``first_month`` of the year named (else this year), up to today."""
    year = year or ctx.year or ctx.as_of.year
    start = date(year, first_month, 1)
    end = month_range(year, first_month + count - 1)[1]
    return (start, min(end, ctx.as_of) if start <= ctx.as_of else end), f"{year} {label}"


def relative_quarter(match: Match, ctx: Context) -> tuple[Span, str]:
    index = ctx.as_of.year * 4 + (ctx.as_of.month - 1) // 3 - match.row.value  # quarters back
    year, number = index // 4, index % 4 + 1
    return months_of_year(3 * number - 2, 3, ctx, f"Q{number}", year)


def quarter(match: Match, ctx: Context) -> tuple[Span, str]:
    chinese, latin = match.found.group(1), match.found.group(2)
    number = chinese_number(chinese) if chinese else int(latin)
    return months_of_year(3 * number - 2, 3, ctx, f"Q{number}")


def half_year(match: Match, ctx: Context) -> tuple[Span, str]:
    half = match.row.value
    return months_of_year(6 * half - 5, 6, ctx, f"H{half}")


def recent(match: Match, ctx: Context) -> tuple[Span, str]:
    n, unit = chinese_number(match.found.group(1)), match.found.group(2).lower()
    kind = "day" if unit in ("天", "日") or unit.startswith("day") else \
        "week" if unit in ("周", "星期") or unit.startswith("week") else "month"
    if not 1 <= n <= MAX_RECENT[kind]:
        raise Unreadable(t("insights.recent_out_of_range", text=match.text.strip(), days=MAX_RECENT["day"],
                           weeks=MAX_RECENT["week"], months=MAX_RECENT["month"]))
    as_of = ctx.as_of
    if kind == "day":
        return (as_of - timedelta(days=n - 1), as_of), f"最近{n}天"
    if kind == "week":
        return (as_of - timedelta(days=7 * n - 1), as_of), f"最近{n}周"
    return (shift_months(as_of, -n) + timedelta(days=1), as_of), f"最近{n}个月"


def month(match: Match, ctx: Context) -> tuple[Span, str]:
    number = chinese_number(match.found.group(1))
    if not 1 <= number <= 12:  # "2024年13月" must not quietly become all of 2024
        raise Unreadable(t("insights.not_a_month", text=match.text))
    year = ctx.year or (ctx.as_of.year if number <= ctx.as_of.month else ctx.as_of.year - 1)
    return month_range(year, number), f"{year}年{number}月"


def _last_month(day: date) -> Span:
    previous = shift_months(day.replace(day=1), -1)
    return month_range(previous.year, previous.month)


def _this_weekend(day: date) -> Span:
    saturday = monday(day) + timedelta(days=5)
    return saturday, min(saturday + timedelta(days=1), day) if saturday <= day else saturday + timedelta(days=1)


RELATIVE = {  # phrase → the range it names on a day
    "今天": lambda d: (d, d),
    "昨天": lambda d: (d - timedelta(days=1),) * 2,
    "本周末": _this_weekend,
    "本周": lambda d: (monday(d), d),
    "上周": lambda d: (monday(d) - timedelta(days=7), monday(d) - timedelta(days=1)),
    "本月": lambda d: (d.replace(day=1), d),
    "上月": _last_month,
}


def relative(match: Match, ctx: Context) -> tuple[Span, str]:
    return RELATIVE[match.row.name](ctx.as_of), match.row.name


def _words(name: str, words: tuple[str, ...], priority: int, read, value=None) -> Row:
    # time words are read inside other words too ("本月份", "today's")
    return word_row(name, words, value, priority, whole_words=False, read=read)


DATE_PRIORITY = 100
PERIODS: tuple[Row, ...] = (
    Row("日期", re.compile(r"(20\d\d)[-/.年](\d{1,2})[-/.月](\d{1,2})日?"), priority=DATE_PRIORITY,
        examples=("2026-11-01", "2026/11/1", "2026年11月1日", "2026.11.01")),
    Row("月日", re.compile(r"(?<![\d年-])(\d{1,2})月(\d{1,2})[日号]"), priority=DATE_PRIORITY,
        examples=("11月1日", "11月15号")),
    _words("双11当天", ("双11当天", "双十一当天"), 95, festival_day, (11, 11, "double11 day")),
    _words("双11", ("双11", "双十一", "double 11", "11.11", "singles day"), 94, campaign, "double11"),
    _words("618", ("618", "六一八"), 93, campaign, "mid618"),
    _words("双12", ("双12", "双十二", "double 12", "12.12"), 92, campaign, "double12"),
    Row("本季度", re.compile(r"(?:本|这个|这一)季度|\bthis quarter\b"), 0, 82,
        ("本季度", "这个季度", "这一季度", "this quarter"), relative_quarter),
    Row("上季度", re.compile(r"(?:上|上个|上一)季度|\blast quarter\b"), 1, 82,
        ("上季度", "上个季度", "上一季度", "last quarter"), relative_quarter),
    Row("第N季度", re.compile(r"第?([一二三四1-4])季度|(?<![a-z0-9])q([1-4])(?![0-9])"), priority=81,
        examples=("第三季度", "三季度", "第1季度", "q3"), read=quarter),
    _words("上半年", ("上半年",), 80, half_year, 1),
    _words("下半年", ("下半年",), 80, half_year, 2),
    Row("最近N天", re.compile(r"(?:最近|近|过去|last|past)\s*" + NUMBER
                            + r"\s*(天|日|周|星期|个月|月|days?|weeks?|months?)"), priority=70,
        examples=("最近7天", "近三十天", "过去2周", "最近3个月", "last 14 days", "past 2 weeks", "last 3 months"),
        read=recent),
    Row("N月", re.compile(r"(?<!\d)(\d{1,2}|[一二三四五六七八九十]+)月(?!\d)"), priority=60,
        examples=("10月", "十月", "3月"), read=month),
    _words("今天", ("今天", "今日", "today"), 57, relative),
    _words("昨天", ("昨天", "昨日", "yesterday"), 56, relative),
    _words("本周末", ("本周末", "这周末", "this weekend"), 55, relative),
    _words("本周", ("本周", "这周", "这一周", "this week"), 54, relative),
    _words("上周", ("上周", "上一周", "上星期", "last week"), 53, relative),
    _words("本月", ("本月", "这个月", "当月", "this month"), 52, relative),
    _words("上月", ("上月", "上个月", "last month"), 51, relative),
)


# the words of the tables, which a question may put before 的 without naming a filter value
TIME_WORDS = tuple(example for row in (*YEARS, *PERIODS) for example in row.examples)


def time_range(question: str, as_of: date) -> tuple[Span, str] | None:
    """The time range a lower-cased question names (dates inclusive) and the words that named it;
    None if it names none. A phrase it cannot read (2024年2月30日, 13月, 最近0天) is Unreadable."""
    question = question.lower()
    ctx = Context(as_of, named_year(question, as_of))
    matches = scan(question, PERIODS)
    dates = [read_date(m.text, ctx.year or as_of.year) for m in matches if m.row.priority == DATE_PRIORITY]
    if len(dates) >= 2:
        return (min(dates[0], dates[1]), max(dates[0], dates[1])), "区间"
    if dates:
        return (dates[0], dates[0]), "指定日期"
    chosen = pick(matches)
    if chosen is not None:
        return chosen.row.read(chosen, ctx)
    if ctx.year:
        return (date(ctx.year, 1, 1), min(date(ctx.year, 12, 31), as_of)), f"{ctx.year}年"
    return None
