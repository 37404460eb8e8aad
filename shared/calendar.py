"""The shop's calendar: its local days and periods (the week starts on Monday; a running period
ends today), the Chinese festivals that move demand, and distances to them. Pure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np
import pandas as pd
from lunarcalendar import Converter, Lunar

from shared.i18n import Message, t

# The lunar calendar's conversion tables cover these years.
LUNAR_YEARS = range(1900, 2100)
# The shopping festivals whose campaigns move demand (the forecasting features; festival_days).
FESTIVALS = ("double11", "mid618", "double12", "women38", "newyear_goods", "spring_festival")


def festival_name(code: str) -> Message:
    """双11, 618 ... in the reader's language (catalogue keys calendar.festival_<code>)."""
    return t(f"calendar.festival_{code}")


@cache
def lunar_day(year: int, month: int, day: int) -> date | None:
    """The solar date of a lunar month and day in the lunar year that starts in ``year``."""
    return Converter.Lunar2Solar(Lunar(year, month, day, isleap=False)).to_date() if year in LUNAR_YEARS else None


def spring_festival(year: int) -> date | None:
    """春节 (the first day of the lunar year) in ``year``; 年货节 runs the weeks before it."""
    return lunar_day(year, 1, 1)


def festival_days(year: int) -> dict[str, tuple[date, date, date]]:
    """name -> (first day of the campaign, peak day, last day) for one year."""
    spring = spring_festival(year)
    days = {
        "double11": (date(year, 10, 24), date(year, 11, 11), date(year, 11, 11)),
        "mid618": (date(year, 6, 1), date(year, 6, 18), date(year, 6, 18)),
        "double12": (date(year, 12, 8), date(year, 12, 12), date(year, 12, 12)),
        "women38": (date(year, 3, 3), date(year, 3, 8), date(year, 3, 8)),
    }
    if spring:
        days["newyear_goods"] = (spring - timedelta(days=28), spring - timedelta(days=14), spring - timedelta(days=8))
        days["spring_festival"] = (spring - timedelta(days=7), spring, spring + timedelta(days=7))
    return days


# Days a question may name by a festival's name: code -> its day in a year (None: not known that year).
# Campaign festivals (FESTIVALS) have their day as festival_days' peak; 年货节 has no single day.
FESTIVAL_DAYS: dict[str, object] = {
    "double11": lambda year: date(year, 11, 11),
    "mid618": lambda year: date(year, 6, 18),
    "double12": lambda year: date(year, 12, 12),
    "women38": lambda year: date(year, 3, 8),
    "spring_festival": spring_festival,
    "valentine": lambda year: date(year, 2, 14),
    "may20": lambda year: date(year, 5, 20),
    "qixi": lambda year: lunar_day(year, 7, 7),
    "mid_autumn": lambda year: lunar_day(year, 8, 15),
    "national_day": lambda year: date(year, 10, 1),
    "new_year": lambda year: date(year, 1, 1),
    "labour_day": lambda year: date(year, 5, 1),
    "dragon_boat": lambda year: lunar_day(year, 5, 5),
}
# The public holiday (chinese-calendar's name) whose days are a festival's season when it has no
# shopping campaign: 中秋期间, 元旦假期. The 国庆 golden week is 10-01..10-07 by convention.
HOLIDAYS = {"mid_autumn": "Mid-autumn Festival", "new_year": "New Year's Day", "labour_day": "Labour Day",
            "dragon_boat": "Dragon Boat Festival"}


def festival_day(code: str, year: int) -> date | None:
    return FESTIVAL_DAYS[code](year)


def festival_season(code: str, year: int) -> tuple[date, date] | None:
    """The days a festival's season covers in ``year``: its shopping campaign (festival_days), the
    national golden week, or its public holiday as the State Council set it; None if it has none."""
    campaign = festival_days(year).get(code)
    if campaign:
        return campaign[0], campaign[2]
    if code == "national_day":
        return date(year, 10, 1), date(year, 10, 7)
    holiday, day = HOLIDAYS.get(code), festival_day(code, year)
    if holiday is None or day is None:
        return None
    try:
        days = [d for d in chinese_calendar.get_dates(day - timedelta(days=10), day + timedelta(days=10))
                if chinese_calendar.get_holiday_detail(d) == (True, holiday)]
    except NotImplementedError:  # chinese-calendar has no data for that year yet
        return None
    return (min(days), max(days)) if days else None


