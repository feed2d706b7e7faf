"""Wire formats of further provider APIs, one module each; ``ROUTERS`` go into ``engine.ROUTERS``."""

from . import cohere, gemini, mistral, ollama, openai_extras

ROUTERS = [openai_extras.route, gemini.route, cohere.route, mistral.route, ollama.route]
