"""The calendar, which a language model does not have: days until, days ago, weekdays of
dates, leap years, Easter and other holidays, week numbers."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta

from sage.cascade.deterministic.answer import Answer, spoken_date
from sage.cascade.deterministic.clock import southern_hemisphere
from sage.cascade.deterministic.sky import EVENTS, SEASONS, next_moon, season_start


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


_WHICH_YEAR = r"(?: (?P<year>this year|next year|last year|in \d{4}))?"
"""A year asked for: "when is easter next year" (the base said April 19 for March 28)."""
_ON_DAY = (
    re.compile(
        r"^(?:is |was |will be )?(?P<when>the day (?:after|before) [a-z0-9' ]+?)"
        + _WHICH_YEAR
        + "$"
    ),
    # "what day is christmas on this year": the base gave the date, not the day, and said
    # New Year's Day 2026 was a Monday
    re.compile(
        r"^(?:day|day of the week) (?:is|was|does|did|will) (?!it )(?P<when>[a-z0-9' ]+?)"
        r"(?: (?:fall|land|be))?(?: on)?" + _WHICH_YEAR + "$"
    ),
    re.compile(
        r"^(?:was |is |will be )?(?:the )?(?:day of the week|day|date) "
        r"(?:is it |was it |will it be |is |was |will be )?"
        r"(?:on |of )?(?P<when>[a-z0-9' ]+?)" + _WHICH_YEAR + "$"
    ),
    re.compile(r"^(?P<when>today|tomorrow|yesterday)'?s? (?:day|date)$"),
    re.compile(r"^when (?:is|was|will be) (?P<when>[a-z0-9' ]+?)" + _WHICH_YEAR + "$"),
    re.compile(
        r"^when (?:does|did|will) (?P<when>spring|summer|autumn|fall|winter) "
        r"(?:start|begin)" + _WHICH_YEAR + "$"
    ),
    re.compile(
        r"^(?P<when>(?:the )?(?:first day|start|beginning) of (?:spring|summer|autumn|fall"
        r"|winter))" + _WHICH_YEAR + "$"
    ),
    # "what's the 4th of july this year": a named day with its year, asked bare
    re.compile(r"^(?P<when>[a-z0-9' ]+?) (?P<year>this year|next year|last year|in \d{4})$"),
)
_WEEK = re.compile(
    r"^(?:the )?(?:current )?week (?:of the year |number )?(?:is it|is this|are we in)(?: now)?$"
)
_LEFT_IN_YEAR = re.compile(
    r"^how many (?P<unit>days|weeks) (?:are )?(?:left|remaining) (?:in|of) (?:the|this) year$"
)
_YEAR_OR_MONTH = re.compile(
    r"^(?:the )?(?:current )?(?P<what>year|month)(?: is it| is this| are we in)?(?: now)?$"
)
_DAY_OF_YEAR = re.compile(r"^(?:the )?day of the year (?:is it|is today|is this)(?: today)?$")
_WEEKEND = re.compile(r"^is it (?:the |a )?weekend(?: yet| today| now)?$")
_MONTH_DAYS = re.compile(
    r"^how many days (?:are (?:there )?|is there )?in (?P<month>this month|next month"
    r"|last month|[a-z]+)(?: (?P<year>\d{4}|this year|next year|last year|in \d{4}))?$"
)
_FROM_NOW = re.compile(
    r"^(?:the )?(?:day|date|day of the week) (?:will it be |is it |is |will be )?"
    r"(?P<n>\d+|a|one) (?P<unit>days?|weeks?) from (?:today|now)$"
)
_SINCE = re.compile(
    r"^(?:how many (?P<unit>days|weeks) (?:has it been |have passed |is it |are there "
    r"|have there been )?|how long (?:has it been |is it )?)since (?P<when>[a-z0-9' ]+)$"
)
_BETWEEN = re.compile(
    r"^how many (?P<unit>days|weeks) (?:are (?:there )?|is it )?(?:between|from) "
    r"(?P<a>[a-z0-9' ]+?) (?:and|to|until|till) (?P<b>[a-z0-9' ]+)$"
)
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
             "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth")  # fmt: skip
_SPOKEN_DAYS = {
    **{word: n for n, word in enumerate(_ORDINALS, 1)},
    **{f"20 {word}": 20 + n for n, word in enumerate(_ORDINALS[:9], 1)},  # "twenty-first"
    "thirtieth": 30,
    "30 first": 31,
}
DAY_OF_MONTH = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{'|'.join(sorted(_SPOKEN_DAYS, key=len)[::-1])})"
"""A day of a month as said: "3", "3rd", "third", "20 first" (normalise's "twenty-first")."""
_MONTH = f"(?:{'|'.join(_MONTHS)})"
CALENDAR_DAY = (rf"(?:the )?{DAY_OF_MONTH}(?: of)? {_MONTH}|{_MONTH} (?:the )?{DAY_OF_MONTH}"
                rf"|the {DAY_OF_MONTH}")  # fmt: skip
"""A date without its year: "december 3rd", "the 3rd of december", "3 december", "the 1st"."""


def _day_number(said: str) -> int | None:
    """ "3rd", "third" or "20 first" → 3, 3, 21; None for another word or no such day."""
    if re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", said):
        number = int(re.sub(r"\D", "", said))
        return number if 1 <= number <= 31 else None
    return _SPOKEN_DAYS.get(said)


_RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1, "the day after tomorrow": 2,
             "the day before yesterday": -2}  # fmt: skip


