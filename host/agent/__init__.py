"""The chat agent: a model on any OpenAI-compatible endpoint, with the tools of every connected server."""
