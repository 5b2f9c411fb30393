"""The ``notion-bridge`` command line, which ties the parts together: the host, the installer, the demo.

It lives apart from host/ because it reaches every part — the host itself never imports the installer, the
Notion-compatible server or the test kit.
"""