_NEXT_TO = re.compile(r"^the day (?P<side>after|before) (?P<day>.+)$")


def _named_day(when: str, today: date, asked_year: int = 0) -> tuple[date, str] | None:
    """ "tomorrow", "last friday", "next friday", "christmas", "march 3rd" → a date (the
    next one, or the one in ``asked_year``)."""
    if when in _RELATIVE:
        return today + timedelta(days=_RELATIVE[when]), when.capitalize()
    first, _, rest = when.partition(" ")
    if first == "last" and rest in _WEEKDAYS:
        behind = (today.weekday() - _WEEKDAYS.index(rest)) % 7 or 7
        return today - timedelta(days=behind), f"Last {rest.capitalize()}"
    if first in ("next", "this") and rest in _WEEKDAYS:
        return _coming(rest, today), f"{first.capitalize()} {rest.capitalize()}"
    if hit := _NEXT_TO.match(when):  # the base said January 2 for the day after Christmas
        found = _target_date(hit["day"], today, asked_year)
        if found is None:
            return None
        step = 1 if hit["side"] == "after" else -1
        return found[0] + timedelta(days=step), f"The day {hit['side']} {found[1]}"
    return _target_date(when, today, asked_year)


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
    **dict.fromkeys(("the 4th of july", "4th of july", "the fourth of july", "fourth of july"),
                    (7, 4, "the 4th of July")),  # the base said July 4, 2026 was a Monday
}  # fmt: skip


_SEASON_START = re.compile(r"^(?:the )?(?:first day of |start of |beginning of )?")
_SEASON_EVENTS = {**{event: i for i, event in enumerate(EVENTS)}, **SEASONS,
                  "vernal equinox": 0, "fall equinox": 2, "autumnal equinox": 2,
                  "longest day": 1, "shortest day": 3}  # fmt: skip


def _season(when: str) -> int | None:
    """ "summer", "the first day of winter", "the spring equinox" → which equinox or
    solstice (0 March ... 3 December)."""
    return _SEASON_EVENTS.get(_SEASON_START.sub("", when, count=1))


_MOONS = {"full moon": "full", "new moon": "new"}


def _next_day_of_month(day: int, today: date) -> date:
    """The next date (today included) that is the ``day``th of its month."""
    year, month = today.year, today.month
    while (year, month, day) < (today.year, today.month, today.day) or (
        day > calendar.monthrange(year, month)[1]
    ):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, day)


def _month_mark(when: str, today: date) -> date | None:
    """ "next month" (also "month": "until next month" arrives without its "next"), "the
    end of the month", "the end of the year"."""
    first_of_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    return {"next month": first_of_next, "month": first_of_next,
            "the end of the month": first_of_next - timedelta(days=1),
            "the end of the year": date(today.year, 12, 31)}.get(when)  # fmt: skip


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


