// Splits a command line the way a shell would for the common cases: spaces, 'single' and "double" quotes.

export function splitCommand(text) {
  const args = [];
  let current = "";
  let quote = null;
  let started = false;
  for (const char of text.trim()) {
    if (quote) {
      if (char === quote) quote = null;
      else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started || current) args.push(current);
      current = "";
      started = false;
    } else {
      current += char;
    }
  }
  if (quote) throw new Error(`the command has an unclosed ${quote} quote`);
  if (started || current) args.push(current);
  if (!args.length) throw new Error("enter the command that starts the server");
  return args;
}
