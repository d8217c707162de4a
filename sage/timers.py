"""Timers, alarms and reminders, said aloud when they are due: "set a timer for 5
minutes", "wake me up at 7", "remind me to call Mom at 6 PM", "remind me in 10 minutes to
check the oven", "remind me to call the dentist tomorrow at 9", "wake me up at 7 every
weekday", "remind me on December 3rd to renew the car insurance" (at 9 AM, when no time is
said), "how long is left on the timer?", "cancel the alarm". A timer may have a
name ("set a pasta timer for 10 minutes"), by which it is checked, extended ("add 2
minutes to the pasta timer") or cancelled; what was just said can be snoozed.

The daemon keeps them in its state folder (``timers.json``, written atomically), so a
restart keeps them; one that came due while SAGE was stopped is said as soon as it runs
again. A one-shot ``sage ask`` cannot keep one and says so. What is not understood here
(a reminder with neither a day nor a time, an alarm with no time) goes on to the rule
``no_timers``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sage.cascade.deterministic.answer import spoken_date
from sage.cascade.deterministic.clock import CLOCK_TIME, next_time, span_count, spoken_clock
from sage.cascade.deterministic.dates import CALENDAR_DAY, next_date
from sage.fsutil import JsonFile
from sage.patterns.matcher import ASKING, normalise, said_back, spoken_list, with_article

_LOGGER = logging.getLogger(__name__)
MAX_AHEAD_S = 366 * 24 * 3600
"""How far ahead one may be set: a year."""
_TOO_FAR = "I can keep a timer, an alarm or a reminder for up to a year ahead."
REMINDER_TIME = time(9)
"""When a reminder for a day is said, if no time is said: "remind me tomorrow to call Mom"."""
_WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_DAY = re.compile(
    rf" (?:tomorrow|on (?P<weekday>{'|'.join(_WEEKDAYS)})|on (?P<date>{CALENDAR_DAY}))(?= |$)"
)
"""The day of an alarm or reminder, when not the next time its clock time comes round."""
_REPEAT = re.compile(
    r" (?:(?P<daily>every day|every morning|every night|every evening|daily)"
    r"|(?P<weekdays>every weekday|on weekdays|every work day|on work days))(?= |$)"
)
"""An alarm or reminder said again each day, or each weekday."""
_SMALL = r"minutes?|mins?|seconds?|secs?"
_SPAN = (rf"(?P<n>\d+(?: point \d+)?|an|a|half an)(?P<half_first> and a half)? "
         rf"(?P<unit>hours?|hrs?|{_SMALL})(?P<half> and a half)?"
         rf"(?: and (?P<n2>\d+) (?P<unit2>{_SMALL}))?")  # fmt: skip
"""A span: "5 minutes", "an hour and a half", "1 and a half hours", "2 minutes and 30 seconds"."""
_SETTING = r"(?:(?:set|start|make|put on)(?: me)? )?(?:a |an |the )?"


def _forms(*forms: str) -> list[re.Pattern[str]]:
    return [re.compile(f"{ASKING}{form}(?: please)?$") for form in forms]


_LABEL = r"(?P<label>[a-z][a-z ']*?)"
"""A timer's name: "a pasta timer", "a timer for 10 minutes for the eggs"."""
_TIMER = _forms(
    f"{_SETTING}timer for {_SPAN}",
    f"{_SETTING}{_SPAN} timer",
    f"{_SETTING}{_LABEL} timer for {_SPAN}",
    f"{_SETTING}timer (?:called|named|for) {_LABEL} for {_SPAN}",
    f"{_SETTING}timer for {_SPAN} (?:for|called|named) {_LABEL}",
    f"{_SETTING}{_SPAN} timer (?:for|called|named) {_LABEL}",
)
_ALARM = _forms(
    rf"(?:set|make) (?:me )?(?:an |the |my )?alarm (?:for|at) {CLOCK_TIME}",
    rf"wake me(?: up)? at {CLOCK_TIME}",
)
_REMIND_IN = _forms(
    rf"remind me (?:to )?(?P<what>.+?) in {_SPAN}",
    rf"in {_SPAN} remind me (?:to )?(?P<what>.+)",
    rf"remind me in {_SPAN} (?:to )?(?P<what>.+)",
)
_REMIND_AT = _forms(
    rf"remind me (?:to )?(?P<what>.+?) at {CLOCK_TIME}",
    rf"at {CLOCK_TIME} remind me (?:to )?(?P<what>.+)",
    rf"remind me at {CLOCK_TIME} (?:to )?(?P<what>.+)",
)
_REMIND_ON = _forms(r"remind me (?:to )?(?P<what>.+)")
"""A reminder with a day or a repeat but no time, once those are taken out."""
_NO_SPAN = re.compile(rf"{ASKING}(?:set|start|make)(?: me)? (?:a |an )?timer(?: please)?$")
_ONE = r"(?:the |my )?(?P<which>(?:[a-z0-9 ]+ )?(?P<kind>timer|alarm|reminder))s?"
"""One by its name ("the pasta timer", "the 7 am alarm") or all of a kind ("the timers")."""
_LEFT = [
    re.compile(rf"^how (?:much time|long) (?:is |do i have )?(?:left|remaining)(?: on {_ONE})?$"),
    re.compile(rf"^(?:how's|how is|check) {_ONE}$"),
    re.compile(rf"^is {_ONE} (?:still )?(?:running|done|finished)$"),
    re.compile(
        r"^(?:what|which) (?P<kinds>timers|alarms|reminders) (?:are|do i have)(?: set| running)?"
        r"(?P<today> today| for today)?$"
    ),
    re.compile(
        r"^(?:do i have |are there |have i got )?any (?P<kinds>timers|alarms|reminders)"
        r"(?: set| running)?(?P<today> today| for today)?$"
    ),
]
_CANCEL = re.compile(
    rf"{ASKING}(?:cancel|cancell?ed|stop|delete|clear|turn off)(?: all)? {_ONE}$"
)  # whisper heard "cancel the alarm" as "canceled the alarm."
_EXTEND = re.compile(rf"{ASKING}(?:add|put) (?:another )?{_SPAN} (?:on|to) {_ONE}$")
_SNOOZE = re.compile(rf"{ASKING}snooze(?: (?:the |my )?(?:alarm|timer))?(?: for {_SPAN})?$")
_NONE_SET = "There's no timer, alarm or reminder set."
SNOOZE_S = 600.0
"""A snooze's length when none is said, and how long after one rang it may be snoozed."""
_CANNOT = re.compile(
    rf"{ASKING}(?P<verb>pause|unpause|resume|restart|reset|repeat|rename|change|move|edit)"
    r"\b.*\b(?:timer|alarm|reminder)s?$"
)
_HALF_SAID = re.compile(r"\b(?:am|pm|a m|p m|morning|afternoon|evening|night|tonight|noon"
                        r"|midday|midnight)$")  # fmt: skip