def _target_date(when: str, today: date, asked_year: int = 0) -> tuple[date, str] | None:
    """The next date (today included) that ``when`` names, or the one in ``asked_year``: a
    weekday, a holiday, a day of a month, a date with its year. A day that no month has
    ("february 30") raises _NoSuchDay."""
    if when in _WEEKDAYS:
        return _coming(when, today), when.capitalize()
    if when in ("the weekend", "weekend"):  # the base said 2 days on a Sunday
        if today.weekday() >= 5:
            return today, "the weekend"
        return _coming("saturday", today), "the weekend"
    if (mark := _month_mark(when, today)) is not None:  # the base said 30 until next month
        return mark, "next month" if when == "month" else when
    if when.startswith("my "):  # the base said "There are 10 days until your birthday."
        raise _NoSuchDay(f"I don't know the date of your {when[3:]}. Ask me how many days "
                         "until the date itself.")  # fmt: skip
    phase = _MOONS.get(when.removeprefix("the ").removeprefix("next "))
    if phase is not None:  # the base invented "December 21" for the next full moon
        midnight = datetime.combine(today, time()).astimezone()  # the host's own day
        return next_moon(midnight, phase == "full").astimezone().date(), f"the {phase} moon"
    given_year = 0
    if (event := _season(when)) is not None:  # the base said 4 weeks until summer in November
        name = f"the {EVENTS[event]}"
        in_sky = (event + 2) % 4 if southern_hemisphere() else event  # summer: December

        def in_year(year: int) -> date:
            return season_start(year, in_sky).astimezone().date()  # the host's own day

    elif when in _EASTER_OFFSETS:
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
            words = when.replace("the ", "").replace(" of", "")
            if hit := re.fullmatch(r"(.+) (\d{4})", words):  # "july 4th 1776"
                words, given_year = hit[1], int(hit[2])
            if (day_number := _day_number(words)) is not None:  # "the 1st", of the next month
                target = _next_day_of_month(day_number, today)
                return target, f"{target:%B} {day_number}"
            month_word, _, day_word = words.partition(" ")
            if month_word not in _MONTHS:
                day_word, _, month_word = words.rpartition(" ")
            day_number = _day_number(day_word)
            if month_word not in _MONTHS or day_number is None:
                return None
            month, day = _MONTHS.index(month_word) + 1, day_number
            name = f"{month_word.capitalize()} {day}"

        def in_year(year: int) -> date:
            return date(year, month, day)

    asked = given_year or asked_year
    for candidate in [asked] if asked else range(today.year, today.year + 9):
        try:  # February 29 waits for a leap year
            target = in_year(candidate)
        except ValueError:
            continue
        if target >= today or asked:
            return target, name
    raise _NoSuchDay(f"There is no {name}{f', {asked}' if asked else ''}.")


def dates(text: str, now: datetime) -> Answer | None:
    """ "how many days until friday", "what day is it in 10 days", "is 2028 a leap year"."""
    today = now.date()
    try:
        return (
            _about_today(text, today)
            or _leap_year(text, today)
            or _years(text, today)
            or _until(text, today)
            or _spans(text, today)
            or _holidays(text, today)
            or _count_days(text, today)
            or _on_day(text, today)
        )
    except _NoSuchDay as exc:  # "how many days until february 30"
        return Answer(str(exc), "date")


_YEARS_AGO = re.compile(
    r"^how (?:many years ago|long ago) (?:was|did|is) (?:it |the year )?(?P<year>\d{4})"
    r"|^how many years (?:has it been )?(?:since|until|till|to|before) (?:the year )?"
    r"(?P<other>\d{4})$"
)
_BORN_IN = re.compile(
    r"^how old (?:is|would be|will be) (?:someone|somebody|a person|a child|a baby) born in "
    r"(?P<year>\d{4})$|^how old (?:would|will|am) i (?:be )?if i (?:was|were|am) born in "
    r"(?P<mine>\d{4})$"
)


