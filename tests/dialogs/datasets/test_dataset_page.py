# ruff: noqa: F811 -- the fixtures imported from dataset_fixtures are parameters of the tests
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dialogs.datasets import edits, lines
from dialogs.datasets import services as curation
from dialogs.models import Example
from llm.models import Provider
from tests.dialogs.datasets.dataset_fixtures import assistant, dataset, demo_rows, fill  # noqa: F401 -- fixtures

pytestmark = pytest.mark.django_db


def _page(client, user, dataset, query=""):
    client.force_login(user)
    url = reverse("dialogs:dataset", args=[dataset.course.slug, dataset.pk])
    response = client.get(url + query)
    assert response.status_code == 200
    return response.content.decode()


def _qa(question, answer):
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


def _report_section(html: str) -> str:
    return html.split('id="report"')[1].split('id="stats"')[0]


def test_it_reports_known_problems_grouped_by_check_with_links(client, curator, dataset):
    examples = fill(
        dataset,
        [
            _qa("What is a tuple?", "An immutable sequence."),
            _qa("What is a tuple?", "An immutable sequence."),  # exact duplicate of the first
            _qa("what is a TUPLE", "An immutable sequence!"),  # near duplicate
            _qa("Mail me at ann@example.com", "Sure."),  # personal data
            _qa("Say nothing", "   "),  # empty answer: blocking
        ],
    )
    html = _report_section(_page(client, curator, dataset))

    assert "blocking errors" in html
    assert "A dataset needs at least 10 examples to train; this one has 5." in html
    assert "The assistant answer is empty." in html
    assert f"This example is the same as example {examples[0].pk}." in html
    assert f"This example says almost exactly what example {examples[0].pk} says." in html
    assert "This message seems to contain an email address." in html
    for example in examples[1:]:
        link = reverse("dialogs:example", args=[dataset.course.slug, dataset.pk, example.pk])
        assert f'href="{link}"' in html
    # Every check is listed, passed ones too.
    assert "✓ Only known roles" in html
    assert "✓ Tools and tool calls" in html
    assert "The base model&#x27;s token limit" in html


def test_it_warns_under_fifty_and_passes_a_clean_dataset(client, curator, dataset):
    fill(dataset, demo_rows(12))
    html = _report_section(_page(client, curator, dataset))
    assert "No blocking errors; 1 warning to look at." in html
    assert "12 examples can train, but 50 or more usually work clearly better." in html


def test_it_checks_the_base_models_token_limit(client, curator, dataset):
    fill(dataset, [_qa("Long?", "word " * 70_000), *demo_rows(10)])
    html = _report_section(_page(client, curator, dataset))
    assert re.search(r"The example has \d+ tokens; the base model trains on at most 65536\.", html)


def test_it_leaves_drafts_out_of_the_report_and_says_so(client, curator, dataset):
    fill(dataset, demo_rows(10))
    draft = dataset.examples.create(messages=[{"role": "user", "content": "Draft only"}])
    html = _page(client, curator, dataset)
    assert "1 draft" in html
    assert "Drafts are not validated or exported" in html
    assert "no assistant message" not in _report_section(html)
    assert f'id="example-{draft.pk}"' in html


def test_it_redacts_one_example(client, curator, dataset):
    example, other = fill(
        dataset, [_qa("Call +7 912 345-67-89 or ann@example.com", "Ok."), _qa("Mail bob@example.org", "Ok.")]
    )
    client.force_login(curator)
    url = reverse("dialogs:dataset_redact", args=[dataset.course.slug, dataset.pk, example.pk])
    response = client.post(url, follow=True)
    assert "Personal data removed from example" in response.content.decode()
    example.refresh_from_db()
    assert example.messages[0]["content"] == "Call [phone] or [email]"
    assert example.version == 2
    assert example.revisions.first().summary == "Removed personal data"
    other.refresh_from_db()
    assert other.messages[0]["content"] == "Mail bob@example.org"


def test_it_redacts_all_examples_of_the_dataset(client, curator, dataset):
    examples = fill(
        dataset,
        [_qa("Mail ann@example.com", "Ok."), _qa("No data here", "Fine."), _qa("Card 4111 1111 1111 1111", "Ok.")],
    )
    draft = dataset.examples.create(messages=[{"role": "user", "content": "I am eve@example.net"}])
    client.force_login(curator)
    response = client.post(reverse("dialogs:dataset_redact_all", args=[dataset.course.slug, dataset.pk]), follow=True)
    assert "Personal data removed from 3 examples." in response.content.decode()
    contents = [e.messages[0]["content"] for e in Example.objects.filter(pk__in=[e.pk for e in examples])]
    assert contents == ["Mail [email]", "No data here", "Card [card]"]
    draft.refresh_from_db()
    assert draft.messages[0]["content"] == "I am [email]"
    assert Example.objects.get(pk=examples[1].pk).version == 1  # untouched
    html = _report_section(_page(client, curator, dataset))
    assert "✓ Personal data" in html


def test_it_splits_by_the_ratio_deterministically(client, curator, dataset):
    examples = fill(dataset, demo_rows(40))
    dataset.validation_percent = 25
    dataset.save()
    splits = [lines.split_of(e, 25) for e in examples]
    assert splits == [lines.split_of(e, 25) for e in dataset.examples.order_by("pk")]
    validation = splits.count("validation")
    assert 0 < validation < 40
    html = _page(client, curator, dataset)
    assert f"{40 - validation} for training, {validation} for validation" in html
    shown = _page(client, curator, dataset, "?split=validation")
    assert shown.count('<tr id="example-') == validation


