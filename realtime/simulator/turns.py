"""Which response runs when: response.create, response.cancel, VAD-driven answers and barge-in (§2, §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .answers import compose_answer
from .conversation import Item
from .errors import ProtocolError, invalid_type
from .item_commands import find_item
from .items import parse_item
from .response import Responder
from .settings import Settings
from .usage import instructions_segment, item_segment

if TYPE_CHECKING:
    from .session import RealtimeSession


class ResponseControl:
    """Starts, chains and cancels one session's responses."""

    def __init__(self, session: RealtimeSession) -> None:
        """No response yet."""
        self.session = session
        self.active: Responder | None = None  # the in-conversation response, if any
        self.responders: dict[str, Responder] = {}
        self._started = 0

    @property
    def generating(self) -> bool:
        """True while the in-conversation response has not sent response.done."""
        return self.active is not None and self.active.generating

    async def create(self, event: dict[str, Any]) -> None:
        """response.create, with optional overrides in `response`."""
        session = self.session
        overrides = event.get("response") or {}
        if not isinstance(overrides, dict):
            raise invalid_type("response", "an object", overrides)
        session.dialect.schema.check_response(overrides)
        in_conversation = overrides.get("conversation", "auto") != "none"
        if in_conversation and self.active is not None and self.generating:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.active.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        settings = session.dialect.schema.response_settings(session.settings, overrides)
        self._start(settings, self._context(overrides), in_conversation, overrides.get("metadata"))

    async def cancel(self, event: dict[str, Any]) -> None:
        """response.cancel; with nothing running it is the harmless race error of §4.3."""
        response_id = event.get("response_id")
        target = self.responders.get(response_id) if response_id else self.active
        if target is None or not target.generating:
            raise ProtocolError("response_cancel_not_active", "Cancellation failed: no active response found")
        await target.cancel("client_cancelled")

    async def interrupt(self) -> None:
        """Barge-in: speech while the answer is still generating cancels it (§4)."""
        if self.active is not None and self.generating:
            await self.active.cancel("turn_detected")

    def answer_turn(self) -> None:
        """Answer a VAD-committed turn, after the running answer if barge-in is off."""
        previous = self.active
        if previous is None or not self.generating:
            self._start_default()
            return

        async def after_previous() -> None:
            await previous.finished.wait()
            if not self.generating:
                self._start_default()

        self.session.spawn(after_previous())

    def _start_default(self) -> None:
        self._start(self.session.settings, list(self.session.conversation.items), True, None)

    def _context(self, overrides: dict[str, Any]) -> list[Item]:
        # `input` replaces the conversation as this response's context ([SDK-GA] response.create).
        session = self.session
        if "input" not in overrides:
            return list(session.conversation.items)
        context = []
        for index, entry in enumerate(overrides["input"]):
            if isinstance(entry, dict) and entry.get("type") == "item_reference":
                context.append(find_item(session, entry.get("id"), "reference"))
                continue
            rate, path = session.settings.input_rate, f"response.input[{index}]"
            context.append(parse_item(entry, dialect=session.dialect, ids=session.ids, rate=rate, path=path))
        return context

    def _start(self, settings: Settings, context: list[Item], in_conversation: bool, metadata: Any) -> None:
        responder = Responder(
            self.session,
            settings=settings,
            answer=compose_answer(context),
            segments=[instructions_segment(settings.instructions), *map(item_segment, context)],
            in_conversation=in_conversation,
            metadata=metadata,
            # The fault hits the first response of a connection only.
            abort_midway=self.session.config.close_mid_response and not self._started,
        )
        self._started += 1
        self.responders[responder.id] = responder
        if in_conversation:
            self.active = responder
        self.session.spawn(responder.run()).add_done_callback(lambda _: self._forget(responder))

    def _forget(self, responder: Responder) -> None:
        self.responders.pop(responder.id, None)
        if self.active is responder:
            self.active = None
