"""Hostile replies in `%%chat` outputs stay inert in real JupyterLab (issue 9, items 1-4).

Each test runs the replies through the real path (reference server → kernel → `%%chat` →
JupyterLab's renderers, MathJax and mermaid included), then a *control* cell that shows the
same kinds of content the way a trusted Markdown/HTML output does: once the control's math is
typeset, its mermaid diagram drawn and its image handler run, the hostile outputs above it have
had every chance to do the same. The page log must then hold no dialog and no request that
left 127.0.0.1, and the outputs no active element, handler, unsafe link or typeset math.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hostile import CASES, generate
from playwright.sync_api import Locator, expect

from nbchat.server import ServerHandle, start_server

from .conftest import PageLog
from .notebook import Notebook

#: Every problem the outputs under `root` show in the live page (JupyterLab's own prompt and
#: collapse icons sit outside `.jp-OutputArea-output`).
AUDIT = """(root) => {
  const active = new Set(["script", "iframe", "frame", "object", "embed", "img", "image",
    "picture", "video", "audio", "source", "track", "link", "style", "form", "input", "button",
    "textarea", "base", "meta", "svg", "math", "foreignobject", "template", "mjx-container"]);
  const loading = ["src", "srcset", "xlink:href", "action", "formaction", "background",
    "poster", "data", "srcdoc"];
  const problems = [];
  for (const el of root.querySelectorAll(".jp-OutputArea-output *")) {
    const tag = el.localName.toLowerCase();
    if (active.has(tag)) problems.push(`<${tag}>`);
    if (/mermaid/i.test(el.className)) problems.push(`<${tag} class=${el.className}>`);
    for (const { name, value } of Array.from(el.attributes)) {
      const attr = name.toLowerCase();
      if (attr.startsWith("on")) problems.push(`<${tag} ${attr}>`);
      if (loading.includes(attr)) problems.push(`<${tag} ${attr}=${value}>`);
      if (attr === "style" && /url\\(|@import|expression|image/i.test(value)) {
        problems.push(`<${tag} style=${value}>`);
      }
    }
    if (tag === "a" && el.hasAttribute("href")) {
      const href = el.getAttribute("href").replace(/[\\s\\x00-\\x1f]/g, "");
      if (!/^(https?:|mailto:)/i.test(href)) problems.push(`<a href=${href}>`);
      if (el.getAttribute("target") !== "_blank") problems.push(`<a href=${href}> in place`);
      if (!/noopener/.test(el.getAttribute("rel") || "")) problems.push(`<a href=${href}> opener`);
    }
  }
  return problems;
}"""

#: Math, a mermaid diagram and an image handler, shown as trusted outputs do (not nbchat).
CONTROL = """from IPython.display import HTML, Markdown, display
display(Markdown("$x^2$\\n\\n```mermaid\\ngraph TD\\n  A --> B\\n```"))
display(HTML('<img src="x" onerror="this.dataset.fired = 1">'))"""


@pytest.fixture(scope="module")
def slow_server() -> Iterator[ServerHandle]:
    """Deltas 20 ms apart, so the cell also shows each reply half-way (live updates)."""
    with start_server(delay=0.02) as handle:
        yield handle


def connect(notebook: Notebook, server: ServerHandle) -> None:
    notebook.run_cell(0, f"%load_ext nbchat\n%chat_connect {server.url} --model demo --user-id u")


def run_control(notebook: Notebook, index: int) -> None:
    """Run the control cell and wait until MathJax, mermaid and the image handler have acted."""
    output = notebook.run_cell(index, CONTROL)
    output.scroll_into_view_if_needed()  # the notebook may typeset only what is in view
    expect(output.locator("mjx-container")).to_have_count(1)
    expect(output.locator(".jp-RenderedMermaid figure img")).to_be_visible()
    expect(output.locator("img[data-fired='1']")).to_have_count(1)
    # The audit sees all three in the control (so it would see them in a hostile output).
    found = output.evaluate(AUDIT)
    assert {"<mjx-container>", "<img onerror>"} <= set(found)
    assert any("jp-RenderedMermaid" in problem for problem in found)


def assert_inert(output: Locator, page_log: PageLog) -> None:
    assert output.evaluate(AUDIT) == []
    assert page_log.dialogs == []
    assert page_log.remote_requests == []


ITEMS = {
    "1-fences-and-code-spans": [
        "fence-trailing-backtick",
        "fence-trailing-tilde",
        "fence-longer-trailing",
        "code-span-unbalanced",
    ],
    "2-math-over-code": ["math-over-code-span", "display-math-over-code-span", "math-href"],
    "3-deep-nesting": ["deep-blockquote", "deep-list"],
    "4-mermaid": ["mermaid-img"],
}


@pytest.mark.parametrize("item", list(ITEMS))
def test_issue_cases_stay_inert_in_jupyterlab(
    item: str, notebook: Notebook, slow_server: ServerHandle, page_log: PageLog
) -> None:
    connect(notebook, slow_server)
    names = ITEMS[item]
    outputs = [
        notebook.run_cell(index, f"%%chat --no-interpolate\n/echo {CASES[name]}")
        for index, name in enumerate(names, start=1)
    ]
    run_control(notebook, len(names) + 1)
    for output in outputs:
        assert_inert(output, page_log)
        expect(output.locator(".nbchat-output")).to_have_count(1)
        expect(output).to_contain_text("alert(")  # the payload is there, as text


def test_the_demo_xss_reply_a_displayed_reply_and_the_history_stay_inert(
    notebook: Notebook, slow_server: ServerHandle, page_log: PageLog
) -> None:
    connect(notebook, slow_server)
    payload = CASES["fence-trailing-backtick"] + "\n\n" + CASES["deep-blockquote"]
    notebook.run_cell(1, f"%%chat --no-interpolate --quiet -o r\n/echo {payload}")
    later = notebook.run_cell(2, "r")
    xss = notebook.run_cell(3, "%%chat\n/xss")
    history = notebook.run_cell(4, "%chat_history")
    run_control(notebook, 5)
    for output in (later, xss, history):
        assert_inert(output, page_log)
        expect(output.locator(".nbchat-output")).to_have_count(1)
    for output in (later, history):
        expect(output).to_contain_text("onerror=alert(11)")
    expect(xss.locator("strong", has_text="bold")).to_be_visible()  # Markdown still works
    expect(xss).to_contain_text("<svg onload=alert('mermaid')></svg>")  # shown, as text


#: How many generated replies the fuzz test renders in one page.
FUZZ_REPLIES = 300

FUZZ_CELL = """import json
for text in json.load(open("hostile.json")):
    get_ipython().run_cell_magic("chat", "--no-interpolate", "/echo " + text)"""


def test_generated_hostile_replies_stay_inert_in_jupyterlab(
    notebook: Notebook, server: ServerHandle, page_log: PageLog
) -> None:
    (notebook.lab.root / "hostile.json").write_text(json.dumps(generate(FUZZ_REPLIES)))
    connect(notebook, server)
    output = notebook.run_cell(1, FUZZ_CELL)
    run_control(notebook, 2)
    assert_inert(output, page_log)
    expect(output.locator(".nbchat-output")).to_have_count(FUZZ_REPLIES)
