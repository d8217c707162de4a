"""The clock, which a language model does not have: time until a clock time, the time
in another place, from the host's time zone data."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import datetime, timedelta, timezone, tzinfo

from sage.cascade.deterministic.answer import Answer, spoken_date
from sage.host import time_zone_row


def clock(text: str, now: datetime) -> Answer | None:
    """ "how long until midnight", "what time is it in tokyo", "the time difference
    between london and tokyo"."""
    if hit := _MEAL.match(text):  # the base said "1 hour and 50 minutes until dinner"
        return Answer(f"I don't know when {hit['meal']} is here. Ask me how long until the "
                      "time itself, like 7 PM.", "date")  # fmt: skip
    return (_time_until(text, now) or _time_in(text, now) or _difference(text, now)
            or _time_after(text, now) or _time_around(text, now)
            or _daylight_saving(text, now))  # fmt: skip


_MEAL = re.compile(
    r"^how (?:many (?:hours|minutes)|long|much time) (?:is it |is there |are there )?"
    r"(?:until|till|til|to|before) (?P<meal>breakfast|lunch|dinner|supper|tea)(?: time)?$"
)


CLOCK_TIME = (
    r"(?P<when>midnight|noon|midday|(?P<h>\d{1,2})(?: (?P<m>\d{2}))? ?"
    r"(?P<suffix>am|pm|a m|p m|o'clock|oclock|in the morning|in the afternoon|in the evening"
    r"|at night|tonight)?)"
)
"""A time of day as it is said (normalised): "7 30 am", "6 in the evening", "noon"."""
_TIME_UNTIL = re.compile(
    r"^how (?:many (?P<unit>hours|minutes)|long|much time) (?:is it |is there |are there "
    rf"|do i have |are )?(?:left )?(?:until|till|til|to|before) (?:it's |it is )?{CLOCK_TIME}$"
)


_HALF_OF_DAY = {"am": "am", "a m": "am", "in the morning": "am", "pm": "pm", "p m": "pm",
                "in the afternoon": "pm", "in the evening": "pm", "at night": "pm",
                "tonight": "pm"}  # fmt: skip


def next_time(hit: re.Match[str], now: datetime) -> datetime | None:
    """The next moment the time of day in ``hit`` (CLOCK_TIME's groups) comes round; one
    without AM or PM is the nearer of the two. None for no such time ("25 pm")."""
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
    return min(t if t > start else t + timedelta(days=1) for t in targets)


def _time_until(text: str, now: datetime) -> Answer | None:
    """ "how many hours until midnight" → "2 hours and 33 minutes until midnight." (the
    base said 13 hours at 9:27 PM). A clock time without AM or PM is the next one."""
    if (hit := _TIME_UNTIL.match(text)) is None or (target := next_time(hit, now)) is None:
        return None
    when = hit["when"]
    start = now.replace(second=0, microsecond=0)
    minutes = int((target - start).total_seconds() // 60)
    name = when if when in ("midnight", "noon", "midday") else spoken_clock(target)
    if hit["unit"] == "minutes" or minutes < 60:
        span = f"{minutes} minute{'s' * (minutes != 1)}"
    else:
        span = f"{minutes // 60} hour{'s' * (minutes // 60 != 1)}"
        if minutes % 60:
            span += f" and {minutes % 60} minute{'s' * (minutes % 60 != 1)}"
    return Answer(f"{span} until {name}.", "date")


def spoken_clock(moment: datetime) -> str:
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
    "egypt": "Africa/Cairo", "california": "America/Los_Angeles",
    "texas": "America/Chicago", "florida": "America/New_York", "hawaii": "Pacific/Honolulu",
    "alaska": "America/Anchorage", "arizona": "America/Phoenix", "colorado": "America/Denver",
}  # fmt: skip
"""Countries and US states with one time zone that people ask for by name; cities come
from tzdata. The base said 12:10 AM in California at 3:10 PM there."""
_BIGGEST_CITY = {
    "australia": "sydney", "russia": "moscow", "brazil": "sao paulo", "canada": "toronto",
    "mexico": "mexico city", "america": "new york", "the us": "new york",
    "the united states": "new york", "usa": "new york",
}  # fmt: skip
"""Countries with several time zones: the answer names the city it is for."""


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
    if (zone := _zone(hit["place"])) is None:
        return None
    local = now if now.tzinfo is not None else now.astimezone()
    there = local.astimezone(zone[0])
    day = f", {there:%A}" if there.date() != local.date() else ""
    return Answer(f"In {zone[1]} it's {spoken_clock(there)}{day}.", "date")


