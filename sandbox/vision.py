"""What the sandbox's models see of the images in a message.

Image parts come as the Responses API's `{"type": "input_image", "image_url": "data:…", "detail"}`
or Chat Completions' `{"type": "image_url", "image_url": {"url": "data:…", "detail"}}`. A data URL
is read (`core.images.describe`: its size and main colour), so an answer can say what it saw. The
sandbox reaches no network: an https URL gets the 400 that OpenAI gives for an image it cannot
download, and a `file_id` the sandbox does not keep gets a 400 that says so.
"""

from dataclasses import dataclass

from core.images import ImageRefused, describe, from_data_url, image_size, is_data_url
from llm.vision import ImageCost, image_tokens

from .errors import invalid

# OpenAI's limit per image in a request.
MAX_IMAGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class SeenImage:
    description: str  # "a 640×480 image, mostly red"
    width: int
    height: int
    detail: str

    def tokens(self, cost: ImageCost | None) -> int:
        return image_tokens(cost, self.width, self.height, self.detail)


def _url_and_detail(part: dict) -> tuple[object, str]:
    if part.get("type") == "input_image":
        if part.get("file_id") and not part.get("image_url"):
            raise invalid("The sandbox takes images as data URLs only, not as files.", param="input")
        return part.get("image_url"), part.get("detail") or "auto"
    image_url = part.get("image_url")
    if isinstance(image_url, dict):
        return image_url.get("url"), image_url.get("detail") or "auto"
    return image_url, "auto"


def _seen(url: object, detail: str) -> SeenImage:
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        raise invalid(f"Error while downloading {url}.", code="invalid_image_url")
    if not is_data_url(url):
        raise invalid("Invalid image URL: expected a data URL or an https URL.", code="invalid_image_url")
    try:
        _media_type, data = from_data_url(url, limit=MAX_IMAGE_BYTES)
        return SeenImage(describe(data), *image_size(data), detail)
    except ImageRefused:
        raise invalid(
            "You uploaded an unsupported image. Please make sure your image is below 20 MB in size and is of one "
            "the following formats: ['png', 'jpeg', 'gif', 'webp'].",
            code="invalid_image_format",
        ) from None


def content_images(content: object) -> list[SeenImage]:
    """The images among a message's content parts, as the model sees them (400s as OpenAI gives)."""
    if not isinstance(content, list):
        return []
    return [
        _seen(*_url_and_detail(part))
        for part in content
        if isinstance(part, dict) and part.get("type") in ("input_image", "image_url")
    ]


def what_was_seen(messages: list[dict]) -> str:
    """What the model says it saw in the last user message ("I see a 640×480 image, mostly red."),
    or "" when that message has no images."""
    images = next((m.get("images") or [] for m in reversed(messages) if m.get("role") == "user"), [])
    return f"I see {' and '.join(image.description for image in images)}." if images else ""
