import { test } from "node:test";
import assert from "node:assert/strict";

import { splitCommand } from "../shared/command-line.js";

test("commands split on spaces and honour quotes", () => {
  assert.deepEqual(splitCommand("npx -y server /tmp"), ["npx", "-y", "server", "/tmp"]);
  assert.deepEqual(splitCommand(`python "my server.py" --name 'a b' ""`), ["python", "my server.py", "--name", "a b", ""]);
  assert.throws(() => splitCommand('python "oops'), /unclosed " quote/);
  assert.throws(() => splitCommand("   "), /enter the command/);
});
