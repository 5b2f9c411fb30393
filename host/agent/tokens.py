"""Counting tokens the way the model will, without the network.

Models of OpenAI's families are counted exactly with tiktoken and the encodings kept in host/agent/encodings/
(checked against the hashes tiktoken itself expects; the README there says where they come from). Any other
model (GLM, Llama, Qwen, Mistral, Claude, …) is estimated: its text is counted with o200k_base and the count
scaled up by a margin, because other tokenizers usually need somewhat more tokens for the same text. The margin
learns from what the endpoint reports: every answer's ``usage.prompt_tokens``, and the numbers in a "context
length exceeded" answer, say how far off the estimate was for that model.

The encodings take a few hundred milliseconds to load, so they load in a thread; until one has loaded, text is
estimated from its UTF-8 length (three bytes a token, more than any of these tokenizers needs for ordinary text).
Counts are cached by text: a conversation's history is counted again before every request.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENCODINGS_DIR = Path(__file__).with_name("encodings")

#: Tokens one image in a request may cost (OpenAI's high-detail 1024x1024 is 765; others are similar or less).
IMAGE_TOKENS = 1000
#: Tokens around each message (role, separators), and priming the answer: OpenAI's format uses 3 and 3.
PER_MESSAGE = 4
PER_REQUEST = 3
#: How much an estimate scales an o200k count up for a tokenizer of another family, until the endpoint says.
ESTIMATE_MARGIN = 1.3


@dataclass(frozen=True)
class EncodingSpec:
    sha256: str
    pat_str: str
    special_tokens: dict[str, int]


# The hashes and patterns are tiktoken's own (tiktoken_ext/openai_public.py).
SPECS: dict[str, EncodingSpec] = {
    "o200k_base": EncodingSpec(
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    "cl100k_base": EncodingSpec(
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}

_O200K = re.compile(r"^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4|codex)", re.IGNORECASE)
_CL100K = re.compile(r"^(gpt-4|gpt-3\.5|gpt-35)", re.IGNORECASE)


def encoding_for(model: str) -> str | None:
    """The encoding of ``model``'s family when it is one tiktoken knows, else None (then counts are estimates).

    Accepts bare names (``gpt-4o-mini``) and OpenRouter's ``openai/…``; another provider's prefix is another
    family, whatever the rest of the name says.
    """
    provider, _, name = model.strip().rpartition("/")
    if provider and provider.lower() not in ("openai", "azure"):
        return None
    if _O200K.match(name):
        return "o200k_base"
    if _CL100K.match(name):
        return "cl100k_base"
    return None


def load_encoding(name: str) -> Any:
    """A tiktoken Encoding from the kept file, after checking it is the file tiktoken expects."""
    import tiktoken

    spec = SPECS[name]
    raw = gzip.decompress((ENCODINGS_DIR / f"{name}.tiktoken.gz").read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise ValueError(f"{name}.tiktoken.gz is not the expected file (sha256 {digest})")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in raw.splitlines() if line)
    }
    return tiktoken.Encoding(
        name=name, pat_str=spec.pat_str, mergeable_ranks=ranks, special_tokens=spec.special_tokens
    )


class Encodings:
    """The encodings, each loaded once, in a thread; ``get`` never waits for one."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}
        self._started: set[str] = set()
        self._lock = threading.Lock()
        self._done: dict[str, threading.Event] = {}

    def start(self, name: str) -> None:
        with self._lock:
            if name in self._started:
                return
            self._started.add(name)
            self._done[name] = threading.Event()
        threading.Thread(target=self._load, args=(name,), name=f"load-{name}", daemon=True).start()

    def _load(self, name: str) -> None:
        try:
            self._loaded[name] = load_encoding(name)
        except Exception:
            log.exception("could not load the %s encoding; token counts stay estimates", name)
        finally:
            self._done[name].set()

    def get(self, name: str) -> Any | None:
        self.start(name)
        return self._loaded.get(name)

    def wait(self, name: str, timeout: float = 30) -> Any | None:
        """The encoding, waiting for it to load (tests and benchmarks; the chat itself never waits)."""
        self.start(name)
        self._done[name].wait(timeout)
        return self._loaded.get(name)


class TokenCounter:
    """Counts one model's tokens: exactly for OpenAI's families, else an o200k count times ``margin`` (which an
    endpoint's refusal can raise for an exact family too, when it counts differently)."""

    def __init__(self, model: str, encodings: Encodings, margin: float | None = None) -> None:
        """``margin``: what this model's counts were found to need (None: 1 for an exact count, else
        ESTIMATE_MARGIN)."""
        self.model = model
        name = encoding_for(model)
        self.exact = name is not None
        self._encoding_name = name or "o200k_base"
        self._encodings = encodings
        self.margin = margin if margin is not None else 1.0 if self.exact else ESTIMATE_MARGIN
        self._cache: OrderedDict[str, int] = OrderedDict()
        encodings.start(self._encoding_name)

    def encoding_ready(self) -> bool:
        return self._encodings.get(self._encoding_name) is not None

    def raw(self, text: str) -> int:
        """Tokens of ``text`` in the counting encoding (before any margin)."""
        if not text:
            return 0
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        encoding = self._encodings.get(self._encoding_name)
        if encoding is None:
            # Still loading: a generous guess, not cached, so the next count is exact.
            return math.ceil(len(text.encode("utf-8", "replace")) / 3)
        count = len(encoding.encode_ordinary(text))
        self._cache[text] = count
        if len(self._cache) > 4096:
            self._cache.popitem(last=False)
        return count

    def text(self, text: str) -> int:
        return math.ceil(self.raw(text) * self.margin)

    def message(self, message: dict[str, Any]) -> int:
        return math.ceil(self.raw_message(message) * self.margin)

    def raw_message(self, message: dict[str, Any]) -> int:
        count = PER_MESSAGE
        content = message.get("content")
        if isinstance(content, str):
            count += self.raw(content)
        elif isinstance(content, list):
            for part in content:
                if part.get("type") == "text":
                    count += self.raw(part.get("text", ""))
                else:
                    count += IMAGE_TOKENS
        if message.get("tool_calls"):
            count += self.raw(json.dumps(message["tool_calls"], ensure_ascii=False))
        if message.get("tool_call_id"):
            count += self.raw(message["tool_call_id"])
        return count

    def messages(self, messages: list[dict[str, Any]]) -> int:
        return PER_REQUEST + sum(self.message(m) for m in messages)

    def raw_messages(self, messages: list[dict[str, Any]]) -> int:
        return PER_REQUEST + sum(self.raw_message(m) for m in messages)

    def tools(self, catalogue: list[dict[str, Any]]) -> int:
        if not catalogue:
            return 0
        return self.text(json.dumps(catalogue, ensure_ascii=False))
