"""What an image costs in input tokens, as OpenAI bills it (its "Images and vision" guide, late 2026).

Two schemes, by model family:

- **Tiles** (gpt-4o, gpt-4.1, gpt-5): `detail: "low"` costs the base tokens alone. Otherwise the
  image is scaled to fit a 2048×2048 square, then down so that its shorter side is at most 768
  pixels, and each 512-pixel tile it covers costs the tile tokens, on top of the base.
- **Patches** (gpt-4.1-mini/-nano, gpt-5-mini/-nano): one token per 32×32 patch the image covers,
  at most 1536 patches (a larger image is scaled down to fit, whole patches a side), times the
  model's multiplier; `detail` does not change it.

`"auto"` is counted as `"high"`: an estimate should not come out below the bill.
"""

import math
from dataclasses import dataclass

PATCH = 32
MAX_PATCHES = 1536
TILE = 512
FIT_SIDE = 2048
SHORT_SIDE = 768


@dataclass(frozen=True)
class Tiles:
    base: int
    tile: int


@dataclass(frozen=True)
class Patches:
    multiplier: float


ImageCost = Tiles | Patches

# When the model is not known (a model of an OpenAI-compatible server): gpt-4o's tiles.
DEFAULT_COST = Tiles(base=85, tile=170)


def tile_count(width: int, height: int) -> int:
    """512-pixel tiles of a high-detail image, after the two scalings."""
    if width > FIT_SIDE or height > FIT_SIDE:
        scale = FIT_SIDE / max(width, height)
        width, height = width * scale, height * scale
    if min(width, height) > SHORT_SIDE:
        scale = SHORT_SIDE / min(width, height)
        width, height = width * scale, height * scale
    return math.ceil(width / TILE) * math.ceil(height / TILE)


def patch_count(width: int, height: int) -> int:
    """32-pixel patches that cover the image, scaled down to at most MAX_PATCHES."""
    patches = math.ceil(width / PATCH) * math.ceil(height / PATCH)
    if patches <= MAX_PATCHES:
        return patches
    shrink = math.sqrt(PATCH * PATCH * MAX_PATCHES / (width * height))
    # Shrink a little more so that one side is a whole number of patches.
    shrink *= min(
        math.floor(width * shrink / PATCH) / (width * shrink / PATCH),
        math.floor(height * shrink / PATCH) / (height * shrink / PATCH),
    )
    resized_width, resized_height = int(width * shrink), int(height * shrink)
    return min(MAX_PATCHES, math.ceil(resized_width / PATCH) * math.ceil(resized_height / PATCH))


def image_tokens(cost: ImageCost | None, width: int, height: int, detail: str = "auto") -> int:
    """Input tokens of one `width`×`height` image for a model whose images cost `cost`."""
    cost = cost or DEFAULT_COST
    if isinstance(cost, Patches):
        return round(patch_count(width, height) * cost.multiplier)
    if detail == "low":
        return cost.base
    return cost.base + cost.tile * tile_count(width, height)