def calendar_features(dates: pd.DatetimeIndex | pd.Series) -> pd.DataFrame:
    """Per date: day of week/month/year, each festival's campaign flag, days to the next peak and
    since the last one (capped at 60), so the model can learn ramps before 双11 and dips after."""
    dates = pd.DatetimeIndex(pd.to_datetime(dates)).normalize()
    frame = pd.DataFrame({"dow": dates.dayofweek, "dom": dates.day, "woy": dates.isocalendar().week.to_numpy(),
                          "month": dates.month}, index=range(len(dates)))
    years = range(dates.year.min() - 1, dates.year.max() + 2) if len(dates) else range(0)
    peaks, campaign = [], {name: np.zeros(len(dates), dtype=np.int8) for name in FESTIVALS}
    values = dates.date if len(dates) else np.array([])
    for year in years:
        for name, (start, peak, end) in festival_days(year).items():
            peaks.append(peak)
            inside = (values >= start) & (values <= end)
            campaign[name] |= inside.astype(np.int8)
    for name, flags in campaign.items():
        frame[f"fest_{name}"] = flags
    peak_days = np.array(sorted(peaks), dtype="datetime64[D]")
    day_values = dates.to_numpy().astype("datetime64[D]")
    position = np.searchsorted(peak_days, day_values)
    following = peak_days[np.clip(position, 0, len(peak_days) - 1)] if len(peak_days) else day_values
    previous = peak_days[np.clip(position - 1, 0, len(peak_days) - 1)] if len(peak_days) else day_values
    frame["days_to_festival"] = np.clip((following - day_values).astype(int), 0, 60)
    frame["days_since_festival"] = np.clip((day_values - previous).astype(int), 0, 60)
    return frame


def local_window(span: tuple[date, date], timezone: str) -> tuple[datetime, datetime]:
    """The instants [start, end) of a range of the shop's local days (both ends included)."""
    zone = ZoneInfo(timezone)
    return datetime.combine(span[0], time(), zone), datetime.combine(span[1] + timedelta(days=1), time(), zone)


def shop_today(timezone: str) -> date:
    """Today in the shop's time zone: what relative periods (昨天, 本周, 本月) are read against."""
    return datetime.now(ZoneInfo(timezone)).date()


def month_range(year: int, month: int) -> tuple[date, date]:
    """The first and last day of a month."""
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return start, end


def shift_months(day: date, months: int) -> date:
    """The same day ``months`` later (earlier when negative), kept inside a shorter month."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = month_range(year, month + 1)[1].day
    return date(year, month + 1, min(day.day, last))


def monday(day: date) -> date:
    """The first day of the week ``day`` is in."""
    return day - timedelta(days=day.weekday())


# The periods the dashboard compares, each with the one before it of the same length: a period
# still running (this week, this month) is compared with the same days of the previous one.
KPI_PERIODS = ("yesterday", "this_week", "this_month", "last_30_days")


def kpi_period(period: str, today: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """(the period's days, the previous period's days), both ends included, read on ``today``."""
    if period == "yesterday":
        day = today - timedelta(days=1)
        return (day, day), (day - timedelta(days=1),) * 2
    if period == "this_week":
        start = monday(today)
        return (start, today), (start - timedelta(days=7), today - timedelta(days=7))
    if period == "this_month":
        start = today.replace(day=1)
        return (start, today), (shift_months(start, -1), shift_months(today, -1))
    if period == "last_30_days":
        return (today - timedelta(days=29), today), (today - timedelta(days=59), today - timedelta(days=30))
    raise ValueError(f"unknown period {period!r}")
