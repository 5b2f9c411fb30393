import argparse
import sys

from dev_notion.command import add_arguments, run

parser = argparse.ArgumentParser(prog="python -m dev_notion", description="Notion-compatible MCP server")
add_arguments(parser)
sys.exit(run(parser.parse_args()))
