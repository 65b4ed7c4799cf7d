"""curation.example_delete: a curator deletes the version they saw, never a newer one."""

import pytest

from dialogs.datasets import edits
from dialogs.datasets import services as curation
from dialogs.models import Example

pytestmark = pytest.mark.django_db


@pytest.fixture
def example(course, curator):
    dataset = curation.dataset_create(course=course, name="Imported", user=curator)
    rows = [{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}]
    curation.examples_create(dataset=dataset, rows=rows, user=curator, summary="Imported")
    return dataset.examples.get()


def test_it_deletes_a_ready_example_at_its_version(example):
    assert example.status == Example.Status.READY
    curation.example_delete(example=example, version=1)
    assert not Example.objects.filter(pk=example.pk).exists()


def test_it_refuses_a_stale_version(example, curator):
    curation.example_change(example=example, version=1, user=curator, change=edits.set_content(1, "B"))
    with pytest.raises(curation.ExampleConflict) as conflict:
        curation.example_delete(example=example, version=1)
    assert conflict.value.current.messages[1]["content"] == "B"
    assert Example.objects.filter(pk=example.pk).exists()
