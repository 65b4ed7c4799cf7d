import openai
import pytest


def _texts(items) -> list[str]:
    return [item.content[0].text for item in items if item.type == "message"]


def test_it_creates_and_retrieves_a_conversation(sandbox_client):
    created = sandbox_client.conversations.create(metadata={"course": "python-basics"})

    retrieved = sandbox_client.conversations.retrieve(created.id)

    assert created.id.startswith("conv_")
    assert retrieved.metadata == {"course": "python-basics"}


def test_it_updates_a_conversation_s_metadata(sandbox_client):
    created = sandbox_client.conversations.create()

    updated = sandbox_client.conversations.update(created.id, metadata={"topic": "loops"})

    assert updated.metadata == {"topic": "loops"}


def test_it_stores_initial_and_added_items(sandbox_client):
    conversation = sandbox_client.conversations.create(items=[{"role": "user", "content": "Hello"}])

    added = sandbox_client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "assistant", "content": "Hi! How can I help?"}]
    )
    items = sandbox_client.conversations.items.list(conversation.id, order="asc")

    assert added.data[0].role == "assistant"
    assert _texts(items.data) == ["Hello", "Hi! How can I help?"]
    assert items.data[0].id.startswith("msg_")


def test_it_lists_items_newest_first_by_default(sandbox_client):
    conversation = sandbox_client.conversations.create(
        items=[{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    )

    assert _texts(sandbox_client.conversations.items.list(conversation.id).data) == ["two", "one"]


def test_it_retrieves_and_deletes_an_item(sandbox_client):
    conversation = sandbox_client.conversations.create(items=[{"role": "user", "content": "Hello"}])
    item = sandbox_client.conversations.items.list(conversation.id).data[0]

    assert sandbox_client.conversations.items.retrieve(item.id, conversation_id=conversation.id).id == item.id
    sandbox_client.conversations.items.delete(item.id, conversation_id=conversation.id)
    assert sandbox_client.conversations.items.list(conversation.id).data == []


def test_it_appends_each_response_to_its_conversation(sandbox_client):
    conversation = sandbox_client.conversations.create()

    first = sandbox_client.responses.create(model="gpt-4.1-mini", conversation=conversation.id, input="Hello")
    second = sandbox_client.responses.create(model="gpt-4.1-mini", conversation=conversation.id, input="Again")

    items = sandbox_client.conversations.items.list(conversation.id, order="asc").data
    assert [(item.role) for item in items] == ["user", "assistant", "user", "assistant"]
    assert _texts(items)[0] == "Hello"
    assert first.conversation.id == conversation.id
    assert second.usage.input_tokens > first.usage.input_tokens  # the earlier turn is in the context


def test_it_deletes_a_conversation(sandbox_client):
    conversation = sandbox_client.conversations.create()

    deleted = sandbox_client.conversations.delete(conversation.id)

    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        sandbox_client.conversations.retrieve(conversation.id)
