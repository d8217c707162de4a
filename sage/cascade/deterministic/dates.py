"""The calendar and the clock, which a language model does not have: days until, days
ago, weekdays of dates, leap years, Easter, week numbers, time until, time elsewhere."""

from __future__ import annotations

import calendar
import functools
import re
import zoneinfo
from datetime import date, datetime, timedelta

from sage.cascade.deterministic.answer import Answer


class _NoSuchDay(Exception):
    """A date no calendar has ("february 30"), or one only the household knows ("my
    birthday"); its message is the spoken answer."""


_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]  # fmt: skip
_UNTIL = re.compile(
    r"^(?:how many (?P<unit>days|sleeps|weeks)|how long) (?:are |is it |is there )?(?:left )?"
    r"(?:until|till|til|to|before) "
    r"(?:next )?(?P<when>[a-z0-9' ]+)$"
)
_AGO = re.compile(
    r"^(?:was )?(?:the )?(?:day|date|day of the week) (?:was it |was )?"
    r"(?P<n>\d+) (?P<unit>days?|weeks?) ago$"
)
_IN_DAYS = re.compile(
    r"^(?:the )?(?:day|date|day of the week|what day|what date|what day will it be"
    r"|what date will it be|what day is it|what's the date) (?:will it be |is it )?"
    r"in (?P<n>\d+) (?P<unit>days?|weeks?)$"
)


_ON_DAY = (
    re.compile(r"^(?:is |was |will be )?(?P<when>the day (?:after tomorrow|before yesterday))$"),
    re.compile(
        r"^(?:was |is |will be )?(?:the )?(?:day of the week|day|date) "
        r"(?:is it |was it |will it be |is |was |will be )?"
        r"(?:on )?(?P<when>[a-z0-9' ]+)$"
    ),
    re.compile(r"^(?P<when>today|tomorrow|yesterday)'?s? (?:day|date)$"),
    re.compile(r"^when (?:is|was|will be) (?P<when>[a-z0-9' ]+?)(?P<this> this year)?$"),
)
_WEEK = re.compile(
    r"^(?:the )?(?:current )?week (?:of the year |number )?(?:is it|is this|are we in)(?: now)?$"
)
_LEFT_IN_YEAR = re.compile(
    r"^how many days (?:are )?(?:left|remaining) (?:in|of) (?:the|this) year$"
)
_YEAR_OR_MONTH = re.compile(
    r"^(?:the )?(?:current )?(?P<what>year|month)(?: is it| is this| are we in)?(?: now)?$"
)
_RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1, "the day after tomorrow": 2,
             "the day before yesterday": -2}  # fmt: skip


def _named_day(when: str, today: date, this_year: bool = False) -> tuple[date, str] | None:
    """ "tomorrow", "last friday", "next friday", "christmas", "march 3rd" → a date (the
    next one, or this year's when ``this_year``)."""
    if when in _RELATIVE:
        return today + timedelta(days=_RELATIVE[when]), when.capitalize()
    first, _, rest = when.partition(" ")
    if first == "last" and rest in _WEEKDAYS:
        behind = (today.weekday() - _WEEKDAYS.index(rest)) % 7 or 7
        return today - timedelta(days=behind), f"Last {rest.capitalize()}"
    if first in ("next", "this") and rest in _WEEKDAYS:
        return _coming(rest, today), f"{first.capitalize()} {rest.capitalize()}"
    return _target_date(when, today, this_year)


def _coming(weekday: str, today: date) -> date:
    """The next ``weekday`` after today (a week ahead when today is one)."""
    return today + timedelta(days=(_WEEKDAYS.index(weekday) - today.weekday()) % 7 or 7)


_EASTER_OFFSETS = {"easter": 0, "easter sunday": 0, "good friday": -2, "easter monday": 1}
"""Movable feasts, in days from Easter Sunday."""


