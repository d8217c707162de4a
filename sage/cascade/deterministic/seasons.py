"""Equinoxes and solstices, computed: "how many weeks until summer" (the base said 4 in
November), "when does winter start".

Meeus, *Astronomical Algorithms* (2nd ed.), chapter 27: the mean instant for the year
(table 27.B, valid 1000-3000) corrected by 24 periodic terms (table 27.C). Against the
published instants for 2024-2026 it is within two minutes, so the day is right unless
the instant falls within minutes of midnight.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

SEASONS = {"spring": 0, "summer": 1, "autumn": 2, "fall": 2, "winter": 3}
"""The northern hemisphere's names: spring begins at the March equinox."""
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
