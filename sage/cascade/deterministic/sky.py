"""The sky's calendar, computed: equinoxes and solstices ("how many weeks until summer":
the base said 4 in November) and full and new moons ("when is the next full moon": it
invented a date).

Both from Meeus, *Astronomical Algorithms* (2nd ed.). Chapter 27: the mean instant of an
equinox or solstice for the year (table 27.B, valid 1000-3000) corrected by 24 periodic
terms (table 27.C). Chapter 49: the mean new or full moon corrected for the Sun's and
the Moon's anomalies, the Moon's argument of latitude and its node (the planetary terms,
under a minute in all, are left out). Against published instants both are within a few
minutes, so the day is right unless the instant falls within minutes of midnight.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

SEASONS = {"spring": 0, "summer": 1, "autumn": 2, "fall": 2, "winter": 3}
"""The seasons by the equinox or solstice that begins them, in the northern hemisphere
(spring at the March equinox); a southern household's are two events on."""
EVENTS = ("spring equinox", "summer solstice", "autumn equinox", "winter solstice")

_MEAN = (  # JDE0 = a + b Y + c Y^2 + d Y^3 + e Y^4, Y = (year - 2000) / 1000
    (2451623.80984, 365242.37404, 0.05169, -0.00411, -0.00057),  # March equinox
    (2451716.56767, 365241.62603, 0.00325, 0.00888, -0.00030),  # June solstice
    (2451810.21715, 365242.01767, -0.11575, 0.00337, 0.00078),  # September equinox
    (2451900.05952, 365242.74049, -0.06223, -0.00823, 0.00032),  # December solstice
)
_TERMS = (  # A, B (degrees), C (degrees per Julian century)
    (485, 324.96, 1934.136), (203, 337.23, 32964.467), (199, 342.08, 20.186),
    (182, 27.85, 445267.112), (156, 73.14, 45036.886), (136, 171.52, 22518.443),
    (77, 222.54, 65928.934), (74, 296.72, 3034.906), (70, 243.58, 9037.513),
    (58, 119.81, 33718.147), (52, 297.17, 150.678), (50, 21.02, 2281.226),
    (45, 247.54, 29929.562), (44, 325.15, 31555.956), (29, 60.93, 4443.417),
    (18, 155.12, 67555.328), (17, 288.79, 4562.452), (16, 198.04, 62894.029),
    (14, 199.76, 31436.921), (12, 95.39, 14577.848), (12, 287.11, 31931.756),
    (12, 320.81, 34777.259), (9, 227.73, 1222.114), (8, 15.45, 16859.074),
)  # fmt: skip
_J2000 = datetime(2000, 1, 1, 12, tzinfo=UTC)
_DELTA_T = timedelta(seconds=69)
"""Terrestrial time ahead of UTC in the 2020s (a minute either way changes no date)."""


def season_start(year: int, event: int) -> datetime:
    """The instant (UTC) of an equinox or solstice: 0 March, 1 June, 2 September, 3
    December."""
    y = (year - 2000) / 1000
    jde0 = sum(c * y**i for i, c in enumerate(_MEAN[event]))
    t = (jde0 - 2451545.0) / 36525
    w = math.radians(35999.373 * t - 2.47)
    stretch = 1 + 0.0334 * math.cos(w) + 0.0007 * math.cos(2 * w)
    s = sum(a * math.cos(math.radians(b + c * t)) for a, b, c in _TERMS)
    return _J2000 + timedelta(days=jde0 + 0.00001 * s / stretch - 2451545.0) - _DELTA_T


_PHASE_TERMS = (  # new-moon and full-moon coefficients, power of E, multiples of (M, M', F, Ω)
    (-0.40720, -0.40614, 0, (0, 1, 0, 0)), (0.17241, 0.17302, 1, (1, 0, 0, 0)),
    (0.01608, 0.01614, 0, (0, 2, 0, 0)), (0.01039, 0.01043, 0, (0, 0, 2, 0)),
    (0.00739, 0.00734, 1, (-1, 1, 0, 0)), (-0.00514, -0.00515, 1, (1, 1, 0, 0)),
    (0.00208, 0.00209, 2, (2, 0, 0, 0)), (-0.00111, -0.00111, 0, (0, 1, -2, 0)),
    (-0.00057, -0.00057, 0, (0, 1, 2, 0)), (0.00056, 0.00056, 1, (1, 2, 0, 0)),
    (-0.00042, -0.00042, 0, (0, 3, 0, 0)), (0.00042, 0.00042, 1, (1, 0, 2, 0)),
    (0.00038, 0.00038, 1, (1, 0, -2, 0)), (-0.00024, -0.00024, 1, (-1, 2, 0, 0)),
    (-0.00017, -0.00017, 0, (0, 0, 0, 1)), (-0.00007, -0.00007, 0, (2, 1, 0, 0)),
    (0.00004, 0.00004, 0, (0, 2, -2, 0)), (0.00004, 0.00004, 0, (3, 0, 0, 0)),
    (0.00003, 0.00003, 0, (1, 1, -2, 0)), (0.00003, 0.00003, 0, (0, 2, 2, 0)),
    (-0.00003, -0.00003, 0, (1, 1, 2, 0)), (0.00003, 0.00003, 0, (-1, 1, 2, 0)),
    (-0.00002, -0.00002, 0, (-1, 1, -2, 0)), (-0.00002, -0.00002, 0, (1, 3, 0, 0)),
    (0.00002, 0.00002, 0, (0, 4, 0, 0)),
)  # fmt: skip


def moon(k: float) -> datetime:
    """The instant (UTC) of lunation ``k``: whole numbers are new moons counted from
    January 6, 2000; halves are full moons."""
    t = k / 1236.85
    jde = 2451550.09766 + 29.530588861 * k + 0.00015437 * t**2 - 0.00000015 * t**3
    e = 1 - 0.002516 * t - 0.0000074 * t**2
    args = [math.radians(a) for a in (
        2.5534 + 29.1053567 * k - 0.0000014 * t**2,  # the Sun's mean anomaly
        201.5643 + 385.81693528 * k + 0.0107582 * t**2 + 0.00001238 * t**3,  # the Moon's
        160.7108 + 390.67050284 * k - 0.0016118 * t**2 - 0.00000227 * t**3,  # latitude
        124.7746 - 1.56375588 * k + 0.0020672 * t**2 + 0.00000215 * t**3,  # the node
    )]  # fmt: skip
    full = bool(k % 1)
    for new_c, full_c, e_power, multiples in _PHASE_TERMS:
        angle = sum(n * a for n, a in zip(multiples, args, strict=True))
        jde += (full_c if full else new_c) * e**e_power * math.sin(angle)
    return _J2000 + timedelta(days=jde - 2451545.0) - _DELTA_T


def next_moon(after: datetime, full: bool) -> datetime:
    """The first new or full moon at or after ``after`` (an aware datetime)."""
    k = math.floor((after - _J2000).days / 29.530588861) - 1 + (0.5 if full else 0.0)
    while (instant := moon(k)) < after:
        k += 1
    return instant
