"""Tier 0.5: exact answers to arithmetic, unit, date and spelling questions; everything else
passes."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sage.cascade.deterministic import answer, follow_up, that_year
from sage.cascade.deterministic.sky import moon, next_moon, season_start

SATURDAY = datetime(2026, 11, 21, 15, 5)


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("What is 17 times 23?", "17 times 23 is 391."),
        ("what is seventeen times twenty three", "17 times 23 is 391."),
        ("What's 15% of 80?", "15 percent of 80 is 12."),
        ("What is 3.5 times 2?", "3.5 times 2 is 7."),
        ("What is the square root of 144?", "The square root of 144 is 12."),
        ("what is 2 to the power of 10", "2 to the power of 10 is 1024."),
        ("What is 7 minus 10 divided by 2?", "7 minus 10 divided by 2 is 2."),
        ("1,000 plus 2,500", "1000 plus 2500 is 3500."),
        ("What is 1 divided by 3?", "1 divided by 3 is 0.3333."),
        ("What is half of one hundred?", "Half of 100 is 50."),
        ("what is a third of 10 plus 1", "A third of 10 plus 1 is 4.333."),
        ("double 21", "Double 21 is 42."),
        ("Is seven a prime number?", "Yes, 7 is a prime number."),
        ("is 91 prime", "No, 91 is not a prime number: it is 7 times 13."),
        ("Is one a prime number?", "No, 1 is not a prime number."),
        ("10 divided by 0", "That's undefined: you can't divide by zero."),
        ("What is 5 + 3?", "5 plus 3 is 8."),  # typed with symbols
        ("what's 2 * 3 - 10", "2 times 3 minus 10 is -4."),
        ("12 / 4 =", "12 divided by 4 is 3."),
        ("What is 3 plus", "3 plus what?"),  # cut off: asked back, never guessed
        ("what is the square root of", "The square root of what?"),
        ("what is the square root of minus 4", "I can't give a real number for that."),
        ("what is 10 to the power of 99", "That number is too large to say usefully."),
        ("what is 2 to the power of minus 2", "2 to the power of minus 2 is 0.25."),
        ("How many feet in 3 meters?", "3 meters is 9.843 feet, or 9 feet 10 inches."),
        ("Convert 5 miles to kilometers.", "5 miles is 8.047 kilometers."),
        (
            "What is 100 degrees Fahrenheit in Celsius?",
            "100 degrees Fahrenheit is 37.78 degrees Celsius.",
        ),
        ("how many ounces are in a pound", "1 pound is 16 ounces."),
        ("How many tablespoons in a quarter cup?", "A quarter cup is 4 tablespoons."),  # not 3
        ("how many ml in three quarters of a cup", "3 quarters of a cup is 177.4 milliliters."),
        ("How many seconds in a day?", "1 day is 86400 seconds."),
        ("How many days until Friday?", "6 days until Friday, November 27."),
        ("How many days until Saturday?", "7 days until Saturday, November 28."),
        ("How many days until Christmas?", "34 days until Christmas, Friday, December 25."),
        ("how many days until the 1st of january", "41 days until January 1, a Friday."),
        ("What day will it be in 10 days?", "In 10 days it will be Tuesday, December 1, 2026."),
        ("what day is it in 2 weeks", "In 2 weeks it will be Saturday, December 5, 2026."),
        # a language model has no calendar: it said "Tomorrow is Wednesday." on a Sunday
        ("What day is it tomorrow?", "Tomorrow is Sunday, November 22."),
        ("what's tomorrow's date", "Tomorrow is Sunday, November 22."),
        ("What was the date yesterday?", "Yesterday was Friday, November 20."),
        ("What's the date next Friday?", "Next Friday is November 27."),
        ("what date was last saturday", "Last Saturday was November 14."),
        ("What day of the week is December 25th?", "December 25 is a Friday."),
        ("what day is february 29", "February 29, 2028 is a Tuesday."),
        ("How many days until February 30?", "There is no February 30."),
        # the base said "There are 10 days until your birthday."
        (
            "How many days until my birthday?",
            "I don't know the date of your birthday. Ask me how many days until the date itself.",
        ),
        (
            "when is my anniversary",
            "I don't know the date of your anniversary. Ask me how many days until the date "
            "itself.",
        ),
        ("What year is it?", "It's 2026."),
        ("what month is it now", "It's November."),
        ("What's 3 quarters of 200?", "3 quarters of 200 is 150."),
        # the base said 1, a draft said the remainder of 17 divided by 4 is 3
        ("What's a quarter plus a third?", "A quarter plus a third is 0.5833."),
        ("what's 3 and a half times 2", "3 and a half times 2 is 7."),
        ("What's half a dozen plus 2?", "Half a dozen plus 2 is 8."),
        ("What's the remainder of 17 divided by 4?", "The remainder of 17 divided by 4 is 1."),
        ("17 mod 0", "That's undefined: you can't divide by zero."),
        # the base said "72 degrees is 21.77777777777778 degrees Celsius."
        ("What's 72 degrees in Celsius?", "72 degrees Fahrenheit is 22.22 degrees Celsius."),
        # the base said 25 percent off 80 dollars is 50 dollars
        ("What is 25 percent off 80 dollars?", "25 percent off 80 dollars is 60 dollars."),
        ("What's a 20 percent tip on $45?", "A 20 percent tip on 45 dollars is 9 dollars."),
        ("a 15% tip on $47.50", "A 15 percent tip on 47.50 dollars is 7.13 dollars."),
        # the base said "To find the tip on 45 dollars at 20 percent, multiply 45 by 0.20."
        ("What's the tip on $45 at 20%?", "The tip on 45 dollars at 20 percent is 9 dollars."),
        ("What is 80 dollars plus 20 percent?", "80 dollars plus 20 percent is 96 dollars."),
        ("what's 80 minus 25 percent", "80 minus 25 percent is 60."),
        ("what's the tip on 45 at", "The tip on 45 at what?"),
        ("How many tablespoons of butter in a stick?", "1 stick is 8 tablespoons."),
        # the base said 2 cups of flour weigh 113 grams, and that half of 3/4 cup is 1.5 cups
        ("Convert 2 cups of flour to grams.", "2 cups of flour is about 240 grams."),
        ("how many grams of sugar in a cup", "1 cup of sugar is about 198 grams."),
        ("How many cups is 500 grams of flour?", "500 grams of flour is about 4.17 cups."),
        ("How many grams is a stick of butter?", "1 stick of butter is about 114 grams."),
        ("1 and a half cups of flour in grams", "1.5 cups of flour is about 180 grams."),
        ("How many ounces in a cup of flour?", "1 cup of flour is about 4.23 ounces."),
        ("How many ounces in a cup of milk?", "1 cup is 8 fluid ounces."),  # a liquid's
        ("What's 180 C in F?", "180 degrees Celsius is 356 degrees Fahrenheit."),
        ("How much is a pint in ml?", "1 pint is 473.2 milliliters."),
        ("What's 5 foot 7 in cm?", "5 foot 7 is 170.2 centimeters."),
        ("What is 7% sales tax on $20?", "7 percent sales tax on 20 dollars is 1.40 dollars."),
        ("What is one third of 90?", "1 third of 90 is 30."),
        (
            "What's half of three quarters of a cup?",
            "Half of 3 quarters of a cup is 3 eighths of a cup, or 6 tablespoons.",
        ),
        ("half of 3/4 cup", "Half of 3 quarters of a cup is 3 eighths of a cup, or 6 tablespoons."),
        ("Double 2 thirds of a cup.", "Double 2 thirds of a cup is 1 and a third cups."),
        # whisper's hearing of it
        ("Double two thirds of the cup.", "Double 2 thirds of a cup is 1 and a third cups."),
        (
            "half of 1 tablespoon",
            "Half of 1 tablespoon is half a tablespoon, or 1 and a half teaspoons.",
        ),
        # the base said 62.137 (right, in 1.9 s to first audio)
        (
            "What's 100 kilometers per hour in miles per hour?",
            "100 kilometers per hour is 62.14 miles per hour.",
        ),
        ("60 mph in km/h", "60 miles per hour is 96.56 kilometers per hour."),
        # whisper's hearing of "in" (spoken by Piper); the base then said 96.54
        (
            "What's 60 miles per hour and kilometers per hour?",
            "60 miles per hour is 96.56 kilometers per hour.",
        ),
        ("convert 1 knot to mph", "1 knot is 1.151 miles per hour."),
        # the base said "Yes, 2027 is a leap year." and "13 hours" until midnight at 9:27 PM
        ("Is 2027 a leap year?", "No, 2027 is not a leap year."),
        ("was 2024 a leap year", "Yes, 2024 was a leap year."),
        ("When is the next leap year?", "The next leap year is 2028."),
        ("Is it a leap year?", "No, 2026 is not a leap year."),  # the draft's answer was a guess
        # the base had this right; a clock has it right every time
        ("What's 15 minutes before 8 PM?", "15 minutes before 8 PM is 7:45 PM."),
        ("What time will it be in 1.5 hours?", "In 1 point 5 hours it will be 4:35 PM."),
        ("What time is half an hour before midnight?", "Half an hour before midnight is 11:30 PM."),
        ("How many days until December third?", "12 days until December 3, a Thursday."),
        ("How many days until the 1st?", "10 days until December 1, a Tuesday."),
        ("What day of the week is the twenty-first of December?", "December 21 is a Monday."),
        ("How many hours until midnight?", "8 hours and 55 minutes until midnight."),
        ("How long until 5:30 p.m.?", "2 hours and 25 minutes until 5:30 PM."),
        ("how many minutes until 4 pm", "55 minutes until 4 PM."),
        ("How long is it until 9?", "5 hours and 55 minutes until 9 PM."),  # the next 9
        ("how long until noon", "20 hours and 55 minutes until noon."),
        ("How long until Christmas?", "34 days until Christmas, Friday, December 25."),
        # the base said 10 (a Monday, four weeks before; there are 4) and "not a holiday"
        (
            "How many Mondays until Christmas?",
            "5 more Mondays before Christmas, Friday, December 25.",
        ),
        (
            "how many weekends are left before Christmas",
            "4 more weekends before Christmas, Friday, December 25.",
        ),
        (
            "Is today a holiday?",
            "Not one I know of. The next is Thanksgiving in the US, Thursday, November 26.",
        ),
        (
            "What's the next holiday?",
            "The next holiday is Thanksgiving in the US, Thursday, November 26.",
        ),
        # the base said July 4, 2026 was a Monday
        ("What's the 4th of July this year?", "The 4th of July was Saturday, July 4."),
        (
            "How many days until the fourth of July?",
            "225 days until the 4th of July, Sunday, July 4, 2027.",
        ),
        ("What's Christmas this year?", "Christmas is Friday, December 25."),
        ("How many days in February this year?", "February has 28 days."),
        ("How long until 7 in the morning?", "15 hours and 55 minutes until 7 AM."),
        # the base said 3:02 AM for "in 45 minutes" at 2:57 AM
        ("What time will it be in 45 minutes?", "In 45 minutes it will be 3:50 PM."),
        ("How many years ago was 1969?", "1969 was 57 years ago."),
        # the base said "There are 4 weeks until summer." in November
        (
            "How many weeks until summer?",
            "30 weeks and 2 days until the summer solstice, Monday, June 21, 2027.",
        ),
        ("When does winter start?", "The winter solstice is Monday, December 21."),
        # the base invented "December 21" for the next full moon (November 24, 2026)
        ("When is the next full moon?", "The full moon is Tuesday, November 24."),
        ("What's the date of the next new moon?", "The new moon is Wednesday, December 9."),
        (
            "How old is someone born in 1990?",
            "Someone born in 1990 is 35, or 36 once their birthday has come this year.",
        ),
        ("What time was it 3 hours ago?", "3 hours ago it was 12:05 PM."),
        ("what time will it be in an hour and a half", "In an hour and a half it will be 4:35 PM."),
        ("what time will it be in 10 hours", "In 10 hours it will be 1:05 AM on Sunday."),
        ("What's 3 hours from now?", "In 3 hours it will be 6:05 PM."),  # it went to the base
        # the base said "Three days ago was a Saturday." on a Sunday
        ("What day was it three days ago?", "3 days ago it was Wednesday, November 18."),
        ("what was the date 2 weeks ago", "2 weeks ago it was Saturday, November 7."),
        # the base said "Monday" for the day after tomorrow on a Sunday, week 44 in week 47,
        # 365 days left in the year on November 22, and Easter on April 22, 2027
        ("What's the day after tomorrow?", "The day after tomorrow is Monday, November 23."),
        ("What week of the year is it?", "It's week 47 of 2026."),
        ("How many days are left in the year?", "40 days are left in 2026 after today."),
        ("When is Easter?", "Easter is Sunday, March 28, 2027."),
        ("When is Easter this year?", "Easter was Sunday, April 5."),
        ("when is good friday", "Good Friday is March 26, 2027."),
        ("When is Christmas?", "Christmas is Friday, December 25."),
        # the base said the date but not the day, 31 days in November, December 29 for a week
        # from today, 11 days between Christmas and New Year, day 365 of the year, 365 days
        # since New Year, "No, it is not a weekend." on a Sunday, and 1 hour between London
        # and Tokyo
        ("What day is Christmas on this year?", "Christmas is Friday, December 25."),
        ("What day was New Year's Day this year?", "New Year's Day was Thursday, January 1."),
        # the base said "Christmas is on Monday, November 23, 2026." and Easter 2027 on April 19
        ("What day of the week is Christmas this year?", "Christmas is Friday, December 25."),
        ("When is Easter next year?", "Easter is Sunday, March 28, 2027."),
        ("What day was Christmas last year?", "Christmas was Thursday, December 25, 2025."),
        ("What day will Christmas be on in 2031?", "Christmas is Thursday, December 25, 2031."),
        ("What day is February 29 next year?", "There is no February 29, 2027."),
        ("What's half of 3 quarters?", "Half of 3 quarters is 0.375."),  # the base said 1.5
        ("How many days are in this month?", "November has 30 days."),
        ("How many days in February?", "February 2027 has 28 days."),
        ("What's the date a week from today?", "In 1 week it will be Saturday, November 28, 2026."),
        (
            "How many days between Christmas and New Year?",
            "7 days from Christmas to New Year's Day.",
        ),
        ("What day of the year is it?", "Today is day 325 of 2026."),
        ("How many days since New Year?", "324 days since New Year's Day, Thursday, January 1."),
        ("how long since monday", "5 days since Monday, November 16."),
        ("Is it the weekend?", "Yes, it's Saturday."),
        (
            "What's the time difference between London and Tokyo?",
            "Tokyo is 9 hours ahead of London.",
        ),
        (
            "time difference between india and london",
            "London is 5 hours and 30 minutes behind India.",
        ),
        # the base said 2 days until the weekend on a Saturday, 30 days until next month, 52
        # weeks left in the year and 1 hour 50 minutes until dinner
        ("How many days until the weekend?", "It's the weekend now."),
        ("How many days until next month?", "10 days until next month, Tuesday, December 1."),
        (
            "How many weeks are left in the year?",
            "5 weeks and 5 days are left in 2026 after today.",
        ),
        (
            "How many minutes until dinner?",
            "I don't know when dinner is here. Ask me how long until the time itself, like 7 PM.",
        ),
        ("How many ounces in a cup?", "1 cup is 8 fluid ounces."),
        # the base said Thanksgiving 2026 is on November 24 (it is the fourth Thursday)
        ("When is Thanksgiving this year?", "Thanksgiving in the US is Thursday, November 26."),
        ("When is Mother's Day?", "Mother's Day in the US is Sunday, May 9, 2027."),
        ("when is mothers day this year", "Mother's Day in the US was Sunday, May 10."),
        ("When is Memorial Day?", "Memorial Day in the US is Monday, May 31, 2027."),
        ("When is Valentine's Day?", "Valentine's Day is Sunday, February 14, 2027."),
        (
            "How many weeks until Christmas?",
            "4 weeks and 6 days until Christmas, Friday, December 25.",
        ),
        (
            "how many weeks until halloween",
            "49 weeks and 1 day until Halloween, Sunday, October 31, 2027.",
        ),
        # the base said Sunday, July 15, 2024, 154 and 37.0: close is not exact
        ("What day of the week was July 4th, 1776?", "July 4, 1776 was a Thursday."),
        ("What's the date in 100 days?", "In 100 days it will be Monday, March 1, 2027."),
        ("How many pounds is 70 kilograms?", "70 kilograms is 154.3 pounds."),
        (
            "What's 98.6 Fahrenheit in Celsius?",
            "98.6 degrees Fahrenheit is 37 degrees Celsius.",
        ),
        ("What is the cube root of 27?", "The cube root of 27 is 3."),
        ("What's 5 factorial?", "5 factorial is 120."),
        ("What's the factorial of 6?", "The factorial of 6 is 720."),  # had gone to the base
        ("what is 200 factorial", "That number is too large to say usefully."),
        ("What's the square of 15?", "The square of 15 is 225."),
        ("What is 3 to the fourth power?", "3 to the fourth power is 81."),
        ("2 to the 10th power", "2 to the 10th power is 1024."),
        # the base said "3.14 is rounded to two decimals.", 3 s later
        ("Round 3.14159 to two decimals.", "3.14159 rounded to 2 decimal places is 3.14."),
        (
            "What's 2.5 rounded to the nearest whole number?",
            "2.5 rounded to the nearest whole number is 3.",
        ),  # half up, not to even
        ("round 1250 to the nearest hundred", "1250 rounded to the nearest hundred is 1300."),
        ("How many cups in a quart?", "1 quart is 4 cups."),
        # the base said 177.18 for 5 feet 10 inches, and January 2 for the day after Christmas
        ("What's 5 feet 10 inches in centimeters?", "5 feet 10 inches is 177.8 centimeters."),
        ("How tall is 180 cm in feet?", "180 centimeters is 5.906 feet, or 5 feet 11 inches."),
        ("convert 32 centimeters to feet", "32 centimeters is 1.05 feet, or 1 foot 1 inch."),
        ("What's the day after Christmas?", "The day after Christmas is Saturday, December 26."),
        ("Is next year a leap year?", "No, 2027 is not a leap year."),
        # the base said "Yes, 17 is an odd number." and 12 for the average of 4, 8 and 15
        ("Is 17 an even number?", "No, 17 is an odd number."),
        ("What's the average of 4, 8 and 15?", "The average of 4, 8 and 15 is 9."),
        ("Split $100 3 ways.", "100 dollars split 3 ways is 33.33 dollars each."),
        ("split 120 dollars between 4 people", "120 dollars split 4 ways is 30 dollars each."),
        ("How much is $60 split 4 ways?", "60 dollars split 4 ways is 15 dollars each."),
        # a language model sees tokens, not letters: it said "Sure, I can help with that."
        ("Spell necessary.", "Necessary is spelled N, E, C, E, S, S, A, R, Y."),
        ("How do you spell rhythm?", "Rhythm is spelled R, H, Y, T, H, M."),
        ("How is the word queue spelled?", "Queue is spelled Q, U, E, U, E."),
        ("can you spell beautiful for me", "Beautiful is spelled B, E, A, U, T, I, F, U, L."),
    ],
)
def test_answers(question: str, reply: str) -> None:
    result = answer(question, SATURDAY)
    assert result is not None and result.reply == reply


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "what is love",
        "How many legs does a spider have?",
        "What time is it?",
        "five",
        "what is 5",
        "what is half",
        "is 1000000000039 a prime number",  # past the trial-division bound
        "How many feet in 3 kilograms?",  # different dimensions
        "How many grams in a cup?",  # of what: flour and water differ by half
        "How many grams in 2 cups of chocolate chips?",  # not on the weight chart
        "a third of a cup",  # no question
        "Spell it.",  # a word said before, not "it"
        "how many hours until 25",
        "what is 5 dollars plus 3 euros",  # no exchange rate
        "what is 2.5 factorial",  # the gamma function is the models' business
        "round 7 to the nearest dollar",
        "the average of 5",  # one number has no average worth saying
        "what time is it in narnia",
        "how do you spell 42",
        "",
    ],
)
def test_everything_else_passes(question: str) -> None:
    assert answer(question, SATURDAY) is None


def test_the_time_in_another_place_comes_from_the_time_zone_data() -> None:
    utc = SATURDAY.replace(tzinfo=ZoneInfo("UTC"))
    for question, reply in [
        ("What time is it in Tokyo?", "In Tokyo it's 12:05 AM, Sunday."),
        ("what's the time in new york", "In New York it's 10:05 AM."),
        ("What time is it in Japan?", "In Japan it's 12:05 AM, Sunday."),
        # the base said 12:10 AM in California at 3:10 PM there
        ("What time is it in California?", "In California it's 7:05 AM."),
        ("What time is it in Australia?", "In Sydney it's 2:05 AM, Sunday."),  # one of its zones
        ("How many hours ahead is Tokyo?", "Tokyo is 9 hours ahead of here."),
    ]:
        result = answer(question, utc)
        assert result is not None and result.reply == reply


def test_a_coin_a_die_and_a_random_number_are_drawn() -> None:
    """Greedy decoding made the base say "Heads." to every coin flip."""
    rng = random.Random(7)

    def draws(question: str, times: int) -> set[str | None]:
        return {getattr(answer(question, SATURDAY, rng), "reply", None) for _ in range(times)}

    assert draws("Flip a coin.", 40) == {"Heads.", "Tails."}
    assert draws("roll a die", 200) == {f"You rolled a {n}." for n in range(1, 7)}
    assert draws("pick a random number between one and ten", 300) == {f"{n}." for n in range(1, 11)}
    # the base said 55 every time
    hundred = draws("Pick a number between one and a hundred.", 400)
    assert len(hundred) > 50 and all(1 <= int(d.rstrip(".")) <= 100 for d in hundred if d)


@pytest.mark.parametrize(
    ("previous", "said", "question", "reply"),
    [
        ("What's 12 times 12?", "And times 3?", "144 times 3", "144 times 3 is 432."),
        ("Convert 2 cups of flour to grams.", "And sugar?", "convert 2 cups of sugar to grams",
         "2 cups of sugar is about 396 grams."),  # fmt: skip
        ("What's 12 times 12?", "squared", "144 squared", "144 squared is 20736."),
        ("What's 12 times 12?", "End times three.", "144 times 3", "144 times 3 is 432."),
        ("How many days until Friday?", "What about Sunday?", "how many days until sunday",
         "1 day until Sunday, November 22."),
        ("Convert 10 miles to kilometers.", "And 20?", "convert 20 miles to kilometers",
         "20 miles is 32.19 kilometers."),
        ("What time is it in Tokyo?", "And in London?", "time is it in london",
         "In London it's 3:05 PM."),
        ("Spell necessary.", "and beautiful", "spell beautiful",
         "Beautiful is spelled B, E, A, U, T, I, F, U, L."),
        ("What is 15 percent of 80?", "and of 120?", "15 percent of 120",
         "15 percent of 120 is 18."),
        # as operations are asked: the base answered "divide that by 3", 2 s later
        ("What's 15 times 4?", "Divide that by 3.", "60 divided by 3", "60 divided by 3 is 20."),
        ("What's 15 times 4?", "Multiply it by itself.", "60 squared", "60 squared is 3600."),
        ("What's 15 times 4?", "Add 5 to that.", "60 plus 5", "60 plus 5 is 65."),
        ("What's 15 times 4?", "double it", "60 times 2", "60 times 2 is 120."),
        # a whole question said after "what about" is that question, not a substitution
        ("What's 15 times 4?", "What about 5 times 4?", "5 times 4", "5 times 4 is 20."),
    ],
)  # fmt: skip
def test_a_follow_up_changes_one_part_of_the_last_question(
    previous: str, said: str, question: str, reply: str
) -> None:
    london = SATURDAY.replace(tzinfo=ZoneInfo("Europe/London"))
    found = follow_up(said, previous, london)
    assert found is not None and found[0] == question and found[1].reply == reply


@pytest.mark.parametrize(
    ("previous", "said"),
    [
        ("What's 12 times 12?", "13"),  # no "and": a question of its own
        ("What's 12 times 12?", "And of Italy?"),  # fits nothing in the question
        ("How many days until Friday?", "and times 3"),  # no number was said
        ("What is the capital of France?", "and of Italy"),  # not an exact question
        ("How many days until Friday?", "again"),  # only a draw is drawn again
        ("What's 12 times 12?", "Add milk to my list."),  # not a number to add
    ],
)
def test_what_does_not_follow_on_passes(previous: str, said: str) -> None:
    assert follow_up(said, previous, SATURDAY) is None


def test_that_year_is_the_one_the_last_reply_named() -> None:
    """The base said "The Titanic sank on April 15, 1912." and then, asked "How many years
    ago was that?", "That was 100 years ago."."""
    found = that_year("How many years ago was that?", "The Titanic sank on April 15, 1912.",
                      SATURDAY)  # fmt: skip
    assert found is not None and found[1].reply == "1912 was 114 years ago."
    assert that_year("How long ago was that?", "It was built in 1889 and 1890.", SATURDAY) is None
    assert that_year("How many years ago was it?", "It sank in 1912.", SATURDAY) is None
    assert that_year("What's that in Celsius?", "It sank in 1912.", SATURDAY) is None


