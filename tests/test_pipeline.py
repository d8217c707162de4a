"""Pipeline helpers: typed-input validation and the worker-thread hand-over."""

from __future__ import annotations

import pytest

from sage.errors import InputTextError
from sage.pipeline import clean_text, threaded


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  what\ttime\nis it ", "what time is it"), ("héllo wörld", "héllo wörld"), ("42", "42")],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "?!.,", "\x00\x1b[2J", "x" * 1001])
def test_clean_text_rejects(text: str) -> None:
    with pytest.raises(InputTextError):
        clean_text(text)


def test_threaded_hands_over_items_and_errors() -> None:
    assert list(threaded(iter(range(50)), maxsize=2)) == list(range(50))

    def failing() -> object:
        yield 1
        raise ValueError("boom")

    got: list[int] = []
    with pytest.raises(ValueError, match="boom"):
        for item in threaded(failing(), maxsize=2):  # type: ignore[arg-type]
            got.append(item)
    assert got == [1]


def test_threaded_consumer_stopping_early_closes_the_producer() -> None:
    closed: list[bool] = []

    def endless() -> object:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.append(True)

    stream = threaded(endless(), maxsize=2)  # type: ignore[arg-type]
    assert next(stream) == 1
    stream.close()  # type: ignore[attr-defined]
    assert closed == [True]
