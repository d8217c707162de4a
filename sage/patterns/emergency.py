"""The emergency number of the country the host's time zone is in.

Asked "What's the emergency number?", the base said 911 whatever the country. The
country comes from the host's time zone (:func:`time_zone_row`), and the reply names it,
so a clock set to the wrong zone shows at once.
"""

from __future__ import annotations

from sage.cascade.sentences import digit_by_digit
from sage.host import time_zone, time_zone_row, zone_table

_ALL_IN_ONE = {
    "911": "US CA MX PR PH CR PA",
    "112": "AT BE BG HR CY CZ DK EE FI FR DE GR HU IT LV LT LU MT NL PL PT RO SK SI ES SE "
    "IS LI RU TR UA IN",
    "999": "HK MY",
    "000": "AU",
    "111": "NZ",
}
_SPLIT = {
    "GB": "999; 112 works too",
    "IE": "112 or 999",
    "JP": "119 for an ambulance or the fire brigade, and 110 for the police",
    "KR": "119 for an ambulance or the fire brigade, and 112 for the police",
    "TW": "119 for an ambulance or the fire brigade, and 110 for the police",
    "CN": "120 for an ambulance, 110 for the police, and 119 for the fire brigade",
    "SG": "995 for an ambulance or the fire brigade, and 999 for the police",
    "BR": "192 for an ambulance, 190 for the police, and 193 for the fire brigade",
    "IL": "101 for an ambulance, 100 for the police, and 102 for the fire brigade",
    "ZA": "10177 for an ambulance and 10111 for the police; 112 from a mobile phone",
    "CH": "144 for an ambulance, 117 for the police, and 118 for the fire brigade; 112 works too",
    "NO": "113 for an ambulance, 112 for the police, and 110 for the fire brigade",
}
NUMBERS = {code: number for number, codes in _ALL_IN_ONE.items() for code in codes.split()}
NUMBERS.update(_SPLIT)
"""Country code → what to call (national emergency services' published numbers)."""
_NAMES = {"GB": "the United Kingdom", "US": "the United States", "KR": "South Korea",
          "NL": "the Netherlands", "CZ": "the Czech Republic", "PH": "the Philippines"}  # fmt: skip
_UNKNOWN = ("112 reaches the emergency services from a mobile phone in Europe and many "
            "other countries, and 911 in North America.")  # fmt: skip


def emergency_number() -> str:
    """ "In Germany, the emergency number is 1 1 2." for the host's country."""
    row = time_zone_row()
    return digit_by_digit(_reply(row[0] if row else None))  # not "nine hundred eleven"


def local_numbers() -> str | None:
    """ "In Germany, the emergency number is 112." when the host's country is listed (a
    note for the language models, whose own answer is 911), else None."""
    row = time_zone_row()
    return _reply(row[0]) if row is not None and row[0] in NUMBERS else None


def _reply(country: str | None) -> str:
    if country is None:
        zone = time_zone() or "not set"
        return f"I don't know which country this house is in (its time zone is {zone}). {_UNKNOWN}"
    names = {row[0]: row[1] for row in zone_table("iso3166.tab") if len(row) == 2}
    name = _NAMES.get(country) or names.get(country, country)
    number = NUMBERS.get(country)
    if number is None:
        return f"I don't know the emergency number in {name}. {_UNKNOWN}"
    if " for " in number:  # one number per service
        return f"In {name}, call {number}."
    return f"In {name}, the emergency number is {number}."