_NTH_WEEKDAY = {
    "thanksgiving": (11, 3, 4, "Thanksgiving"), "thanksgiving day": (11, 3, 4, "Thanksgiving"),
    "mother's day": (5, 6, 2, "Mother's Day"), "mothers day": (5, 6, 2, "Mother's Day"),
    "father's day": (6, 6, 3, "Father's Day"), "fathers day": (6, 6, 3, "Father's Day"),
    "memorial day": (5, 0, -1, "Memorial Day"), "labor day": (9, 0, 1, "Labor Day"),
}  # fmt: skip
"""US holidays on the nth weekday of a month (month, weekday, n with -1 the last, name).
Other countries keep some of them on other days, so the answer names the US."""
_FIXED = {
    "christmas": (12, 25, "Christmas"), "christmas day": (12, 25, "Christmas"),
    "christmas eve": (12, 24, "Christmas Eve"), "boxing day": (12, 26, "Boxing Day"),
    "new year's eve": (12, 31, "New Year's Eve"), "new years eve": (12, 31, "New Year's Eve"),
    "new year": (1, 1, "New Year's Day"), "new year's": (1, 1, "New Year's Day"),
    "new year's day": (1, 1, "New Year's Day"), "new years": (1, 1, "New Year's Day"),
    "valentine's day": (2, 14, "Valentine's Day"), "valentines day": (2, 14, "Valentine's Day"),
    "st patrick's day": (3, 17, "St Patrick's Day"), "halloween": (10, 31, "Halloween"),
    "independence day": (7, 4, "Independence Day in the US"),
}  # fmt: skip


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``th ``weekday`` (0 = Monday) of a month; n = -1 is the last."""
    days = [d for d in calendar.Calendar().itermonthdates(year, month)
            if d.month == month and d.weekday() == weekday]  # fmt: skip
    return days[n if n < 0 else n - 1]


def _easter(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own names)
    m = (a + 11 * h + 19 * l) // 433
    month = (h + l - 7 * m + 90) // 25
    return date(year, month, (h + l - 7 * m + 33 * month + 19) % 32)


def _target_date(when: str, today: date, this_year: bool = False) -> tuple[date, str] | None:
    """The next date (today included) that ``when`` names, or this year's when
    ``this_year``: a weekday, a holiday, a day of a month, a date with its year. A day
    that no month has ("february 30") raises _NoSuchDay."""
    if when in _WEEKDAYS:
        return _coming(when, today), when.capitalize()
    if when.startswith("my "):  # the base said "There are 10 days until your birthday."
        raise _NoSuchDay(f"I don't know the date of your {when[3:]}. Ask me how many days "
                         "until the date itself.")  # fmt: skip
    given_year = 0
    if when in _EASTER_OFFSETS:
        name = "Easter" if when.startswith("easter s") else when.title()

        def in_year(year: int) -> date:
            return _easter(year) + timedelta(days=_EASTER_OFFSETS[when])

    elif when in _NTH_WEEKDAY:
        month, weekday, n, name = _NTH_WEEKDAY[when]
        name += " in the US"

        def in_year(year: int) -> date:
            return _nth_weekday(year, month, weekday, n)

    else:
        if when in _FIXED:
            month, day, name = _FIXED[when]
        else:
            parts = when.replace("the ", "").replace(" of", "").split()
            if len(parts) == 3 and re.fullmatch(r"\d{4}", parts[-1]):  # "july 4th 1776"
                given_year = int(parts.pop())
            if len(parts) != 2:
                return None
            month_word, day_word = parts if parts[0] in _MONTHS else parts[::-1]
            if month_word not in _MONTHS or not re.fullmatch(r"\d+(?:st|nd|rd|th)?", day_word):
                return None
            month, day = _MONTHS.index(month_word) + 1, int(re.sub(r"\D", "", day_word))
            name = f"{month_word.capitalize()} {day}"

        def in_year(year: int) -> date:
            return date(year, month, day)

    years = [given_year] if given_year else range(today.year, today.year + 9)
    for year in years:  # February 29 waits for a leap year
        try:
            target = in_year(year)
        except ValueError:
            continue
        if target >= today or this_year or given_year:
            return target, name
    raise _NoSuchDay(f"There is no {name}{f', {given_year}' if given_year else ''}.")


def dates(text: str, now: datetime) -> Answer | None:
    """ "how many days until friday", "what day is it in 10 days", "is 2028 a leap year",
    "how long until midnight", "what time is it in tokyo"."""
    today = now.date()
    if hit := _YEAR_OR_MONTH.match(text):  # "what year is it"
        return Answer(f"It's {today.year if hit['what'] == 'year' else today.strftime('%B')}.",
                      "date")  # fmt: skip
    if _WEEK.match(text):  # the base said week 44 in week 47
        week = today.isocalendar()
        return Answer(f"It's week {week.week} of {week.year}.", "date")
    if _LEFT_IN_YEAR.match(text):  # the base said 365 on November 22
        left = (date(today.year, 12, 31) - today).days
        return Answer(f"{left} days are left in {today.year} after today.", "date")
    try:
        return (
            _leap_year(text, today)
            or _time_until(text, now)
            or _time_in(text, now)
            or _until(text, today)
            or _on_day(text, today)
        )
    except _NoSuchDay as exc:  # "how many days until february 30"
        return Answer(str(exc), "date")


_LEAP = re.compile(r"^(?:is|was|will) (?P<year>\d{1,4}) (?:be )?a leap year$")
_NEXT_LEAP = re.compile(r"^(?:when is |when's )?(?:the )?next leap year$")


def _leap_year(text: str, today: date) -> Answer | None:
    """ "is 2027 a leap year" (the base said yes), "when is the next leap year"."""
    if _NEXT_LEAP.match(text):
        year = next(y for y in range(today.year + 1, today.year + 9) if calendar.isleap(y))
        return Answer(f"The next leap year is {year}.", "date")
    if (hit := _LEAP.match(text)) is None:
        return None
    year = int(hit["year"])
    verb = "was" if year < today.year else "is"
    if calendar.isleap(year):
        return Answer(f"Yes, {year} {verb} a leap year.", "date")
    return Answer(f"No, {year} {verb} not a leap year.", "date")


_TIME_UNTIL = re.compile(
    r"^how (?:many (?P<unit>hours|minutes)|long|much time) (?:is it |is there |are there "
    r"|do i have |are )?(?:left )?(?:until|till|til|to|before) (?:it's |it is )?"
    r"(?P<when>midnight|noon|midday|(?P<h>\d{1,2})(?: (?P<m>\d{2}))? ?"
    r"(?P<suffix>am|pm|a m|p m|o'clock|oclock|in the morning|in the afternoon|in the evening"
    r"|at night|tonight)?)$"
)


_HALF_OF_DAY = {"am": "am", "a m": "am", "in the morning": "am", "pm": "pm", "p m": "pm",
                "in the afternoon": "pm", "in the evening": "pm", "at night": "pm",
                "tonight": "pm"}  # fmt: skip


def _time_until(text: str, now: datetime) -> Answer | None:
    """ "how many hours until midnight" → "2 hours and 33 minutes until midnight." (the
    base said 13 hours at 9:27 PM). A clock time without AM or PM is the next one."""
    if (hit := _TIME_UNTIL.match(text)) is None:
        return None
    when = hit["when"]
    if when in ("midnight", "noon", "midday"):
        hours, minute = [0 if when == "midnight" else 12], 0
    else:
        hour, minute = int(hit["h"]), int(hit["m"] or 0)
        half = _HALF_OF_DAY.get(hit["suffix"] or "", "")  # "am", "pm" or not said
        if not 0 <= hour <= 23 or minute > 59 or (half in ("am", "pm") and not 1 <= hour <= 12):
            return None
        if half in ("am", "pm"):
            hours = [hour % 12 + (12 if half == "pm" else 0)]
        else:
            hours = [hour % 12, hour % 12 + 12] if hour <= 12 else [hour]
    start = now.replace(second=0, microsecond=0)
    targets = [start.replace(hour=h, minute=minute) for h in hours]
    target = min(t if t > start else t + timedelta(days=1) for t in targets)
    minutes = int((target - start).total_seconds() // 60)
    name = when if when in ("midnight", "noon", "midday") else _clock(target)
    if hit["unit"] == "minutes" or minutes < 60:
        span = f"{minutes} minute{'s' * (minutes != 1)}"
    else:
        span = f"{minutes // 60} hour{'s' * (minutes // 60 != 1)}"
        if minutes % 60:
            span += f" and {minutes % 60} minute{'s' * (minutes % 60 != 1)}"
    return Answer(f"{span} until {name}.", "date")


def _clock(moment: datetime) -> str:
    """ "6 PM", "5:30 AM": as the time rule says it."""
    return moment.strftime("%I %p" if moment.minute == 0 else "%I:%M %p").lstrip("0")


_TIME_IN = re.compile(
    r"^(?:time is it|the time|the time now|time) (?:right now |now )?in (?P<place>[a-z ]+?)"
    r"(?: right now| now)?$"
)
_COUNTRIES = {
    "japan": "Asia/Tokyo", "china": "Asia/Shanghai", "india": "Asia/Kolkata",
    "england": "Europe/London", "ireland": "Europe/Dublin", "france": "Europe/Paris",
    "germany": "Europe/Berlin", "italy": "Europe/Rome", "spain": "Europe/Madrid",
    "new zealand": "Pacific/Auckland", "korea": "Asia/Seoul", "south korea": "Asia/Seoul",
    "egypt": "Africa/Cairo",
}  # fmt: skip
"""Countries with one time zone that people ask for by name; cities come from tzdata."""


@functools.cache
def _places() -> dict[str, str]:
    """Spoken place name → time zone key: every city in the host's tzdata ("new york" →
    "America/New_York"), and the countries above."""
    places: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        area, _, city = key.rpartition("/")
        if area and not area.startswith(("Etc", "SystemV", "US")):
            places.setdefault(city.replace("_", " ").lower(), key)
    return places | _COUNTRIES


def _time_in(text: str, now: datetime) -> Answer | None:
    """ "what time is it in tokyo" → "In Tokyo it's 6:27 AM, Monday." (a language model
    only guesses; the local clock is converted with the host's time zone data)."""
    if (hit := _TIME_IN.match(text)) is None:
        return None
    place = hit["place"]
    key = _places().get(place)
    if key is None:
        return None
    local = now if now.tzinfo is not None else now.astimezone()
    there = local.astimezone(zoneinfo.ZoneInfo(key))
    day = f", {there:%A}" if there.date() != local.date() else ""
    return Answer(f"In {place.title()} it's {_clock(there)}{day}.", "date")


def _on_day(text: str, today: date) -> Answer | None:
    """ "what day is it tomorrow" → "Tomorrow is Monday, November 23."."""
    hit = next((m for pattern in _ON_DAY if (m := pattern.match(text))), None)
    this_year = bool(hit and hit.groupdict().get("this"))
    found = _named_day(hit["when"].strip(), today, this_year) if hit else None
    if found is None:
        return None
    target, name = found
    verb = "was" if target < today else "is"
    year = f", {target.year}" if target.year != today.year else ""
    if name.split()[0].lower() in _MONTHS:
        return Answer(f"{name}{year} {verb} a {target.strftime('%A')}.", "date")
    if name.split()[-1].lower() in _WEEKDAYS:  # "Next Friday is November 27."
        return Answer(f"{name} {verb} {target.strftime('%B')} {target.day}{year}.", "date")
    return Answer(f"{name} {verb} {target.strftime('%A, %B')} {target.day}{year}.", "date")


def _span(days: int, in_weeks: bool) -> str:
    """ "33 days", or "4 weeks and 5 days" when asked in weeks."""
    weeks, rest = divmod(days, 7) if in_weeks else (0, days)
    parts = [f"{n} {unit}{'s' * (n != 1)}" for n, unit in ((weeks, "week"), (rest, "day")) if n]
    return " and ".join(parts)


def _until(text: str, today: date) -> Answer | None:
    if hit := _UNTIL.match(text):
        found = _target_date(hit["when"].strip(), today)
        if found is None:
            return None
        target, name = found
        days = (target - today).days
        if days == 0:
            return Answer(f"{name} is today.", "date")
        if days < 0:  # "how many days until july 4th 1776"
            return Answer(f"{name}, {target.year} was {-days} days ago.", "date")
        if name in map(str.capitalize, _WEEKDAYS):
            on = f"{target.strftime('%B')} {target.day}"
        elif name.split()[0].lower() in _MONTHS:
            on = f"a {target.strftime('%A')}"
        else:
            on = f"{target.strftime('%A, %B')} {target.day}"
        if target.year != today.year and not on.startswith("a "):
            on += f", {target.year}"
        return Answer(f"{_span(days, hit['unit'] == 'weeks')} until {name}, {on}.", "date")
    if hit := _IN_DAYS.match(text):
        days = int(hit["n"]) * (7 if hit["unit"].startswith("week") else 1)
        if days > 36_500:
            return None
        target = today + timedelta(days=days)
        return Answer(f"In {hit['n']} {hit['unit']} it will be {target.strftime('%A, %B')} "
                      f"{target.day}, {target.year}.", "date")  # fmt: skip
    if hit := _AGO.match(text):  # the base said "Three days ago was a Saturday." on a Sunday
        days = int(hit["n"]) * (7 if hit["unit"].startswith("week") else 1)
        if days > 36_500:
            return None
        target = today - timedelta(days=days)
        year = f", {target.year}" if target.year != today.year else ""
        return Answer(f"{hit['n']} {hit['unit']} ago it was {target.strftime('%A, %B')} "
                      f"{target.day}{year}.", "date")  # fmt: skip
    return None
