"""Book runner, run profiles, plotly renderer and the Colab cell; the smoke book build."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path

import nbformat
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from conftest import REPO_ROOT, run_book_cli

from dnnalign_utils import book, plotting, profiles

# ------------------------------------------------------------------ profiles


def test_notebook_parameters_always_include_the_profile():
    for name in profiles.PROFILE_NAMES:
        params = profiles.notebook_parameters(name, "00_data")
        assert params["profile"] == name
        assert params == {"profile": name, **profiles.PROFILES[name].get("00_data", {})}


def test_notebook_parameters_reject_bad_arguments():
    with pytest.raises(ValueError, match="unknown run profile 'fast'"):
        profiles.notebook_parameters("fast", "00_data")
    with pytest.raises(ValueError, match="notebook stem"):
        profiles.notebook_parameters("smoke", "notebooks/00_data.py")


def test_profile_overrides_match_the_notebooks_parameters_cells():
    problems = profiles.validate_profiles(REPO_ROOT / "notebooks")
    assert not problems, "\n".join(problems)


def _write_notebook(folder: Path, stem: str, parameters: str, body: str = "x = 1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    path.write_text(
        textwrap.dedent(
            """\
            # ---
            # jupyter:
            #   kernelspec:
            #     display_name: Python 3 (ipykernel)
            #     language: python
            #     name: python3
            # ---

            # %% [markdown]
            # # A test notebook

            # %% tags=["parameters"]
            {parameters}

            # %%
            {body}
            """
        ).format(parameters=parameters, body=body),
        encoding="utf-8",
    )
    return path


def test_parameters_cell_values_reads_literals_and_expressions(tmp_path):
    nb = _write_notebook(
        tmp_path, "01_x", 'profile = "default"\nn_triplets: int = 1000\nsizes = [1, 2]\nroot = f()'
    )
    values = profiles.parameters_cell_values(nb)
    assert values == {
        "profile": "default",
        "n_triplets": 1000,
        "sizes": [1, 2],
        "root": profiles.NonLiteral("f()"),
    }


@pytest.mark.parametrize("stem", book.toc_notebooks(REPO_ROOT))
def test_papermill_reads_every_parameter_of_each_chapter(stem, caplog):
    """papermill parses the parameters cell line by line: a line it cannot read (e.g. an
    '=' inside the comment) logs 'Unable to parse line' at every run, and each profile
    override of that parameter then 'Passed unknown parameter'."""
    import jupytext
    from papermill.translators import PythonTranslator

    source = REPO_ROOT / "notebooks" / f"{stem}.py"
    cell = next(
        c for c in jupytext.read(source).cells if "parameters" in c.metadata.get("tags", [])
    )
    with caplog.at_level("WARNING", logger="papermill"):
        found = [p.name for p in PythonTranslator.inspect(cell)]
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert found == list(profiles.parameters_cell_values(source))


def test_validate_profiles_reports_unknown_keys_and_default_mismatch(tmp_path):
    _write_notebook(tmp_path, "01_x", 'profile = "default"\nn_triplets = 1000')
    good = {"smoke": {"01_x": {"n_triplets": 10}}, "default": {"01_x": {"n_triplets": 1000}}}
    assert profiles.validate_profiles(tmp_path, good) == []
    bad = {
        "smoke": {"01_x": {"n_triplet": 10}, "02_missing": {"a": 1}},
        "default": {"01_x": {"n_triplets": 999}},
    }
    problems = "\n".join(profiles.validate_profiles(tmp_path, bad))
    assert "no variable 'n_triplet'" in problems
    assert "02_missing.py does not exist" in problems
    assert "999 differs from the parameters cell value 1000" in problems


# ---------------------------------------------------------------------- toc


def test_toc_notebooks_reads_the_repository_toc_in_order():
    entries = book.toc_entries(REPO_ROOT)
    assert entries[0] == "book/intro"
    stems = book.toc_notebooks(REPO_ROOT)
    assert stems == sorted(stems), "chapters must be listed in pipeline (number) order"
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+", s) for s in stems), stems
    for entry in entries:
        if not entry.startswith("notebooks/"):
            assert (REPO_ROOT / f"{entry}.md").is_file(), f"_toc.yml: {entry}.md missing"


def test_toc_parsing_handles_parts_chapters_and_sections(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: A\n    chapters:\n      - file: notebooks/00_a\n"
        "        sections:\n          - file: notebooks/01_b.ipynb\n"
        "  - caption: B\n    chapters:\n      - file: book/about\n"
    )
    assert book.toc_entries(tmp_path) == [
        "book/intro",
        "notebooks/00_a",
        "notebooks/01_b",
        "book/about",
    ]
    assert book.toc_notebooks(tmp_path) == ["00_a", "01_b"]


def test_only_rejects_notebooks_not_in_the_toc():
    with pytest.raises(ValueError, match="--only 99_nope: not a notebook"):
        book.build_book("smoke", only=["99_nope"], root=REPO_ROOT)


# ------------------------------------------------------------------- plotly


def test_configure_for_book_build_acts_only_during_a_book_build(monkeypatch):
    before = pio.renderers.default
    try:
        monkeypatch.delenv(plotting.BOOK_BUILD_ENV, raising=False)
        assert plotting.configure_for_book_build() is False
        assert pio.renderers.default == before  # a reader's session keeps plotly's own
        monkeypatch.setenv(plotting.BOOK_BUILD_ENV, "1")
        monkeypatch.setattr(plotting, "quiet_progress_bars", lambda: None)
        assert plotting.configure_for_book_build() is True
        assert pio.renderers.default == plotting.BOOK_RENDERER
    finally:
        pio.renderers.default = before


def test_book_renderer_emits_html_without_plotly_js_plus_plotly_json():
    before = pio.renderers.default
    try:
        plotting.use_book_renderer()
        assert pio.renderers.default == plotting.BOOK_RENDERER
        fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
        bundle = pio.renderers._build_mime_bundle(fig.to_dict())
    finally:
        pio.renderers.default = before
    # the HTML fragment for the book, plotly's JSON for a downloaded notebook in JupyterLab
    assert sorted(bundle) == ["application/vnd.plotly.v1+json", "text/html"]
    assert bundle[plotting.PLOTLY_MIMETYPE]["data"][0]["type"] == "bar"
    html = bundle["text/html"]
    assert 'class="plotly-graph-div"' in html and "Plotly.newPlot" in html
    assert "<script src" not in html and len(html) < 20_000, "plotly.js must not be inlined"
    assert "mathjax" not in html.lower()


def test_book_template_uses_the_palette():
    assert list(pio.templates[plotting.TEMPLATE].layout.colorway) == list(plotting.PALETTE)


# -------------------------------------------------------------------- Colab


def test_colab_setup_cell_is_a_no_op_outside_colab(monkeypatch):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append(a))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    path_before = list(sys.path)
    exec(compile(book.COLAB_SETUP_CELL, "<colab-cell>", "exec"), {})
    assert calls == [] and sys.path == path_before


def test_colab_setup_cell_installs_in_colab(monkeypatch):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda cmd, **k: calls.append(cmd))
    monkeypatch.setitem(sys.modules, "google.colab", object())
    monkeypatch.setattr("os.path.isdir", lambda p: False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(book.COLAB_SETUP_CELL, "<colab-cell>", "exec"), {})
    assert calls[0][:2] == ["git", "clone"] and book.repository_url() in calls[0]
    assert calls[1][1:5] == ["-m", "pip", "install", "-q"] and calls[1][-1] == "/content/dnnalign"
    assert sys.path[0] == "/content/dnnalign"


# ------------------------------------------------------------- smoke build


@pytest.mark.book
def test_smoke_book_builds(smoke_book):
    assert smoke_book.returncode == 0, smoke_book.log[-5000:]
    assert (smoke_book.html_dir / "index.html").is_file()
    for entry in book.toc_entries(REPO_ROOT):
        assert (smoke_book.html_dir / f"{entry}.html").is_file(), f"no page for {entry}"
    for stem in book.toc_notebooks(REPO_ROOT):
        assert re.search(rf"notebooks/{stem}: \d+\.\d s", smoke_book.log), "per-notebook time"
    assert re.search(r"executed \d+ notebook\(s\) in \d+\.\d s", smoke_book.log)


@pytest.mark.book
def test_smoke_notebooks_ran_cleanly_with_hidden_set_up_cells(smoke_book):
    assert smoke_book.returncode == 0, smoke_book.log[-5000:]
    for stem in book.toc_notebooks(REPO_ROOT):
        path = smoke_book.executed_dir / "notebooks" / f"{stem}.ipynb"
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                assert output.output_type != "error", f"{stem} cell {index}: {output.get('ename')}"
        assert nb.cells[0].source == book.RENDERER_CELL
        tagged = {t for c in nb.cells for t in c.metadata.get("tags", [])}
        assert {"parameters", "injected-parameters"} <= tagged, stem
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            if "parameters" in tags or "injected-parameters" in tags:
                assert "remove-cell" in tags, f"{stem}: parameters cell not hidden"
            if "injected-parameters" in tags:
                assert 'profile = "smoke"' in cell.source, cell.source
        assert "jupytext" not in nb.metadata
        # plotly figures reach the book as text/html, not only as the plotly mime type
        # (which stays beside it for readers who download the executed notebook)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "application/vnd.plotly.v1+json" in data and "text/html" not in data:
                    pytest.fail(f"{stem}: plotly figure without text/html (renderer not active)")
    # the paired notebooks in the repository are never written by the runner
    for path in (REPO_ROOT / "notebooks").glob("*.ipynb"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert not any(c.get("outputs") for c in raw["cells"]), path


@pytest.mark.book
def test_smoke_book_serves_its_scripts_locally(smoke_book):
    assert smoke_book.returncode == 0, smoke_book.log[-5000:]
    html_dir = smoke_book.html_dir
    assert (html_dir / "_static" / "plotly" / "plotly-cartesian.min.js").is_file()
    assert (html_dir / "_static" / "katex" / "katex.min.js").is_file()
    assert (html_dir / "_static" / "dnnalign" / "katex-math.js").is_file()
    external = re.compile(r'<(?:script|link|img)\b[^>]*(?:src|href)="(https?:)?//[^"]*"', re.I)
    for page in html_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        hits = [
            m.group(0)
            for m in external.finditer(text)
            if "stylesheet" in m.group(0) or m.group(0).lower().startswith(("<script", "<img"))
        ]
        assert not hits, f"{page.relative_to(html_dir)} loads external assets: {hits[:3]}"


@pytest.mark.book
def test_failing_notebook_stops_the_build_naming_notebook_and_cell(tmp_path):
    root = tmp_path / "book_root"
    (root / "book").mkdir(parents=True)
    (root / "book" / "intro.md").write_text("# Intro\n")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n"
        "  - file: notebooks/00_ok\n  - file: notebooks/01_fails\n"
    )
    _write_notebook(root / "notebooks", "00_ok", 'profile = "default"')
    _write_notebook(
        root / "notebooks",
        "01_fails",
        'profile = "default"',
        body='y = 2\n\n# %%\nvalue = {"a": 1}\nvalue["missing key"]',
    )
    out = tmp_path / "out"
    proc = run_book_cli(
        "build", "--profile", "smoke", "--root", str(root), "--output-dir", str(out)
    )
    message = proc.stdout + proc.stderr
    assert proc.returncode != 0, message
    assert "notebook notebooks/01_fails failed in cell 3 (0-based)" in message, message
    assert "01_fails.py line 19" in message, message
    assert 'value = {"a": 1}' in message and "KeyError" in message, message
    assert "notebooks/00_ok:" in message  # the first notebook ran
    assert (
        out / "_build" / "executed" / "smoke" / "notebooks" / "01_fails.failed.ipynb"
    ).is_file()
    assert not (out / "_build" / "executed" / "smoke" / "notebooks" / "01_fails.ipynb").exists()
    assert not (out / "_build" / "html").exists(), "jupyter-book must not run after a failure"


def test_staging_without_executed_copies_names_the_missing_notebooks(tmp_path):
    with pytest.raises(book.BookBuildError, match=r"no executed copy .* of: 00_data"):
        book.stage_book("smoke", tmp_path / "executed", tmp_path / "stage", root=REPO_ROOT)


@pytest.mark.book
def test_no_execute_rebuilds_the_html_from_the_executed_copies(smoke_book):
    assert smoke_book.returncode == 0, smoke_book.log[-5000:]
    executed = sorted(smoke_book.executed_dir.rglob("*.ipynb"))
    stamps = [p.stat().st_mtime_ns for p in executed]
    proc = run_book_cli(
        "build", "--profile", "smoke", "--no-execute", "--output-dir", str(smoke_book.output_dir)
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    assert "executing" not in proc.stdout
    assert [p.stat().st_mtime_ns for p in executed] == stamps, "executed copies were rewritten"
    assert (smoke_book.html_dir / "index.html").is_file()


def test_image_grid_captions_sit_above_their_own_picture():
    import numpy as np

    from dnnalign_utils.plotting import image_grid

    pictures = np.zeros((7, 4, 4, 3), dtype=np.uint8)
    captions = [f"picture {i}" for i in range(7)]
    fig = image_grid(pictures, captions, columns=3)
    assert len(fig.data) == 7
    for index, trace in enumerate(fig.data):  # px.imshow adds facet i as trace i
        x_domain = fig.layout[trace.xaxis.replace("x", "xaxis")].domain
        y_domain = fig.layout[trace.yaxis.replace("y", "yaxis")].domain
        (label,) = [
            a.text
            for a in fig.layout.annotations
            if abs(a.x - sum(x_domain) / 2) < 1e-9 and abs(a.y - y_domain[1]) < 1e-9
        ]
        assert label == captions[index]


def test_quiet_progress_bars_replace_widget_bars_and_write_nothing(capsys):
    import importlib

    import tqdm.auto
    import tqdm.autonotebook
    import tqdm.notebook

    from dnnalign_utils import plotting

    modules = (tqdm.auto, tqdm.autonotebook, tqdm.notebook)
    originals = [(m, name, getattr(m, name)) for m in modules for name in ("tqdm", "trange")]
    originals += [
        (tqdm.notebook, n, getattr(tqdm.notebook, n)) for n in ("tqdm_notebook", "tnrange")
    ]
    try:
        plotting.quiet_progress_bars()
        import dnnalign_utils.triplets as triplets_module

        reloaded = importlib.reload(triplets_module)  # a module importing tqdm.auto later
        assert reloaded.tqdm is plotting._StaticPageTqdm
        for _ in tqdm.auto.tqdm(range(3), desc="hidden"):
            pass
        # sentence-transformers: `from tqdm.autonotebook import trange` after the call
        from tqdm.autonotebook import trange

        bar = trange(0, 10, 4, desc="hidden too")
        assert isinstance(bar, plotting._StaticPageTqdm) and list(bar) == [0, 4, 8]
        assert isinstance(tqdm.notebook.tnrange(2), plotting._StaticPageTqdm)
        captured = capsys.readouterr()
        assert "hidden" not in captured.err and "hidden" not in captured.out
    finally:
        for module, name, value in originals:
            setattr(module, name, value)
        tqdm.notebook.tqdm = tqdm.notebook.tqdm_notebook
        importlib.reload(triplets_module)


def test_line_with_band_draws_the_interval_and_the_line():
    import pandas as pd

    from dnnalign_utils.plotting import line_with_band

    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.1, 0.2, 0.3], "lo": [0.0, 0.1, 0.2],
                          "hi": [0.2, 0.3, 0.4]})  # fmt: skip
    fig = line_with_band(frame, "x", "y", "lo", "hi", colour="#D55E00", name="m", scale=100)
    band, line = fig.data
    assert list(band.x) == [1, 2, 3, 3, 2, 1]
    assert list(band.y) == pytest.approx([20, 30, 40, 20, 10, 0])  # high, then low back
    assert band.fillcolor == "rgba(213, 94, 0, 0.2)" and band.mode == "lines"
    assert list(line.y) == pytest.approx([10, 20, 30])


# ------------------------------------------ checks before executing (issue 12, 9, 11, 12)


def _two_chapter_root(tmp_path: Path) -> Path:
    root = tmp_path / "book_root"
    (root / "book").mkdir(parents=True)
    (root / "book" / "intro.md").write_text("# Intro\n")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n"
        "  - file: notebooks/00_a\n  - file: notebooks/01_b\n"
    )
    _write_notebook(root / "notebooks", "00_a", 'profile = "default"')
    _write_notebook(
        root / "notebooks",
        "01_b",
        'profile = "default"\nn_bootstrap = 100\nalpha = 0.5\nnames = ["a"]\nquick = False',
    )
    return root


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"n_bootstrap": "abc"}, r"'n_bootstrap' = 'abc' \(str\); expected int"),
        ({"n_bootstrap": 2.5}, r"'n_bootstrap' = 2.5 \(float\); expected int"),
        ({"n_bootstrap": True}, r"'n_bootstrap' = True \(bool\); expected int"),
        ({"alpha": "0.1"}, r"'alpha' = '0.1' \(str\); expected float"),
        ({"names": "a"}, r"'names' = 'a' \(str\); expected list"),
        ({"names": [1]}, r"'names' = \[1\] \(list\); expected list"),
        ({"quick": 1}, r"'quick' = 1 \(int\); expected bool"),
        ({"n_boot": 5}, r"parameter 'n_boot' is not declared"),
    ],
)
def test_wrong_parameter_types_are_refused_before_executing(
    tmp_path, monkeypatch, override, match
):
    root = _two_chapter_root(tmp_path)
    monkeypatch.setitem(profiles.PROFILES, "smoke", {"01_b": override})
    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(tmp_path / "artefacts"))
    with pytest.raises(book.BookBuildError, match=rf"01_b.py: (parameter )?{match}"):
        book.build_book("smoke", output_dir=tmp_path / "out", build_html=False, root=root)
    assert not (tmp_path / "out" / "_build").exists(), "nothing may run before the check"


def test_int_is_accepted_where_a_float_is_declared(tmp_path):
    root = _two_chapter_root(tmp_path)
    source = root / "notebooks" / "01_b.py"
    assert profiles.parameter_type_problems(source, {"alpha": 1, "n_bootstrap": 5}) == []


def test_validate_profiles_reports_wrong_types(tmp_path):
    _write_notebook(tmp_path, "01_x", 'profile = "default"\nn_triplets = 1000')
    problems = profiles.validate_profiles(tmp_path, {"smoke": {"01_x": {"n_triplets": "10"}}})
    assert len(problems) == 1 and "expected int" in problems[0]


def test_artefacts_dir_that_is_a_file_is_refused_before_executing(tmp_path, monkeypatch):
    root = _two_chapter_root(tmp_path)
    not_a_folder = tmp_path / "artefacts.txt"
    not_a_folder.write_text("x")
    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(not_a_folder))
    with pytest.raises(book.BookBuildError, match=r"DNNALIGN_ARTEFACTS_DIR=.*not a folder"):
        book.build_book("smoke", output_dir=tmp_path / "out", build_html=False, root=root)
    assert not (tmp_path / "out" / "_build").exists()


def test_read_only_artefacts_dir_is_refused_before_executing(tmp_path, monkeypatch):
    from dnnalign_utils import paths

    root = _two_chapter_root(tmp_path)
    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(tmp_path / "ro" / "artefacts"))
    (tmp_path / "ro").mkdir()

    writable = paths.tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):  # as a read-only folder or mount answers
        if Path(dir) == tmp_path / "ro":
            raise PermissionError(13, "Permission denied")
        return writable(*args, dir=dir, **kwargs)

    monkeypatch.setattr(paths.tempfile, "TemporaryFile", read_only)
    with pytest.raises(book.BookBuildError, match=r"DNNALIGN_ARTEFACTS_DIR=.*ro is not writable"):
        book.build_book("smoke", output_dir=tmp_path / "out", build_html=False, root=root)
    assert not (tmp_path / "out" / "_build").exists()


def test_output_folders_that_cannot_be_written_are_named_before_executing(tmp_path, monkeypatch):
    from dnnalign_utils import paths, report

    root = _two_chapter_root(tmp_path)
    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    with pytest.raises(ValueError, match=r"--output-dir .*notes\.txt: .*notes\.txt is not a"):
        book.build_book("smoke", output_dir=a_file, build_html=False, root=root)
    with pytest.raises(ValueError, match=r"--output-dir .*notes\.txt/out: .*is not a folder"):
        book.build_book("smoke", output_dir=a_file / "out", build_html=False, root=root)
    with pytest.raises(ValueError, match=r"--output-dir .*notes\.txt: .*is not a folder"):
        report.run_report("vgg16", a_file, profile="smoke", root=root)
    assert a_file.read_text() == "mine"

    monkeypatch.setenv(paths.CACHE_ENV, str(a_file))
    with pytest.raises(book.BookBuildError, match=r"download cache: DNNALIGN_CACHE_DIR=.*not a"):
        book.build_book("paper", output_dir=tmp_path / "out", build_html=False, root=root)
    monkeypatch.delenv(paths.CACHE_ENV)

    (tmp_path / "ro").mkdir()

    def read_only(*args, **kwargs):  # as a read-only folder or mount answers
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(paths.tempfile, "TemporaryFile", read_only)
    with pytest.raises(ValueError, match=r"--output-dir .*ro/out: .*ro is not writable"):
        book.build_book("smoke", output_dir=tmp_path / "ro" / "out", build_html=False, root=root)
    assert not (tmp_path / "ro" / "out").exists()


def test_relative_folder_variables_mean_the_callers_working_folder(tmp_path, monkeypatch):
    """The kernel runs in notebooks/: a relative DNNALIGN_ARTEFACTS_DIR (or any folder
    variable) must still name the folder of the caller's working folder."""
    from dnnalign_utils import paths

    root = tmp_path / "book_root"
    body = (
        "import os\nfrom dnnalign_utils import paths\n"
        "paths.artefacts_root().mkdir(parents=True, exist_ok=True)\n"
        "(paths.artefacts_root() / 'written').write_text(os.getcwd())\n"
        "(paths.artefacts_root() / 'cache').write_text(str(paths.cache_dir()))"
    )
    _write_notebook(root / "notebooks", "00_a", 'profile = "default"', body=body)
    caller = tmp_path / "caller"
    caller.mkdir()
    monkeypatch.chdir(caller)
    monkeypatch.setenv(paths.ARTEFACTS_ENV, "relart")
    monkeypatch.setenv(paths.CACHE_ENV, "relcache")
    assert set(paths.absolute_path_variables()) >= {paths.ARTEFACTS_ENV, paths.CACHE_ENV}
    book.execute_notebook("00_a", "smoke", tmp_path / "executed", root=root)
    written = caller / "relart" / "written"
    assert written.is_file(), "the artefacts went elsewhere"
    assert written.read_text() == str(root / "notebooks")  # the kernel did run there
    assert (caller / "relart" / "cache").read_text() == str(caller / "relcache")
    assert not (root / "notebooks" / "relart").exists()
    assert os.environ[paths.ARTEFACTS_ENV] == "relart"  # the caller's own is left as it was