def test_it_overrides_the_split_of_one_example(client, curator, dataset):
    dataset.validation_percent = 0
    dataset.save()
    example = fill(dataset, demo_rows(1))[0]
    client.force_login(curator)
    url = reverse("dialogs:dataset_split", args=[dataset.course.slug, dataset.pk, example.pk])

    response = client.post(url, {"split": "validation", "version": example.version}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert '<option value="validation" selected>' in response.content.decode()
    example.refresh_from_db()
    assert example.split == "validation" and example.version == 2
    assert lines.split_of(example, 0) == "validation"

    stale = client.post(url, {"split": "train", "version": 1}, headers={"HX-Request": "true"})
    assert "Someone else changed this example meanwhile" in stale.content.decode()
    example.refresh_from_db()
    assert example.split == "validation"

    client.post(url, {"split": "", "version": 2})
    example.refresh_from_db()
    assert example.split == "" and lines.split_of(example, 0) == "train"


def test_it_shows_statistics_histogram_epochs_and_costs(client, curator, dataset):
    examples = fill(dataset, demo_rows(12))
    curation.example_change(
        example=examples[2], version=1, user=curator, change=edits.set_content(3, "Use enumerate(items, start=1).")
    )
    html = _page(client, curator, dataset)
    stats = html.split('id="stats"')[1].split('id="export"')[0]
    assert "Assistant tokens" in stats and "p90" in stats
    assert stats.count("<rect ") >= 2
    assert "Training would run 8 epochs" in stats  # 100 // 12
    for label in ("GPT-4.1", "GPT-4.1 mini", "GPT-4o mini"):  # the sandbox tunes what Azure does
        assert f"<td>{label} <code>" in stats
    assert re.search(r"\$\d+\.\d\d", stats)
    assert "Rewritten answers give 1 preference pair for DPO training." in stats
    assert "OpenAI accepts no new fine-tuning jobs" not in stats


def test_it_shows_openais_end_of_fine_tuning_for_an_openai_assistant(client, curator, dataset, assistant):
    assistant.provider = Provider.objects.create(name="OpenAI", kind=Provider.Kind.OPENAI)
    assistant.save()
    fill(dataset, demo_rows(10))
    html = _page(client, curator, dataset)
    assert "OpenAI accepts no new fine-tuning jobs after Jan. 6, 2027." in html
    assert "<td>GPT-4o mini <code>" not in html  # not tunable at OpenAI any more


def test_it_filters_by_status_and_issues(client, curator, dataset):
    good = fill(dataset, demo_rows(3))
    bad = fill(dataset, [_qa("Empty?", " ")])[-1]
    draft = dataset.examples.create(messages=[{"role": "user", "content": "Draft"}])
    rows = lambda query: set(map(int, re.findall(r'<tr id="example-(\d+)"', _page(client, curator, dataset, query))))  # noqa: E731
    assert rows("?status=draft") == {draft.pk}
    assert rows("?status=ready&issues=yes") == {bad.pk}
    assert rows("?status=ready&issues=no") == {e.pk for e in good}


def test_it_edits_the_settings_and_recounts(client, curator, dataset, course, sandbox_provider):
    example = fill(dataset, demo_rows(2))[0]  # follows the assistant's instructions
    other = course.assistants.create(
        name="Long", instructions="Be thorough. " * 50, provider=sandbox_provider, model="gpt-4.1"
    )
    client.force_login(curator)
    url = reverse("dialogs:dataset_settings", args=[course.slug, dataset.pk])
    data = {
        "name": "Renamed",
        "description": "",
        "assistant": other.pk,
        "base_model": "gpt-4.1-2025-04-14",
        "validation_percent": 20,
    }
    before = Example.objects.get(pk=example.pk).token_count
    response = client.post(url, data)
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert (dataset.name, dataset.assistant, dataset.base_model, dataset.validation_percent) == (
        "Renamed",
        other,
        "gpt-4.1-2025-04-14",
        20,
    )
    assert Example.objects.get(pk=example.pk).token_count > before

    invalid = client.post(url, {**data, "validation_percent": 60})
    assert "Keep at most half of the examples for validation." in invalid.content.decode()
    assert (
        "unknown-model"
        not in client.post(url, {**data, "base_model": "unknown-model"}).content.decode().split('id="settings"')[0]
    )
    dataset.refresh_from_db()
    assert dataset.validation_percent == 20 and dataset.base_model == "gpt-4.1-2025-04-14"


def test_it_offers_the_fine_tunable_models_only(client, curator, dataset):
    html = _page(client, curator, dataset)
    settings = html.split('id="settings"')[1]
    assert '<option value="gpt-4.1-mini-2025-04-14" selected>' in settings  # the assistant's alias resolved
    assert 'value="gpt-5"' not in settings


def test_it_escapes_html_in_example_content(client, curator, dataset):
    fill(dataset, [_qa("<script>alert('q')</script>", "<img src=x onerror=alert(1)>"), *demo_rows(2)])
    html = _page(client, curator, dataset)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;q&#x27;)&lt;/script&gt;" in html


def test_it_its_query_count_does_not_grow_with_the_examples(client, curator, dataset):
    fill(dataset, demo_rows(3))
    client.force_login(curator)
    url = reverse("dialogs:dataset", args=[dataset.course.slug, dataset.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    fill(dataset, demo_rows(30))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
