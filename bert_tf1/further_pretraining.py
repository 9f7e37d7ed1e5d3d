"""Further pre-training on a classification task's own text (Sun et al. 2019, "How to Fine-Tune
BERT for Text Classification?", section 5.4: within-task further pre-training).

One call: the task's texts (labels ignored) -> one document per example, split into sentences by
a simple regex -> create_pretraining_data -> run_pretraining from a checkpoint or a hub module ->
a Google-layout BERT directory (bert_config.json, vocab.txt, bert_model.ckpt without optimizer
slots) -> a TF1 Hub module with the tokens, tokenization_info and mlm signatures.

Output layout under output_dir:
  corpus.txt                one sentence per line, a blank line between examples
  pretraining_data.tfrecord create_pretraining_data's output
  model/                    the Estimator's checkpoints (and eval_results.* with do_eval)
  bert/                     the BERT directory, usable as --init_checkpoint / --bert_config_file
  hub/                      the exported hub module (export_hub=True)

    >>> further_pretrain("imdb", "aclImdb", "imdb_further", init_hub_module="bert_hub",
    ...                  num_train_steps=10000)  # doctest: +SKIP
"""
import argparse
import os
import re
import sys

from bert_tf1.errors import BertTF1Error

# A sentence ends at . ! or ? (possibly followed by closing quotes/brackets) before whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def split_sentences(text):
    """Splits `text` into sentences with a simple regex (IMDB's <br /> count as spaces).

    >>> split_sentences("Great film! I loved it. Really?<br />Yes.")
    ['Great film!', 'I loved it.', 'Really?', 'Yes.']
    """
    text = _HTML_BREAK.sub(" ", text or "")
    text = re.sub(r"\s+", " ", text).strip()
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def examples_to_corpus(examples):
    """create_pretraining_data's input text for InputExamples: one document per example (text_a
    then text_b), one sentence per line, a blank line between documents."""
    documents = []
    for example in examples:
        sentences = split_sentences(example.text_a)
        if example.text_b:
            sentences += split_sentences(example.text_b)
        if sentences:
            documents.append("\n".join(sentences))
    return "\n\n".join(documents) + "\n"


def write_bert_dir(checkpoint, bert_config, vocab_file, output_dir):
    """Writes a Google-layout BERT directory from a (pre-)training checkpoint.

    Keeps the bert/ and cls/ variables (dropping AdamW slots and the global step), so the
    directory is as small as Google's releases and loads in every tool that reads them.

    Returns:
      the directory (output_dir).
    """
    import tensorflow as tf

    from bert_tf1 import atomic_io, bert_dir, checkpoint_bert

    config = checkpoint_bert.load_config(bert_config)
    reader = tf.train.load_checkpoint(checkpoint)
    names = [name for name, _ in tf.train.list_variables(checkpoint)
             if (name.startswith("bert/") or name.startswith("cls/"))
             and not re.search(r"/adam_[mv]$", name)]
    with atomic_io.staged_directory(output_dir, overwrite=True) as staging:
        graph = tf.Graph()
        with graph.as_default():
            variables = {name: tf.compat.v1.Variable(reader.get_tensor(name), name="v%d" % i)
                         for i, name in enumerate(names)}
            saver = tf.compat.v1.train.Saver(var_list=variables)
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(tf.compat.v1.global_variables_initializer())
                saver.save(session, os.path.join(staging, bert_dir.CHECKPOINT_PREFIX),
                           write_meta_graph=False, write_state=False)
        with tf.io.gfile.GFile(os.path.join(staging, bert_dir.CONFIG_NAME), "w") as handle:
            handle.write(config.to_json_string())
        tf.io.gfile.copy(vocab_file, os.path.join(staging, bert_dir.VOCAB_NAME), overwrite=True)
    return output_dir


def _vocab_file_of(init):
    """vocab.txt of a BERT directory or a hub module (its assets/), or None."""
    import tensorflow as tf

    if not init or not tf.io.gfile.isdir(init):
        return None
    for candidate in (os.path.join(init, "vocab.txt"), os.path.join(init, "assets", "vocab.txt")):
        if tf.io.gfile.exists(candidate):
            return candidate
    return None