def test_missing_artefact_names_the_chapter_and_command(tmp_path, monkeypatch):
    from dnnalign_utils import data, paths
    from dnnalign_utils import embedding as emb

    monkeypatch.setenv("DNNALIGN_ARTEFACTS_DIR", str(tmp_path))
    command = r"`python -m dnnalign_utils\.book build --profile smoke --only {}`"
    missing = paths.network_embedding("smoke")
    with pytest.raises(
        FileNotFoundError, match=r"02_embedding_fit.*" + command.format("02_embedding_fit")
    ):
        emb.load_embedding(missing)
    missing = paths.network_triplet_split("smoke")[0]
    with pytest.raises(FileNotFoundError, match=command.format("01_triplet_task")):
        data.load_triplets(missing, "npy")
    with pytest.raises(FileNotFoundError, match=r"not found$"):
        emb.load_embedding(tmp_path / "elsewhere.npz")


def test_styled_table_rounds_hides_the_bare_index_and_shows_missing_as_a_dash():
    import pandas as pd

    frame = pd.DataFrame({"share": [0.124485, float("nan")], "n": [1234567, 2]})
    html = plotting.styled_table(frame, precision=1).to_html()
    assert "0.1" in html and "0.124485" not in html and "1,234,567" in html
    assert "–" in html and "nan" not in html.lower()
    hidden = plotting.styled_table(frame, index=False).to_html()
    assert "row0" in hidden and '<th id="T_' not in hidden.split("</thead>")[1]


