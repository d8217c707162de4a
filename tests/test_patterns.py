"""Pattern matcher, rule files and the grammar compiled from them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from sage.errors import ConfigError
from sage.patterns.matcher import PatternMatcher, normalise
from sage.patterns.numbers import normalise_numbers
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.speech.asr import hotwords_for
from sage.speech.grammar import compile_jsgf

NOW = datetime(2026, 11, 21, 15, 5)


@pytest.fixture(scope="module")
def matcher() -> PatternMatcher:
    return PatternMatcher(load_rules([DEFAULT_RULES]))


@pytest.mark.parametrize(
    ("text", "rule", "reply"),
    [
        ("Hello.", "greeting", "Hello! How can I help?"),
        ("hey there", "greeting", None),
        ("Hey SAGE, good morning!", "greeting", None),
        ("Hey Sage.", "greeting", None),  # the wake phrase alone went to the base
        ("How long have you been running?", "sage_uptime", None),  # the base: "10 years"
        # where a wrong answer hurts: the base said "Yes, dogs can eat grapes." and 400°F
        (
            "Can dogs eat grapes?",
            "pet_food",
            "No: grapes and raisins can make dogs seriously ill. If yours has eaten some, "
            "call a vet now.",
        ),
        ("Is chocolate bad for my cat?", "pet_food", None),
        ("Can dogs eat carrots?", None, None),  # not on the list: the models answer
        ("What temperature should I cook chicken to?", "cook_poultry", None),
        ("How hot should a burger be inside?", "cook_ground_meat", None),
        ("What's the safe internal temperature for pork?", "cook_whole_cuts", None),
        ("What temperature should pork be cooked to?", "cook_whole_cuts", None),
        ("What temperature should I reheat leftovers to?", "reheat_leftovers", None),
        ("Sage?", "greeting", None),
        ("What time is it?", "time", "It's 3:05 PM."),
        ("what's the time please", "time", "It's 3:05 PM."),
        ("What time is it right now?", "time", None),
        ("What day is it today?", "date", "Today is Saturday, November 21, 2026."),
        ("what is today's date", "date", None),
        ("What can you do?", "capabilities", None),
        ("Stop.", "stop", "Okay."),
        ("never mind", "stop", None),
        ("Thank you very much!", "thanks", "You're welcome."),
        ("Thanks, that's all.", "thanks", None),
        ("What's your name?", "identity", None),
        ("What's my name?", "user_name", "I don't know your name."),  # not "My name is SAGE."
        # what SAGE cannot do is said, not promised by a language model
        (  # what sage/timers.py, tried first, did not place
            "Remind me to call Mom.",
            "no_timers",
            "I keep timers, alarms and reminders when you say when: for example, remind me to "
            "call Mom at 6 PM, or on Friday.",
        ),
        ("Can you remind me to call Mom at 6?", "no_timers", None),
        ("Play some music.", "no_media", "I can't play music or other media yet."),
        # the base said "Sure, I'll order more coffee." and "Please let me know your
        # destination." to a taxi
        (
            "Order more coffee.",
            "no_errands",
            "I can't do that: I only talk, and act only on timers, lists, notes and the "
            "services on my list.",
        ),
        ("Could you book me a taxi?", "no_errands", None),
        ("Email my boss that I'm sick.", "no_errands", None),
        ("How do I order a pizza online?", None, None),  # for the models
        ("Call John.", "no_calls", "I can't make calls or send messages."),
        ("Reboot the computer.", "no_power", "I can't shut down or restart this machine."),
        ("Restart the web server.", None, None),  # a service: the services parser's
        # the base said "I will turn off the lights."
        (
            "Turn off the lights.",
            "no_devices",
            "I can't switch lights or other devices in the home yet.",
        ),
        ("Turn the kitchen lights on, please.", "no_devices", None),
        ("Set the thermostat to 20 degrees.", "no_devices", None),
        ("Lock the front door.", "no_devices", None),
        ("Turn off the web server.", None, None),  # a service: the services parser's
        ("Louder, please.", "voice", None),  # the base said "Sure, I can make it louder."
        ("What did you say?", "repeat", None),  # the pipeline says the last reply again
        # the base said "Sure, I'll add milk to your shopping list." and invented a calendar
        ("Add milk to my shopping list.", "no_lists", None),
        ("What's on my calendar today?", "no_lists", None),
        ("Remember that my car is on level 3.", "no_lists", None),
        ("Are you human?", "nature", None),  # the draft said "Yes, I am a human."
        ("Do you have feelings?", "nature", None),  # the base said "Yes, I have feelings."
        ("Stop the music.", "no_media", None),  # not "I can't stop the music. I can check…"
        ("Next song.", "no_media", None),  # the base named a Beatles song it was not playing
        ("Play some jazz.", "no_media", None),  # the base answered it, 3 s later
        ("What's the humidity?", "no_internet", None),  # the base said "currently 50%"
        ("Turn the heat up.", "no_devices", None),  # it said "use a stove or oven"
        ("Call me David.", "told_name", None),  # not "I can't make calls"
        ("Call Mom.", "no_calls", None),
        ("Play a game with me.", None, None),
        ("Goodnight.", "goodbye", "Goodbye."),  # one word, as whisper writes it
        ("How do I add numbers to a list in Python?", None, None),
        ("How do I turn off the heating?", None, None),  # a question, for the models
        ("What's the weather like tomorrow?", "no_internet", None),  # not an invented forecast
        ("Will it rain today?", "no_internet", None),
        ("What time does the sun set?", "no_location", None),  # the base said 6:00 PM
        # the base said "The store closes at 6:00 PM."
        (
            "What time does the store close?",
            "no_hours",
            "I run offline, so I can't look up when the store is open.",
        ),
        ("When does the file close in Python?", None, None),  # for the models
        # the base said "10 euros is approximately 13.11 dollars.", bitcoin "around $10,000"
        # and gas "$0.05 per gallon"
        (
            "How much is 10 euros in dollars?",
            "no_live_data",
            "I run offline, so I can't get the news, exchange rates, prices or anything else live.",
        ),
        ("What's the price of bitcoin?", "no_live_data", None),
        # the base said "I don't know where this house is, so I can't work out the news.",
        # copying an earlier rule's reply
        ("Any news?", "no_live_data", None),
        ("Tell me the news.", "no_live_data", None),
        ("How much is gas right now?", "no_live_data", None),
        ("How is the stock market doing?", "no_live_data", None),  # "performing well"
        ("What's Apple's stock price?", "no_live_data", None),
        ("Convert 50 pounds to kilograms.", None, None),  # weighed: tier 0.5's
        ("Who won the world cup in 2018?", None, None),  # history, for the models
        ("What is the rate of change of x squared?", None, None),
        ("Cancel that.", "stop", None),
        # the machine's own state is read, not invented ("The CPU temperature is 75 degrees.")
        ("How much disk space is free?", "machine_disk", None),
        ("How much space is on the disk?", "machine_disk", None),  # the base said 100 GB
        ("How long has this computer been running?", "machine_uptime", None),
        ("How much memory is this machine using?", "machine_memory", None),
        ("What's the CPU temperature?", "machine_temperature", None),
        ("What's the CPU usage?", "machine_load", None),  # "usage" does not end in "sage"
        ("What's my IP address?", "machine_address", None),
        ("How much battery do I have?", "machine_battery", None),  # "I don't have a battery."
        ("What year was I born?", "user_age", "I don't know your birthday."),  # it said 1993
        ("Hello, Sage.", "greeting", None),
        # the base said "It is morning." at 11 PM, "I am 30 years old." and that it was online
        ("Is it morning or evening?", "time", "It's 3:05 PM."),
        ("How old are you?", "age", None),
        (
            "Are you connected to the internet?",
            "offline",
            "No, I run offline, without the internet.",
        ),
        ("How old am I?", "user_age", "I don't know your birthday."),
        ("How many days until my birthday?", None, None),  # tier 0.5's, not the grammar's
        ("Who made you?", "identity", None),
        ("play a game with me", None, None),
        ("what do you call a baby cat", None, None),
        ("What is the capital of France?", None, None),
        ("hello what is the capital of france", None, None),
        ("what time is it in tokyo", None, None),
        ("the weather is nice today", None, None),
        ("", None, None),
        ("sage please", None, None),
        ("!!! ???", None, None),
    ],
)
def test_matcher_table(
    matcher: PatternMatcher, text: str, rule: str | None, reply: str | None
) -> None:
    match = matcher.match(text, NOW)
    assert (match.rule if match else None) == rule
    if reply is not None:
        assert match is not None and match.reply == reply


def test_time_on_the_hour_is_said_without_zeros(matcher: PatternMatcher) -> None:
    match = matcher.match("what time is it", datetime(2026, 11, 22, 1, 0))
    assert match is not None and match.reply == "It's 1 AM."


_NO_COUNTRY = (
    "I don't know which country this house is in (its time zone is UTC). 1 1 2 reaches the "
    "emergency services from a mobile phone in Europe and many other countries, and 9 1 1 in "
    "North America."
)


@pytest.mark.parametrize(
    ("zone", "text", "reply"),
    [
        # the base said 911 whatever the country; the voice read "911" as "nine hundred eleven"
        ("America/New_York", "What's the emergency number?",
         "In the United States, the emergency number is 9 1 1."),
        ("Europe/London", "Call an ambulance!",  # it said "I can't make calls or send messages."
         "I can't make calls. In the United Kingdom, the emergency number is 9 9 9; 1 1 2 works "
         "too."),
        ("Europe/Berlin", "What number do I call for the police?",
         "In Germany, the emergency number is 1 1 2."),
        ("Asia/Tokyo", "How do I call an ambulance?",
         "In Japan, call 1 1 9 for an ambulance or the fire brigade, and 1 1 0 for the police."),
        ("Australia/Sydney", "what is the emergency number here",
         "In Australia, the emergency number is 0 0 0."),
        ("UTC", "What's the emergency number?", _NO_COUNTRY),
    ],
)  # fmt: skip
def test_the_emergency_number_is_the_host_countrys(
    matcher: PatternMatcher, monkeypatch: pytest.MonkeyPatch, zone: str, text: str, reply: str
) -> None:
    monkeypatch.setenv("TZ", zone)  # the country comes from the host's time zone
    match = matcher.match(text, NOW)
    assert match is not None and match.reply == reply
    assert matcher.match("Call mom.", NOW).rule == "no_calls"  # type: ignore[union-attr]


def test_capabilities_lists_rules_and_skills() -> None:
    matcher = PatternMatcher(load_rules([DEFAULT_RULES]), ["control the services on my list"])
    match = matcher.match("what can you do", NOW)
    assert match is not None and "tell you the time" in match.reply
    assert "control the services on my list" in match.reply
    assert "timers" not in match.reply  # what SAGE cannot do is not offered
    # said as one sentence of 40 words, Piper took over a second before its first audio
    assert len(match.reply.split(". ")[0].split()) <= 12


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("what is seventeen times twenty three", "what is 17 times 23"),
        ("one hundred and five", "105"),
        ("two thousand twenty six", "2026"),
        (
            "set a timer for five minutes and ten seconds",
            "set a timer for 5 minutes and 10 seconds",
        ),
        ("zero", "0"),
        ("a hundred", "a hundred"),
        ("twenty one hundred", "2100"),
        # "and" joins only after hundred or a scale; it was "between 11"
        ("a number between one and ten", "a number between 1 and 10"),
        ("is twenty twenty seven a leap year", "is 2027 a leap year"),  # was 47
        ("nineteen eighty four", "1984"),
        ("one two three", "1 2 3"),  # was 6
        ("no numbers here", "no numbers here"),
    ],
)
def test_number_words(words: str, expected: str) -> None:
    assert " ".join(normalise_numbers(words.split())) == expected


def test_normalise() -> None:
    assert normalise("  What’s  the TIME?! ") == "what's the time"
    assert normalise("A 15% tip on $47.50?") == "a 15 percent tip on 47 point 50 dollars"
    assert normalise("€1,200") == "1200 euros"  # whisper writes money with its symbol


def write_rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(body)
    return path


def test_slots_synonyms_and_override(tmp_path: Path) -> None:
    extra = write_rules(
        tmp_path,
        """