_COMPACT_CLOCK = re.compile(
    rf"\b(at|for) (\d{{1,2}})(?: point )?([0-5]\d)\b(?! (?:{_SMALL}|hours?|hrs?)\b)"
)
"""A clock time as whisper writes it, "at 630" or "at 6.30" ("6 point 30"): "at 6 30"."""
_SECONDS = {"h": 3600, "m": 60, "s": 1}
"""A unit's seconds, by its first letter ("hrs", "minutes", "sec")."""


@dataclass(frozen=True)
class Timer:
    """One timer, alarm or reminder."""

    due_at: float
    """When it is due (seconds since the epoch)."""
    kind: str
    """"timer", "alarm" or "reminder"."""
    name: str
    """As it is said back: "5 minute timer", "7 AM alarm", "reminder to call your mom"."""
    said: str
    """What is said when it is due: "Your 5 minute timer is done."."""
    repeat: str = ""
    """"daily" or "weekdays" for one set again when it is said; "" for once."""


class Timers:
    """The timers of one daemon (``live``), or of a one-shot run, which keeps none."""

    def __init__(self, path: Path, live: bool) -> None:
        self.live = live
        self._file: JsonFile[list[Timer]] = JsonFile(path, list)
        self.timers = self._file.load(lambda rows: [Timer(**row) for row in rows]) if live else []
        self._rang: tuple[Timer, float] | None = None
        """The last timer or alarm that was said, and when: "snooze" sets it again."""

    def answer(self, text: str, now: float) -> str | None:
        """The reply if ``text`` sets, checks or cancels a timer, alarm or reminder."""
        said = _COMPACT_CLOCK.sub(r"\1 \2 \3", normalise(text))
        if hit := _first(_TIMER, said):
            seconds = _seconds(hit)
            label = hit.groupdict().get("label")
            name = f"{_spoken(seconds)} timer" if label is None else f"{_unarticled(label)} timer"
            return self._add(now + seconds, "timer", name, f"Your {name} is done.", now)
        today = datetime.fromtimestamp(now)
        try:
            day, repeat, at = _day_and_repeat(said, today.date())
        except LookupError as no_such_day:
            return f"There's no {no_such_day} on the calendar."
        if hit := _first(_ALARM, _in_the_morning(at)):
            return self._at(hit, "alarm", now, day, repeat)
        if hit := _first(_REMIND_IN, said):
            return self._add(now + _seconds(hit), "reminder", *_reminder(hit["what"]), now)
        if hit := _first(_REMIND_AT, at):
            return self._at(hit, "reminder", now, day, repeat)
        if (day or repeat) and (hit := _first(_REMIND_ON, at)):
            moment = datetime.combine(day or today.date(), REMINDER_TIME)
            moment += timedelta(days=1) if moment <= today else timedelta()
            return self._on(moment, "reminder", hit, now, repeat)
        if _NO_SPAN.match(said):
            return "For how long? Say, for example, set a timer for 5 minutes."
        if hit := _first(_LEFT, said):
            return self._left(hit, now)
        if hit := _CANCEL.match(said):
            return self._cancel(hit)
        if hit := _EXTEND.match(said):
            return self._extend(hit, now)
        if hit := _SNOOZE.match(said):
            return self._snooze(hit, now)
        if hit := _CANNOT.match(said):
            return (f"I can't {hit['verb']} one. I can set, check, add time to, snooze and "
                    "cancel timers, alarms and reminders.")  # fmt: skip
        return None

    def due(self, now: float) -> list[str]:
        """What to say for each one that is due (it is then gone)."""
        done = [timer for timer in self.timers if timer.due_at <= now]
        if not done:
            return []
        self.timers = [timer for timer in self.timers if timer.due_at > now]
        self.timers += [_again(timer, now) for timer in done if timer.repeat]
        self._save()
        if rang := [timer for timer in done if timer.kind != "reminder"]:
            self._rang = (rang[-1], now)
        return [timer.said for timer in done]

    def _at(
        self, hit: re.Match[str], kind: str, now: float, day: date | None, repeat: str
    ) -> str | None:
        """One at a clock time: the next time it comes round, or on the day said."""
        today = datetime.fromtimestamp(now)
        eve = datetime.combine(day, time()) - timedelta(minutes=1) if day else today
        moment = next_time(hit, eve)
        if moment is None:
            return None
        return self._on(moment, kind, hit, now, repeat)

    def _on(self, moment: datetime, kind: str, hit: re.Match[str], now: float, repeat: str) -> str:
        """One at ``moment`` (or the weekday after it, when it repeats on weekdays)."""
        if repeat == "weekdays":
            moment = _on_a_weekday(moment)
        clock = spoken_clock(moment)
        if kind == "alarm":
            name, said = f"{clock} alarm", f"It's {clock}. This is your alarm."
        else:
            name, said = _reminder(hit["what"])
        return self._add(moment.timestamp(), kind, name, said, now, repeat)

    def _add(
        self,
        due_at: float,
        kind: str,
        name: str,
        said: str,
        now: float,
        repeat: str = "",
    ) -> str:
        if not self.live:
            return ("I can only keep timers, alarms and reminders while I run as a daemon: "
                    "start me with sage run.")  # fmt: skip
        if due_at - now < 1:
            return "That time has already passed."
        if due_at - now > MAX_AHEAD_S:
            return _TOO_FAR
        self.timers.append(Timer(due_at, kind, name, said, repeat))
        self._save()
        if kind == "timer" and name[0].isdigit():
            return f"Okay, {with_article(name)}, starting now."
        if kind == "timer":
            return (
                f"Okay, {with_article(name)} for {_spoken(due_at - now, words=True)}, starting now."
            )
        moment = datetime.fromtimestamp(due_at)
        when = spoken_clock(moment) + _day_said(moment, datetime.fromtimestamp(now), repeat)
        if kind == "alarm":
            return f"Okay, an alarm at {when}."
        return f"Okay, I'll remind you {name.removeprefix('reminder ')} at {when}."

    def _named(self, hit: re.Match[str]) -> list[Timer]:
        """Those a request names: all of a kind ("the timers") or one ("the pasta timer")."""
        which, kind = hit["which"], hit["kind"]
        return [t for t in self.timers if t.kind == kind and which in (kind, normalise(t.name))]

    def _left(self, hit: re.Match[str], now: float) -> str:
        """ "How long is left on the pasta timer?", "any reminders for today?", "how long is
        left?" (all of them)."""
        asked = hit.groupdict()
        kind = asked.get("kind") or (asked.get("kinds") or "").removesuffix("s")
        what = asked.get("which") or kind
        if what != kind:
            chosen = self._named(hit)
        else:
            chosen = [timer for timer in self.timers if kind in ("", timer.kind)]
        if asked.get("today"):
            midnight = datetime.combine(date.fromtimestamp(now), time()) + timedelta(days=1)
            chosen = [timer for timer in chosen if timer.due_at < midnight.timestamp()]
        if not chosen:
            return f"There's no {what} set{asked.get('today') or ''}." if what else _NONE_SET
        said = [_described(timer, now) for timer in sorted(chosen, key=lambda t: t.due_at)]
        return "There's " + ", and ".join(said) + "."

    def _cancel(self, hit: re.Match[str]) -> str:
        cancelled = self._named(hit)
        if not cancelled:
            return f"There's no {hit['which']} set."
        self.timers = [timer for timer in self.timers if timer not in cancelled]
        self._save()
        if len(cancelled) == 1:
            return f"I've cancelled the {cancelled[0].name}."
        return f"I've cancelled {len(cancelled)} {hit['kind']}s."

    def _extend(self, hit: re.Match[str], now: float) -> str:
        """ "Add 5 minutes to the timer": the one named, or the only one of its kind."""
        chosen = self._named(hit)
        if not chosen:
            return f"There's no {hit['which']} set."
        if len(chosen) > 1:
            names = [f"the {timer.name}" for timer in chosen]
            return f"Which one? There's {spoken_list(names)}."
        timer = chosen[0]
        later = dataclasses.replace(timer, due_at=timer.due_at + _seconds(hit))
        if later.due_at - now > MAX_AHEAD_S:
            return _TOO_FAR
        self.timers = [later if t is timer else t for t in self.timers]
        self._save()
        return f"Okay, the {timer.name} has {_spoken(later.due_at - now, words=True)} left."

    def _snooze(self, hit: re.Match[str], now: float) -> str:
        """The alarm or timer said in the last 10 minutes, again in 10 (or as asked)."""
        if self._rang is None or now - self._rang[1] > SNOOZE_S:
            return "There's nothing ringing to snooze."
        rang, self._rang = self._rang[0], None
        seconds = _seconds(hit) if hit["n"] else SNOOZE_S
        self._add(now + seconds, rang.kind, rang.name, f"This is your {rang.name} again.", now)
        return f"Okay, I'll say it again in {_spoken(seconds, words=True)}."

    def _save(self) -> None:
        self._file.save([asdict(timer) for timer in self.timers])  # else they run until a restart


