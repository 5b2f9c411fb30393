import argparse
import sys

from host.sqlite_server.command import add_arguments, run

parser = argparse.ArgumentParser(
    prog="python -m host.sqlite_server", description="SQLite MCP server over stdio"
)
add_arguments(parser)
sys.exit(run(parser.parse_args()))
