"""The staff API for live sessions."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.models import LiveSession
from tests.factories import eventually, make_user, token_client

pytestmark = pytest.mark.django_db(transaction=True)


async def test_staff_list_live_sessions_and_end_one_that_reaches_the_browser(connect: Any, user: Any) -> None:
    from asgiref.sync import sync_to_async

    browser = await connect()
    ready = await browser.until_type("session.ready")
    staff = await sync_to_async(make_user)("staff", is_staff=True)
    client = await sync_to_async(token_client)(staff)

    listed = await sync_to_async(client.get)("/api/sessions/")
    assert listed.status_code == 200
    [session] = listed.json()
    assert (session["user"], session["conversation"]) == ("alice", ready["conversation_id"])

    ended = await sync_to_async(client.post)(f"/api/sessions/{session['id']}/end/")
    assert ended.status_code == 202
    error = await browser.until_type("error")
    assert (error["code"], await browser.until_closed()) == ("ended_by_admin", 4498)
    await eventually(lambda: _none_live())


async def _none_live() -> bool:
    return not await LiveSession.objects.aexists()


def test_non_staff_get_403_and_unknown_sessions_404() -> None:
    user_client = token_client(make_user())
    staff_client = token_client(make_user(is_staff=True))

    assert user_client.get("/api/sessions/").status_code == 403
    assert user_client.get("/api/sessions/").json()["error"]["code"] == "permission_denied"
    assert staff_client.post("/api/sessions/00000000-0000-0000-0000-000000000000/end/").status_code == 404
    assert staff_client.get("/api/sessions/").json() == []