def _years(text: str, today: date) -> Answer | None:
    """ "how many years ago was 1912" → "1912 was 114 years ago." (the base said 100, after
    saying the Titanic sank in 1912); "how old is someone born in 1990"."""
    if hit := _BORN_IN.match(text):
        year = int(hit["year"] or hit["mine"])
        age = today.year - year
        if not 0 < age < 130:
            return None
        who, whose = ("You'd be", "your") if hit["mine"] else (f"Someone born in {year} is",
                                                                "their")  # fmt: skip
        return Answer(f"{who} {age - 1}, or {age} once {whose} birthday has come this year.",
                      "date")  # fmt: skip
    if (hit := _YEARS_AGO.match(text)) is None:
        return None
    year = int(hit["year"] or hit["other"])
    span = today.year - year
    years = f"{abs(span)} year{'s' * (abs(span) != 1)}"
    if span > 0:
        return Answer(f"{year} was {years} ago.", "date")
    if span < 0:
        return Answer(f"{year} is {years} from now.", "date")
    return Answer(f"{year} is this year.", "date")


def _about_today(text: str, today: date) -> Answer | None:
    """The year, month or week it is, the day of the year, the weekend, the days left in
    the year and in a month. The base said week 44 in week 47, 365 days left in the year
    on November 22, day 365 of the year, 31 days in November and "No, it is not a
    weekend." on a Sunday."""
    if hit := _YEAR_OR_MONTH.match(text):  # "what year is it"
        return Answer(f"It's {today.year if hit['what'] == 'year' else today.strftime('%B')}.",
                      "date")  # fmt: skip
    if _WEEK.match(text):
        week = today.isocalendar()
        return Answer(f"It's week {week.week} of {week.year}.", "date")
    if _DAY_OF_YEAR.match(text):
        return Answer(f"Today is day {today.timetuple().tm_yday} of {today.year}.", "date")
    if _WEEKEND.match(text):
        if today.weekday() >= 5:
            return Answer(f"Yes, it's {today:%A}.", "date")
        days = 5 - today.weekday()
        return Answer(f"No, it's {today:%A}. The weekend starts on Saturday, in {days} "
                      f"day{'s' * (days != 1)}.", "date")  # fmt: skip
    if hit := _LEFT_IN_YEAR.match(text):  # the base said 52 weeks on November 22
        left = (date(today.year, 12, 31) - today).days
        return Answer(f"{_span(left, hit['unit'] == 'weeks')} are left in {today.year} after "
                      "today.", "date")  # fmt: skip
    if hit := _MONTH_DAYS.match(text):  # "how many days are in this month"
        month, year = today.month, today.year
        named = {"this month": 0, "next month": 1, "last month": -1}
        if hit["month"] in named:
            index = today.year * 12 + today.month - 1 + named[hit["month"]]
            year, month = index // 12, index % 12 + 1
        elif hit["month"] in _MONTHS:
            month = _MONTHS.index(hit["month"]) + 1
            year = _year(hit, today) or today.year + (month < today.month)
        else:
            return None
        days = calendar.monthrange(year, month)[1]
        said = date(year, month, 1).strftime("%B") + (f" {year}" if year != today.year else "")
        return Answer(f"{said} has {days} days.", "date")
    return None


def _spans(text: str, today: date) -> Answer | None:
    """ "how many days since new year" (the base said 365 on November 22), "how many days
    between christmas and new year" (it said 11)."""
    if hit := _SINCE.match(text):
        found = _last(hit["when"].strip(), today)
        if found is None:
            return None
        target, name = found
        days = (today - target).days
        return Answer(f"{_span(days, hit['unit'] == 'weeks')} since {name}, "
                      f"{_which(name, target, today)}.", "date")  # fmt: skip
    if hit := _BETWEEN.match(text):
        first = _named_day(hit["a"].strip(), today)
        if first is None:
            return None
        second = _named_day(hit["b"].strip(), first[0])  # the next one on or after the first
        if second is None:
            return None
        days = abs((second[0] - first[0]).days)
        names = [name.lower() if name.lower() in _RELATIVE else name
                 for name in (first[1], second[1])]  # fmt: skip
        return Answer(f"{_span(days, hit['unit'] == 'weeks')} from {names[0]} "
                      f"to {names[1]}.", "date")  # fmt: skip
    return None