def further_pretrain(task, data_dir, output_dir, init_checkpoint=None, init_hub_module=None,
                     bert_config_file=None, vocab_file=None, do_lower_case=None, split="train",
                     task_options=None, max_seq_length=128, max_predictions_per_seq=20,
                     dupe_factor=5, masked_lm_prob=0.15, short_seq_prob=0.1, random_seed=12345,
                     train_batch_size=32, learning_rate=5e-5, num_train_steps=1000,
                     num_warmup_steps=None, do_eval=False, max_eval_steps=100,
                     save_checkpoints_steps=1000, export_hub=True, seed=None,
                     show_progress=False):
    """Further pre-trains BERT on a task's texts and exports the result (see the module doc).

    Args:
      task, data_dir, split, task_options: what bert_tf1.data.load_examples reads (labels are
        ignored).
      output_dir: where everything is written (layout in the module docstring).
      init_checkpoint: checkpoint prefix or BERT directory to continue from; or
      init_hub_module: a TF1 Hub module directory to continue from (one of the two is required).
      bert_config_file: default: the BERT directory's, or inferred from the hub module.
      vocab_file: default: the BERT directory's vocab.txt or the module's assets/vocab.txt.
      do_lower_case: default: inferred from the vocabulary (hub_export.infer_do_lower_case).
      num_warmup_steps: default 10% of num_train_steps.
      The rest: create_pretraining_data's and run_pretraining's arguments of the same names.

    Returns:
      dict with corpus, pretraining_data, model_dir, bert_dir, hub_module (or None),
      num_examples, num_instances, train_loss_history, eval_results.
    """
    import tensorflow as tf

    from bert_tf1 import atomic_io, compat, hub_export, pretraining, pretraining_data
    from bert_tf1.data import load_examples

    compat.setup_tf1()
    if bool(init_checkpoint) == bool(init_hub_module):
        raise BertTF1Error("give exactly one of init_checkpoint (a BERT checkpoint or directory) "
                           "and init_hub_module")
    init = init_hub_module or init_checkpoint
    vocab_file = vocab_file or _vocab_file_of(init) or _vocab_file_of(os.path.dirname(init))
    if not vocab_file:
        raise BertTF1Error("%s: no vocab.txt found next to it; pass vocab_file" % init)
    if do_lower_case is None:
        do_lower_case = hub_export.infer_do_lower_case(vocab_file)
    if bert_config_file is None and init_checkpoint and not tf.io.gfile.isdir(init_checkpoint):
        candidate = os.path.join(os.path.dirname(init_checkpoint), "bert_config.json")
        if tf.io.gfile.exists(candidate):
            bert_config_file = candidate

    examples = load_examples(task, data_dir, split, **(task_options or {}))
    tf.io.gfile.makedirs(output_dir)
    corpus = os.path.join(output_dir, "corpus.txt")
    atomic_io.write_text_atomically(corpus, examples_to_corpus(examples))
    data_file = os.path.join(output_dir, "pretraining_data.tfrecord")
    stats = pretraining_data.create_pretraining_data(
        corpus, data_file, vocab_file, do_lower_case=do_lower_case,
        max_seq_length=max_seq_length, max_predictions_per_seq=max_predictions_per_seq,
        random_seed=random_seed, dupe_factor=dupe_factor, masked_lm_prob=masked_lm_prob,
        short_seq_prob=short_seq_prob, show_progress=show_progress)

    model_dir = os.path.join(output_dir, "model")
    if num_warmup_steps is None:
        num_warmup_steps = int(num_train_steps * 0.1)
    settings = pretraining.PretrainingSettings(
        bert_config_file=bert_config_file, input_file=data_file, output_dir=model_dir,
        init_checkpoint=init_checkpoint, init_hub_module=init_hub_module,
        max_seq_length=max_seq_length, max_predictions_per_seq=max_predictions_per_seq,
        do_train=True, do_eval=do_eval, train_batch_size=train_batch_size,
        learning_rate=learning_rate, num_train_steps=num_train_steps,
        num_warmup_steps=num_warmup_steps, max_eval_steps=max_eval_steps,
        save_checkpoints_steps=save_checkpoints_steps, seed=seed)
    config, _ = pretraining.resolve_bert_config(settings)
    produced = pretraining.run_pretraining(settings)

    checkpoint = tf.train.latest_checkpoint(model_dir)
    if not checkpoint:
        raise BertTF1Error("%s: training wrote no checkpoint" % model_dir)
    bert_path = write_bert_dir(checkpoint, config, vocab_file, os.path.join(output_dir, "bert"))
    hub_path = None
    if export_hub:
        hub_path = os.path.join(output_dir, "hub")
        hub_export.export_hub_module(bert_path, hub_path, do_lower_case=do_lower_case,
                                     overwrite=True)
    return {"corpus": corpus, "pretraining_data": data_file, "model_dir": model_dir,
            "checkpoint": checkpoint, "bert_dir": bert_path, "hub_module": hub_path,
            "num_examples": len(examples), "num_instances": stats["num_instances"],
            "train_loss_history": produced["train_loss_history"],
            "eval_results": produced["eval_results"]}


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog="bert-tf1-further-pretrain",
        description="Further pre-train BERT (masked LM + next sentence) on a classification "
                    "task's texts and export a BERT directory and a TF1 Hub module.")
    parser.add_argument("--task_name", required=True, help="registered task (labels ignored)")
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--output_dir", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--init_checkpoint", help="checkpoint prefix or BERT directory")
    source.add_argument("--init_hub_module", help="TF1 Hub module directory")
    parser.add_argument("--bert_config_file")
    parser.add_argument("--vocab_file")
    casing = parser.add_mutually_exclusive_group()
    casing.add_argument("--do_lower_case", dest="do_lower_case", action="store_const",
                        const=True, default=None)
    casing.add_argument("--nodo_lower_case", dest="do_lower_case", action="store_const",
                        const=False)
    parser.add_argument("--split", default="train")
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--max_predictions_per_seq", type=int, default=20)
    parser.add_argument("--dupe_factor", type=int, default=5)
    parser.add_argument("--masked_lm_prob", type=float, default=0.15)
    parser.add_argument("--random_seed", type=int, default=12345)
    parser.add_argument("--train_batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--num_train_steps", type=int, default=1000)
    parser.add_argument("--num_warmup_steps", type=int, default=None)
    parser.add_argument("--do_eval", action="store_true")
    parser.add_argument("--no_export_hub", dest="export_hub", action="store_false")
    return parser


def main(argv=None):
    args = build_arg_parser().parse_args(argv)
    values = vars(args)
    task, data_dir = values.pop("task_name"), values.pop("data_dir")
    output_dir = values.pop("output_dir")
    try:
        produced = further_pretrain(task, data_dir, output_dir, show_progress=True, **values)
    except BertTF1Error as error:
        print("bert-tf1-further-pretrain: error: %s" % error, file=sys.stderr)
        return 2
    print("further pre-trained on %d examples (%d instances): BERT directory %s%s" % (
        produced["num_examples"], produced["num_instances"], produced["bert_dir"],
        ", hub module %s" % produced["hub_module"] if produced["hub_module"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
