"""The images of an integration API message: read from the JSON body, checked and cleaned.

Each item of "images" is {"url": "data:image/png;base64,..."} or {"data": "<base64>"} (a
"media_type" beside it is ignored: the content says what an image is). Every size is checked
before anything is decoded, then `core.images.clean_image` trusts nothing but the pixels and
writes them out without metadata, as for the chat's uploads.

An http(s) URL is refused: gradcap fetches nothing a client names (a server-side request to any
address is an SSRF hole), and it keeps only images it has checked itself.

Refusals are `ImageRefused` with the API's error codes (invalid_image, image_too_large,
too_many_images, image_url_not_supported), in English like the rest of the API.
"""

import base64
import binascii

from django.conf import settings
from django.utils import translation

from core.images import CleanImage, ImageRefused, check_count, check_size, clean_image, from_data_url


def images_schema() -> dict:
    """The "images" field in the OpenAPI description."""
    return {
        "type": "array",
        "maxItems": settings.CHAT_IMAGE_MAX_COUNT,
        "description": "Images of the message (PNG, JPEG, WebP or GIF, the first frame only), each at most "
        f"{settings.CHAT_IMAGE_MAX_BYTES} bytes. gradcap checks them by their content and removes their metadata "
        "(EXIF, GPS). Web addresses are refused (image_url_not_supported): send the bytes.",
        "items": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": "A base64 data URL: data:image/png;base64,…"},
                "data": {"type": "string", "description": "The image's bytes in base64."},
                "media_type": {"type": "string", "description": "Ignored: the content says what the image is."},
            },
            "oneOf": [{"required": ["url"]}, {"required": ["data"]}],
        },
    }


def images_from_json(items: object) -> list[CleanImage]:
    """The cleaned images of a message's "images" ([] when there are none); ImageRefused with
    the API's code and an English message for the first one refused."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise ImageRefused("invalid_request", "'images' must be a list of objects.")
    with translation.override("en"):
        try:
            check_count(len(items))
        except ImageRefused as refused:
            raise ImageRefused("too_many_images", refused.message) from None
        return [_image(item, where=f"images[{index}]") for index, item in enumerate(items)]


def _image(item: object, *, where: str) -> CleanImage:
    if not isinstance(item, dict) or ("url" in item) == ("data" in item):
        raise ImageRefused("invalid_image", f"'{where}' must be an object with either 'url' (a data URL) or 'data'.")
    url = item.get("url")
    if isinstance(url, str) and url[:8].lower().startswith(("http://", "https://")):
        raise ImageRefused(
            "image_url_not_supported",
            f"'{where}': gradcap does not fetch images from the web; send the image itself, as a data URL "
            "(data:image/png;base64,…) or in 'data' (base64).",
        )
    try:
        data = from_data_url(url)[1] if "url" in item else _from_base64(item["data"])  # sizes checked first
        return clean_image(data)
    except ImageRefused as refused:
        code = "image_too_large" if refused.code == "too_large" else "invalid_image"
        raise ImageRefused(code, f"'{where}': {refused.message} ({refused.code})") from None


def _from_base64(data: object) -> bytes:
    if not isinstance(data, str):
        raise ImageRefused("not_base64", "The image's 'data' must be a base64 string.")
    check_size(len(data) * 3 // 4)  # the decoded size, before decoding
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRefused("not_base64", "The image's 'data' is not valid base64.") from None
