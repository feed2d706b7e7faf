"""After the browser suite, the thread has no running event loop: async suites that follow must run."""

from __future__ import annotations

import asyncio


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_no_event_loop_is_left_running_after_the_browser_tests():
    assert asyncio.run(_answer()) == 42
