"""Progress for short runs, evaluation/prediction, and output redirected to a file."""
import io

from bert_tf1.runtime import progress


class FakeClock(object):
    def __init__(self, step=1.0):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_log_interval_adapts_to_short_runs():
    assert progress.log_interval(100, 31) == 3  # 31 steps: ~10 lines, not none
    assert progress.log_interval(100, 5000) == 100
    assert progress.log_interval(100, 5) == 1
    assert progress.progress_hook(31, 100, use_tpu=False).every_n_steps == 3


def test_inference_hook_logs_batches_rate_and_eta():
    logged = []
    hook = progress.InferenceProgressHook(20, batch_size=8, what="eval", log_fn=logged.append,
                                          min_seconds=0, clock=FakeClock(0.5))
    hook.begin()
    for _ in range(20):
        hook.after_run(None, None)
    assert len(logged) == 10 and hook.done == 20
    assert logged[0] == "eval: batch 2/20 (10%)  16.0 ex/s  ETA 9s"
    assert logged[-1].startswith("eval: batch 20/20 (100%)  16.0 ex/s")


def test_inference_hook_on_a_short_run_prints_the_last_batch_and_counts_tpu_loops():
    logged = []
    hook = progress.InferenceProgressHook(3, 8, "predict", log_fn=logged.append,
                                          clock=FakeClock(0.1))
    hook.begin()
    for _ in range(3):
        hook.after_run(None, None)
    assert logged == ["predict: batch 3/3 (100%)  80.0 ex/s  ETA 0s"]
    tpu = progress.inference_progress_hook(100, 8, "eval", use_tpu=True, iterations_per_loop=5)
    assert (tpu.total_batches, tpu.batches_per_run) == (13, 5)


def test_progress_bar_writes_log_lines_not_carriage_returns_when_redirected():
    logged = []
    stream = io.StringIO()  # not a TTY, like 2> run.log
    items = list(progress.progress_bar(range(50), total=50, desc="Writing TFRecord", unit="ex",
                                       stream=stream, log_fn=logged.append, clock=FakeClock(1),
                                       min_seconds=0))
    assert items == list(range(50)) and stream.getvalue() == ""
    assert len(logged) == 10 and "\r" not in "".join(logged)
    assert logged[-1] == "Writing TFRecord: 50/50 (100%)  5.0 ex/s  ETA 0s"  # 10 ticks
    throttled = []
    list(progress.progress_bar(range(50), total=50, desc="d", stream=stream,
                               log_fn=throttled.append, clock=FakeClock(0.01)))
    assert len(throttled) == 1  # a fast pass: the final line only


def test_progress_bar_is_tqdm_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    assert list(progress.progress_bar(range(3), total=3, desc="x", stream=terminal)) == [0, 1, 2]
    assert "\r" in terminal.getvalue() and "3/3" in terminal.getvalue()
