"""How the result table draws a long result: rows in the page and time to draw, and a scroll's redraw.

    python -m bench.table_render [--rows 1000] [--times 5]

Runs the extension's own result-table-dom.js in Chromium, in an extension page (no host needed: the table is
given a result of `--rows` rows shaped as the SQLite server answers), and prints, per size, the rows in the DOM
after the first draw, the median time from drawTable() to the next painted frame, and the same after a scroll to
the middle. Nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from devkit.browser import chromium, extension_page, wait_until

MEASURE = """
const [count, done] = arguments;
const { drawTable } = await import(chrome.runtime.getURL('shared/result-table-dom.js'));
const { tableOf } = await import(chrome.runtime.getURL('shared/result-table.js'));
const rows = Array.from({length: count}, (_, i) => ({id: i + 1, name: `Person ${i + 1}`, email: `p${i + 1}@example.com`, score: (i * 7919) % 1000}));
const result = {content: [], structuredContent: {columns: ['id', 'name', 'email', 'score'], rows, truncated: false}};
const box = document.createElement('div');
box.className = 'result';
document.body.replaceChildren(box);
const frame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
const started = performance.now();
const node = drawTable(tableOf(result));
box.append(node);
await frame();
const drawn = performance.now() - started;
const inDom = node.querySelectorAll('tbody tr:not(.spacer)').length;
const scroller = node.querySelector('.table-scroll');
const before = performance.now();
scroller.scrollTop = scroller.scrollHeight / 2;
await frame();
await frame();
const scrolled = performance.now() - before;
done({drawn, inDom, scrolled, afterScroll: node.querySelectorAll('tbody tr:not(.spacer)').length});
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--times", type=int, default=5)
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp, chromium(Path(tmp) / "profile") as driver:
        driver.set_window_size(900, 800)
        driver.get(extension_page("popups/tools.html"))
        wait_until(lambda: driver.execute_script("return document.readyState") == "complete", "the page")
        for count in args.rows:
            runs = [
                driver.execute_async_script("(async () => { " + MEASURE + " })();", count)
                for _ in range(args.times)
            ]
            figures[count] = {
                "rows_in_dom": runs[-1]["inDom"],
                "rows_in_dom_after_scroll": runs[-1]["afterScroll"],
                "draw_ms_median": round(statistics.median(r["drawn"] for r in runs), 1),
                "scroll_redraw_ms_median": round(statistics.median(r["scrolled"] for r in runs), 1),
            }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
