"""jaxseq._files: atomic writes leave either the old file or the whole new one, with the usual permissions."""
import os

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
