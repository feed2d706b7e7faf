"""`python -m llm_otel_tools.stack up|down|status ...`."""

import sys

from llm_otel_tools.stack._cli import main

sys.exit(main(sys.argv[1:]))
