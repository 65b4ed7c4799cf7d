"""Image input tokens as OpenAI bills them: the guide's worked examples."""

import pytest

from llm.catalog import get_model, sees_images
from llm.vision import Patches, Tiles, image_tokens, patch_count, tile_count

GPT_4O = Tiles(base=85, tile=170)


@pytest.mark.parametrize(
    ("size", "tiles", "tokens"),
    [((1024, 1024), 4, 765), ((2048, 4096), 6, 1105), ((128, 64), 1, 255), ((513, 500), 2, 425)],
)
def test_it_counts_tiles_as_the_guide_does(size, tiles, tokens):
    assert tile_count(*size) == tiles
    assert image_tokens(GPT_4O, *size, "high") == tokens
    assert image_tokens(GPT_4O, *size, "auto") == tokens


def test_it_charges_the_base_alone_for_low_detail():
    assert image_tokens(GPT_4O, 4096, 8192, "low") == 85


def test_it_counts_patches_as_the_guide_does():
    assert patch_count(1024, 1024) == 1024
    assert patch_count(1800, 2400) == 1452
    assert patch_count(4000, 4000) <= 1536
    assert image_tokens(Patches(multiplier=1.62), 1024, 1024, "low") == round(1024 * 1.62)


def test_it_knows_which_models_see_images_and_what_they_cost():
    assert sees_images("gpt-4.1-mini") is True
    assert sees_images("ft:gpt-4o-2024-08-06:school::abc123") is True
    assert sees_images("llama-3-8b-instruct") is None
    assert image_tokens(get_model("gpt-5").image_cost, 1024, 1024) == 70 + 4 * 140
    assert image_tokens(get_model("gpt-4.1-mini").image_cost, 1800, 2400) == round(1452 * 1.62)
    assert get_model("gpt-4o-2024-08-06").trains_on_images("azure")
    assert not get_model("gpt-4.1-mini").trains_on_images("azure")