def test_wrap_caption_breaks_at_spaces_within_the_width():
    assert plotting.wrap_caption("dim 4: crown (noto)", width=14) == "dim 4: crown<br>(noto)"
    assert plotting.wrap_caption("short", width=14) == "short"
    # a word longer than the width keeps its own line
    assert plotting.wrap_caption("a boxing_gloves_xxl b", width=5) == "a<br>boxing_gloves_xxl<br>b"
    for line in plotting.wrap_caption("dress · people: odd · net: odd").split("<br>"):
        assert len(line) <= plotting.CAPTION_WRAP


# ------------------------------------------------- the Colab cell in one place


def _colab_py(folder: Path) -> Path:
    """A chapter source as a paired Jupyter session saves it: with the Colab cell."""
    import jupytext
    from jupytext.config import load_jupytext_config

    cell = '# %% tags=["remove-cell"]\n' + book.COLAB_SETUP_CELL + "\n\n"
    source = _write_notebook(folder, "01_x", 'profile = "default"', body="y = 2")
    config = load_jupytext_config(str(folder.resolve()))  # the header jupytext writes
    text = jupytext.writes(jupytext.read(source), fmt="py:percent", config=config)
    source.write_text(text.replace('# %% tags=["parameters"]', cell + '# %% tags=["parameters"]'))
    return source


