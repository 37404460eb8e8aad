"""The shop's calendar: its local days and periods (the week starts on Monday; a running period
ends today), the Chinese festivals that move demand, and distances to them. Pure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from lunardate import LunarDate

from shared.i18n import Message, t

# The lunar calendar's conversion tables cover these years.
LUNAR_YEARS = range(1900, 2100)
FESTIVALS = ("double11", "mid618", "double12", "women38", "newyear_goods", "spring_festival")


def festival_name(code: str) -> Message:
    """双11, 618 ... in the reader's language (catalogue keys calendar.festival_<code>)."""
    return t(f"calendar.festival_{code}")


@cache
def spring_festival(year: int) -> date | None:
    """春节 (the first day of the lunar year) in ``year``; 年货节 runs the weeks before it."""
    return LunarDate(year, 1, 1).to_solar_date() if year in LUNAR_YEARS else None


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
