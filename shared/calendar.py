"""The Chinese shopping calendar: festivals that move demand, and distances to them. Pure."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

# Spring Festival (春节) dates; 年货节 (the New Year goods festival) runs the weeks before it.
SPRING_FESTIVAL = {
    2016: date(2016, 2, 8), 2017: date(2017, 1, 28), 2018: date(2018, 2, 16), 2019: date(2019, 2, 5),
    2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22),
    2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}
FESTIVAL_NAMES = {"double11": "双11", "mid618": "618", "double12": "双12", "women38": "38节",
                  "newyear_goods": "年货节", "spring_festival": "春节"}


def festival_days(year: int) -> dict[str, tuple[date, date, date]]:
    """name -> (first day of the campaign, peak day, last day) for one year."""
    spring = SPRING_FESTIVAL.get(year)
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
    peaks, campaign = [], {name: np.zeros(len(dates), dtype=np.int8) for name in FESTIVAL_NAMES}
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