def test_sync_notebook_moves_the_colab_cell_from_the_py_into_the_ipynb(tmp_path):
    import jupytext

    (tmp_path / "jupytext.toml").write_text(
        (REPO_ROOT / "jupytext.toml").read_text(encoding="utf-8")
    )
    source = _colab_py(tmp_path / "notebooks")
    with_cell = source.read_text(encoding="utf-8")
    assert book.sync_notebooks(tmp_path, check=True) == [source, source.with_suffix(".ipynb")]
    assert source.read_text(encoding="utf-8") == with_cell, "--check writes nothing"
    assert not source.with_suffix(".ipynb").exists()

    source.chmod(0o640)
    assert book.sync_notebooks(tmp_path) == [source, source.with_suffix(".ipynb")]
    assert source.stat().st_mode & 0o777 == 0o640, "the source keeps its permissions"
    stripped = source.read_text(encoding="utf-8")
    assert "google.colab" not in stripped
    # only the Colab cell's lines left the .py
    assert stripped == with_cell.replace(
        '# %% tags=["remove-cell"]\n' + book.COLAB_SETUP_CELL + "\n\n", ""
    )
    ipynb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    kinds = [(c.cell_type, "parameters" in c.metadata.get("tags", [])) for c in ipynb.cells]
    assert kinds == [("markdown", False), ("code", False), ("code", True), ("code", False)]
    colab = ipynb.cells[1]
    assert colab.source == book.COLAB_SETUP_CELL and colab.metadata["tags"] == ["remove-cell"]
    assert colab.id == book.COLAB_CELL_ID
    assert [c.source for c in jupytext.read(source).cells] == [
        c.source for i, c in enumerate(ipynb.cells) if i != 1
    ]
    # a second sync changes nothing; an edit of the .py reaches the .ipynb, ids kept
    assert book.sync_notebooks(tmp_path) == []
    ids = [c.id for c in ipynb.cells]
    source.write_text(stripped.replace("y = 2", "y = 3"), encoding="utf-8")
    assert book.sync_notebooks(tmp_path, ["01_x"]) == [source.with_suffix(".ipynb")]
    edited = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert edited.cells[3].source == "y = 3" and [c.id for c in edited.cells][:3] == ids[:3]
    with pytest.raises(ValueError, match=r"sync-notebooks 99_y: no such notebook source"):
        book.sync_notebooks(tmp_path, ["99_y"])


