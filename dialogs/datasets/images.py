"""Images in examples: a user message's content becomes OpenAI's vision parts (a text part, then
one `image_url` part per image, as data URLs), and these helpers read and change it.

A message without images keeps a plain string as content, and one whose last image is removed
goes back to it, so an example without images is exactly what it was before images existed.

The editor shows each image as a small copy (a data URL too: gradcap's CSP allows `img-src data:`),
made once per image and kept in this process (`THUMBNAILS` of them). An import runs each data-URL
image through `core.images.clean_image` (`imported_images_clean`), as an upload in the chat is.
"""

import base64
import binascii
import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image

from core.images import CleanImage, ImageRefused, clean_image, from_data_url, image_header, is_data_url, thumbnail
from trainingfiles.vision import content_images, content_text

THUMBNAILS = 256  # small copies kept in memory, by the digest of their image's data URL
HEADER_CHARS = 64 * 1024  # base64 characters read for an image's size (its header is at the start)
METADATA_KEYS = ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop")


def image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url, "detail": "auto"}}


def image_content(text: str, urls: list[str]) -> str | list[dict]:
    """A user message's content: its text alone, or its text part (if any) and its images."""
    if not urls:
        return text
    parts: list[dict] = [{"type": "text", "text": text}] if text else []
    return parts + [image_part(url) for url in urls]


def image_urls(content: object) -> list[str]:
    return [image.get("url") for image in content_images(content) if isinstance(image, dict)]


def with_text(content: object, text: str) -> str | list[dict]:
    """`content` with its text replaced, its images kept (in order, with their own settings)."""
    if not isinstance(content, list):
        return text
    images = [part for part in content if isinstance(part, dict) and part.get("type") == "image_url"]
    if not images:
        return text
    return ([{"type": "text", "text": text}] if text else []) + images


def without_image(content: object, number: int) -> str | list[dict]:
    """`content` without its `number`th image (1-based); IndexError when it has no such image."""
    positions = [
        i for i, part in enumerate(content or []) if isinstance(part, dict) and part.get("type") == "image_url"
    ]
    if not isinstance(content, list) or not 1 <= number <= len(positions):
        raise IndexError(number)
    parts = [part for i, part in enumerate(content) if i != positions[number - 1]]
    if len(positions) == 1:  # the last image: plain text again
        return content_text(parts)
    return parts


def with_image(content: object, url: str) -> list[dict]:
    """`content` with one more image, after the others."""
    if isinstance(content, list):
        return [*content, image_part(url)]
    return image_content(content if isinstance(content, str) else "", [url])  # type: ignore[return-value]


# What the editor and the history show ---------------------------------------------------------


@dataclass(frozen=True)
class ShownImage:
    number: int  # among the message's images, from 1
    src: str  # a data URL of a small copy, or "" when the image cannot be read
    width: int
    height: int


_thumbnails: OrderedDict[bytes, tuple[str, int, int]] = OrderedDict()
_thumbnails_lock = threading.Lock()


def shown_images(content: object) -> list[ShownImage]:
    """The message's images as the editor shows them."""
    return [ShownImage(number, *_small_copy(url)) for number, url in enumerate(image_urls(content), start=1)]


def _small_copy(url: object) -> tuple[str, int, int]:
    if not isinstance(url, str) or not is_data_url(url):
        return "", 0, 0  # an https image: gradcap does not fetch it
    key = hashlib.blake2b(url.encode(), digest_size=16).digest()
    with _thumbnails_lock:  # requests run in several threads
        if key in _thumbnails:
            _thumbnails.move_to_end(key)
            return _thumbnails[key]
    try:
        _media_type, data = from_data_url(url)
        header = image_header(data)
        small, small_type = thumbnail(CleanImage(data, header.media_type, header.width, header.height))
        found = (f"data:{small_type};base64,{base64.b64encode(small).decode('ascii')}", header.width, header.height)
    except (ImageRefused, OSError, ValueError):
        found = ("", 0, 0)
    with _thumbnails_lock:
        _thumbnails[key] = found
        while len(_thumbnails) > THUMBNAILS:
            _thumbnails.popitem(last=False)
    return found


def image_label(url: object) -> str:
    """ "[image 640×480]" for a history or a diff: never the image's data."""
    width, height = _size(url)
    if not width:
        return _("[image]")
    return _("[image %(width)s×%(height)s]") % {"width": width, "height": height}


def _size(url: object) -> tuple[int, int]:
    if not is_data_url(url):
        return 0, 0
    payload = url.partition(",")[2][:HEADER_CHARS]  # type: ignore[union-attr]
    try:
        header = image_header(base64.b64decode(payload[: len(payload) // 4 * 4]))
    except (ImageRefused, binascii.Error, ValueError):
        return 0, 0
    return header.width, header.height


# Imports --------------------------------------------------------------------------------------


def imported_images_clean(examples: list[dict]) -> list[str]:
    """Check each data-URL image of the imported examples as the chat checks an upload
    (`clean_image`: read by its content, within the size and pixel limits), and strip the
    metadata (EXIF, ICC, XMP, comments, text chunks) of those that carry some, in place. An image
    without metadata keeps its bytes, so that an exported dataset imports back equal. Returns
    the refusals, one per image ("Example 3, message 2: …"); https images are left as they are
    (the vision checks warn about them)."""
    problems = []
    for number, example in enumerate(examples, start=1):
        for index, message in enumerate(example.get("messages") or []):
            if not isinstance(message, dict) or not isinstance(message.get("content"), list):
                continue
            for part in message["content"]:
                image = part.get("image_url") if isinstance(part, dict) else None
                if not isinstance(image, dict) or not is_data_url(image.get("url")):
                    continue
                try:
                    image["url"] = _cleaned(image["url"])
                except ImageRefused as refused:
                    where = {"example": number, "message": index + 1, "problem": refused.message}
                    problems.append(_("Example %(example)s, message %(message)s: %(problem)s") % where)
    return problems


def _cleaned(url: str) -> str:
    _media_type, data = from_data_url(url)
    cleaned = clean_image(data)
    return cleaned.data_url if has_metadata(data) else url


def has_metadata(data: bytes) -> bool:
    """Whether the image carries anything besides its pixels that `clean_image` would drop."""
    with Image.open(io.BytesIO(data)) as opened:
        info_keys = {key for key, value in opened.info.items() if value}
        return bool(info_keys & set(METADATA_KEYS)) or bool(getattr(opened, "text", None)) or bool(opened.getexif())
