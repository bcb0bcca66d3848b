"""What the magics tests share besides their shell (the `shell` and `ip` fixtures are in
conftest.py): the registry as plain rows, and the check that a refused cell is one line."""

from __future__ import annotations

from IPython.core.error import UsageError

import acl_notebook as acl


def registry() -> list[tuple]:
    """(id, name, device, loaded) of every model: what a refused cell must leave as it was."""
    return [(m.id, m.name, m.device, m.loaded) for m in acl.models()]


def fails_with_one_line(ip, capsys, cell: str) -> str:
    """Run `cell`; assert a UsageError shown as one line and no traceback; return the line."""
    capsys.readouterr()
    result = ip.run_cell(cell)
    out = capsys.readouterr()
    assert result.success is False
    assert type(result.error_in_exec) is UsageError
    text = out.out + out.err
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("UsageError: "), text
    return lines[0]