def test_executed_notebook_gets_the_colab_cell_before_its_first_code_cell(tmp_path):
    source = _write_notebook(tmp_path / "notebooks", "01_x", 'profile = "default"')
    nb = book._notebook_for_execution(source)
    assert nb.cells[0].source == book.RENDERER_CELL
    assert [c.cell_type for c in nb.cells[1:3]] == ["markdown", "code"]
    assert nb.cells[2].source == book.COLAB_SETUP_CELL
    assert "remove-cell" in nb.cells[2].metadata["tags"]
    assert "parameters" in nb.cells[3].metadata["tags"]
    # a source still carrying the cell (an unsynced chapter) gets it once, not twice
    twice = book._notebook_for_execution(_colab_py(tmp_path / "carried"))
    assert sum(book.is_colab_cell(c) for c in twice.cells) == 1


def test_image_grid_embeds_webp_png_or_jpeg_and_refuses_other_encodings():
    import base64
    import io

    import numpy as np
    from PIL import Image

    from dnnalign_utils.plotting import image_grid

    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)  # noise: worst case
    sources = {
        encoding: [t.source for t in image_grid(pictures, ["a", "b"], 2, encoding=encoding).data]
        for encoding in ("webp", "png", "jpg")
    }
    assert all(s.startswith("data:image/png;base64,") for s in sources["png"])
    assert all(s.startswith("data:image/jpeg;base64,") for s in sources["jpg"])
    assert all(s.startswith("data:image/webp;base64,") for s in sources["webp"])
    assert sum(map(len, sources["jpg"])) < sum(map(len, sources["png"]))
    # the default: lossless, the same pixels as the pictures
    default = [t.source for t in image_grid(pictures, ["a", "b"], 2).data]
    assert default == sources["webp"]
    decoded = Image.open(io.BytesIO(base64.b64decode(default[0].split(",", 1)[1])))
    assert np.array_equal(np.asarray(decoded.convert("RGB")), pictures[0])
    drawing = np.full((2, 64, 64, 3), 255, dtype=np.uint8)
    drawing[:, 16:48, 16:48] = (0, 114, 178)  # a flat drawing: WebP beats PNG
    webp, png = (
        image_grid(drawing, ["a", "b"], 2, encoding=e).data[0].source for e in ("webp", "png")
    )
    assert len(webp) < len(png)
    with pytest.raises(ValueError, match="encoding: expected 'webp', 'png' or 'jpg'"):
        image_grid(pictures, ["a", "b"], 2, encoding="gif")


