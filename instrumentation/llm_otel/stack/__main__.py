"""`python -m llm_otel.stack up|down|status ...`."""

import sys

from llm_otel.stack._cli import main

sys.exit(main(sys.argv[1:]))
