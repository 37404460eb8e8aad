"""Time phrases → date ranges (dates inclusive). Pure: no Flask, no SQL.

Tables, read with :mod:`services.insights.phrases`:

- ``YEARS``: the year a phrase is about (2025年, 去年, 今年, last year). A year written just before a
  phrase binds to it (去年11月, 今年双11当天 … 去年双11当天); a year bound to nothing is the whole
  year, up to today (今年哪个月卖得最好).
- ``PERIODS``: one row per phrase, with the interpreter that turns a match into a :class:`TimeSpan`.
  Every match is kept, in the order of the question: the first is the range asked about, a second
  one is what a comparison compares it with (昨天比前天). Two times joined by 到/至/-/~ are one range
  (11月1日到11日, 从国庆到现在), and 至今/以来/到现在 after a time runs it up to today.
- ``FESTIVALS``: the festival names (shared.calendar has their dates). A festival word followed by
  当天/那天 — or by nothing — is the day (去年双12的订单 = 2025-12-12); followed by 期间/大促/活动/预售
  it is the campaign season (双11期间 = 10-24..11-11).

Relative phrases are read against ``as_of``; a period still running ends on ``as_of``, and a
festival or month named without a year is the latest one that has begun.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from services.insights.phrases import NUMBER, Match, Row, Unreadable, chinese_number, pick, scan, word_row
from shared.calendar import festival_day, festival_season, monday, month_range, shift_months
from shared.i18n import t

# "最近N天" reaches back at most this far (ten years of days, weeks or months).
MAX_RECENT = {"day": 3660, "week": 523, "month": 120}
DAYS_PER_MONTH = 30  # 最近一个月 = 最近30天, 最近三个月 = 90 days


@dataclass(frozen=True)
class TimeSpan:
    start: date
    end: date
    label: str  # the words it was read as ("2025 双11 当天", "最近30天")
    day_reading: str | None = None  # festivals: "day" (the festival day) or "season" (its campaign)
    festival: str | None = None  # the festival's code, when a festival named it
    at: tuple[int, int] = (0, 0)  # where in the question

    @property
    def span(self) -> tuple[date, date]:
        return self.start, self.end


@dataclass(frozen=True)
class Context:
    as_of: date
    year: int | None  # the year bound to the phrase, if any


def _clip(start: date, end: date, as_of: date) -> tuple[date, date]:
    return start, min(end, as_of) if start <= as_of else end


# --- the year context ------------------------------------------------------------------------------

# value: years from as_of's (20xx年 reads its own)
YEARS: tuple[Row, ...] = (
    Row("20xx年", re.compile(r"(?<!\d)(20\d\d)(?:\s*年|(?![\d./-]))"), 0, 3, ("2025年", "2026")),
    # 25年, Q4 '25: a two-digit year of this century
    Row("xx年", re.compile(r"(?<![\d.])([12]\d)\s*年(?![\d代])|(?<![\w'])'([12]\d)\b"), 0, 3, ("25年", "'25")),
    Row("前年", re.compile(r"前年|\bthe year before last\b"), -2, 2, ("前年", "the year before last")),
    Row("去年", re.compile(r"去年|\blast year\b"), -1, 2, ("去年", "last year")),
    Row("今年", re.compile(r"今年|本年|\bthis year\b"), 0, 1, ("今年", "本年", "this year")),
)


def year_of(match: Match, as_of: date) -> int:
    if match.row.name == "20xx年":
        return int(match.found.group(1))
    if match.row.name == "xx年":
        return 2000 + int(match.found.group(1) or match.found.group(2))
    return as_of.year + match.row.value


# --- interpreters: a match and the context → a TimeSpan ------------------------------------------------

def read_date(text: str, default_year: int) -> date:
    numbers = [int(x) for x in re.findall(r"\d+", text)]
    if len(numbers) == 2:
        numbers.insert(0, default_year)
    try:
        return date(*numbers)
    except ValueError:  # 2024年2月30日, 13月1日
        raise Unreadable(t("insights.not_a_date", text=text)) from None


def _latest(day_in: callable, ctx: Context) -> int:
    """The year named, else this year when its day has come, else last year."""
    if ctx.year is not None:
        return ctx.year
    this = day_in(ctx.as_of.year)
    return ctx.as_of.year if this is not None and this <= ctx.as_of else ctx.as_of.year - 1


def full_date(match: Match, ctx: Context) -> TimeSpan:
    day = read_date(match.text, ctx.year or ctx.as_of.year)
    return TimeSpan(day, day, day.isoformat())


def month_day(match: Match, ctx: Context) -> TimeSpan:
    """11月1日, 11.15: of the year named, else the latest such day that has come."""
    month, day = (int(x) for x in re.findall(r"\d+", match.text)[:2])
    if _safe_date(2024, month, day) is None:  # 2月30日, 13月1日 (2024: a leap year, so 2月29日 may exist)
        raise Unreadable(t("insights.not_a_date", text=match.text))
    year = ctx.year or next(y for y in range(ctx.as_of.year, ctx.as_of.year - 9, -1)
                            if (_safe_date(y, month, day) or ctx.as_of) <= ctx.as_of and _safe_date(y, month, day))
    read = read_date(f"{year}-{month}-{day}", year)
    return TimeSpan(read, read, read.isoformat())


def english_date(match: Match, ctx: Context) -> TimeSpan:
    """1 Nov, November 11th: of the year named, else the latest such day that has come."""
    day_first, month_after, month_first, day_after = match.found.groups()
    month_number = MONTH_NAMES[(month_after or month_first)[:3]]
    day = int(day_first or day_after)
    if _safe_date(2024, month_number, day) is None:
        raise Unreadable(t("insights.not_a_date", text=match.text))
    year = ctx.year or next(y for y in range(ctx.as_of.year, ctx.as_of.year - 9, -1)
                            if _safe_date(y, month_number, day) and _safe_date(y, month_number, day) <= ctx.as_of)
    read = date(year, month_number, day)
    return TimeSpan(read, read, read.isoformat())


def day_of_month(match: Match, ctx: Context) -> TimeSpan:
    """15号 alone: that day of this month (or of last month when it has not come yet); the end of a
    range it is read against the start's month (see ``_join``)."""
    day = int(match.found.group(1))
    month = ctx.as_of.replace(day=1)
    if _safe_date(month.year, month.month, day) is None or date(month.year, month.month, day) > ctx.as_of:
        month = shift_months(month, -1)
    read = read_date(f"{month.year}-{month.month}-{day}", month.year)
    return TimeSpan(read, read, read.isoformat())


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def festival(match: Match, ctx: Context) -> TimeSpan:
    """A festival's day, or its season when a season word follows (期间, 大促, 活动, 预售 …) or the
    festival is itself a season (年货节, 黄金周)."""
    code = match.row.value
    tail = match.found.group("tail") or ""
    season_words = match.row.name in SEASON_ONLY or match.found.group("during") or \
        (tail.strip() and not re.fullmatch(DAY_TAIL, tail.strip()))
    if season_words:
        year = _latest(lambda y: (festival_season(code, y) or (None, None))[0] or festival_day(code, y), ctx)
        season = festival_season(code, year)
        if season is not None:
            start, end = _clip(*season, ctx.as_of)
            return TimeSpan(start, end, f"{year} {code} season", "season", code)
    year = _latest(lambda y: festival_day(code, y), ctx)
    day = festival_day(code, year)
    if day is None:
        raise Unreadable(t("insights.not_a_date", text=match.text))
    return TimeSpan(day, day, f"{year} {code} day", "day", code)


