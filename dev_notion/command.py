"""``notion-bridge dev-notion --port N``: the local Notion-compatible MCP server, for tests and the demo."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback only unless you know why (default 127.0.0.1)"
    )
    parser.add_argument("--no-auth", action="store_true", help="serve without OAuth")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="access-token lifetime in seconds")
    parser.add_argument(
        "--auto-approve", action="store_true", help="approve sign-ins without the consent page"
    )
    parser.add_argument("--workspace-name", default="Acme Corp")
    parser.add_argument("--workspace-icon", default="🏢", help="an emoji or image URL; empty for none")
    parser.add_argument(
        "--strict-redirects",
        action="store_true",
        help="check redirect URIs byte for byte, as Notion's authorization server does",
    )
    parser.add_argument(
        "--query-data-sources",
        default="available",
        choices=["available", "available_with_limit", "plan_required", "off"],
        help="what the workspace's plan allows of notion-query-data-sources",
    )
    parser.add_argument("--large-page-mib", type=float, default=0, help="add a page of this many MiB")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from dev_notion.server import build_app

    app = build_app(
        host=args.host,
        port=args.port,
        auth=not args.no_auth,
        workspace_name=args.workspace_name,
        workspace_icon=args.workspace_icon or None,
        strict_redirects=args.strict_redirects,
        query_data_sources=args.query_data_sources,
        token_lifetime_s=args.token_lifetime,
        auto_approve=args.auto_approve,
        large_page_mib=args.large_page_mib,
    )
    print(f"Notion-compatible MCP server on http://{args.host}:{args.port}/mcp (SSE: /sse)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