def _unarticled(label: str) -> str:
    """ "the pasta" → "pasta"."""
    return re.sub(r"^(?:the|my|a|an) ", "", label)


def _day_and_repeat(said: str, today: date) -> tuple[date | None, str, str]:
    """The day said (None for none), the repeat ("daily", "weekdays" or ""), and the request
    without them: "wake me up at 7 every weekday". "On Monday" said on a Monday is next
    week's; "on the 3rd" is the next 3rd. A date no month has raises LookupError."""
    day = repeat = None
    if hit := _REPEAT.search(said):
        repeat = "weekdays" if hit["weekdays"] else "daily"
        said = said[: hit.start()] + said[hit.end() :]
    if hit := _DAY.search(said):
        if hit["date"]:
            if (day := next_date(hit["date"], today)) is None:
                raise LookupError(hit["date"])
        elif hit["weekday"]:
            day = today + timedelta(
                days=(_WEEKDAYS.index(hit["weekday"]) - today.weekday()) % 7 or 7
            )
        else:
            day = today + timedelta(days=1)
        said = said[: hit.start()] + said[hit.end() :]
    return day, repeat or "", said


def _on_a_weekday(moment: datetime) -> datetime:
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def _again(timer: Timer, now: float) -> Timer:
    """A repeating alarm or reminder, set for its next day after ``now``."""
    moment = datetime.fromtimestamp(timer.due_at)
    while moment.timestamp() <= now:  # a day later by the wall clock, across a DST change too
        moment += timedelta(days=1)
        if timer.repeat == "weekdays":
            moment = _on_a_weekday(moment)
    return dataclasses.replace(timer, due_at=moment.timestamp())