def months_of_year(first_month: int, count: int, ctx: Context, label: str, year: int | None = None) -> TimeSpan:
    """``count`` months from ``first_month`` of the year named (else this year), up to today."""
    year = year or ctx.year or ctx.as_of.year
    start = date(year, first_month, 1)
    end = month_range(year + (first_month + count - 2) // 12, (first_month + count - 2) % 12 + 1)[1]
    return TimeSpan(*_clip(start, end, ctx.as_of), f"{year} {label}")


def relative_quarter(match: Match, ctx: Context) -> TimeSpan:
    index = ctx.as_of.year * 4 + (ctx.as_of.month - 1) // 3 - match.row.value  # quarters back
    year, number = index // 4, index % 4 + 1
    return months_of_year(3 * number - 2, 3, ctx, f"Q{number}", year)


def quarter(match: Match, ctx: Context) -> TimeSpan:
    number = chinese_number(next(g for g in match.found.groups() if g))
    if not 1 <= number <= 4:
        raise Unreadable(t("insights.not_a_date", text=match.text))
    return months_of_year(3 * number - 2, 3, ctx, f"Q{number}")


def half_year(match: Match, ctx: Context) -> TimeSpan:
    half = match.row.value
    return months_of_year(6 * half - 5, 6, ctx, f"H{half}")


def first_quarters(match: Match, ctx: Context) -> TimeSpan:
    """前三个季度: the quarters of the year before the current one (Q1..Q3 in Q4)."""
    written = match.found.group(1) or match.found.group(2)
    count = ENGLISH_NUMBERS.get(written) or chinese_number(written)
    year = ctx.year or ctx.as_of.year
    current = (ctx.as_of.month - 1) // 3 + 1 if year == ctx.as_of.year else 5
    if not 1 <= count < current:
        raise Unreadable(t("insights.not_a_date", text=match.text))
    return months_of_year(1 + 3 * (current - 1 - count), 3 * count, ctx, match.text, year)


def previous_months(match: Match, ctx: Context) -> TimeSpan:
    """前两个月: the whole months before this one."""
    count = chinese_number(match.found.group(1))
    if not 1 <= count <= MAX_RECENT["month"]:
        raise Unreadable(t("insights.not_a_date", text=match.text))
    this_month = ctx.as_of.replace(day=1)
    return TimeSpan(shift_months(this_month, -count), this_month - timedelta(days=1), match.text)


def previous_weeks(match: Match, ctx: Context) -> TimeSpan:
    """前两周: the whole weeks before this one."""
    count = chinese_number(match.found.group(1))
    if not 1 <= count <= MAX_RECENT["week"]:
        raise Unreadable(t("insights.not_a_date", text=match.text))
    this_week = monday(ctx.as_of)
    return TimeSpan(this_week - timedelta(days=7 * count), this_week - timedelta(days=1), match.text)


def recent(match: Match, ctx: Context) -> TimeSpan:
    """最近N天/周/个月, last N days: N whole days (a month is 30) ending today."""
    written = match.found.group("n") or match.found.group("en") or "1"
    unit = match.found.group("unit").lower()
    if written == "半":  # 最近半年, 近半个月
        written, unit = ("6", "个月") if unit == "年" else ("15", "天")
    n = ENGLISH_NUMBERS.get(written) or chinese_number(written)
    kind = "day" if unit in ("天", "日") or unit.startswith("day") else \
        "week" if unit in ("周", "星期", "个星期") or unit.startswith(("week", "wk")) else \
        "year" if unit in ("年",) or unit.startswith(("year", "yr")) else "month"
    if kind == "year":
        kind, n = "month", 12 * n
    if not 1 <= n <= MAX_RECENT[kind]:
        raise Unreadable(t("insights.recent_out_of_range", text=match.text.strip(), days=MAX_RECENT["day"],
                           weeks=MAX_RECENT["week"], months=MAX_RECENT["month"]))
    days = n * {"day": 1, "week": 7, "month": DAYS_PER_MONTH}[kind]
    return TimeSpan(ctx.as_of - timedelta(days=days - 1), ctx.as_of, f"最近{days}天")


def month(match: Match, ctx: Context) -> TimeSpan:
    written = match.found.group(1)
    number = (1 if written == "元" else chinese_number(written)) if written else MONTH_NAMES[match.found.group(2)[:3]]
    if not 1 <= number <= 12:  # "2024年13月" must not quietly become all of 2024
        raise Unreadable(t("insights.not_a_month", text=match.text))
    year = ctx.year or (ctx.as_of.year if number <= ctx.as_of.month else ctx.as_of.year - 1)
    return TimeSpan(*_clip(*month_range(year, number), ctx.as_of), f"{year}年{number}月")


def month_span(match: Match, ctx: Context) -> TimeSpan:
    """1到10月: the months of the year named (else this year), up to today."""
    first_month, last_month = (chinese_number(g) for g in match.found.groups())
    if not 1 <= first_month <= last_month <= 12:
        raise Unreadable(t("insights.not_a_month", text=match.text))
    return months_of_year(first_month, last_month - first_month + 1, ctx, match.text)


def _month_named(number: str | None, relative_month: str | None, match: Match, ctx: Context) -> date:
    """The first day of 本月/上个月 or of month N (of the year named, else the latest)."""
    if relative_month:
        return ctx.as_of.replace(day=1) if relative_month in ("本月", "这个月") else \
            shift_months(ctx.as_of.replace(day=1), -1)
    month_number = chinese_number(number)
    if not 1 <= month_number <= 12:
        raise Unreadable(t("insights.not_a_month", text=match.text))
    year = ctx.year or (ctx.as_of.year if month_number <= ctx.as_of.month else ctx.as_of.year - 1)
    return date(year, month_number, 1)


def part_of_month(match: Match, ctx: Context) -> TimeSpan:
    """上旬 1–10, 中旬 11–20, 下旬 21–end; 月初 1–5 … 月底 the last 5 days (of N月, 本月 or 上月)."""
    number, relative_month, part = match.found.groups()
    first_day = _month_named(number, relative_month, match, ctx)
    last = month_range(first_day.year, first_day.month)[1].day
    days = {"上旬": (1, 10), "中旬": (11, 20), "下旬": (21, last), "月初": (1, 5), "月中": (11, 20),
            "月底": (last - 4, last), "月末": (last - 4, last)}[part]
    start, end = first_day.replace(day=days[0]), first_day.replace(day=days[1])
    return TimeSpan(*_clip(start, end, ctx.as_of), match.text)


def first_days(match: Match, ctx: Context) -> TimeSpan:
    """11月头10天, 本月前5天: the first N days of that month."""
    number, relative_month, count = match.found.groups()
    first_day = _month_named(number, relative_month, match, ctx)
    days = chinese_number(count)
    last = month_range(first_day.year, first_day.month)[1]
    if not 1 <= days <= last.day:
        raise Unreadable(t("insights.not_a_date", text=match.text))
    return TimeSpan(*_clip(first_day, first_day + timedelta(days=days - 1), ctx.as_of), match.text)


def weekday_date(match: Match, ctx: Context) -> TimeSpan:
    """上周五, 本周一: that day of last week or this one."""
    which, day = match.found.groups()
    number = 7 if day in "日天" else int(day) if day.isdigit() else chinese_number(day)
    week = monday(ctx.as_of) - timedelta(days=7 if which.startswith("上") else 0)
    read = week + timedelta(days=number - 1)
    return TimeSpan(read, read, read.isoformat())


def year_to_date(match: Match, ctx: Context) -> TimeSpan:
    year = ctx.year or ctx.as_of.year
    return TimeSpan(*_clip(date(year, 1, 1), date(year, 12, 31), ctx.as_of), f"{year}年")


def _last_month(day: date) -> tuple[date, date]:
    previous = shift_months(day.replace(day=1), -1)
    return month_range(previous.year, previous.month)


def _month_before_last(day: date) -> tuple[date, date]:
    previous = shift_months(day.replace(day=1), -2)
    return month_range(previous.year, previous.month)


def _weekend(day: date, weeks_back: int) -> tuple[date, date]:
    saturday = monday(day) + timedelta(days=5 - 7 * weeks_back)
    return saturday, min(saturday + timedelta(days=1), day) if saturday <= day else saturday + timedelta(days=1)


RELATIVE = {  # phrase → the range it names on a day
    "今天": lambda d: (d, d),
    "昨天": lambda d: (d - timedelta(days=1),) * 2,
    "前天": lambda d: (d - timedelta(days=2),) * 2,
    "大前天": lambda d: (d - timedelta(days=3),) * 2,
    "本周末": lambda d: _weekend(d, 0),
    "上周末": lambda d: _weekend(d, 1),
    "本周": lambda d: (monday(d), d),
    "上周": lambda d: (monday(d) - timedelta(days=7), monday(d) - timedelta(days=1)),
    "上上周": lambda d: (monday(d) - timedelta(days=14), monday(d) - timedelta(days=8)),
    "本月": lambda d: (d.replace(day=1), d),
    "上月": _last_month,
    "上上月": _month_before_last,
}


def relative(match: Match, ctx: Context) -> TimeSpan:
    return TimeSpan(*RELATIVE[match.row.name](ctx.as_of), match.row.name)


def _words(name: str, words: tuple[str, ...], read, value=None) -> Row:
    # time words are read inside other words too ("本月份", "today's")
    return word_row(name, words, value, 0, whole_words=False, read=read)


ENGLISH_NUMBERS = {word: n for n, word in enumerate(
    ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"), start=1)}
MONTH_NAMES = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}

# Festival names → shared.calendar's code. A word ending in a season (黄金周, 年货节) is always one.
FESTIVAL_WORDS: dict[str, tuple[str, ...]] = {
    "double11": ("双11", "双十一", "double 11", "double eleven", "11.11", "11·11", "singles day", "singles' day"),
    "double12": ("双12", "双十二", "double 12", "double twelve", "12.12", "12·12"),
    "mid618": ("618", "六一八", "6.18", "6·18"),
    "women38": ("38节", "三八节", "38女王节", "女王节", "妇女节", "三八妇女节", "women's day"),
    "spring_festival": ("春节", "过年", "大年初一", "正月初一", "chinese new year", "spring festival",
                        "lunar new year"),
    "newyear_goods": ("年货节",),
    "valentine": ("情人节", "valentine's day", "valentines day", "valentine"),
    "may20": ("520",),
    "qixi": ("七夕", "七夕节", "qixi"),
    "mid_autumn": ("中秋节", "中秋", "mid-autumn festival", "mid-autumn"),
    "national_day": ("国庆节", "国庆", "national day"),
    "national_day_week": ("国庆黄金周", "十一黄金周", "黄金周", "golden week"),  # 国庆假期: national_day + 假期
    "new_year": ("元旦", "new year's day"),
    "labour_day": ("劳动节", "五一", "labour day", "labor day"),
    "dragon_boat": ("端午节", "端午", "dragon boat festival"),
}
SEASON_ONLY = {"newyear_goods", "national_day_week"}
DAY_TAIL = r"当天|那天|那一天|这天|这一天|当日|那日|正日子|正日|\s?day"
# a tail that is not the day's is the season's: 期间, 大促, 活动那阵子, 整个大促周期, 前后7天, sale period …
_SEASON_PREFIX = r"(?:整个|活动|大促|促销|预售|预热|购物节)"
_SEASON_WORD = r"(?:期间|前后|那几天|这几天|那阵子|这阵子|那段时间|这段时间|那段日子|周期|假期|长假|小长假|期|季)"
_FESTIVAL_TAIL = (rf"(?P<tail>\s*(?:{DAY_TAIL}|{_SEASON_PREFIX}{{1,2}}的?{_SEASON_WORD}{{0,2}}|{_SEASON_WORD}{{1,2}}|"
                  r"[一二两三四五六七八九十\d]+天|"
                  r"\s?sale period|\s?season|\s?sale|\s?period|\s?campaign|\s?promotion|\s?promo|"
                  r"\s?holidays?))?")
# 38大促, 三八活动: the bare number names the festival only before a campaign or day word
_NEEDS_TAIL = {"women38": (r"38", r"三八")}
_TAIL_AHEAD = r"(?=\s*(?:大促|活动|促销|预售|期间|当天|那天|那一天|正日子))"


DATE_PRIORITY = 100


def _festival_row(code: str, words: tuple[str, ...]) -> Row:
    # a name ending in a digit must not run into more digits (618 in 6180), a Chinese one may (国庆7天)
    names = "|".join([re.escape(w) + (r"(?!\d)" if w[-1].isdigit() else "")
                      for w in sorted(words, key=len, reverse=True)]
                     + [rf"(?<![\d.]){bare}(?!\d){_TAIL_AHEAD}" for bare in _NEEDS_TAIL.get(code, ())])
    guard = r"(?<![\d.])" if words[0][0].isdigit() else ""
    pattern = re.compile(rf"(?P<during>\bduring\s+(?:the\s+)?)?{guard}(?:{names})" + _FESTIVAL_TAIL)
    # above the dates: 11.11 is 双11 (the day, or with 期间 its campaign), not just November 11th
    return Row(code, pattern, "national_day" if code == "national_day_week" else code, DATE_PRIORITY + 1, words,
               festival)


PERIODS: tuple[Row, ...] = (
    Row("日期", re.compile(r"(?<!\d)(20\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"),
        priority=DATE_PRIORITY, examples=("2026-11-01", "2026/11/1", "2026年11月1日", "2026.11.01"), read=full_date),
    Row("月日", re.compile(r"(?<![\d./-])(?<!\d年)(\d{1,2})\s*月\s*(\d{1,2})\s*"
                         r"(?:[日号]|(?![\d天周个万千件单元块%人位次笔]))|"
                         r"(?<![\d./])(1[0-2]|0?[1-9])[./](3[01]|[12]\d|0?[1-9])(?![\d./a-z%])"),
        priority=DATE_PRIORITY, examples=("11月1日", "11月15号", "11.1"), read=month_day),
    Row("English date", re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+"
                                r"(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?|\b(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b"),
        priority=DATE_PRIORITY, examples=("1 nov", "november 11", "nov 1st"), read=english_date),
    Row("N号", re.compile(r"(?<![\d.])(?<!\d月)(3[01]|[12]\d|0?[1-9])\s*[日号](?!\d)"), priority=DATE_PRIORITY - 1,
        examples=("15号",), read=day_of_month),
    *(_festival_row(code, words) for code, words in FESTIVAL_WORDS.items()),
    Row("本季度", re.compile(r"(?:本|这个|这一|当前|这)季度|\bthis quarter\b|\bquarter to date\b|\bqtd\b"), 0, 82,
        ("本季度", "这个季度", "这一季度", "this quarter"), relative_quarter),
    Row("上季度", re.compile(r"(?:上|上个|上一)季度|\blast quarter\b|\bprevious quarter\b"), 1, 82,
        ("上季度", "上个季度", "上一季度", "last quarter"), relative_quarter),
    Row("前N个季度", re.compile(r"(?:前|头)\s*" + NUMBER + r"\s*个?季度|\bfirst\s+(two|three|2|3)\s+quarters\b"),
        priority=82,
        examples=("前三个季度", "前2个季度"), read=first_quarters),
    Row("N到M月", re.compile(r"(?<![\d.])(\d{1,2}|[一二三四五六七八九十]+)\s*(?:到|至|-|~)\s*"
                           r"(\d{1,2}|[一二三四五六七八九十]+)\s*月份?"),
        priority=62, examples=("1到10月", "3-5月"), read=month_span),
    Row("N天内", re.compile(r"(?<![\d.])(?P<n>\d+|[一二两三四五六七八九十百]+)\s*(?P<unit>天|日|周|个星期|个月)"
                          r"(?:内|以内|之内|以来)"), priority=70, examples=("7天内", "三个月以内"), read=recent),
    Row("旬", re.compile(r"(?:(?<![\d.])(\d{1,2}|[一二三四五六七八九十]+)\s*月份?|(本月|这个月|上个月|上月))\s*的?"
                        r"(上旬|中旬|下旬|月初|月中|月底|月末)"), priority=61,
        examples=("10月下旬", "本月上旬", "上个月月底"), read=part_of_month),
    Row("月头N天", re.compile(r"(?:(?<![\d.])(\d{1,2}|[一二三四五六七八九十]+)\s*月份?|(本月|这个月|上个月|上月))\s*的?"
                          r"(?:头|前|最初)\s*" + NUMBER + r"\s*天"), priority=63,
        examples=("11月头10天", "本月前5天"), read=first_days),
    Row("周X", re.compile(r"(本|这|上|上个|这个)(?:周|星期|礼拜)([二三四五六日天1-7]|一(?![共下些起直样致定般切]))"),
        priority=58,
        examples=("上周五", "本周一", "上个星期天"), read=weekday_date),
    Row("第N季度", re.compile(r"第?([一二三四1-4])季度?(?![节])|(?<![a-z0-9])q([1-4])(?![0-9])|"
                           r"\b(?:the\s)?(first|second|third|fourth)\squarter\b"),
        priority=81, examples=("第三季度", "三季度", "第1季度", "q3"), read=quarter),
    _words("上半年", ("上半年", "h1", "first half"), half_year, 1),
    _words("下半年", ("下半年", "h2", "second half"), half_year, 2),
    Row("前N个月", re.compile(r"(?<![最近过去])前\s*" + NUMBER + r"\s*个月"), priority=70,
        examples=("前两个月", "前3个月"), read=previous_months),
    Row("前N周", re.compile(r"(?<![最近过去])前\s*" + NUMBER + r"\s*(?:个)?(?:周|星期)"), priority=70,
        examples=("前两周", "前3个星期"), read=previous_weeks),
    Row("最近N天", re.compile(r"(?:(?:最近|最新|近|(?<!超)过去|the past|past)\s*"
                            r"(?P<n>\d+|[一二两三四五六七八九十百]+|半)?\s*个?|"
                            r"(?:last|past|previous)\s*(?P<en>\d+|" + "|".join(ENGLISH_NUMBERS) + r"))"
                            r"\s*(?P<unit>天|日|周|个星期|星期|个月|月|年|days?|weeks?|wks?|months?|mos?|years?|yrs?)(?!份)"),
        priority=70,
        examples=("最近7天", "近三十天", "过去2周", "最近3个月", "近一个月", "最近一周", "last 14 days", "past 2 weeks",
                  "last 3 months"), read=recent),
    Row("N月", re.compile(r"(?<![\d.])(\d{1,2}|[一二三四五六七八九十]+|元)\s*月份?(?!\d)|"
                         r"\b(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|"
                         r"jun|jul|aug|sept|sep|oct|nov|dec)\b\.?"),
        priority=60, examples=("10月", "十月", "3月份"), read=month),
    Row("年初至今", re.compile(r"年初至今|年初到现在|年初到今天|今年以来|今年到现在|今年至今|本年度|"
                           r"\byear[ -]to[ -]date\b|\bytd\b|\bthis year so far\b|\bso far this year\b|"
                           r"\b(?:of\s+)?the year so far\b"),
        priority=59, examples=("年初至今", "今年以来", "year to date", "ytd"), read=year_to_date),
    _words("今天", ("今天", "今日", "今儿个", "今儿", "today"), relative),
    _words("昨天", ("昨天", "昨日", "昨儿个", "昨儿", "yesterday"), relative),
    _words("前天", ("前天", "前儿个", "the day before yesterday"), relative),
    _words("大前天", ("大前天", "three days ago"), relative),
    _words("本周末", ("本周末", "这周末", "this weekend"), relative),
    _words("上周末", ("上周末", "上个周末", "last weekend"), relative),
    _words("本周", ("本周", "这周", "这一周", "这星期", "这个星期", "本星期", "这礼拜", "这个礼拜", "本礼拜",
                    "this week", "week to date", "week-to-date", "wtd"), relative),
    _words("上周", ("上周", "上一周", "上星期", "上个星期", "上礼拜", "上个礼拜", "last week", "previous week"),
           relative),
    _words("上上周", ("上上周", "大上周", "上上个星期", "上上星期", "上上个礼拜", "the week before last"), relative),
    _words("本月", ("本月", "这个月", "当月", "这月", "月初到现在", "月初至今", "月初以来", "月初到今天", "this month",
                    "month to date", "month-to-date", "mtd"), relative),
    _words("上月", ("上月", "上个月", "上一个月", "last month", "previous month"), relative),
    _words("上上月", ("上上个月", "上上月", "the month before last"), relative),
)
def festival_question(question: str, code: str, reading: str) -> str | None:
    """``question`` with its festival read the other way: "双11的销售额" → "双11期间的销售额" (season)
    or "双11期间的销售额" → "双11当天的销售额" (day); None if the festival has no such reading."""
    if code in SEASON_ONLY:
        return None
    row = next(r for r in PERIODS if r.name == code)
    found = row.pattern.search(question.lower())
    if found is None:
        return None
    name = question[found.start():found.start() + len(found.group()) - len(found.group("tail") or "")]
    english = name.isascii()
    tail = (" day" if english else "当天") if reading == "day" else (" campaign" if english else "期间")
    return question[:found.start()] + name + tail + question[found.end():]


SHARED_PHRASE = re.compile(r"\s*(?:和|与|跟|及|、|,|，|and|vs\.?)\s*"
                           r"(?:20\d\d\s*年?|去年|前年|今年|last year|this year)?\s*")
SEASON_ANYWHERE = re.compile(r"预售|预热|大促|活动期|促销期")
YEAR_BEFORE = re.compile(r"的?|过|'s\s*|\s")  # 去年的双12, 去年过春节, last year's Double 12
YEAR_AFTER = re.compile(r"\s*,?\s*(?:of\s+|in\s+)?")
# "到现在"-like words after a time run it up to today; "到"-like words between two times join them.
UP_TO_NOW = re.compile(r"^\s*(?:至今|以来|到现在|到今天|到目前|到目前为止|迄今|为止|开始到现在|"
                       r"until now|to date|so far|till now)")
SINCE = re.compile(r"(?:\bsince|自从|自)\s*(?:the\s+)?$")
JOIN = re.compile(r"^\s*(?:到|至|~|～|-|—|－|一直到|through|to|until|and)\s*$")


# the words of the tables, which a question may put before 的 without naming a filter value
TIME_WORDS = tuple(example for row in (*YEARS, *PERIODS) for example in row.examples)


def read_times(question: str, as_of: date) -> list[TimeSpan]:
    """Every time range a lower-cased question names, in order (see the module docstring); empty if
    it names none. A phrase it cannot read (2024年2月30日, 13月, 最近0天) is Unreadable."""
    years = scan(question, YEARS)
    periods = [m for m in scan(question, PERIODS)
               if not any(y.start < m.end and m.start < y.end and (y.end - y.start) > (m.end - m.start)
                          for y in years)]
    years = [y for y in years if not any(y.start < p.end and p.start < y.end for p in periods)]
    bound: set[int] = set()
    spans: list[TimeSpan] = []
    previous: tuple[Match, int | None] | None = None  # the match before, and its year
    read_from: dict[int, Match] = {}  # span (by its start) -> the match it was read from
    for match in periods:
        year = next((y for y in years if y.end <= match.start and id(y) not in bound
                     and YEAR_BEFORE.fullmatch(question[y.end:match.start])), None)
        after = None
        if year is None and match.text.isascii():  # English puts the year after: November 2025, H1 of 2025
            after = year = next((y for y in years if id(y) not in bound and y.start >= match.end
                                 and YEAR_AFTER.fullmatch(question[match.end:y.start])), None)
        if year is not None:
            bound.add(id(year))
        named = year_of(year, as_of) if year else None
        if named is None and previous and previous[1] and JOIN.match(question[previous[0].end:match.start]):
            named = previous[1]  # 去年10月8号到10月31号: the end is in the start's year
        previous = (match, named)
        ctx = Context(as_of, named)
        start_at = year.start if year and not after else match.start
        spans.append(replace(match.row.read(match, ctx), at=(start_at, after.end if after else match.end)))
        read_from[start_at] = match
    for year in years:
        if id(year) not in bound:
            number = year_of(year, as_of)
            shared = next((s for s in spans if s.at[0] in read_from and SHARED_PHRASE.fullmatch(
                question[year.end:s.at[0]]) and s.at[0] > year.end), None)
            if shared is not None:  # 今年和去年双11当天: this year's 双11当天 too
                match = read_from[shared.at[0]]
                spans.append(replace(match.row.read(match, Context(as_of, number)), at=(year.start, year.end)))
                continue
            first, last = _clip(date(number, 1, 1), date(number, 12, 31), as_of)
            spans.append(TimeSpan(first, last, f"{number}年", at=(year.start, year.end)))
    spans.sort(key=lambda s: s.at)
    if SEASON_ANYWHERE.search(question) and len({s.festival for s in spans if s.festival}) == 1:
        spans = [_as_season(s, as_of) if s.day_reading == "day" else s for s in spans]
    return _join(question, spans, as_of)


def _as_season(span: TimeSpan, as_of: date) -> TimeSpan:
    """双11从预售开始到正日子: the campaign, though no season word follows the name."""
    season = festival_season(span.festival, span.start.year)
    if season is None:
        return span
    start, end = _clip(*season, as_of)
    return replace(span, start=start, end=end, label=f"{span.start.year} {span.festival} season", day_reading="season")


BARE_DAY = re.compile(r"\d{1,2}\s*[日号]")


def _whole_month(span: TimeSpan) -> bool:
    """A calendar month (up to today when it is this one): 上个月, 10月, 本月."""
    return span.start.day == 1 and span.end.month == span.start.month and span.end.year == span.start.year and \
        span.day_reading is None and (span.end + timedelta(days=1)).day == 1 or (
            span.start.day == 1 and span.label in ("本月",))


def _month_days(question: str, spans: list[TimeSpan]) -> list[TimeSpan]:
    """上个月15号, 这个月15号: the day of the month just named."""
    out: list[TimeSpan] = []
    for span in spans:
        bare_day = BARE_DAY.fullmatch(question[span.at[0]:span.at[1]].strip())
        if out and bare_day and _whole_month(out[-1]) and question[out[-1].at[1]:span.at[0]].strip() in ("", "的"):
            month = out.pop()
            day = _safe_date(month.start.year, month.start.month, span.start.day)
            if day is None:
                raise Unreadable(t("insights.not_a_date", text=question[month.at[0]:span.at[1]]))
            span = TimeSpan(day, day, day.isoformat(), at=(month.at[0], span.at[1]))
        out.append(span)
    return out


def _join(question: str, spans: list[TimeSpan], as_of: date) -> list[TimeSpan]:
    """A到B → one range; A至今 → A's start up to today."""
    out: list[TimeSpan] = []
    for span in _month_days(question, spans):
        bare_day = BARE_DAY.fullmatch(question[span.at[0]:span.at[1]].strip())
        if out and JOIN.match(question[out[-1].at[1]:span.at[0]]):
            first = out.pop()
            end = span
            if bare_day:  # 11月1日到11日, 10月1号-7号: the day of the start's month
                end_day = _safe_date(first.start.year, first.start.month, span.start.day)
                end = replace(span, start=end_day, end=end_day) if end_day else span
            start, stop = min(first.start, end.start), max(first.end, end.end)
            span = TimeSpan(start, min(stop, as_of), f"{start.isoformat()}~{min(stop, as_of).isoformat()}",
                            first.day_reading, first.festival, (first.at[0], span.at[1]))
        if UP_TO_NOW.match(question[span.at[1]:]) or SINCE.search(question[:span.at[0]]):
            span = TimeSpan(span.start, as_of, f"{span.start.isoformat()}~{as_of.isoformat()}", span.day_reading,
                            span.festival, span.at)
        out.append(span)
    return out


# "和上周比", "compared with last month": the period named is the one compared with, the range is the current one
CURRENT_OF = {"上周": "本周", "上月": "本月", "昨天": "今天"}


def current_of(span: TimeSpan, as_of: date) -> TimeSpan | None:
    """The running period whose previous one ``span`` is (上周 → 本周), else None."""
    name = CURRENT_OF.get(span.label)
    return TimeSpan(*RELATIVE[name](as_of), name) if name else None


def time_range(question: str, as_of: date) -> tuple[tuple[date, date], str] | None:
    """The first time range a question names and the words that named it; None if it names none."""
    spans = read_times(question.lower(), as_of)
    return (spans[0].span, spans[0].label) if spans else None


__all__ = ["PERIODS", "TIME_WORDS", "YEARS", "TimeSpan", "pick", "read_times", "time_range"]
