"""The demo agent's side of MCP: the tool server subprocess and the one ``ClientSession`` to it.

A background task owns the process and the session (MCP's transports and sessions must be entered
and left in one task); requests call tools on the session from their own tasks, so each call is one CLIENT
``execute_tool`` span (with the model's call id, enriched by llm_otel's MCP instrumentation) in the
trace of the agent turn.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
from collections.abc import Mapping
from typing import Any

import llm_otel

from llm_otel_tools.demo.tool_server import SERVICE_NAME as TOOLS_SERVICE_NAME


class ToolServer:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = {**(os.environ if env is None else env), "OTEL_SERVICE_NAME": TOOLS_SERVICE_NAME}
        self._session: Any = None
        self._definitions: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop: asyncio.Event | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> Any:
        async with self._lock:
            if self._task is None:
                loop = asyncio.get_running_loop()
                self._ready, self._stop = loop.create_future(), asyncio.Event()
                # a fresh context: the session is not part of the request that happened to start it
                self._task = loop.create_task(self._serve(), context=contextvars.Context())
        assert self._ready is not None
        await asyncio.shield(self._ready)
        return self._session

    async def _serve(self) -> None:
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        assert self._ready is not None and self._stop is not None
        command = ["-m", "llm_otel_tools.demo.tool_server"]
        params = StdioServerParameters(command=sys.executable, args=command, env=self._env)
        try:
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                self._definitions = [
                    {"type": "function", "function": {"name": t.name, "description": t.description or "",
                                                      "parameters": t.input_schema}}
                    for t in listed.tools
                ]
                self._session = session
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError("tool server stopped"))
            if isinstance(exc, Exception):
                raise

    async def definitions(self) -> list[dict[str, Any]]:
        """The tools as OpenAI function definitions, from the server's ``tools/list``."""
        await self._ensure()
        return self._definitions

    async def call(self, name: str, arguments: dict[str, Any], call_id: str | None = None) -> tuple[str, bool]:
        """Run a tool on the server: its text and whether it succeeded (``isError`` is a failure).

        The ``execute_tool`` span is opened here with the model's tool call id (only the agent knows
        it); llm_otel's MCP instrumentation adds the MCP attributes to that span (no second one).
        """
        session = await self._ensure()
        # the app's execute_tool span (INTERNAL, per the GenAI conventions); the MCP instrumentation adds
        # the MCP attributes to it instead of opening its own tools/call client span
        with llm_otel.tool(name=name, call_id=call_id, type="extension"):
            result = await session.call_tool(name, arguments)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        return text, not result.is_error

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        assert self._stop is not None
        self._stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        except Exception:
            pass
