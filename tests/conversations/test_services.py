"""Writes to stored conversations: order, idempotence, totals, interruptions, endings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from conversations import services
from conversations.models import Conversation, Message, SessionSettings, Usage
from tests.factories import GPT_REALTIME_USAGE as WORKED_EXAMPLE

pytestmark = pytest.mark.django_db

User = Any


@pytest.fixture
def user(django_user_model: Any) -> User:
    return django_user_model.objects.create_user(username="alice", password="x")


@pytest.fixture
def conversation(user: User) -> Conversation:
    return services.conversation_start(owner=user, provider="openai", model="gpt-realtime", voice="marin")


def _roles_and_texts(conversation: Conversation) -> list[tuple[int, str, str]]:
    return list(conversation.messages.order_by("position").values_list("position", "role", "text"))


def test_session_settings_are_created_with_defaults_on_first_use(user: User) -> None:
    first = services.session_settings_for(user=user)
    again = services.session_settings_for(user=user)

    assert first.pk == again.pk
    assert first.turn_detection == "server_vad"
    assert SessionSettings.objects.count() == 1


def test_session_settings_update_validates_choices(user: User) -> None:
    from django.core.exceptions import ValidationError

    services.session_settings_update(user=user, voice="marin", max_output_tokens=500)
    with pytest.raises(ValidationError):
        services.session_settings_update(user=user, turn_detection="shouting")
    with pytest.raises(ValueError, match="Unknown session setting"):
        services.session_settings_update(user=user, user_id=5)

    assert SessionSettings.objects.get(user=user).voice == "marin"


def test_a_new_conversation_is_active_with_its_provider_and_model(conversation: Conversation) -> None:
    assert conversation.status == Conversation.Status.ACTIVE
    assert (conversation.provider, conversation.model, conversation.voice) == (
        "openai",
        "gpt-realtime",
        "marin",
    )
    assert conversation.ended_at is None


def test_turns_keep_upstream_order_even_when_the_user_transcript_completes_late(
    conversation: Conversation,
) -> None:
    cid = conversation.pk
    services.message_add(conversation_id=cid, item_id="item_user1", role="user", kind="audio")
    services.message_add(conversation_id=cid, item_id="item_asst1", role="assistant", kind="audio")
    services.message_complete(conversation_id=cid, item_id="item_asst1", role="assistant", text="Hi there")
    services.message_complete(conversation_id=cid, item_id="item_user1", role="user", text="Hello")

    assert _roles_and_texts(conversation) == [(1, "user", "Hello"), (2, "assistant", "Hi there")]
    assert Message.objects.get(item_id="item_user1").status == Message.Status.COMPLETED


def test_adding_the_same_item_twice_keeps_one_turn(conversation: Conversation) -> None:
    first = services.message_add(conversation_id=conversation.pk, item_id="item_a", role="user", kind="audio")
    second = services.message_add(
        conversation_id=conversation.pk, item_id="item_a", role="user", kind="audio"
    )

    assert first.pk == second.pk
    assert conversation.messages.count() == 1


def test_a_transcript_that_arrives_before_its_item_is_appended(conversation: Conversation) -> None:
    services.message_complete(conversation_id=conversation.pk, item_id="item_u", role="user", text="Early")

    assert _roles_and_texts(conversation) == [(1, "user", "Early")]


def test_the_first_user_turn_titles_the_conversation_unless_renamed(conversation: Conversation) -> None:
    cid = conversation.pk
    services.message_complete(conversation_id=cid, item_id="item_1", role="user", text="Plan a trip to Rome")
    services.message_complete(conversation_id=cid, item_id="item_2", role="user", text="Something else")
    conversation.refresh_from_db()
    assert conversation.title == "Plan a trip to Rome"

    services.conversation_rename(conversation=conversation, title="  Rome   trip ")
    services.message_complete(conversation_id=cid, item_id="item_3", role="user", text="More")
    conversation.refresh_from_db()
    assert conversation.title == "Rome trip"


def test_renaming_to_an_empty_title_is_refused(conversation: Conversation) -> None:
    with pytest.raises(ValueError, match="empty"):
        services.conversation_rename(conversation=conversation, title="   ")


def test_a_failed_transcription_is_stored_as_such(conversation: Conversation) -> None:
    services.message_add(conversation_id=conversation.pk, item_id="item_u", role="user", kind="audio")
    message = services.message_transcription_failed(
        conversation_id=conversation.pk, item_id="item_u", error_code="audio_unintelligible"
    )

    assert message.status == Message.Status.TRANSCRIPTION_FAILED
    assert message.error_code == "audio_unintelligible"


def test_an_interrupted_answer_keeps_its_full_text_and_the_part_heard(conversation: Conversation) -> None:
    cid = conversation.pk
    services.message_add(conversation_id=cid, item_id="item_a", role="assistant", kind="audio")
    services.message_complete(
        conversation_id=cid,
        item_id="item_a",
        role="assistant",
        text="one two three four",
        audio_duration_ms=1000,
    )
    message = services.message_interrupt(conversation_id=cid, item_id="item_a", played_ms=500)

    assert message is not None
    assert message.status == Message.Status.INTERRUPTED
    assert (message.text, message.heard_text, message.played_ms) == ("one two three four", "one two", 500)


def test_an_interrupt_before_the_final_text_gets_its_heard_part_when_the_text_arrives(
    conversation: Conversation,
) -> None:
    cid = conversation.pk
    services.message_add(conversation_id=cid, item_id="item_a", role="assistant", kind="audio")
    services.message_interrupt(conversation_id=cid, item_id="item_a", played_ms=500, audio_duration_ms=1000)
    message = services.message_complete(
        conversation_id=cid, item_id="item_a", role="assistant", text="one two three four"
    )

    assert message.status == Message.Status.INTERRUPTED
    assert message.heard_text == "one two"


def test_played_ms_is_clamped_to_the_audio_delivered(conversation: Conversation) -> None:
    cid = conversation.pk
    services.message_add(conversation_id=cid, item_id="item_a", role="assistant", kind="audio")
    message = services.message_interrupt(
        conversation_id=cid, item_id="item_a", played_ms=9000, audio_duration_ms=800
    )

    assert message is not None
    assert message.played_ms == 800


def test_an_interrupt_for_an_unknown_item_changes_nothing(conversation: Conversation) -> None:
    assert services.message_interrupt(conversation_id=conversation.pk, item_id="nope", played_ms=10) is None


def test_usage_is_recorded_with_its_cost_and_added_to_the_totals(conversation: Conversation) -> None:
    record = services.usage_record(
        conversation_id=conversation.pk, upstream_id="resp_1", kind="response", usage=WORKED_EXAMPLE
    )
    conversation.refresh_from_db()

    assert record is not None
    assert record.cost == Decimal("0.0069656")
    assert record.model == "gpt-realtime"
    assert (record.input_text_tokens, record.cached_text_tokens, record.output_audio_tokens) == (119, 64, 91)
    assert conversation.total_tokens == 253
    assert conversation.cost == Decimal("0.0069656")


def test_a_replayed_usage_event_counts_once(conversation: Conversation) -> None:
    for _ in range(3):
        services.usage_record(
            conversation_id=conversation.pk, upstream_id="resp_1", kind="response", usage=WORKED_EXAMPLE
        )
    conversation.refresh_from_db()

    assert Usage.objects.filter(conversation=conversation).count() == 1
    assert conversation.total_tokens == 253
    assert conversation.cost == Decimal("0.0069656")


def test_a_replayed_usage_event_with_an_overlong_id_counts_once(conversation: Conversation) -> None:
    for _ in range(2):
        services.usage_record(
            conversation_id=conversation.pk, upstream_id="r" * 300, kind="response", usage=WORKED_EXAMPLE
        )
    conversation.refresh_from_db()

    assert Usage.objects.get(conversation=conversation).upstream_id == "r" * 120
    assert conversation.total_tokens == 253


def test_usage_for_a_deleted_conversation_is_refused(conversation: Conversation) -> None:
    conversation_id = conversation.pk
    conversation.delete()

    # Each in a savepoint of the caller's, as the recorder applies every write.
    with pytest.raises(Conversation.DoesNotExist), transaction.atomic():
        services.usage_record(
            conversation_id=conversation_id, upstream_id="r", kind="response", usage=WORKED_EXAMPLE
        )
    with pytest.raises(Conversation.DoesNotExist), transaction.atomic():
        services.message_add(conversation_id=conversation_id, item_id="i", role="user", kind="audio")
    assert not Usage.objects.exists()
    assert not Message.objects.exists()


def test_totals_sum_several_reports_exactly(conversation: Conversation) -> None:
    for n in range(7):
        services.usage_record(
            conversation_id=conversation.pk, upstream_id=f"resp_{n}", kind="response", usage=WORKED_EXAMPLE
        )
    conversation.refresh_from_db()

    assert conversation.cost == Decimal("0.0487592")
    assert conversation.output_audio_tokens == 7 * 91


def test_usage_of_an_unpriced_model_keeps_tokens_and_is_counted_as_unpriced(user: User) -> None:
    conversation = services.conversation_start(owner=user, provider="azure_openai", model="my-deployment")
    record = services.usage_record(
        conversation_id=conversation.pk, upstream_id="resp_1", kind="response", usage=WORKED_EXAMPLE
    )
    conversation.refresh_from_db()

    assert record is not None
    assert record.cost is None
    assert conversation.total_tokens == 253
    assert conversation.cost == 0
    assert conversation.unpriced_usage_count == 1


def test_duration_billed_transcription_usage_keeps_its_seconds(conversation: Conversation) -> None:
    record = services.usage_record(
        conversation_id=conversation.pk,
        upstream_id="item_u",
        kind="transcription",
        usage={"type": "duration", "seconds": 2.5},
        model="whisper-1",
    )

    assert record is not None
    assert record.duration_seconds == Decimal("2.5")
    assert record.cost is None


def test_finishing_sets_status_reason_and_end_time_once(conversation: Conversation) -> None:
    assert services.conversation_finish(conversation_id=conversation.pk, end_reason="user_stopped")
    assert not services.conversation_finish(conversation_id=conversation.pk, end_reason="upstream_error")
    conversation.refresh_from_db()

    assert conversation.status == Conversation.Status.COMPLETED
    assert conversation.end_reason == "user_stopped"
    assert conversation.ended_at is not None
    assert conversation.duration_seconds is not None


def test_an_upstream_failure_ends_the_conversation_as_failed(conversation: Conversation) -> None:
    services.conversation_finish(conversation_id=conversation.pk, end_reason="authentication_failed")
    conversation.refresh_from_db()

    assert conversation.status == Conversation.Status.FAILED


def test_a_resumed_conversation_is_active_again(conversation: Conversation) -> None:
    services.conversation_finish(conversation_id=conversation.pk, end_reason="client_disconnected")
    services.conversation_reopen(conversation_id=conversation.pk)
    conversation.refresh_from_db()

    assert (conversation.status, conversation.end_reason, conversation.ended_at) == ("active", "", None)


def test_deleting_a_conversation_removes_its_turns_and_usage(conversation: Conversation) -> None:
    services.message_add(conversation_id=conversation.pk, item_id="i", role="user", kind="text", text="x")
    services.usage_record(
        conversation_id=conversation.pk, upstream_id="r", kind="response", usage=WORKED_EXAMPLE
    )

    services.conversation_delete(conversation=conversation)

    assert (Conversation.objects.count(), Message.objects.count(), Usage.objects.count()) == (0, 0, 0)
