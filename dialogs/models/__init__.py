"""The app's models, by concern: `records` (the recorded chats) and `datasets` (what curators make
of them). Imported from here, as `dialogs.models.X`, as before they were split."""

from .datasets import (
    Dataset,
    DatasetFingerprint,
    DatasetTally,
    Example,
    ExampleIssue,
    ExampleRevision,
    Transfer,
    transfer_upload_to,
)
from .records import Dialog, Message, MessageImage, chat_images_storage

__all__ = [
    "Dataset",
    "DatasetFingerprint",
    "DatasetTally",
    "Dialog",
    "Example",
    "ExampleIssue",
    "ExampleRevision",
    "Message",
    "MessageImage",
    "Transfer",
    "chat_images_storage",
    "transfer_upload_to",
]
