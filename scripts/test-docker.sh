#!/usr/bin/env bash
# Builds the Dockerfile's cpu target and runs the kit inside the image (CI runs this; see .ci/run):
#
#   bash scripts/test-docker.sh
#
# These machines have no Docker engine and cannot reach Docker Hub, so:
#   1. base   a stand-in for python:3.7.16-slim-bullseye: Debian bookworm minbase (debootstrap) plus
#             this machine's CPython 3.7 at its own path, cached as a tarball under
#             $BERT_TF1_DOCKER_CACHE (default /var/cache/bert-tf1-docker), keyed on what it is
#             built from, and imported as a local image for this run;
#   2. build  `buildah bud --target cpu --build-arg PYTHON_BASE=<stand-in>` of the real Dockerfile;
#   3. run    through the image's entrypoint, as the image's user: --help; bert-tf1-make-tiny and
#             bert-tf1-export-hub; run_classifier_hub.py --task=csv train/eval/predict on a small
#             CSV dataset mounted at /data, outputs in a host directory mounted at /output; and
#             make-tiny once more as an arbitrary uid:gid (docker run --user "$(id -u):$(id -g)");
#   4. check  the outputs from the host (eval_results.json/.txt, one prediction per test row,
#             bert-tf1-predict on the export giving the run's own predicted labels).
# The in-image commands are the ones docs/docker.md shows (tests/test_docker.py compares them).
# Containers, images and files of the run are removed on exit; only the cached base tarball stays.
#
# Needs root, buildah, debootstrap and coreutils' timeout (Debian: apt-get install -y buildah
# debootstrap). crun cannot run containers here, so everything uses buildah's chroot isolation.
# Environment: BERT_TF1_DOCKER_CACHE (base cache), BERT_TF1_DOCKER_KEEP=1 (keep the run's
# outputs and image for inspection; they are printed). Exits non-zero with a message on any failure.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
cache_dir="${BERT_TF1_DOCKER_CACHE:-/var/cache/bert-tf1-docker}"
keep="${BERT_TF1_DOCKER_KEEP:-0}"

# Per-step limits (seconds). Measured here on 2 shared cores: base ~1.5 min once (then 10-20 s
# to import), build 1.5-3 min, each run step under a minute, clean-up ~15 s: 4 min 48 s cold,
# 2.5-5 min cached, depending on the load. The limits turn a hang into a failure, not a stuck CI
# job.
limit_base=900
limit_build=1200
limit_quick=120
limit_run=600