def test_again_draws_again() -> None:
    draws = {follow_up("Again.", "Roll a die.", SATURDAY)[1].reply for _ in range(60)}  # type: ignore[index]
    assert len(draws) > 1 and all(d.startswith("You rolled a") for d in draws)


def test_a_weekday_says_when_the_weekend_starts() -> None:
    tuesday = datetime(2026, 11, 24, 9, 0)
    found = answer("Is it a weekend?", tuesday)
    assert found is not None
    assert found.reply == "No, it's Tuesday. The weekend starts on Saturday, in 4 days."


def test_equinoxes_and_solstices_are_at_their_published_instants() -> None:
    """Meeus's algorithm against the instants published for 2024 and 2026 (UTC)."""
    published = {
        (2024, 0): datetime(2024, 3, 20, 3, 6), (2024, 3): datetime(2024, 12, 21, 9, 20),
        (2026, 1): datetime(2026, 6, 21, 8, 24), (2026, 2): datetime(2026, 9, 23, 0, 5),
    }  # fmt: skip
    for (year, event), instant in published.items():
        computed = season_start(year, event).replace(tzinfo=None)
        assert abs(computed - instant) < timedelta(minutes=3), (year, event, computed)


def test_full_and_new_moons_are_at_their_published_instants() -> None:
    """Meeus's example 49.a (the new moon of February 1977, in dynamical time) and the
    published full moons of 2026 (UTC)."""
    assert abs(moon(-283) - datetime(1977, 2, 18, 3, 37, 42, tzinfo=UTC)) < timedelta(minutes=2)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    full = [next_moon(start + timedelta(days=29.53 * n), full=True) for n in range(13)]
    published = ["01-03 10:03", "02-01 22:09", "03-03 11:38", "04-02 02:12", "05-01 17:23",
                 "05-31 08:45", "06-29 23:57", "07-29 14:36", "08-28 04:18", "09-26 16:49",
                 "10-26 04:12", "11-24 14:53", "12-24 01:28"]  # fmt: skip
    for instant, said in zip(full, published, strict=True):
        expected = datetime.strptime(f"2026-{said}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        assert abs(instant - expected) < timedelta(minutes=3), (instant, said)


@pytest.fixture
def host_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Sets the host's time zone (TZ), as the daemon's clock sees it."""

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("zone", "question", "reply"),
    [
        # the base said daylight saving time starts on March 11, 2026 (it was March 8)
        ("America/New_York", "When is daylight saving time?",
         "The clocks go forward an hour on Sunday, March 14, 2027, at 2 AM."),
        ("America/New_York", "When does daylight saving time end?",
         "Daylight saving time ended on Sunday, November 1. The clocks go back an hour on "
         "Sunday, November 7, 2027, at 2 AM."),
        ("Europe/London", "When do the clocks go forward?",
         "The clocks go forward an hour on Sunday, March 28, 2027, at 1 AM."),
        ("Australia/Sydney", "Is it daylight saving time?",
         "Yes. The clocks go back an hour on Sunday, April 4, 2027, at 3 AM."),
        ("Australia/Sydney", "When does daylight saving time start?",
         "Daylight saving time started on Sunday, October 4. The clocks go forward an hour "
         "on Sunday, October 3, 2027, at 2 AM."),
        ("UTC", "When do the clocks change?",
         "The clocks here don't change: this house's time zone (UTC) has no daylight saving "
         "time."),
    ],
)  # fmt: skip
def test_daylight_saving_follows_the_host_time_zone(
    host_zone: Callable[[str], None], zone: str, question: str, reply: str
) -> None:
    host_zone(zone)
    found = answer(question, SATURDAY)  # 3:05 PM there
    assert found is not None and found.reply == reply


@pytest.mark.parametrize(
    ("zone", "question", "reply"),
    [
        # a southern household's summer starts at the December solstice, not June's
        ("Australia/Sydney", "When does summer start?",
         "The summer solstice is Tuesday, December 22."),  # 07:50 there, the 21st in UTC
        ("America/Argentina/Buenos_Aires", "When is the longest day?",
         "The summer solstice is Monday, December 21."),
        ("America/New_York", "When does summer start?",
         "The summer solstice is Monday, June 21, 2027."),
        ("UTC", "When is the spring equinox?", "The spring equinox is Saturday, March 20, 2027."),
    ],
)  # fmt: skip
def test_the_seasons_follow_the_host_hemisphere(
    host_zone: Callable[[str], None], zone: str, question: str, reply: str
) -> None:
    host_zone(zone)
    found = answer(question, SATURDAY)
    assert found is not None and found.reply == reply
