"""The one chunking loop (b12kg/chunks.py): by count, by input bytes, and apart on shared nodes."""

from b12kg.chunks import chunked


def test_chunks_by_count_weight_and_shared_keys():
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    sizes = [5, 5, 20, 1, 1]
    assert list(chunked(sizes, 10, weight=lambda n: n, max_weight=10)) == [[5, 5], [20], [1, 1]]  # a heavy item alone
    nodes = [{"a"}, {"b"}, {"a", "c"}, {"d"}]  # the third shares a node with the first: a new chunk
    assert list(chunked(nodes, 10, keys=lambda n: n)) == [[{"a"}, {"b"}], [{"a", "c"}, {"d"}]]