def _described(timer: Timer, now: float) -> str:
    """ "4 minutes left on the pasta timer", "the 7 AM alarm tomorrow, in 9 hours and 12
    minutes", "the reminder to renew the insurance at 9 AM on Thursday, December 3"."""
    left = timer.due_at - now
    if timer.kind == "timer":
        return f"{_time_left(left)} left on the {timer.name}"
    moment = datetime.fromtimestamp(timer.due_at)
    when = _day_said(moment, datetime.fromtimestamp(now), timer.repeat)
    if timer.kind == "reminder":
        when = f" at {spoken_clock(moment)}{when}"
    soon = f", in {_time_left(left)}" if left < 24 * 3600 else ""
    return f"the {timer.name}{when}{soon}"


def _time_left(seconds: float) -> str:
    """Time left as it is said: to the second within the hour, else to the minute."""
    return _spoken(seconds if seconds < 3600 else 60 * round(seconds / 60), words=True)


def _day_said(moment: datetime, now: datetime, repeat: str) -> str:
    """ " every weekday", " tomorrow", " on Friday", " on Thursday, December 3", or "" for
    later today."""
    if repeat:
        return " every day" if repeat == "daily" else " every weekday"
    days = (moment.date() - now.date()).days
    if days == 0:
        return ""
    if days == 1:
        return " tomorrow"
    return f" on {moment:%A}" if days < 7 else f" on {spoken_date(moment.date(), now.date())}"