[[rule]]
name = "lights"
templates = ["turn (on | off) the {room} (light | lights)"]
slots.room = { kitchen = ["cooking area"], "living room" = ["lounge"] }
replies = ["The {room} lights, got it."]

[[rule]]
name = "thanks"
templates = ["cheers mate"]
replies = ["No worries."]
""",
    )
    matcher = PatternMatcher(load_rules([DEFAULT_RULES, extra]))
    match = matcher.match("Turn on the lounge lights", NOW)  # before the shipped no_devices
    assert match is not None and match.slots == {"room": "living room"}
    assert match.reply == "The living room lights, got it."
    assert matcher.match("cheers mate", NOW).reply == "No worries."  # type: ignore[union-attr]
    assert matcher.match("thank you", NOW) is None  # overridden rule lost its templates


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[rule]]\nname = "x"\ntemplates = ["a (b"]\nreplies = ["r"]', "unclosed group"),
        ('[[rule]]\nname = "x"\ntemplates = ["a b)"]\nreplies = ["r"]', "unbalanced"),
        ('[[rule]]\nname = "x"\ntemplates = ["a {s}"]\nreplies = ["r"]', "slot {s} has no values"),
        ('[[rule]]\nname = "x"\ntemplates = ["a $"]\nreplies = ["r"]', "outside the syntax"),
        ('[[rule]]\nname = "x"\ntemplates = ["a"]', "needs replies or a responder"),
        (
            '[[rule]]\nname = "x"\ntemplates = ["a"]\nreplies = ["r"]\ncolour = 1',
            "unknown key colour",
        ),
        ('[[rule]]\nname = "x"\ntemplates = []\nreplies = ["r"]', "templates must be"),
        (
            '[[rule]]\nname = "x"\ntemplates = ["a"]\nreplies = ["r"]\nwhisper_only = 1',
            "whisper_only must be true or false",
        ),
        ("[[rule]\n", "rules file"),
    ],
)
def test_bad_rule_files_name_the_problem(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_rules([write_rules(tmp_path, body)])


def test_a_rule_may_stay_out_of_the_hotwords_or_the_grammar(tmp_path: Path) -> None:
    """hotwords = false: out of whisper's prompt; whisper_only: out of the grammar too;
    both still matched on transcripts."""
    body = """
