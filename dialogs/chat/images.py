"""The images of questions: stored, copied to an edited question, read for the model, deleted.

The files go to STORAGES["chat_images"] (chat_images_storage) under names nobody can guess; no URL
of that storage is ever shown. A question's files are written before it is recorded
(`files_store`), outside its transaction: should the disk be full, what was written is removed and
`ImagesNotStored` says so, and nothing is recorded; should recording the question fail, the caller
removes the files (`files_forget`). A file is deleted with the last row that names it.
"""

import logging
import secrets
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext as _

from assistants.engine import images_refusal, model_sees_images
from core.images import CleanImage, thumbnail, to_data_url

from ..models import Dialog, Message, MessageImage, chat_images_storage

logger = logging.getLogger(__name__)
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class ImagesNotStored(Exception):
    """The images could not be written (disk full, storage down); `message` is for the learner."""

    def __init__(self):
        self.message = _("The images could not be stored just now; nothing was sent. Please try again later.")
        super().__init__(self.message)


@dataclass(frozen=True)
class StoredImage:
    """An image's files, written before the question that carries it is recorded."""

    file: str
    thumbnail: str
    media_type: str
    width: int
    height: int
    size: int


def _name(course_id: int, media_type: str, suffix: str = "") -> str:
    return f"{course_id}/{secrets.token_hex(16)}{suffix}.{EXTENSIONS[media_type]}"


def files_store(course_id: int, images: list[CleanImage]) -> list[StoredImage]:
    """Write a question's images (cleaned already) and their thumbnails, before the question is
    recorded; on failure, remove what was written and raise ImagesNotStored."""
    storage = chat_images_storage()
    saved: list[str] = []
    stored = []
    try:
        for image in images:
            small, small_type = thumbnail(image)
            file_name = storage.save(_name(course_id, image.media_type), ContentFile(image.data))
            saved.append(file_name)
            thumb_name = storage.save(_name(course_id, small_type, "-thumb"), ContentFile(small))
            saved.append(thumb_name)
            stored.append(
                StoredImage(file_name, thumb_name, image.media_type, image.width, image.height, len(image.data))
            )
    except OSError as error:
        logger.error("Storing a question's images failed: %s", error)
        _delete_files(saved)
        raise ImagesNotStored from error
    return stored


def files_forget(stored: list[StoredImage]) -> None:
    """The question was not recorded after all: its images' files go too."""
    _delete_files([name for image in stored for name in (image.file, image.thumbnail)])


def images_attach(message: Message, stored: list[StoredImage]) -> None:
    """Record the stored images as the question's (in the transaction that records it)."""
    if not stored:
        return
    MessageImage.objects.bulk_create(
        MessageImage(
            message=message,
            position=position,
            file=image.file,
            thumbnail=image.thumbnail,
            media_type=image.media_type,
            width=image.width,
            height=image.height,
            size=image.size,
        )
        for position, image in enumerate(stored, start=1)
    )
    message.image_count = len(stored)
    Message.objects.filter(pk=message.pk).update(image_count=message.image_count)


def images_copy(source: Message, to: Message) -> None:
    """An edited (or retried) question keeps the images of the one it replaces (the same files)."""
    if source.image_count:
        images_attach(to, [_stored(image) for image in source.images.all()])


def _stored(image: MessageImage) -> StoredImage:
    return StoredImage(image.file.name, image.thumbnail.name, image.media_type, image.width, image.height, image.size)


def dialog_holds_images(dialog_id: int) -> bool:
    """Whether the dialog's active questions carry images (its history sends them again)."""
    return Message.objects.filter(dialog_id=dialog_id, replaced_at__isnull=True, image_count__gt=0).exists()


def images_refusal_for(model: str, *, images: list, dialog: Dialog | None) -> str | None:
    """Why a question cannot go to `model`, said before it is recorded: it carries images, or its
    dialog's earlier questions do (the history sends them again), and the model cannot see them."""
    if model_sees_images(model):
        return None
    if images:
        return images_refusal(model)
    if dialog is not None and dialog_holds_images(dialog.pk):
        return _(
            "This dialog holds images, and the assistant's model (%(model)s) cannot see them. "
            "Start a new chat to ask without them."
        ) % {"model": model}
    return None


def history_images(history: list[dict]) -> list[dict]:
    """The history with each question's images read from storage, as the engine wants them
    (`{"media_type", "data"}`); entries carry `image_ids` until then, so a stream ticket holds
    ids, not pictures."""
    wanted = [image_id for item in history for image_id in item.get("image_ids") or ()]
    if not wanted:
        return history
    found = {image.pk: image for image in MessageImage.objects.filter(pk__in=wanted)}
    loaded = []
    for item in history:
        ids = item.get("image_ids")
        if ids:
            item = {key: value for key, value in item.items() if key != "image_ids"}
            item["images"] = [read for pk in ids if pk in found and (read := _for_engine(found[pk]))]
        loaded.append(item)
    return loaded


def _for_engine(image: MessageImage) -> dict | None:
    try:
        return {"media_type": image.media_type, "data": image.read()}
    except OSError:  # a file lost from the storage: the question goes without it
        logger.error("The image file %s of message %s cannot be read", image.file.name, image.message_id)
        return None


def image_data_url(image: MessageImage) -> str:
    """The image as a data URL, the form training files and the providers take."""
    return to_data_url(image.read(), image.media_type)


def _delete_files(names: list[str]) -> None:
    storage = chat_images_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("Could not delete the image file %s", name, exc_info=True)


@receiver(post_delete, sender=MessageImage)
def _image_deleted(sender, instance: MessageImage, **kwargs) -> None:
    """The last row that names a file takes the file (and its thumbnail) with it, once committed."""
    names = [instance.file.name, instance.thumbnail.name]

    def delete_unnamed():
        if not MessageImage.objects.filter(file=instance.file.name).exists():
            _delete_files(names)

    transaction.on_commit(delete_unnamed)