def _zone(place: str) -> tuple[tzinfo, str] | None:
    """A spoken place's time zone and the place the answer names: a country with several
    zones is named by its biggest city."""
    said = _BIGGEST_CITY.get(place, place)
    key = _places().get(said)
    return (zoneinfo.ZoneInfo(key), said.title()) if key is not None else None


_DIFFERENCE = re.compile(
    r"^(?:the )?time difference (?:between|from) (?P<a>[a-z ]+?) (?:and|to) (?P<b>[a-z ]+)$"
    r"|^how many hours (?:ahead|behind|ahead or behind) (?:is|are) (?P<b2>[a-z ]+?)"
    r"(?: from here| of here| of us)?$"
)


def _difference(text: str, now: datetime) -> Answer | None:
    """ "the time difference between london and tokyo" → "Tokyo is 9 hours ahead of
    London." (the base said 1 hour), as the clocks stand today."""
    if (hit := _DIFFERENCE.match(text)) is None:
        return None
    local = now if now.tzinfo is not None else now.astimezone()
    here = (local.tzinfo, "here")
    zones = [_zone(hit["a"]), _zone(hit["b"])] if hit["b"] else [here, _zone(hit["b2"])]
    found = [zone for zone in zones if zone is not None]
    if len(found) != 2:
        return None
    offsets = [local.astimezone(zone).utcoffset() or timedelta() for zone, _ in found]
    minutes = int((offsets[1] - offsets[0]).total_seconds() // 60)
    a, b = (said for _, said in found)
    if minutes == 0:
        return Answer(f"{a} and {b} keep the same time.", "date")
    hours, rest = divmod(abs(minutes), 60)
    span = f"{hours} hour{'s' * (hours != 1)}" + (f" and {rest} minutes" if rest else "")
    return Answer(f"{b} is {span} {'ahead of' if minutes > 0 else 'behind'} {a}.", "date")


_SPAN = r"(?P<n>\d+(?: point \d+)?|an|a|half an) (?P<unit>hours?|minutes?)(?P<half> and a half)?"
_TIME_AFTER = (
    re.compile(rf"^(?:time|the time) (?:will it be|is it|would it be) in {_SPAN}$"),
    re.compile(rf"^(?:time|the time) (?:was it|it was) {_SPAN} ago$"),
    re.compile(rf"^(?:(?:time|the time) (?:will it be|is it) )?{_SPAN} from now$"),
)


def span_count(said: str) -> float:
    """The count of a spoken span: "an" (hour), "half an", "5", "1 point 5" (whisper's 1.5)."""
    return {"an": 1.0, "a": 1.0, "half an": 0.5}.get(said) or float(said.replace(" point ", "."))


def _minutes(hit: re.Match[str]) -> float:
    """A span's minutes (_SPAN's groups): "an hour and a half", "1 point 5 hours"."""
    n = span_count(hit["n"]) + (0.5 if hit["half"] else 0.0)
    return n * (60 if hit["unit"].startswith("hour") else 1)


def _time_after(text: str, now: datetime) -> Answer | None:
    """ "what time will it be in 45 minutes" → "In 45 minutes it will be 3:42 AM." (the
    base said 3:02 AM); "what time was it 3 hours ago"."""
    for pattern in _TIME_AFTER:
        if hit := pattern.match(text):
            break
    else:
        return None
    minutes = _minutes(hit)
    if minutes > 7 * 24 * 60:
        return None  # a time a week away is a date question
    ago = text.endswith(" ago")
    moment = now + timedelta(minutes=-minutes if ago else minutes)
    said = f"{hit['n']} {hit['unit']}{hit['half'] or ''}"
    day = "" if moment.date() == now.date() else f" on {moment:%A}"
    if ago:
        return Answer(f"{said.capitalize()} ago it was {spoken_clock(moment)}{day}.", "date")
    return Answer(f"In {said} it will be {spoken_clock(moment)}{day}.", "date")


_AROUND = re.compile(
    rf"^(?:(?:time|the time) (?:is|is it|will it be|was it) )?{_SPAN} (?P<side>before|after) "
    rf"{CLOCK_TIME}$"
)


def _time_around(text: str, now: datetime) -> Answer | None:
    """ "what's 15 minutes before 8 pm" → "15 minutes before 8 PM is 7:45 PM."; a time
    without AM or PM is the next one."""
    if (hit := _AROUND.match(text)) is None or (moment := next_time(hit, now)) is None:
        return None
    minutes = _minutes(hit)
    if minutes > 24 * 60:
        return None
    shifted = moment + timedelta(minutes=-minutes if hit["side"] == "before" else minutes)
    named = hit["when"] if hit["when"] in ("midnight", "noon", "midday") else spoken_clock(moment)
    said = f"{hit['n']} {hit['unit']}{hit['half'] or ''} {hit['side']} {named}"
    return Answer(f"{said[0].upper()}{said[1:]} is {spoken_clock(shifted)}.", "date")


_DAYLIGHT_SAVING = re.compile(
    r"^(?:when (?:is|does|do|will|did) )?(?:the )?(?:daylight sav(?:ing|ings)(?: time)?"
    r"|clocks? (?:change|go forward|go back|spring forward|fall back)|time change)"
    r"(?: (?P<edge>start|begin|end|change|happen))?(?: this year| next)?$"
    r"|^is it daylight sav(?:ing|ings) time(?: now)?$"
)
_YEAR_OF_DAYS = 400
"""How far the host's time zone is searched for a change of offset, in days."""


def _daylight_saving(text: str, now: datetime) -> Answer | None:
    """ "when do the clocks change", "when does daylight saving time end": from the host's
    own time zone (the base said March 11 for 2026's March 8). Asked for the change that
    is not next ("when does it end" in winter), the last one is said and the one asked."""
    if (hit := _DAYLIGHT_SAVING.match(text)) is None:
        return None
    local = now if now.tzinfo is not None else now.astimezone()
    change = _offset_change(local, +1)
    if change is None:
        return Answer(f"The clocks here don't change: this house's time zone ({local.tzname()}) "
                      "has no daylight saving time.", "date")  # fmt: skip
    edge = hit["edge"] or ""
    wanted: bool | None = None  # the clocks going forward (True) or back; None: the next
    if "forward" in text or edge in ("start", "begin"):
        wanted = True
    elif "back" in text or edge == "end":
        wanted = False
    said = ""
    if wanted is not None and _forward(change) != wanted:
        if last := _offset_change(local, -1):
            verb = "started" if wanted else "ended"
            said = f"Daylight saving time {verb} on {spoken_date(last[1], local)}. "
        change = _offset_change(change[1] + timedelta(days=1), +1) or change
    elif text.startswith("is it"):
        said = "No. " if _forward(change) else "Yes. "  # in it until the clocks go back
    before, after = change
    shift = abs(after.utcoffset() - before.utcoffset())  # type: ignore[operator]
    amount = "an hour" if shift == timedelta(hours=1) else f"{shift.seconds // 60} minutes"
    direction = "forward" if _forward(change) else "back"
    return Answer(f"{said}The clocks go {direction} {amount} on {spoken_date(before, local)}, "
                  f"at {spoken_clock(before)}.", "date")  # fmt: skip


def _forward(change: tuple[datetime, datetime]) -> bool:
    before, after = change
    return after.utcoffset() > before.utcoffset()  # type: ignore[operator]


def _offset_change(local: datetime, direction: int) -> tuple[datetime, datetime] | None:
    """The host's next (+1) or last (-1) change of UTC offset from ``local``: its moment
    as the clock said it just before the change and just after; None within a year."""

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts).astimezone().utcoffset()

    start = int(local.timestamp())
    for n in range(_YEAR_OF_DAYS):
        lo, hi = sorted((start + n * 86400 * direction, start + (n + 1) * 86400 * direction))
        if offset(lo) != offset(hi):
            break
    else:
        return None
    while hi - lo > 1:  # to the second: hi is the first second of the new offset
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if offset(mid) == offset(lo) else (lo, mid)
    old = offset(lo) or timedelta()
    return (datetime.fromtimestamp(hi, timezone(old)), datetime.fromtimestamp(hi).astimezone())


def southern_hemisphere() -> bool:
    """The host's time zone lies south of the equator (its seasons are the other way
    round): it has a southern latitude in the time zone database. A zone not listed there
    (UTC, an alias) counts as northern."""
    row = time_zone_row()
    return row is not None and row[1].startswith("-")  # "-3352+15113"
