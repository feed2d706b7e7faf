"""botocore ``EventStream`` seen through the one stream contract of ``_stream``.

``_stream`` observes a stream through its ``_iterator`` and ``close``; a botocore
``EventStream`` has neither: it iterates ``_event_generator`` (raw messages) and parses
each with ``_parse_event``. A ``Tap`` gives ``_stream`` the shape it observes, in place:

* ``tap._iterator`` yields the *parsed* events (the raw generator, parsed once);
* the EventStream then iterates a pump over ``tap._iterator`` (read lazily, so it sees the
  observer ``_stream`` installs) and its ``_parse_event`` passes events through unchanged;
* ``EventStream.close()`` goes through ``tap.close``, which ``_stream`` wraps to end the span.

So the user's object stays the SDK's ``EventStream`` and every event is parsed once, and
the exactly-once finish stays ``_stream._Ending``'s (closed, exhausted, failed, dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def _parsed(raw: Iterator[Any], parse: Callable[[Any], Any]) -> Iterator[Any]:
    for message in raw:
        event = parse(message)
        if event:
            yield event


def _same(event: Any) -> Any:
    return event


def _pump(tap: Tap) -> Iterator[Any]:
    yield from tap._iterator


class Tap:
    """The stream ``_stream.observe_sync`` observes on behalf of one botocore EventStream."""

    def __init__(self, events: Any) -> None:
        self._raw = events._raw_stream
        self._iterator: Iterator[Any] = _parsed(events._event_generator, events._parse_event)
        events._parse_event = _same
        events._event_generator = _pump(self)
        events.close = lambda: self.close()

    def close(self) -> None:
        self._raw.close()


def is_tap(obj: Any) -> bool:
    return type(obj) is Tap


def tap(events: Any) -> Tap | None:
    """A Tap on a botocore EventStream (None for anything else, which is then left alone)."""
    if type(events).__name__ != "EventStream" or not hasattr(events, "_event_generator"):
        return None
    return Tap(events)
