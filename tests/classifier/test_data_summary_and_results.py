"""The data summary logged at a run's start and the results table at its end."""
import json

from bert_tf1.classifier import data_summary, results_table
from bert_tf1.data.examples import InputExample


class WordTokenizer(object):
    def tokenize(self, text):
        return text.split()


def examples(spec):
    """[(label, words)] -> InputExamples with texts of that many words."""
    return [InputExample("train-%d" % i, " ".join(["w"] * words), label=label)
            for i, (label, words) in enumerate(spec)]


def test_summary_counts_classes_imbalance_and_truncation(tmp_path):
    train = examples([("a", 3)] * 6 + [("b", 10)] * 2)  # lengths 5 and 12 with [CLS]/[SEP]
    test = [InputExample("test-0", "w w", label=None)]
    summary = data_summary.summarize({"train": train, "predict": test}, WordTokenizer(), 8)
    split = summary["splits"]["train"]
    assert split["classes"] == {"a": 6, "b": 2} and split["imbalance"] == 3.0
    assert split["truncated"] == 0.25 and split["length_max"] == 12
    assert summary["splits"]["predict"]["unlabelled"] == 1
    text = data_summary.format_summary(summary)
    assert "train: 8 examples; 2 classes: a 6, b 2; imbalance 3.0" in text
    assert "25.0% truncated at 8" in text and "predict: 1 examples; all unlabelled" in text
    path = data_summary.write_summary(str(tmp_path), summary)
    assert json.load(open(path))["splits"]["train"]["token_lengths"] == [5] * 6 + [12] * 2


def test_summary_of_pairs_regression_and_a_sampled_split():
    pairs = [InputExample("p-%d" % i, "w w", "w w w", label=float(i)) for i in range(5)]
    split = data_summary.summarize_split(pairs, WordTokenizer(), 8, is_regression=True)
    assert split["label_range"] == [0.0, 4.0] and split["token_lengths"] == [8] * 5
    assert split["truncated"] == 0.0  # 2 + 3 + [CLS] [SEP] [SEP] = 8 fits
    many = examples([("a", 1)] * 30)
    sampled = data_summary.summarize_split(many, WordTokenizer(), 8, sample=10)
    assert sampled["lengths_measured"] == 10 and sampled["examples"] == 30
    assert "(of a sample of 10)" in data_summary.format_summary(
        {"max_seq_length": 8, "splits": {"train": sampled}})


def test_results_table_shows_key_metrics_per_class_and_the_confusion_matrix():
    labels = ["cooking", "music", "sport"]
    results = {"eval_accuracy": 0.5, "macro_f1": 0.4, "eval_loss": 1.2, "global_step": 30,
               "num_eval_examples": 6, "loss": 1.3}
    for gold in labels:
        for kind in ("precision", "recall", "f1"):
            results["%s_%s" % (kind, gold)] = 0.5
        for predicted in labels:
            results["confusion_matrix/%s/%s" % (gold, predicted)] = float(gold == predicted)
    lines = results_table.format_results_table(results, labels).splitlines()
    assert lines[:3] == ["***** Eval results *****", "  eval_accuracy      0.5000",
                         "  macro_f1           0.4000"]
    assert "  loss" not in "\n".join(lines)  # Estimator's batch-mean loss: eval_results only
    assert "  gold\\pred  cooking  music  sport" in lines
    assert "  music            0      1      0" in lines
    assert "  class    precision  recall      f1" in lines


def test_results_table_with_many_or_long_labels_and_without_labels():
    labels = ["label_number_%02d" % k for k in range(12)]
    results = {"eval_accuracy": 1.0}
    results.update({"confusion_matrix/%s/%s" % (g, p): 1.0 for g in labels for p in labels})
    text = results_table.format_results_table(results, labels)
    assert "  gold\\pred           0  1  2" in text and "  11 label_number_11  1" in text
    many = ["c%d" % k for k in range(25)]
    assert "25 classes: per-class figures and the confusion matrix are in eval_results.json" in \
        results_table.format_results_table({"eval_accuracy": 1.0}, many)
    assert results_table.format_results_table({"masked_lm_accuracy": 0.1}).splitlines()[1] == \
        "  masked_lm_accuracy  0.1000"
