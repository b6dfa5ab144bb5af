import pytest
import torch

from ganforge.data.order import EpochOrder
from ganforge.errors import UserError


def test_one_process_shuffles_every_image_and_keeps_the_last_small_batch():
    order = EpochOrder(10, 4, seed=3)
    batches = order.batches_of(0)
    assert order.batches == 3 and [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    assert torch.cat(batches).tolist() != list(range(10))  # shuffled
    assert not torch.equal(torch.cat(order.batches_of(1)), torch.cat(batches))  # anew each epoch
    assert torch.equal(torch.cat(EpochOrder(10, 4, seed=3).batches_of(0)), torch.cat(batches))  # repeatable


def test_ranks_split_each_single_process_batch_into_disjoint_equal_shares():
    single = EpochOrder(22, 6, seed=1).batches_of(2)
    ranks = [EpochOrder(22, 6, seed=1, rank=r, world=3) for r in range(3)]
    assert all(o.batches == 3 and o.local == 2 for o in ranks)  # 22 // 6: the partial batch is dropped
    for b in range(3):
        parts = [o.batches_of(2)[b] for o in ranks]
        assert torch.equal(torch.cat(parts), single[b])  # same images as one process at that step


def test_a_batch_that_does_not_split_evenly_is_refused():
    with pytest.raises(UserError, match="multiple of 3"):
        EpochOrder(100, 10, seed=0, rank=0, world=3)
