"""A LangGraph agent against the local LLM; telemetry set up only from outside (or by ``configure``)."""

import os
import sys

if len(sys.argv) > 1 and sys.argv[1] == "configure":
    import llm_otel

    llm_otel.configure()
    # configure() instruments the frameworks lazily: none is imported until the app imports it
    print("IMPORTED", sorted(m for m in ("langchain_core", "llama_index.core", "agents") if m in sys.modules),
          file=sys.stderr)

from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


llm = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["LOCAL_LLM_URL"], api_key="sk-test", max_retries=0)
state = create_react_agent(llm, [get_weather], name="weather-agent").invoke({"messages": [("user", "weather in Oslo")]})
print("REPLY", state["messages"][-1].content, file=sys.stderr)
