"""Test kit: what only the tests, the benchmarks and the demo use — never the product.

- devkit.host_process: a Python stand-in for the extension that starts the host as Chrome does and speaks the
  protocol (frames through host.framing, the same reader the host uses).
- devkit.browser: a real Chromium with the real extension, driven by Selenium, on a throw-away profile.
- devkit.demo: ``notion-bridge demo``, the whole bridge on this machine with nothing to sign up for.

host/ never imports this package (tests/test_layout.py walks the imports to keep it so).
"""
