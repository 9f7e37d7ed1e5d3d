"""runtime.atomic_io: a write either lands whole or leaves the old content and no debris."""
import os

import pytest

from bert_tf1.runtime import atomic_io


class Boom(Exception):
    pass


def test_write_text_atomically_replaces_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "results.txt")
    atomic_io.write_text_atomically(path, "first\n")
    atomic_io.write_text_atomically(path, "second\n")
    assert open(path).read() == "second\n"
    assert os.listdir(str(tmp_path)) == ["results.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = str(tmp_path / "results.txt")
    atomic_io.write_text_atomically(path, "kept\n")
    with pytest.raises(Boom):
        with atomic_io.replaced_on_success(path) as temporary:
            with open(temporary, "w") as handle:
                handle.write("half")
            raise Boom()
    assert open(path).read() == "kept\n"
    assert os.listdir(str(tmp_path)) == ["results.txt"]


def test_staged_directory_appears_only_when_complete(tmp_path):
    final = str(tmp_path / "module")
    with pytest.raises(Boom):
        with atomic_io.staged_directory(final) as staging:
            open(os.path.join(staging, "a"), "w").close()
            raise Boom()
    assert os.listdir(str(tmp_path)) == []
    with atomic_io.staged_directory(final) as staging:
        open(os.path.join(staging, "a"), "w").close()
    assert os.listdir(final) == ["a"]


def test_staged_directory_refuses_or_replaces_a_non_empty_target(tmp_path):
    final = str(tmp_path / "module")
    os.makedirs(final)
    open(os.path.join(final, "old"), "w").close()
    with pytest.raises(FileExistsError):
        with atomic_io.staged_directory(final):
            pass
    assert os.listdir(final) == ["old"]
    with atomic_io.staged_directory(final, overwrite=True) as staging:
        open(os.path.join(staging, "new"), "w").close()
    assert os.listdir(final) == ["new"]
    assert sorted(os.listdir(str(tmp_path))) == ["module"]  # the moved-aside copy is gone


def test_remove_if_exists_and_temporary_names(tmp_path):
    path = str(tmp_path / "x")
    atomic_io.remove_if_exists(path)  # nothing there: no error
    open(path, "w").close()
    atomic_io.remove_if_exists(path)
    assert not os.path.exists(path)
    first, second = atomic_io.temporary_sibling(path), atomic_io.temporary_sibling(path + "/")
    assert first.startswith(path + ".tmp-") and second.startswith(path + ".tmp-")
    assert first != second
