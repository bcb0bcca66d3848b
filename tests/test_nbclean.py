"""Committed notebooks stay clean: git sends every .ipynb through nbstripout (.gitattributes,
with the filter defined in .gitfilters), every committed notebook is already what that filter
would commit, and in a clone with the filter enabled, opening and saving a notebook in a front
end (outputs, counts, widget state, language version) leaves nothing to diff or commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbstripout import strip_output

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def git(*args: str, cwd: Path = REPO) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid", GIT_CONFIG_NOSYSTEM="1")
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def extra_keys() -> list[str]:
    return git("config", "-f", str(REPO / ".gitfilters"), "filter.nbstripout.extrakeys").split()


def test_gitattributes_route_notebooks_through_the_filter():
    out = git("check-attr", "filter", "diff", "--", "notebooks/01-quickstart.ipynb")
    assert "filter: nbstripout" in out and "diff: ipynb" in out
    clean = git("config", "-f", str(REPO / ".gitfilters"), "filter.nbstripout.clean")
    assert "nbstripout" in clean and "--keep-id" in clean
    assert "metadata.language_info" in extra_keys()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_what_the_filter_commits(path):
    nb = nbformat.read(path, as_version=4)
    stripped = strip_output(nbformat.read(path, as_version=4), keep_output=False, keep_count=False,
                            keep_id=True, extra_keys=extra_keys())
    assert json.loads(nbformat.writes(stripped)) == json.loads(nbformat.writes(nb)), (
        f"{path.name} is not clean: run `.venv/bin/python -m nbstripout --keep-id "
        f"--extra-keys \"{' '.join(extra_keys())}\" {path}` (or enable the filter, see README)")


def test_opening_and_saving_leaves_git_clean(tmp_path):
    repo = tmp_path / "clone"
    repo.mkdir()
    for name in (".gitattributes", ".gitfilters"):
        shutil.copy(REPO / name, repo / name)
    (repo / ".venv").symlink_to(sys.prefix, target_is_directory=True)  # the filter runs .venv/bin/python
    assert (repo / ".venv" / "bin" / "python").exists(), "the tests must run from the project's virtualenv"
    shutil.copy(NOTEBOOKS[0], repo / "nb.ipynb")
    git("init", "-q", cwd=repo)
    git("config", "--local", "include.path", "../.gitfilters", cwd=repo)
    (repo / ".gitignore").write_text(".venv\n")
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "clean", cwd=repo)

    # What a front end writes on save: outputs, counts, widget state, its language version.
    nb = nbformat.read(repo / "nb.ipynb", as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.execution_count = 7
    code.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=7)]
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.4", "codemirror_mode": {"name": "ipython"}}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, repo / "nb.ipynb")
    # No change to see or to commit. (`git status` flags a file whose size changed until the
    # next `git add` re-reads it through the filter: git's stat shortcut, which no filter avoids.)
    assert git("diff", "--no-textconv", cwd=repo) == "", "saving without an edit produced a diff"
    git("add", "nb.ipynb", cwd=repo)
    assert git("status", "--porcelain", cwd=repo) == "", "saving without an edit left something to commit"

    # A real edit does show, and what gets committed is the clean form.
    code.source += "\n# an edit"
    nbformat.write(nb, repo / "nb.ipynb")
    assert git("status", "--porcelain", cwd=repo).strip() == "M nb.ipynb"
    git("commit", "-q", "-am", "edit", cwd=repo)
    committed = json.loads(git("show", "HEAD:nb.ipynb", cwd=repo))
    cells = [c for c in committed["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in cells)
    assert "language_info" not in committed["metadata"] and "widgets" not in committed["metadata"]
    assert committed["metadata"]["kernelspec"]["name"] == "python3"  # the kernel to start is kept
    assert "".join(cells[0]["source"]).endswith("# an edit")
