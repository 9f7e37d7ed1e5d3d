"""runtime.workers.forked_imap: results in task order from forked children, errors raised in
the parent with the children stopped, nothing left behind."""
import os

import pytest

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import workers

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="needs fork")


def test_results_in_task_order_from_children():
    parent = os.getpid()
    offset = 100  # a closure: children inherit it, nothing but results is pickled

    def work(task):
        return task + offset, os.getpid()

    results = list(workers.forked_imap(work, range(7), 3))
    assert [value for value, _ in results] == list(range(100, 107))
    pids = [pid for _, pid in results]
    assert parent not in pids and len(set(pids)) == 3
    assert pids[:3] == pids[3:6]  # child k ran tasks k, k + 3, ...
    assert list(workers.forked_imap(abs, [-4], 3)) == [4]  # one task: this process


def gone(pids):
    """True when none of `pids` exists any more (killed and reaped, not a zombie)."""
    for pid in pids:
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            pass
    return True


def test_an_error_in_a_child_is_raised_here_and_stops_the_children():
    pids = set()

    def work(task):
        if task == 5:
            raise BertTF1Error("example %d is bad" % task)
        return task, os.getpid()

    seen = []
    with pytest.raises(BertTF1Error, match="example 5 is bad"):
        for value, pid in workers.forked_imap(work, range(40), 2):
            seen.append(value)
            pids.add(pid)
    assert seen == list(range(5)) and len(pids) == 2 and gone(pids)


def test_an_unpicklable_error_is_named():
    def work(task):
        raise ValueError(lambda: task)  # its argument cannot be pickled

    with pytest.raises(BertTF1Error, match="worker process: ValueError"):
        list(workers.forked_imap(work, range(4), 2))


def test_an_abandoned_generator_stops_the_children():
    results = workers.forked_imap(lambda task: (task, os.getpid()), range(10000), 2)
    pids = {next(results)[1], next(results)[1]}
    results.close()
    assert len(pids) == 2 and gone(pids)


def test_a_child_that_dies_is_a_clear_error():
    def work(task):
        if task == 3:
            os._exit(9)  # as if killed
        return task

    with pytest.raises(BertTF1Error, match=r"worker process \d+ ended without a result"):
        list(workers.forked_imap(work, range(8), 2))
