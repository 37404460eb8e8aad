"""The shop's calendar: festival days from the lunar calendar and seasons from the public holidays,
the one source both the question reader and the forecasting features read."""

from datetime import date

import pytest

from shared.calendar import FESTIVAL_DAYS, calendar_features, festival_day, festival_days, festival_season


@pytest.mark.parametrize(("year", "qixi", "mid_autumn", "spring"), [
    (2024, date(2024, 8, 10), date(2024, 9, 17), date(2024, 2, 10)),
    (2025, date(2025, 8, 29), date(2025, 10, 6), date(2025, 1, 29)),
    (2026, date(2026, 8, 19), date(2026, 9, 25), date(2026, 2, 17)),
    (2027, date(2027, 8, 8), date(2027, 9, 15), date(2027, 2, 6)),
])
def test_lunar_festivals_fall_on_the_published_days(year, qixi, mid_autumn, spring):
    assert (festival_day("qixi", year), festival_day("mid_autumn", year), festival_day("spring_festival", year)) == (
        qixi, mid_autumn, spring)


def test_campaign_seasons_are_the_forecasting_features_campaigns():
    for code, (start, _peak, end) in festival_days(2026).items():
        assert festival_season(code, 2026) == (start, end)
    features = calendar_features([date(2026, 11, 10), date(2026, 11, 12)])
    assert features["fest_double11"].tolist() == [1, 0]


def test_holiday_seasons_skip_the_make_up_workdays():
    assert festival_season("new_year", 2026) == (date(2026, 1, 1), date(2026, 1, 3))  # 01-04 is worked
    assert festival_season("labour_day", 2026) == (date(2026, 5, 1), date(2026, 5, 5))  # 05-09 is worked
    assert festival_season("national_day", 2025) == (date(2025, 10, 1), date(2025, 10, 7))


def test_a_year_the_holiday_data_does_not_cover_has_no_holiday_season():
    assert festival_season("mid_autumn", 2099) is None  # the reader then reads the day
    assert festival_season("valentine", 2026) is None  # no campaign, no public holiday


def test_every_festival_has_a_day_in_a_lunar_year():
    assert all(FESTIVAL_DAYS[code](2030) is not None for code in FESTIVAL_DAYS)