def _last(when: str, today: date) -> tuple[date, str] | None:
    """The latest day on or before today that ``when`` names ("new year", "monday")."""
    if when in _WEEKDAYS:
        behind = (today.weekday() - _WEEKDAYS.index(when)) % 7 or 7
        return today - timedelta(days=behind), when.capitalize()
    found = _named_day(when, today, today.year)
    if found is not None and found[0] > today:
        found = _named_day(when, today, today.year - 1)
    return found


_LEAP = re.compile(
    r"^(?:is|was|will) (?P<year>\d{1,4}|it|this year|next year|last year) (?:be )?a leap year$"
)
_NEXT_LEAP = re.compile(r"^(?:when is |when's )?(?:the )?next leap year$")


def _leap_year(text: str, today: date) -> Answer | None:
    """ "is 2027 a leap year" (the base said yes), "when is the next leap year"."""
    if _NEXT_LEAP.match(text):
        year = next(y for y in range(today.year + 1, today.year + 9) if calendar.isleap(y))
        return Answer(f"The next leap year is {year}.", "date")
    if (hit := _LEAP.match(text)) is None:
        return None
    year = _said_year(hit["year"], today)
    verb = "was" if year < today.year else "is"
    if calendar.isleap(year):
        return Answer(f"Yes, {year} {verb} a leap year.", "date")
    return Answer(f"No, {year} {verb} not a leap year.", "date")


def _on_day(text: str, today: date) -> Answer | None:
    """ "what day is it tomorrow" → "Tomorrow is Monday, November 23."."""
    hit = next((m for pattern in _ON_DAY if (m := pattern.match(text))), None)
    found = _named_day(hit["when"].strip(), today, _year(hit, today)) if hit else None
    if found is None:
        return None
    target, name = found
    verb = "was" if target < today else "is"
    year = f", {target.year}" if target.year != today.year else ""
    if name.split()[0].lower() in _MONTHS:
        return Answer(f"{name}{year} {verb} a {target.strftime('%A')}.", "date")
    if name.split()[-1].lower() in _WEEKDAYS:  # "Next Friday is November 27."
        return Answer(f"{name} {verb} {target.strftime('%B')} {target.day}{year}.", "date")
    return Answer(f"{name} {verb} {spoken_date(target, today)}.", "date")


def _year(hit: re.Match[str], today: date) -> int:
    """The year a question asks about ("next year", "in 2030"), or 0 for the next date."""
    return _said_year(hit.groupdict().get("year") or "", today)


_YEAR_OFFSETS = {"this year": 0, "it": 0, "next year": 1, "last year": -1}
"""Years said by their distance from this one ("is it a leap year": this year)."""


def _said_year(said: str, today: date) -> int:
    """ "next year", "in 2030" or "2030" as a year; "" as 0."""
    if said in _YEAR_OFFSETS:
        return today.year + _YEAR_OFFSETS[said]
    return int(said.removeprefix("in ")) if said else 0


def _which(name: str, target: date, today: date) -> str:
    """What to add to a day's name to say which day it is: "November 27" for "Friday", "a
    Friday" for "December 25", the whole date for "Christmas"."""
    if name.split()[0].lower() in _MONTHS:
        return f"a {target:%A}"
    if name not in map(str.capitalize, _WEEKDAYS):
        return spoken_date(target, today)
    return f"{target:%B} {target.day}" + (f", {target.year}" if target.year != today.year else "")


def _span(days: int, in_weeks: bool) -> str:
    """ "33 days", or "4 weeks and 5 days" when asked in weeks; "0 days"."""
    weeks, rest = divmod(days, 7) if in_weeks else (0, days)
    parts = [f"{n} {unit}{'s' * (n != 1)}" for n, unit in ((weeks, "week"), (rest, "day")) if n]
    return " and ".join(parts) or "0 days"


