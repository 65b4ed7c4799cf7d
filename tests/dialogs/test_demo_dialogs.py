import re

from django.core.management import call_command

from accounts.demo import CURATOR_EMAIL
from accounts.models import User
from dialogs.datasets import lines
from dialogs.demo import DATASET_NAME
from dialogs.models import Dataset, Dialog, Example, Message, MessageImage
from llm.catalog import get_model
from trainingfiles.validation import validate_dataset


def test_it_records_dialogs_to_curate_and_a_valid_dataset_once(db, client):
    call_command("demo_data")
    first = (Dialog.objects.count(), Message.objects.count(), Example.objects.count())
    call_command("demo_data")
    assert (Dialog.objects.count(), Message.objects.count(), Example.objects.count()) == first

    assert 25 <= first[0] <= 40
    contents = " ".join(Message.objects.values_list("content", flat=True))
    assert re.search("[а-яё]", contents) and re.search("[a-z]", contents)
    assert Dialog.objects.filter(feedback_up__gt=0).exists() and Dialog.objects.filter(feedback_down__gt=0).exists()
    assert {"chat", "playground", "api"} == set(Dialog.objects.values_list("source", flat=True))
    assert Message.objects.exclude(tool_calls=[]).exists()
    assert Message.objects.filter(status=Message.Status.FAILED).exists()
    assert MessageImage.objects.get().message.content == "What does this error mean?"

    dataset = Dataset.objects.get(name=DATASET_NAME)
    ready = dataset.examples.filter(status=Example.Status.READY)
    assert ready.count() >= 12 and ready.count() == dataset.examples.count()
    report = validate_dataset(enumerate(lines.dataset_rows(dataset)), base_model=get_model(dataset.base_model))
    assert report.error_count == 0
    assert list(lines.dataset_rows(dataset, kind="dpo"))  # a rewritten answer makes a pair
    curated = Dialog.objects.filter(example_count__gt=0).count()
    assert curated == dataset.examples.values("source_dialog").distinct().count()

    client.force_login(User.objects.get(email=CURATOR_EMAIL))
    page = client.get("/c/python-basics/dialogs/?feedback=down").content.decode()
    assert page.count('<tr id="dialog-') == Dialog.objects.filter(feedback_down__gt=0).count()


def test_it_flags_the_demos_dialogs_worth_curating_at_once(db):
    from dialogs.records import triage

    call_command("demo_data")

    assert not Dialog.objects.filter(triage_due=True).exists()
    flags = {flag.key for bits in Dialog.objects.values_list("flags", flat=True) for flag in triage.labels_of(bits)}
    assert {"thumbs-down", "failed", "nothing-found", "asked-again", "negative"} <= flags
    assert Dialog.objects.filter(flags=0).exists()  # most dialogs went well