[[rule]]
name = "bins"
templates = ["when is {bin} day"]
slots.bin = { recycling = ["the recycling"] }
replies = ["Thursday."]

[[rule]]
name = "pets"
hotwords = false
templates = ["can dogs eat {food}"]
slots.food = { grapes = ["raisins"] }
replies = ["No."]

[[rule]]
name = "cooking"
whisper_only = true
templates = ["how hot should {meat} be"]
slots.meat = { chicken = ["turkey"] }
replies = ["165."]
"""
    rules = load_rules([write_rules(tmp_path, body)])
    assert hotwords_for(rules) == "SAGE, recycling, the recycling"
    jsgf = compile_jsgf(rules, known=lambda word: True)
    assert "recycling" in jsgf and "raisins" in jsgf and "turkey" not in jsgf
    matcher = PatternMatcher(rules)
    assert matcher.match("can dogs eat raisins", NOW) is not None
    assert matcher.match("how hot should turkey be", NOW) is not None  # still a rule


def test_unknown_responder(tmp_path: Path) -> None:
    path = write_rules(tmp_path, '[[rule]]\nname = "x"\ntemplates = ["a"]\nresponder = "weather"')
    with pytest.raises(ConfigError, match="unknown responder 'weather'"):
        PatternMatcher(load_rules([path]))


def test_grammar_has_commands_and_filler() -> None:
    rules = load_rules([DEFAULT_RULES])
    jsgf = compile_jsgf(rules, known=lambda word: word != "cheers")
    assert "public <utterance> = <command> | <filler>+;" in jsgf
    assert "( what time is it [ now | right now ] )" in jsgf
    assert "( good (afternoon | evening | morning) )" in jsgf
    assert "cheers" not in jsgf  # a template with an unknown word is left out
    assert "remind" not in jsgf  # free text ("remind me ...") is matched on transcripts only


def test_any_words_stand_for_one_or_more_words(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nname = "x"\nreplies = ["Noted."]\ntemplates = ["note that ... [please]"]\n'
    )
    matcher = PatternMatcher(load_rules([path]))
    assert matcher.match("Note that the milk is off, please.", NOW) is not None
    assert matcher.match("Note that.", NOW) is None