def _in_the_morning(said: str) -> str:
    """ "wake me up at 7" is 7 AM, whatever the time now (an alarm "for 7" is the next 7)."""
    if said.startswith("wake me") and not _HALF_SAID.search(said):
        return f"{said} am"
    return said


def _first(forms: list[re.Pattern[str]], said: str) -> re.Match[str] | None:
    return next((hit for form in forms if (hit := form.match(said))), None)


def _reminder(what: str) -> tuple[str, str]:
    """A reminder's name and what is said when it is due: "to call your mom"."""
    task = said_back(what)
    return f"reminder to {task}", f"A reminder: {task}."


def _seconds(hit: re.Match[str]) -> float:
    """ "1 hour and a half", "1 point 5 hours" (whisper's "1.5"), "2 minutes and 30 seconds"."""
    half = 0.5 if hit["half"] or hit["half_first"] else 0.0
    seconds = (span_count(hit["n"]) + half) * _SECONDS[hit["unit"][0]]
    if hit["n2"]:
        seconds += float(hit["n2"]) * _SECONDS[hit["unit2"][0]]
    return seconds


def _spoken(seconds: float, words: bool = False) -> str:
    """ "5 minute" (a timer's name) or, with ``words``, "4 minutes and 10 seconds"."""
    whole = max(0, round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")]
    said = [f"{n} {unit}{'s' if words and n != 1 else ''}" for n, unit in parts if n]
    if not said:
        return "no time" if words else "0 second"
    if not words:
        return " ".join(said)
    return spoken_list(said)
