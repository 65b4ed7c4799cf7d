import pytest

from tests.trainingfiles.examples import INSTRUCTIONS, chat_example
from trainingfiles.pii import find_pii, redact_pii
from trainingfiles.validation import validate_example


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Пишите на ivan.petrov@mail.ru, отвечу.", "Пишите на [email], отвечу."),
        ("Write to support+course@example.co.uk", "Write to [email]"),
        ("Мой номер +7 (912) 345-67-89.", "Мой номер [phone]."),
        ("Звоните 8 912 345 67 89 вечером", "Звоните [phone] вечером"),
        ("тел. 89123456789", "тел. [phone]"),
        ("+79123456789", "[phone]"),
        ("UK office: +44 20 7946 0958", "UK office: [phone]"),
        ("Карта 4111 1111 1111 1111, срок 12/27", "Карта [card], срок 12/27"),
        ("card 5500-0000-0000-0004", "card [card]"),
        ("Номер 4111111111111111 и почта a@b.ru", "Номер [card] и почта [email]"),
    ],
)
def test_it_redacts_personal_data(text, redacted):
    assert redact_pii(text) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "Используйте range(1, 11) и цикл for.",
        "Число пи: 3.14159265358979323846",
        "Заказ 4111 1111 1111 1112 (не проходит проверку Луна)",
        "ISBN 978-5-4461-0512-0",
        "Встреча 2026-11-22 в 10:30",
        "id1234567890123",
        "12345678901234567890123456",
    ],
)
def test_it_leaves_ordinary_numbers_alone(text):
    assert find_pii(text) == []
    assert redact_pii(text) == text


def test_it_finds_where_personal_data_is():
    text = "a@b.ru или +7 912 345-67-89"

    assert [(match.kind, text[match.start : match.end]) for match in find_pii(text)] == [
        ("email", "a@b.ru"),
        ("phone", "+7 912 345-67-89"),
    ]


def test_it_warns_about_personal_data_in_the_message_that_holds_it():
    example = chat_example("Меня зовут Иван, мой телефон 8 (912) 345-67-89", "Спасибо, Иван!")
    example["messages"].append({"role": "user", "content": "И почта ivan@example.com, карта 4111 1111 1111 1111"})
    example["messages"].append({"role": "assistant", "content": "Записал."})

    report = validate_example(example, token_limit=None)

    assert [(issue.code, issue.message_index, issue.severity) for issue in report.issues] == [
        ("pii_phone", 1, "warning"),
        ("pii_email", 3, "warning"),
        ("pii_card", 3, "warning"),
    ]
    assert report.is_valid


def test_it_does_not_flag_the_curators_own_instructions():
    example = chat_example("Как связаться с поддержкой?", "Напишите куратору.")
    example["messages"][0]["content"] = INSTRUCTIONS + " Поддержка: help@school.ru"

    assert validate_example(example, token_limit=None).issues == ()
