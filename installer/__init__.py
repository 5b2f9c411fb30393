"""Registering the native-messaging host with Chromium-family browsers: install, uninstall, doctor."""
