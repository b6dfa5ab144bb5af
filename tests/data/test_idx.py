import gzip

import numpy as np
import pytest

from ganforge.data.idx import encode_idx, parse_idx, read_idx
from ganforge.errors import UserError


def test_plain_and_gzip_files_read_the_same(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a-idx3-ubyte").write_bytes(encode_idx(array))
    (tmp_path / "a-idx3-ubyte.gz").write_bytes(gzip.compress(encode_idx(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), array)


def test_truncated_file_is_a_clear_error(tmp_path):
    content = encode_idx(np.zeros((10, 28, 28), np.uint8))
    (tmp_path / "t").write_bytes(content[:-100])
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "t")


def test_wrong_magic_and_damaged_gzip_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="not an unsigned-byte idx"):
        parse_idx(b"\x00\x00\x0d\x03" + bytes(12))
    (tmp_path / "bad.gz").write_bytes(gzip.compress(encode_idx(np.zeros(5, np.uint8)))[:-8])
    with pytest.raises(UserError, match="damaged gzip"):
        read_idx(tmp_path / "bad.gz")


def test_extra_bytes_are_rejected():
    with pytest.raises(UserError, match="longer than its header"):
        parse_idx(encode_idx(np.zeros(5, np.uint8)) + b"x")
