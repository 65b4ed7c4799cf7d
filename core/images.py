"""Images that learners send: checked by their content, cleaned of metadata, described.

An upload is trusted by nothing but its bytes (never its name or its declared type): Pillow must
read it as PNG, JPEG, WebP or GIF (its first frame only), its declared size must stay under
`CHAT_IMAGE_MAX_PIXELS` (a small file that declares a huge picture is a decompression bomb) and its
bytes under `CHAT_IMAGE_MAX_BYTES`. `clean_image` then re-encodes the pixels alone, after turning
the picture as its EXIF orientation says: EXIF (GPS included), XMP, ICC profiles, comments and
PNG text chunks do not survive. A GIF becomes a PNG of its first frame, because OpenAI's vision
fine-tuning takes JPEG, PNG and WebP only. Every refusal is an `ImageRefused` with a message for
the learner.

Images travel as data URLs (`data:image/png;base64,...`) to the providers and in training files:
`to_data_url` and `from_data_url` (which checks the size before decoding). `describe` says in a
few words what a model "sees" (its size and main colour): the sandbox's models answer with it.
"""

import base64
import binascii
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# What Pillow may read uploads as; anything else is refused before a decoder runs.
READ_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
# What a cleaned image is written as (a GIF's first frame becomes a PNG).
WRITE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WEBP", "GIF": "PNG"}
JPEG_QUALITY = 90
WEBP_QUALITY = 90
_DATA_URL = re.compile(r"\Adata:(image/[a-z0-9.+-]+);base64,", re.IGNORECASE)


class ImageRefused(ValueError):
    """An image gradcap will not take, with the reason in words for the learner (`message`)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # re-encoded pixels, no metadata
    media_type: str  # image/png, image/jpeg or image/webp
    width: int
    height: int

    @property
    def data_url(self) -> str:
        return to_data_url(self.data, self.media_type)


def max_bytes() -> int:
    return settings.CHAT_IMAGE_MAX_BYTES


def max_pixels() -> int:
    """CHAT_IMAGE_MAX_PIXELS, and never more than Pillow's own limit (89.5 million): above it
    Pillow only warns (an error from twice that), and a warning is no refusal. Checking it here
    treats the warning as the error it is, without changing the warning filters, which are
    global to the process and not thread-safe to change around each open."""
    pillow = Image.MAX_IMAGE_PIXELS
    return min(settings.CHAT_IMAGE_MAX_PIXELS, pillow) if pillow else settings.CHAT_IMAGE_MAX_PIXELS


def check_size(size: int, *, limit: int | None = None) -> None:
    """Refuse `size` bytes over the limit (CHAT_IMAGE_MAX_BYTES unless given)."""
    limit = max_bytes() if limit is None else limit
    if size > limit:
        message = _("The image is %(size)s; images may be at most %(limit)s.") % {
            "size": filesizeformat(size),
            "limit": filesizeformat(limit),
        }
        raise ImageRefused("too_large", message)


def check_count(count: int) -> None:
    """Refuse more images in one message than CHAT_IMAGE_MAX_COUNT."""
    if count > settings.CHAT_IMAGE_MAX_COUNT:
        message = _("A message may carry at most %(limit)s images; this one has %(count)s.") % {
            "limit": settings.CHAT_IMAGE_MAX_COUNT,
            "count": count,
        }
        raise ImageRefused("too_many", message)


def _opened(data: bytes) -> Image.Image:
    """The image, its header read and its first frame decoded; refused when it is not one of
    READ_FORMATS, is corrupt or declares more pixels than allowed."""
    if not data:
        raise ImageRefused("empty", _("The image file is empty."))
    try:
        image = Image.open(io.BytesIO(data), formats=READ_FORMATS)
        _check_pixels(image.width, image.height)
        image.seek(0)  # a GIF's first frame
        image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb() from None
    except UnidentifiedImageError:
        raise ImageRefused(
            "not_an_image", _("This file is not a PNG, JPEG, WebP or GIF image (whatever its name says).")
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError):
        # Pillow's decoders report a truncated or damaged file in any of these.
        raise ImageRefused("corrupt", _("The image file is damaged or incomplete.")) from None
    return image


def _check_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageRefused("corrupt", _("The image file is damaged or incomplete."))
    if width * height > max_pixels():
        raise _bomb()


def _bomb() -> ImageRefused:
    message = _("The image has too many pixels; images may have at most %(limit)s megapixels.") % {
        "limit": round(max_pixels() / 1_000_000, 1),
    }
    return ImageRefused("too_many_pixels", message)


def clean_image(data: bytes) -> CleanImage:
    """Check an uploaded image and re-encode its pixels without any metadata.

    Raises ImageRefused (too large, not an image, corrupt, too many pixels).
    """
    check_size(len(data))
    image = _opened(data)
    source_format = image.format
    image = ImageOps.exif_transpose(image)  # the orientation EXIF gave is kept in the pixels
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    write_format = WRITE_FORMATS[source_format]
    mode = "RGBA" if has_alpha and write_format != "JPEG" else "RGB"
    converted = image.convert(mode)
    # A new image from the pixels alone: nothing of the original's `info` (EXIF, ICC, XMP,
    # comments, text chunks) can be written out with it.
    pixels = Image.frombytes(mode, converted.size, converted.tobytes())
    output = io.BytesIO()
    if write_format == "JPEG":
        pixels.save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif write_format == "WEBP":
        pixels.save(output, "WEBP", quality=WEBP_QUALITY)
    else:
        pixels.save(output, "PNG", optimize=True)
    cleaned = output.getvalue()
    check_size(len(cleaned))
    return CleanImage(cleaned, MEDIA_TYPES[write_format], pixels.width, pixels.height)


def clean_images(uploads: list[bytes]) -> list[CleanImage]:
    """`clean_image` for each image of one message, refusing more than CHAT_IMAGE_MAX_COUNT."""
    check_count(len(uploads))
    return [clean_image(data) for data in uploads]


THUMBNAIL_SIDE = 320  # pixels, the longer side of a transcript's thumbnail


def thumbnail(image: CleanImage, *, side: int = THUMBNAIL_SIDE) -> tuple[bytes, str]:
    """A small copy of a cleaned image for transcripts, and its media type: JPEG, or PNG where the
    image has transparency. An image already that small is its own thumbnail."""
    if image.width <= side and image.height <= side:
        return image.data, image.media_type
    with Image.open(io.BytesIO(image.data)) as opened:
        small = opened.copy()
    small.thumbnail((side, side))
    output = io.BytesIO()
    if small.mode == "RGBA":
        small.save(output, "PNG", optimize=True)
        return output.getvalue(), "image/png"
    small.convert("RGB").save(output, "JPEG", quality=80)
    return output.getvalue(), "image/jpeg"


class ImageHeader(NamedTuple):
    media_type: str  # what the content is, whatever it was called
    mode: str  # Pillow's: "RGB", "RGBA", "L", "P", "CMYK", …
    width: int
    height: int


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the image's header, without decoding its pixels; ImageRefused when it
    cannot be read as an image."""
    header = image_header(data)
    return header.width, header.height


