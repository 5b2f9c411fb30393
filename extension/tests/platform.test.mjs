import assert from "node:assert/strict";
import { test } from "node:test";

import { platformOf, setupCommands } from "../shared/platform.js";

test("the platform comes from userAgentData first, navigator.platform else", () => {
  assert.equal(platformOf({ userAgentData: { platform: "Windows" }, platform: "Linux x86_64" }), "windows");
  assert.equal(platformOf({ userAgentData: { platform: "macOS" } }), "macos");
  assert.equal(platformOf({ platform: "MacIntel" }), "macos");
  assert.equal(platformOf({ platform: "Win32" }), "windows");
  assert.equal(platformOf({ userAgentData: { platform: "" }, platform: "Linux x86_64" }), "linux");
  assert.equal(platformOf({ userAgentData: { platform: "Chrome OS" } }), "linux");
  assert.equal(platformOf(undefined), "linux");
});

test("each system gets the install command and a package command in its own shell's words", () => {
  for (const platform of ["linux", "macos", "windows"]) {
    assert.equal(setupCommands(platform, "1.2.3").install, "notion-bridge install");
  }
  assert.equal(setupCommands("linux", "1.2.3").package, "pipx install ./notion_mcp_bridge-1.2.3-py3-none-any.whl");
  assert.equal(setupCommands("windows", "1.2.3").package, "py -m pipx install .\\notion_mcp_bridge-1.2.3-py3-none-any.whl");
  assert.match(setupCommands("windows", "1.2.3").terminal, /PowerShell/);
  assert.deepEqual(setupCommands("beos", "1"), setupCommands("linux", "1"));
});
