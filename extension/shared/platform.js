// Which operating system the browser runs on, and what the welcome page tells a person to type there.
// Pure, so node's test runner checks it (extension/tests/platform.test.mjs).

/** "windows" | "macos" | "linux", from navigator.userAgentData.platform or, where that is missing, navigator.platform. */
export function platformOf(nav) {
  const name = String(nav?.userAgentData?.platform || nav?.platform || "").toLowerCase();
  if (name.startsWith("win")) return "windows";
  if (name.startsWith("mac")) return "macos";
  return "linux";
}

/** The commands for that system: register the host, and (first) install the package from its wheel. */
export function setupCommands(platform, version) {
  const wheel = `notion_mcp_bridge-${version}-py3-none-any.whl`;
  const commands = {
    linux: {
      terminal: "In a terminal,",
      install: "notion-bridge install",
      package: `pipx install ./${wheel}`,
      note: "Chromium installed as a Snap cannot start native hosts; a Flatpak browser needs one more command, which the installer prints.",
    },
    macos: {
      terminal: "In Terminal,",
      install: "notion-bridge install",
      package: `pipx install ./${wheel}`,
      note: "pipx comes from Homebrew (brew install pipx); uv tool install works the same way.",
    },
    windows: {
      terminal: "In PowerShell,",
      install: "notion-bridge install",
      package: `py -m pipx install .\\${wheel}`,
      note: "Get pipx with: py -m pip install --user pipx. Then open a new PowerShell window, so the notion-bridge command is found.",
    },
  };
  return commands[platform] ?? commands.linux;
}
