"""Sentence streaming for TTS: complete sentences as soon as they end, markdown removed."""

from __future__ import annotations

import pytest

from sage.cascade.sentences import CODE_LEFT_OUT, clean_for_speech, split_sentences


def tokens(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The capital of France is Paris.", ["The capital of France is Paris."]),
        ("Yes. It is 3.5 metres tall! Why?", ["Yes.", "It is 3.5 metres tall!", "Why?"]),
        ("Ask Dr. Smith, e.g. today. Done.", ["Ask Dr. Smith, e.g. today.", "Done."]),
        (
            "The sky is blue because of scattering, mostly by nitrogen. Really.",
            ["The sky is blue because of scattering,", "mostly by nitrogen.", "Really."],
        ),
        ("Short, then more words here. Next, one.", ["Short, then more words here.", "Next, one."]),
        ("It has 299,792,458 metres", ["It has 299,792,458 metres"]),
        ("**Bold** and `code` here.", ["Bold and code here."]),
        (
            "Use the time module. Here's how:\n```python\nimport time\n```\nThat waits.",
            ["Use the time module.", CODE_LEFT_OUT],  # the answer ends before the code
        ),
        (
            "Here you can use this function:\n\n```python\ndef f():\n```",
            ["Here you can use this function:", CODE_LEFT_OUT],  # said, as a first clause
        ),
        # a line ends a sentence (a song without a full stop ran to the token limit), and
        # a list's numbering is not read out
        (
            "Raindrops fall,\nsoftly at night\nand then stop",
            ["Raindrops fall,", "softly at night", "and then stop"],
        ),
        ("Three fruits:\n1. Apples\n2. Pears", ["Three fruits: Apples", "Pears"]),
        ("", []),
    ],
)
def test_split(text: str, expected: list[str]) -> None:
    assert list(split_sentences(tokens(text))) == expected


def test_first_sentence_arrives_before_the_rest() -> None:
    seen: list[str] = []

    def stream() -> object:
        for piece in ["Hi", " there.", " More", " text", " follows."]:
            seen.append(piece)
            yield piece

    first = next(iter(split_sentences(stream())))  # type: ignore[arg-type]
    assert first == "Hi there." and seen == ["Hi", " there."]  # not a token later


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["It is 3", ".", "5 metres."], ["It is 3.5 metres."]),  # a digit: wait and see
        (["Use it, e", ".", "g", ". daily."], ["Use it, e.g. daily."]),
        (['He said "hi', ".", '"', " Bye."], ['He said "hi.', "Bye."]),  # lone quote dropped
        (["Paris", ".", ".."], ["Paris."]),
    ],
)
def test_a_sentence_ends_at_its_mark_unless_the_mark_may_go_on(
    pieces: list[str], expected: list[str]
) -> None:
    assert list(split_sentences(pieces)) == expected


def test_clean_for_speech() -> None:
    assert clean_for_speech("# Title\n- item one\n[link](http://x)  ok") == "Title item one link ok"
    # the base's "git branch <branch-name>." was spoken as "git branch less than branch-name"
    assert clean_for_speech("use git branch <branch-name>.") == "use git branch branch name."
    assert clean_for_speech("use `git branch <name>` .") == "use git branch name."
    assert clean_for_speech("it runs on .NET .") == "it runs on .NET."
    assert clean_for_speech("If so, dial 999 or 112 now.") == "If so, dial 9 9 9 or 1 1 2 now."
    assert clean_for_speech("Call 911.") == "Call 9 1 1."  # not "nine hundred eleven"
    assert clean_for_speech("It has 206 bones.") == "It has 206 bones."


@pytest.mark.parametrize(
    ("said", "spoken"),
    [
        # the base's answers, whose other-script words the English voice skipped
        ('In Japanese, you say "Thank you" as "ありがとう".',
         'In Japanese, you say "Thank you" as "arigatou".'),
        ('In Russian, you say "Привет" (Privet).', 'In Russian, you say "Privet".'),
        ('Good morning in Chinese is "早上好" (zǎo shàng hǎo).',
         'Good morning in Chinese is "zao shang hao".'),
        ("In Korean, you say 사랑합니다.", "In Korean, you say sa lang hab ni da."),
        ("Café au lait in Zürich costs 5 €.", "Café au lait in Zürich costs 5 €."),  # Latin
    ],
)  # fmt: skip
def test_other_scripts_are_said_in_latin_letters(said: str, spoken: str) -> None:
    assert clean_for_speech(said) == spoken
