"""Image examples in OpenAI's vision fine-tuning format: checked with its limits, counted as it bills
images, round-tripped through JSONL; what a self-hosted text model must refuse."""

import base64

import pytest

from core.images import to_data_url
from llm.catalog import get_model
from tests.fixtures.images import image_bytes, image_data_url
from trainingfiles.formats import export_supervised, parse_jsonl
from trainingfiles.validation import validate_dataset, validate_example
from trainingfiles.vision import example_has_images, image_examples_refusal

LIMITS = {"max_bytes": 50 * 1024 * 1024, "max_lines": 1000}


def picture(url: str | None = None, **extra) -> dict:
    return {"type": "image_url", "image_url": {"url": url or image_data_url((512, 512)), **extra}}


def example(*parts: dict, question: str = "What is on this slide?", answer: str = "A red square.") -> dict:
    return {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": question}, *parts]},
            {"role": "assistant", "content": answer},
        ]
    }


def codes(report) -> list[str]:
    return [issue.code for issue in report.issues]


def test_it_accepts_an_image_example_and_counts_its_image_as_openai_bills_it():
    text_only = validate_example(
        {
            "messages": [
                {"role": "user", "content": "What is on this slide?"},
                {"role": "assistant", "content": "A red square."},
            ]
        },
        token_limit=65_536,
    )
    tiles = validate_example(
        example(picture(detail="high")), token_limit=65_536, image_cost=get_model("gpt-4o").image_cost
    )
    low = validate_example(
        example(picture(detail="low")), token_limit=65_536, image_cost=get_model("gpt-4o").image_cost
    )
    patches = validate_example(example(picture()), token_limit=65_536, image_cost=get_model("gpt-4.1-mini").image_cost)

    assert tiles.is_valid and tiles.images == 1, tiles.issues
    assert tiles.total_tokens - text_only.total_tokens == 85 + 170  # one 512-pixel tile
    assert low.total_tokens - text_only.total_tokens == 85
    assert patches.total_tokens - text_only.total_tokens == round(16 * 16 * 1.62)


def test_it_takes_an_image_without_words():
    report = validate_example(
        {"messages": [{"role": "user", "content": [picture()]}, {"role": "assistant", "content": "A red square."}]},
        token_limit=None,
    )

    assert report.is_valid, report.issues


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (picture(to_data_url(image_bytes("GIF"), "image/gif")), "image_format"),
        (picture(to_data_url(image_bytes("GIF"), "image/png")), "image_format"),  # named PNG, a GIF inside
        (picture(to_data_url(image_bytes("PNG", colour=128, mode="L"), "image/png")), "image_mode"),  # greyscale
        (picture("data:image/png;base64," + base64.b64encode(b"not an image at all").decode()), "image_unreadable"),
        (picture("data:image/png;base64," + "A" * (14 * 1024 * 1024)), "image_too_large"),
        (picture("ftp://example.com/slide.png"), "bad_image_url"),
        (picture(detail="ultra"), "bad_image_detail"),
        ({"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}, "bad_content_part"),
    ],
)
def test_it_refuses_images_openai_would_refuse(bad, code):
    report = validate_example(example(bad), token_limit=None)

    assert code in codes(report) and not report.is_valid


def test_it_refuses_images_outside_user_messages():
    line = {
        "messages": [
            {"role": "user", "content": "Draw me a square."},
            {"role": "assistant", "content": [{"type": "text", "text": "Here:"}, picture()]},
        ]
    }

    assert "image_not_in_user_message" in codes(validate_example(line, token_limit=None))


def test_it_refuses_more_than_64_images_an_example():
    tiny = image_data_url((4, 4))

    assert validate_example(example(*[picture(tiny)] * 64), token_limit=None).is_valid
    assert "too_many_images" in codes(validate_example(example(*[picture(tiny)] * 65), token_limit=None))


def test_it_warns_that_an_image_url_cannot_be_checked_from_here():
    report = validate_example(example(picture("https://example.com/slide.png")), token_limit=None)

    assert report.is_valid
    assert codes(report) == ["image_not_checked"]


def test_it_tells_the_dataset_what_openai_does_with_images():
    examples = [example(picture(image_data_url((8, 8), (n, 0, 0))), question=f"Slide {n}?") for n in range(10)]

    on_gpt_4o = validate_dataset(enumerate(examples), base_model=get_model("gpt-4o-2024-08-06"))
    on_mini = validate_dataset(enumerate(examples), base_model=get_model("gpt-4.1-mini"))

    warning = next(i for i in on_gpt_4o.issues if i.code == "images_skipped_by_content")
    assert "people, faces, children or CAPTCHAs" in warning.message
    assert [i.code for i in on_gpt_4o.issues if i.severity == "error"] == []
    assert "images_not_trainable" in [i.code for i in on_mini.issues] and on_mini.is_blocked


def test_it_tells_the_same_words_about_other_pictures_from_duplicates():
    red, blue = image_data_url((8, 8)), image_data_url((8, 8), (20, 60, 210))
    examples = [example(picture(red)), example(picture(blue)), example(picture(red))]

    report = validate_dataset(enumerate(examples), base_model=None)

    assert [(i.code, i.example_key) for i in report.issues if "duplicate" in i.code] == [("duplicate", 2)]


def test_it_round_trips_image_parts_through_jsonl():
    examples = [example(picture(detail="low")), example(picture("https://example.com/slide.png"))]

    result = parse_jsonl(b"".join(export_supervised(examples)), **LIMITS)

    assert result.ok, result.errors
    assert result.examples == examples


def test_it_tells_a_self_hosted_text_model_to_refuse_image_examples():
    examples = [example(picture()), {"messages": [{"role": "user", "content": "Hi"}]}]
    pair = {"input": {"messages": examples[0]["messages"][:1]}, "preferred_output": [], "non_preferred_output": []}

    assert example_has_images(examples[0]) and example_has_images(pair)
    assert not example_has_images(examples[1])
    assert image_examples_refusal(examples, multimodal=True, model="Qwen2.5-VL") is None
    assert image_examples_refusal(examples[1:], multimodal=False, model="SmolLM2") is None
    assert "SmolLM2 is not registered as a base model that sees images" in image_examples_refusal(
        examples, multimodal=False, model="SmolLM2"
    )
