"""Every example of README.md and docs/*.md runs as the page shows it (rules: docs/scripts/examples.py).

Python blocks run through pytest-examples (``--update-examples`` rewrites their ``#>`` output
comments); bash and console blocks through the small runner of docs/scripts/examples.py. One test per
page runs its blocks in order in a fresh clone-like folder, so later blocks use what earlier ones made.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from pytest_examples import CodeExample, EvalExample

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("doc_examples", ROOT / "docs" / "scripts" / "examples.py")
examples = importlib.util.module_from_spec(_spec)
sys.modules["doc_examples"] = examples
_spec.loader.exec_module(examples)

PAGES = examples.pages()


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_block_is_marked(page: Path) -> None:
    """Each fence says what it is (run, skipped with a reason, or not code)."""
    assert examples.problems(page) == []


def python_example(block) -> CodeExample:
    return CodeExample(source=block.source, path=block.path, start_line=block.line, end_line=block.line
                       + block.source.count("\n") + 1, start_index=block.start, end_index=block.end,
                       prefix=block.info, indent=block.indent)


def run_page(page: Path, base: Path, eval_example: EvalExample, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run every block of ``page`` in order; returns how many ran. With ``--update-examples`` the page's
    outputs (``#>`` comments, console output) are rewritten to what really came out."""
    cwd, env = examples.workdir(base), examples.environment()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    update = eval_example.update_examples
    namespace: dict = {}
    new_sources: dict[int, str] = {}
    ran = 0
    for block in examples.blocks(page):
        if block.lang not in examples.RUN:
            continue
        if block.skip:
            if block.lang == "python":
                compile(block.source, str(block), "exec")
            continue
        if block.lang == "python" and "file" in block.settings:
            (cwd / block.settings["file"]).write_text(block.source)
        elif block.lang == "python":
            example = python_example(block)
            try:
                if update:
                    namespace = eval_example.run_print_update(example, module_globals=namespace)
                    eval_example.to_update.clear()  # written below with the console blocks, in one go
                    new_sources[block.line] = example.source
                else:
                    namespace = eval_example.run_print_check(example, module_globals=namespace)
            except Exception as error:  # not pytest.fail (a wrong #> output), which pytest-examples reports
                # re-raised without pytest-examples' rewritten traceback, which pytest cannot always print
                raise examples.ExampleFailed(f"{block}: {type(error).__name__}: {error}\n\n{block.source}") from None
            namespace = {k: v for k, v in namespace.items() if not k.startswith("__")}
        else:
            session = examples.run_block(block, cwd, env, keep_going=update)
            if session is not None and update:
                new_sources[block.line] = examples.session_text(session, cwd)
        ran += 1
    if update:
        examples.rewrite(page, new_sources)
    return ran


RUNNABLE = [p for p in PAGES if any(b.lang in examples.RUN and not b.skip for b in examples.blocks(p))]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("page", RUNNABLE, ids=page_id)
def test_examples_run(page: Path, tmp_path: Path, eval_example: EvalExample, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        ran = run_page(page, tmp_path, eval_example, monkeypatch)
    except examples.ExampleFailed as error:
        pytest.fail(str(error), pytrace=False)  # the block, the command, what was shown and what came out
    assert ran > 0


PAGE = """# A page

```bash
hprn-geo sample scene.tif --size 32
```

```console
$ hprn-geo sample again.tif --size 32
hprn-geo: wrote again.tif (32 x 32 RGB)
```

```python
import rasterio

print(rasterio.open("scene.tif").shape)
#> (32, 32)
```
"""

BREAKS = {
    "renamed-flag": ("scene.tif --size 32", "scene.tif --pixels 32", examples.ExampleFailed, "exit status 2"),
    "wrong-output": ("again.tif (32 x 32 RGB)", "again.tif (31 x 32 RGB)", examples.ExampleFailed, "differs"),
    "wrong-print": ("#> (32, 32)", "#> (32, 31)", pytest.fail.Exception, "Print output changed"),
}


@pytest.mark.parametrize("name", [None, *BREAKS], ids=["as-written", *BREAKS])
def test_a_broken_example_fails(name: str | None, tmp_path: Path, eval_example: EvalExample,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner itself: a page passes as written and fails when one of its examples breaks."""
    page = tmp_path / "page.md"
    if name is None:
        page.write_text(PAGE)
        assert examples.problems(page) == []
        assert run_page(page, tmp_path / "run", eval_example, monkeypatch) == 3
        return
    old, new, error, message = BREAKS[name]
    assert old in PAGE
    page.write_text(PAGE.replace(old, new))
    with pytest.raises(error, match=message):
        run_page(page, tmp_path / "run", eval_example, monkeypatch)


def test_unmarked_blocks_are_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```\nhprn-geo predict x.tif\n```\n\n```bash skip=\"\"\nls\n```\n\n```json skip=\"x\"\n{}\n```\n")
    found = examples.problems(page)
    assert [f.split(": ", 1)[1].split(" ")[0] for f in found] == ["fence", "skip=\"\"", "only"]
