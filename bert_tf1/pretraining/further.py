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
  further_pretraining.json  the resolved arguments (seeds included) and the example counts

The same from the command line, then fine-tuning the result:

    bert-tf1-further-pretrain --task_name=imdb --data_dir=aclImdb --output_dir=imdb_further \\
        --init_hub_module=bert_hub --num_train_steps=10000
    python run_classifier_hub.py --task_name=imdb --data_dir=aclImdb --output_dir=imdb_run \\
        --bert_hub_module_handle=imdb_further/hub --do_train=True --do_eval=True

    >>> further_pretrain("imdb", "aclImdb", "imdb_further", init_hub_module="bert_hub",
    ...                  num_train_steps=10000)  # doctest: +SKIP
"""
import os
import re

import tensorflow as tf

from bert_tf1 import compat
from bert_tf1.convert import hub_export
from bert_tf1.data import load_examples
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import bert_dir, checkpoint_bert
from bert_tf1.pretraining import data as pretraining_data
from bert_tf1.pretraining import pipeline as pretraining
from bert_tf1.runtime import atomic_io, outputs, run_lock

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

    if not init or not tf.io.gfile.isdir(init):
        return None
    for candidate in (os.path.join(init, "vocab.txt"), os.path.join(init, "assets", "vocab.txt")):
        if tf.io.gfile.exists(candidate):
            return candidate
    return None


MANIFEST_NAME = "further_pretraining.json"


def further_pretrain(task, data_dir, output_dir, init_checkpoint=None, init_hub_module=None,
                     bert_config_file=None, vocab_file=None, do_lower_case=None, split="train",
                     task_options=None, max_seq_length=128, max_predictions_per_seq=20,
                     dupe_factor=5, masked_lm_prob=0.15, short_seq_prob=0.1, random_seed=12345,
                     do_whole_word_mask=False, tokenizer="auto", num_workers=1,
                     train_batch_size=32, learning_rate=5e-5, num_train_steps=1000,
                     num_warmup_steps=None, do_eval=False, eval_batch_size=8,
                     max_eval_steps=100, save_checkpoints_steps=1000, export_hub=True,
                     seed=None, show_progress=False):
    """Further pre-trains BERT on a task's texts and exports the result (see the module doc).

    Args:
      task, data_dir, split, task_options: what bert_tf1.data.load_examples reads (labels are
        ignored); task_options is a dict (bert_tf1.data.tasks.parse_option_pairs reads command-line
        pairs).
      output_dir: where everything is written (layout in the module docstring).
      init_checkpoint: checkpoint prefix or BERT directory to continue from; or
      init_hub_module: a TF1 Hub module directory to continue from (one of the two is required).
      bert_config_file: default: the BERT directory's, or inferred from the hub module.
      vocab_file: default: the BERT directory's vocab.txt or the module's assets/vocab.txt; must
        have exactly the config's vocab_size tokens.
      do_lower_case: default: inferred from the vocabulary (hub_export.infer_do_lower_case).
      random_seed: seed of the pre-training data (masks, pairs), as create_pretraining_data's.
      seed: TensorFlow's random seed for training (default: none).
      num_warmup_steps: default 10% of num_train_steps.
      The rest: create_pretraining_data's and run_pretraining's arguments of the same names.

    Returns:
      dict with corpus, pretraining_data, model_dir, checkpoint, bert_dir, hub_module (or None),
      num_examples, num_instances, tokenizer, num_workers, train_loss_history, eval_results,
      manifest (output_dir/further_pretraining.json: these arguments and the counts).

    Raises:
      BertTF1Error: no or two starting points, config / checkpoint / vocab disagreeing, bad task
        options, data problems (see create_pretraining_data and run_pretraining).
    """
    arguments = dict(locals())  # the parameters only, for the manifest
    del arguments["show_progress"]

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

    model_dir = os.path.join(output_dir, "model")
    data_file = os.path.join(output_dir, "pretraining_data.tfrecord")
    if num_warmup_steps is None:
        num_warmup_steps = int(num_train_steps * 0.1)
    settings = pretraining.PretrainingSettings(
        bert_config_file=bert_config_file, input_file=data_file, output_dir=model_dir,
        init_checkpoint=init_checkpoint, init_hub_module=init_hub_module,
        max_seq_length=max_seq_length, max_predictions_per_seq=max_predictions_per_seq,
        do_train=True, do_eval=do_eval, train_batch_size=train_batch_size,
        eval_batch_size=eval_batch_size, learning_rate=learning_rate,
        num_train_steps=num_train_steps, num_warmup_steps=num_warmup_steps,
        max_eval_steps=max_eval_steps, save_checkpoints_steps=save_checkpoints_steps, seed=seed)
    # Config, checkpoint and vocabulary are checked against each other before the (possibly
    # long) data creation, so a wrong combination fails in seconds.
    config, _ = pretraining.resolve_bert_config(settings)
    # Checked before any data is made: the hub export would reject it only after training.
    bert_dir.check_vocab_size(vocab_file, config, bert_config_file or "the config of %s" % init)

    # One live run per output_dir: two would overwrite each other's data, checkpoints and exports.
    with run_lock.locked_output_dir(output_dir, run_id=""):
        examples = load_examples(task, data_dir, split, **(task_options or {}))
        corpus = os.path.join(output_dir, "corpus.txt")
        atomic_io.write_text_atomically(corpus, examples_to_corpus(examples))
        stats = pretraining_data.create_pretraining_data(
            corpus, data_file, vocab_file, do_lower_case=do_lower_case,
            do_whole_word_mask=do_whole_word_mask, max_seq_length=max_seq_length,
            max_predictions_per_seq=max_predictions_per_seq, random_seed=random_seed,
            dupe_factor=dupe_factor, masked_lm_prob=masked_lm_prob, short_seq_prob=short_seq_prob,
            show_progress=show_progress, tokenizer=tokenizer, num_workers=num_workers)
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
        result = {"corpus": corpus, "pretraining_data": data_file, "model_dir": model_dir,
                  "checkpoint": checkpoint, "bert_dir": bert_path, "hub_module": hub_path,
                  "num_examples": len(examples), "num_instances": stats["num_instances"],
                  "tokenizer": stats["tokenizer"], "num_workers": stats["num_workers"],
                  "train_loss_history": produced["train_loss_history"],
                  "eval_results": produced["eval_results"]}
        # The arguments as resolved (vocab, casing, warm-up filled in), so a run can be repeated and
        # its data seed and TF seed are on record next to its outputs.
        manifest = os.path.join(output_dir, MANIFEST_NAME)
        arguments.update(vocab_file=vocab_file, do_lower_case=do_lower_case,
                         bert_config_file=bert_config_file, num_warmup_steps=num_warmup_steps)
        record = {"arguments": arguments,
                  "counts": {"num_examples": len(examples), "num_documents": stats["num_documents"],
                             "num_instances": stats["num_instances"]},
                  "tokenizer": stats["tokenizer"], "num_workers": stats["num_workers"],
                  "checkpoint": checkpoint, "eval_results": produced["eval_results"]}
        atomic_io.write_text_atomically(
            manifest, outputs.dumps_json(record, indent=2, sort_keys=True) + "\n")
        result["manifest"] = manifest
        return result
