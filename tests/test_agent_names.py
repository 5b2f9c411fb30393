"""The tool names the chat model sees (host.agent.names): valid for the API, unique, and routed back."""

from __future__ import annotations

import hashlib
import re

from host.agent.names import MAX_NAME, build_name_map, exposed_name

VALID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def short_hash(server: str, tool: str) -> str:
    return hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:8]


def test_a_name_that_fits_is_server__tool_with_unusable_characters_replaced():
    assert exposed_name("notion", "notion-search") == "notion__notion-search"
    assert exposed_name("wiki", "pages.search v2") == "wiki__pages_search_v2"
    assert exposed_name("s", "...") == "s__x", "nothing usable left still gives a name"


def test_a_name_too_long_keeps_a_readable_prefix_and_a_hash_of_the_whole_pair():
    server, tool = "a-toy-server-with-a-long-identifier", "summarise_every_page_in_the_workspace_at_once"
    name = exposed_name(server, tool)
    assert len(name) == MAX_NAME == 64 and VALID.match(name)
    assert name == f"{server}__{tool}"[:55] + "_" + short_hash(server, tool)


def test_two_long_names_that_share_their_prefix_stay_apart():
    server = "s" * 30
    first, second = "t" * 40 + "_first", "t" * 40 + "_second"
    assert exposed_name(server, first)[:55] == exposed_name(server, second)[:55]
    assert exposed_name(server, first) != exposed_name(server, second)
    mapping = build_name_map([(server, first), (server, second)])
    assert sorted(mapping.values()) == [(server, first), (server, second)]


def test_names_that_cleaning_makes_equal_are_told_apart_and_route_back():
    pairs = [("wiki", "a.b"), ("wiki", "a_b"), ("wiki", "a b")]
    mapping = build_name_map(pairs)
    assert len(mapping) == 3 and sorted(mapping.values()) == sorted(pairs)
    assert all(VALID.match(name) for name in mapping)
    assert mapping["wiki__a_b"] == ("wiki", "a.b"), "the first keeps the plain name"


def test_the_same_tool_on_two_servers_gets_two_names():
    mapping = build_name_map([("notion", "search"), ("wiki", "search")])
    assert mapping == {"notion__search": ("notion", "search"), "wiki__search": ("wiki", "search")}