def test_vendored_plotly_js_fits_the_installed_plotly(tmp_path):
    """The book's plotly.js bundle has the version of the installed plotly's own bundle;
    another version or a missing bundle is refused with what to do."""
    bundle = REPO_ROOT / book.PLOTLY_JS
    assert book.plotly_js_version_problem(bundle) is None
    other = tmp_path / "plotly-cartesian.min.js"
    other.write_text("/**\n* plotly.js (cartesian - minified) v0.0.1\n*/\n", encoding="utf-8")
    assert book.plotly_js_version(other) == "0.0.1"
    assert "fetch_assets.sh" in book.plotly_js_version_problem(other)
    assert "missing" in book.plotly_js_version_problem(tmp_path / "absent.js")


def test_book_figures_wrap_titles_and_draw_webgl_scatter_as_svg():
    fig = go.Figure(
        go.Scattergl(x=[1, 2], y=[1, 2]),
        layout={"title": "a title that is much too long to fit a phone screen in one line"},
    )
    shown = plotting.fit_for_book(fig.to_dict())
    lines = shown["layout"]["title"]["text"].split("<br>")
    assert len(lines) > 1 and all(len(line) <= plotting.TITLE_WRAP for line in lines)
    assert shown["data"][0]["type"] == "scatter"
    assert fig.data[0].type == "scattergl"  # the notebook's figure is left as made
    assert set(shown["layout"]["template"]["data"]) == {"scatter"}  # of the used types
    # placed at the top with room for plotly's higher multi-line titles; margin holds it
    placed = shown["layout"]["title"]
    assert placed["yanchor"] == "top" and placed["pad"]["t"] == plotting.TITLE_PAD_PX
    assert shown["layout"]["margin"]["t"] >= len(lines) * plotting.TITLE_LINE_PX + 24
    # a title the figure placed itself is wrapped but left where it is
    own = go.Figure(layout={"title": {"text": "t", "y": 0.9, "yanchor": "middle"}})
    assert plotting.fit_for_book(own.to_dict())["layout"]["title"]["y"] == 0.9
    assert shown["layout"]["template"]["layout"] == fig.to_dict()["layout"]["template"]["layout"]


def test_book_figures_put_facet_row_labels_above_their_panels():
    """plotly express's facet-row labels (at the right edge, under a phone's legend) go
    above their panels, right-aligned; other annotations stay where they are."""
    import pandas as pd
    import plotly.express as px

    frame = pd.DataFrame(
        {"x": [1, 2] * 2, "y": [1, 2, 3, 4], "r": list("aabb"), "c": list("uvuv")}
    )
    fig = px.line(frame, x="x", y="y", facet_row="r", color="c")
    fig.add_annotation(text="note", x=1.5, y=2, xref="x", yref="y")
    shown = plotting.fit_for_book(fig.to_dict())["layout"]
    tops = {shown["yaxis"]["domain"][1], shown["yaxis2"]["domain"][1]}
    labels = [a for a in shown["annotations"] if a["text"].startswith("r=")]
    assert len(labels) == 2 and {a["y"] for a in labels} == tops
    assert all(a["textangle"] == 0 and a["x"] == 1 and a["yanchor"] == "bottom" for a in labels)
    note = next(a for a in shown["annotations"] if a["text"] == "note")
    assert (note["x"], note["y"]) == (1.5, 2)