def _until(text: str, today: date) -> Answer | None:
    if hit := _UNTIL.match(text):
        found = _target_date(hit["when"].strip(), today)
        if found is None:
            return None
        target, name = found
        days = (target - today).days
        if days == 0:
            now_said = "It's the weekend now." if name == "the weekend" else f"{name} is today."
            return Answer(now_said, "date")
        if days < 0:  # "how many days until july 4th 1776"
            return Answer(f"{name}, {target.year} was {-days} days ago.", "date")
        return Answer(f"{_span(days, hit['unit'] == 'weeks')} until {name}, "
                      f"{_which(name, target, today)}.", "date")  # fmt: skip
    if hit := _IN_DAYS.match(text) or _FROM_NOW.match(text):  # the base said December 29
        n = 1 if hit["n"] in ("a", "one") else int(hit["n"])
        days = n * (7 if hit["unit"].startswith("week") else 1)
        if days > 36_500:
            return None
        target = today + timedelta(days=days)
        return Answer(f"In {_span(days, hit['unit'].startswith('week'))} it will be "
                      f"{target:%A, %B} {target.day}, {target.year}.", "date")  # fmt: skip
    if hit := _AGO.match(text):  # the base said "Three days ago was a Saturday." on a Sunday
        days = int(hit["n"]) * (7 if hit["unit"].startswith("week") else 1)
        if days > 36_500:
            return None
        target = today - timedelta(days=days)
        return Answer(f"{hit['n']} {hit['unit']} ago it was {spoken_date(target, today)}.",
                      "date")  # fmt: skip
    return None


_HOLIDAYS = ("new year's day", "valentine's day", "st patrick's day", "easter", "mother's day",
             "memorial day", "father's day", "independence day", "labor day", "halloween",
             "thanksgiving", "christmas eve", "christmas", "new year's eve")  # fmt: skip
"""The named days "is today a holiday" and "the next holiday" look through."""
_HOLIDAY_TODAY = re.compile(r"^is (?:today|it) a (?:public |bank )?holiday(?: today)?$")
_NEXT_HOLIDAY = re.compile(r"^(?:when is |when's )?(?:the )?next (?:public |bank )?holiday$")
_COUNT_DAYS = re.compile(
    rf"^how many (?P<day>{'|'.join(_WEEKDAYS)}|weekend)s (?:are there |are left |is there "
    r"|do we have |have we got )?(?:left )?(?:until|till|before) (?P<when>[a-z0-9' ]+)$"
)


def _holidays(text: str, today: date) -> Answer | None:
    """ "is today a holiday" (the base guessed), "what's the next holiday"."""
    if not (_HOLIDAY_TODAY.match(text) or _NEXT_HOLIDAY.match(text)):
        return None
    known = [_target_date(name, today) for name in _HOLIDAYS]
    target, name = min(day for day in known if day is not None)
    asked_today = text.startswith("is")
    if target == today:
        return Answer(f"Yes, today is {name}." if asked_today else f"Today is {name}.", "date")
    said = f"{name}, {_which(name, target, today)}"
    if asked_today:
        return Answer(f"Not one I know of. The next is {said}.", "date")
    return Answer(f"The next holiday is {said}.", "date")


def _count_days(text: str, today: date) -> Answer | None:
    """ "how many mondays until christmas" (the base said 10, on a Monday four weeks
    before): the ones after today and before the day."""
    if (hit := _COUNT_DAYS.match(text)) is None:
        return None
    found = _target_date(hit["when"].strip(), today)
    if found is None:
        return None
    target, name = found
    weekday = _WEEKDAYS.index(hit["day"]) if hit["day"] in _WEEKDAYS else 5  # Saturdays
    first = today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    count = max(0, ((target - first).days - 1) // 7 + 1)
    day = hit["day"] if hit["day"] == "weekend" else hit["day"].capitalize()
    day += "" if count == 1 else "s"
    return Answer(f"{count or 'No'} more {day} before {name}, "
                  f"{_which(name, target, today)}.", "date")  # fmt: skip


def next_date(when: str, today: date) -> date | None:
    """The next date (today included) that ``when`` names: "december 3rd", "the 1st",
    "friday", "christmas"; None for none ("february 30")."""
    try:
        found = _target_date(when, today)
    except _NoSuchDay:
        return None
    return found[0] if found else None
