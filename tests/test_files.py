"""jaxseq._files: atomic writes leave either the old file or the whole new one, with the usual permissions."""
import os

import numpy as np

import pytest

from jaxseq._files import atomic_write, write_text_atomic


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    write_text_atomic(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_write(path, "w") as f:
            f.write("half of the new")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert os.listdir(path.parent) == ["f.txt"]  # no temporary file left behind
    write_text_atomic(path, "new")
    assert path.read_text() == "new"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old_mask = os.umask(0o027)
    try:
        path = tmp_path / "f.txt"
        write_text_atomic(path, "x")
        assert (os.stat(path).st_mode & 0o777) == 0o640  # as open() would make it (mkstemp: 0600)
        os.chmod(path, 0o604)
        write_text_atomic(path, "y")
        assert (os.stat(path).st_mode & 0o777) == 0o604 and path.read_text() == "y"
    finally:
        os.umask(old_mask)


def test_summaries_are_strict_json(tmp_path):
    """NaN (a ρ over fewer than 2 pairs) is written as null, NumPy scalars as numbers: strict parsers
    (jq, JavaScript) reject a bare NaN."""
    import json

    from jaxseq import experiment

    experiment.write_json(tmp_path / "s.json", {"rho": float("nan"), "inf": [np.float32("inf"), 1.5],
                                                "n": np.int64(3), "x": np.float32(0.5), "ok": np.bool_(True)})
    text = (tmp_path / "s.json").read_text()
    strict = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert strict == {"rho": None, "inf": [None, 1.5], "n": 3, "x": 0.5, "ok": True}