say() { echo "test-docker: $*"; }
fail() { echo "test-docker: FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------- phases, timing, clean-up

phase=preflight
phase_started=$SECONDS
run_started=$SECONDS
timings=()
begin() {
  phase="$1"
  phase_started=$SECONDS
  say "== $phase"
}
finish() {
  local took=$((SECONDS - phase_started))
  timings+=("$(printf '%-8s %4d s' "$phase" "$took")")
  say "$phase took ${took} s"
}

containers=()
images=()
work=""
cleanup() {
  local status=$?
  set +e
  if [ "$status" != 0 ]; then
    echo "test-docker: FAILED in phase '$phase' (exit $status); see the output above" >&2
  fi
  if [ "$keep" = 1 ]; then
    say "kept (BERT_TF1_DOCKER_KEEP=1): work dir $work," \
      "containers ${containers[*]:-none}, images ${images[*]:-none}"
  else
    local c i started=$SECONDS
    for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1; done
    for i in "${images[@]}"; do buildah rmi "$i" >/dev/null 2>&1; done
    [ -z "$work" ] || rm -rf "$work"
    say "clean-up took $((SECONDS - started)) s (total $((SECONDS - run_started)) s)"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- preflight

begin preflight
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap and buildah's chroot isolation)"
for tool in buildah debootstrap timeout tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool is missing (Debian: apt-get install -y buildah debootstrap)"
done
python_bin="$(bash scripts/setup.sh --which-python)" ||
  fail "no CPython 3.7 on this machine to put into the stand-in base (see scripts/setup.sh)"
python_prefix="$("$python_bin" -c 'import sys; print(sys.prefix)')"
host_ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$host_ca" ] || fail "$host_ca is missing (the stand-in base carries the host's CA bundle)"
work="$(mktemp -d /var/tmp/bert-tf1-docker.XXXXXX)"
chmod 0755 "$work"
# crun cannot run containers here (setrlimit RLIMIT_NPROC is not permitted; cgroups in hybrid
# mode are not supported): no default ulimits, cgroupfs, and chroot isolation for every step.
cat > "$work/containers.conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
CONF
export CONTAINERS_CONF="$work/containers.conf"
say "buildah $(buildah --version | awk '{print $3}'), python $python_bin, work dir $work"
finish

# ---------------------------------------------------------------- 1. stand-in base

begin base
suite=bookworm
mirror=http://deb.debian.org/debian
# Runtime libraries of a CPython built with ssl, ctypes, sqlite3, readline, curses, gdbm, lzma, bz2.
packages="ca-certificates libssl3 libffi8 zlib1g libbz2-1.0 liblzma5 libsqlite3-0 libreadline8"
packages+=" libncursesw6 libgdbm6 libexpat1 libuuid1"
# The key covers everything the tarball is made of; bump recipe= when the recipe below changes.
key="$({
  echo "recipe=1 suite=$suite mirror=$mirror packages=$packages prefix=$python_prefix"
  "$python_bin" -VV
  sha256sum "$python_prefix/bin/python3.7" "$python_prefix"/lib/libpython3.7m.so* "$host_ca"
} | sha256sum | cut -c1-16)"
base_tar="$cache_dir/base-$key.tar"
if [ -f "$base_tar" ]; then
  say "cached stand-in base: $base_tar"
else
  say "building the stand-in base (debootstrap $suite minbase + $python_prefix) into $base_tar"
  rootfs="$work/rootfs"
  timeout --kill-after=30 "$limit_base" debootstrap --variant=minbase \
    --include="${packages// /,}" "$suite" "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; fail "debootstrap $suite failed (log above)"; }
  # pyenv's CPython finds libpython through its RUNPATH (<prefix>/lib): it must sit at the same
  # absolute path. It needs GLIBC_2.34, hence bookworm rather than bullseye. Its site-packages
  # (this machine's extras) and test suite stay out; venvs are seeded from ensurepip's wheels.
  mkdir -p "$rootfs$python_prefix"
  tar -C "$python_prefix" --exclude='./lib/python3.7/site-packages/*' \
    --exclude='./lib/python3.7/test' -cf - . | tar -C "$rootfs$python_prefix" -xf -
  # The prefix is under /root (0700 in Debian): the image's non-root user must reach it.
  p="$python_prefix"
  while [ "$p" != / ]; do chmod go+rx "$rootfs$p"; p="$(dirname "$p")"; done
  for name in python3.7 python3 python; do
    ln -sf "$python_prefix/bin/python3.7" "$rootfs/usr/local/bin/$name"
  done
  # pip verifies TLS against its own bundle; these machines reach PyPI through a proxy whose CA
  # is only in the host's bundle (PIP_CERT points at it here). A real python base needs neither.
  mkdir -p "$rootfs/usr/local/share/bert-tf1-stand-in"
  cp "$host_ca" "$rootfs/usr/local/share/bert-tf1-stand-in/ca-certificates.crt"
  rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/dev/* "$rootfs"/proc/* "$rootfs"/sys/*
  timeout --kill-after=30 "$limit_base" chroot "$rootfs" /usr/local/bin/python3.7 -c \
    'import ssl, sqlite3, ctypes, venv, readline, bz2, lzma, zlib, uuid' ||
    fail "the copied CPython does not import its extension modules in the stand-in rootfs"
  mkdir -p "$cache_dir"
  tar -C "$rootfs" --numeric-owner -cf "$base_tar.tmp.$$" .
  rm -f "$cache_dir"/base-*.tar  # older keys: their inputs have changed
  mv "$base_tar.tmp.$$" "$base_tar"
  rm -rf "$rootfs"
fi
base_image="localhost/bert-tf1-test-base:$key-$$"
ctr="$(buildah from --pull=never scratch)"
containers+=("$ctr")
buildah add --quiet "$ctr" "$base_tar" / >/dev/null
# What the official python images set (PATH, LANG), plus the stand-in's CA bundle.
stand_in_ca=/usr/local/share/bert-tf1-stand-in/ca-certificates.crt
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env LANG=C.UTF-8 --env PIP_CERT="$stand_in_ca" --env SSL_CERT_FILE="$stand_in_ca" \
  --cmd python3 "$ctr"
buildah commit --quiet --rm "$ctr" "$base_image" >/dev/null
containers=()
images+=("$base_image")
say "stand-in base image $base_image ($(du -sh "$base_tar" | cut -f1) tarball)"
finish

# ---------------------------------------------------------------- 2. build the cpu target

begin build
image="localhost/bert-tf1-test:cpu-$$"
images+=("$image")
timeout --kill-after=30 "$limit_build" buildah bud --isolation chroot --format docker \
  --pull=never --target cpu --build-arg PYTHON_BASE="$base_image" \
  -t "$image" -f Dockerfile . ||
  fail "buildah bud --target cpu of Dockerfile failed (output above)"
finish

# ---------------------------------------------------------------- 3. run the kit in the image

begin run
ctr="$(buildah from --pull=never "$image")"
containers+=("$ctr")
# buildah run does not apply ENTRYPOINT, USER or WORKDIR by itself: take them from the image.
mapfile -t entrypoint < <(buildah inspect --type image \
  --format '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' "$image")
[ "${#entrypoint[@]}" -gt 0 ] || fail "image $image has no ENTRYPOINT"
image_user="$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")"
workdir="$(buildah inspect --type image --format '{{.OCIv1.Config.WorkingDir}}' "$image")"
[ -n "$image_user" ] && [ "$image_user" != root ] ||
  fail "image $image runs as '${image_user:-root}', expected its non-root user"
say "entrypoint: ${entrypoint[*]}; user $image_user; workdir $workdir"

# A small separable dataset in the csv task's layout (train.csv, dev.csv, test.csv; columns
# text,label): the last word gives the label.
data="$work/data"
output="$work/output"
mkdir -p "$data" "$output"
subjects=("film" "story" "plot" "cast")
write_csv() {  # FILE ROWS
  local i label word
  echo "text,label" > "$1"
  for ((i = 0; i < $2; i++)); do
    if ((i % 2)); then label=positive word=good; else label=negative word=bad; fi
    echo "the ${subjects[i % 4]} number $i was $word,$label" >> "$1"
  done
}
write_csv "$data/train.csv" 64
write_csv "$data/dev.csv" 16
write_csv "$data/test.csv" 12
chmod -R a+rX "$data"

# As `docker run --user USER -v DATA:/data:ro -v OUTPUT:/output IMAGE ARGS...`: ARGS go to the
# image's entrypoint. tests/test_docker.py reads the in_image lines below (keep ARGS literal).
in_image_as() {  # USER OUTPUT_DIR LIMIT ARGS...
  local user="$1" out="$2" limit="$3"
  shift 3
  echo "test-docker: \$ <image as $user> $*" >&2
  timeout --kill-after=30 "$limit" buildah run --isolation chroot --user "$user" \
    --workingdir "$workdir" --volume "$data:/data:ro" --volume "$out:/output" \
    "$ctr" -- "${entrypoint[@]}" "$@"
}
in_image() {  # LIMIT ARGS... as the image's own user, /output = $output
  in_image_as "$image_user" "$output" "$@"
}

# chroot isolation does switch users: the image's user must be the one that runs.
whoami_in_image="$(in_image "$limit_quick" id -un)"
[ "$whoami_in_image" = "$image_user" ] ||
  fail "commands ran as '$whoami_in_image', not as the image's user '$image_user'"
# /output is a host directory the image's user owns, as with docker run -v.
chown "$(in_image "$limit_quick" id -u):$(in_image "$limit_quick" id -g)" "$output"

in_image "$limit_quick" --help > "$work/help.txt"
cat "$work/help.txt"
for expected in run_classifier_hub.py bert-tf1-make-tiny bert-tf1-export-hub; do
  grep -q -- "$expected" "$work/help.txt" || fail "--help does not list $expected"
done

in_image "$limit_run" bert-tf1-make-tiny --output /output/tiny --seed 1
# docs/docker.md's `docker run --user "$(id -u):$(id -g)"`: a uid with no passwd entry (HOME=/).
other_output="$work/output-other-uid"
mkdir -p "$other_output"
chown 4242:4242 "$other_output"
in_image_as 4242:4242 "$other_output" "$limit_run" bert-tf1-make-tiny --output /output/tiny --seed 1
cmp "$output/tiny/bert_config.json" "$other_output/tiny/bert_config.json" ||
  fail "make-tiny as uid 4242 wrote a different bert_config.json"
in_image "$limit_run" bert-tf1-export-hub --bert_dir /output/tiny --output /output/tiny_hub
in_image "$limit_run" run_classifier_hub.py --task=csv --data_dir=/data \
  --bert_hub_module_handle=/output/tiny_hub --output_dir=/output/csv \
  --do_train --do_eval --do_predict --max_seq_length=32 --train_batch_size=8 \
  --learning_rate=1e-3 --num_train_epochs=3 --seed=1
# The path users take next: export the trained run, then predict new text with the export.
in_image "$limit_run" bert-tf1-export --model_dir /output/csv --output /output/csv_export
in_image "$limit_run" bert-tf1-predict --model /output/csv_export --input /data/test.csv \
  --output /output/new_predictions.jsonl
finish

# ---------------------------------------------------------------- 4. check the outputs

begin check
run_dir="$output/csv"
for f in tiny/bert_config.json tiny_hub/tfhub_module.pb tiny_hub/saved_model.pb \
         csv/eval_results.json csv/eval_results.txt csv/test_results.tsv csv/predictions.jsonl \
         csv_export/saved_model.pb new_predictions.jsonl; do
  [ -s "$output/$f" ] || fail "/output/$f was not written"
done
accuracy_txt="$(awk -F' = ' '$1 == "eval_accuracy" {print $2}' "$run_dir/eval_results.txt")"
accuracy_json="$(grep -o '"eval_accuracy": *[0-9.eE+-]*' "$run_dir/eval_results.json" |
  awk -F: '{print $2}' | tr -d ' ')"
[ -n "$accuracy_txt" ] && [ -n "$accuracy_json" ] ||
  fail "eval_accuracy missing from $run_dir/eval_results.txt or .json"
# The label is the last word of each text: chance is 0.5, this seeded run reaches 1.0 here,
# and a broken numeric stack lands near chance.
awk -v a="$accuracy_json" 'BEGIN { exit !(a >= 0.75 && a <= 1) }' ||
  fail "eval_accuracy $accuracy_json on separable data (expected at least 0.75)"
test_rows=$(($(wc -l < "$data/test.csv") - 1))
for f in test_results.tsv predictions.jsonl; do
  lines="$(wc -l < "$run_dir/$f")"
  [ "$lines" = "$test_rows" ] || fail "$f has $lines lines for $test_rows test examples"
done
# The export predicts what the run predicted: the same label for every test row, in order.
labels_of() { grep -o '"predicted_label": *"[^"]*"' "$1" | sed 's/.*: *//'; }
[ "$(wc -l < "$output/new_predictions.jsonl")" = "$test_rows" ] ||
  fail "bert-tf1-predict wrote $(wc -l < "$output/new_predictions.jsonl") lines for $test_rows rows"
[ "$(labels_of "$run_dir/predictions.jsonl")" = "$(labels_of "$output/new_predictions.jsonl")" ] ||
  fail "bert-tf1-predict with the export disagrees with the run's own predictions.jsonl"
say "eval_accuracy $accuracy_txt (txt) / $accuracy_json (json);" \
  "$test_rows predictions for $test_rows test rows"
finish

say "timings:"
printf '  %s\n' "${timings[@]}"
say "OK: image built from Dockerfile (target cpu) and the kit ran in it; total $((SECONDS - run_started)) s"