def image_header(data: bytes) -> ImageHeader:
    """What the image's header says, without decoding its pixels; ImageRefused when it cannot be
    read as a PNG, JPEG, WebP or GIF."""
    try:
        with Image.open(io.BytesIO(data), formats=READ_FORMATS) as image:
            return ImageHeader(MEDIA_TYPES[image.format], image.mode, image.width, image.height)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb() from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ImageRefused("not_an_image", _("This file is not a PNG, JPEG, WebP or GIF image.")) from None


# Data URLs


def to_data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def is_data_url(url: object) -> bool:
    return isinstance(url, str) and _DATA_URL.match(url) is not None


def data_url_size(url: str) -> int:
    """The decoded size in bytes of a base64 data URL, from its length (nothing is decoded)."""
    match = _DATA_URL.match(url)
    payload = len(url) - (match.end() if match else 0)
    padding = url.endswith("==") + url.endswith("=")
    return max(0, payload * 3 // 4 - padding)


def from_data_url(url: str, *, limit: int | None = None) -> tuple[str, bytes]:
    """(media type, bytes) of an image data URL; ImageRefused when it is not one or its bytes are
    over `limit` (CHAT_IMAGE_MAX_BYTES unless given), checked before decoding."""
    match = _DATA_URL.match(url) if isinstance(url, str) else None
    if match is None:
        raise ImageRefused("bad_data_url", _("The image is not a base64 data URL (data:image/…;base64,…)."))
    check_size(data_url_size(url), limit=limit)
    try:
        data = base64.b64decode(url[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise ImageRefused("bad_data_url", _("The image's data URL is not valid base64.")) from None
    return match.group(1).lower(), data


# What a model "sees"

# Named colours: each pixel counts for the nearest one.
# fmt: off
COLOURS = {
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "red": (220, 30, 30),
    "orange": (255, 140, 0), "yellow": (250, 220, 40), "green": (40, 170, 60), "blue": (30, 80, 220),
    "cyan": (40, 200, 220), "purple": (130, 50, 170), "pink": (250, 150, 190), "brown": (130, 80, 40),
}
# fmt: on
_SAMPLE = 48  # pixels a side that the colour is counted over


def _nearest_colour(pixel: tuple[int, int, int]) -> str:
    return min(COLOURS, key=lambda name: sum((c - p) ** 2 for c, p in zip(COLOURS[name], pixel, strict=True)))


def dominant_colour(image: Image.Image) -> str:
    """The named colour most of the image's visible pixels are nearest to."""
    sample = image.convert("RGBA")
    sample.thumbnail((_SAMPLE, _SAMPLE))
    counts: Counter[str] = Counter()
    for r, g, b, a in sample.get_flattened_data():
        if a < 128:
            continue
        counts[_nearest_colour((r, g, b))] += 1
    if not counts:
        return "transparent"
    return max(counts.items(), key=lambda item: (item[1], item[0]))[0]


def describe(data: bytes) -> str:
    """What a model sees, deterministically: "a 640×480 image, mostly red" (English, as model
    answers are). Raises ImageRefused for what `clean_image` would refuse as not an image."""
    image = _opened(data)
    return f"a {image.width}×{image.height} image, mostly {dominant_colour(image)}"
