# bert_tf1 images: two targets from one file (see docs/docker.md).
#   docker build --target cpu -t bert_tf1:cpu .    (cpu is also the default: it is the last stage)
#   docker build --target gpu -t bert_tf1:gpu .
# Python packages come ONLY from `scripts/setup.sh --runtime` (the lock, --no-deps, pip check);
# tests/test_docker.py fails if this file gains another pip/conda install or an unpinned FROM.
# TF 1.15.5 has x86_64 wheels only: on other hosts build with --platform linux/amd64.
# Needs BuildKit (Docker's default builder since 23.0) for RUN --mount; buildah (1.28 here) has it
# too. No `# syntax=` line: that would pull an unpinned frontend image; the built-in frontend has
# everything used here. Built and run on every CI run by scripts/test-docker.sh (target cpu).

# The Python base of the runtime stage. The default is the digest-pinned official image, so
# `docker build` needs no --build-arg; scripts/test-docker.sh builds here with a local stand-in
# (Docker Hub is unreachable from the machines this kit is developed on). An ARG used in a FROM
# must be declared before the first FROM.
# python:3.7.16-slim-bullseye digest: docker-library/repo-info,
# repos/python/remote/3.7.16-slim-bullseye.md (commit 72e4be79b9c831d8da7d63a6ce871b20fc9e06c1),
# the multi-platform index of the 2023-01-24 build. 3.7.16 is also the pyenv interpreter the
# project is developed on, and its bundled pip 22.0.4 is what setup.sh's venvs get.
ARG PYTHON_BASE=python:3.7.16-slim-bullseye@sha256:046fcd03dd0ed3ed7a3f328dc2da35e3a3447a36561966b312ab4d5753fb5dd1

# ---- cuda10: CUDA 10.0 + cuDNN 7.6 runtime libraries (a build stage only, never shipped) ----
# Why not FROM nvidia/cuda:10.0-cudnn7-runtime-ubuntu18.04: NVIDIA deleted every CUDA 10.x tag
# (and its layers) from Docker Hub and NGC in mid-2023 under its container support policy
# (NVIDIA/nvidia-docker#1768, #1790; NVIDIA/cudf-spark-examples#311). Its Python would also be
# wrong: Ubuntu 18.04's python3.7-venv seeds venvs with the distro's pip 9.0.1, which cannot
# install TF 1.15's manylinux2010 wheels (tensorflow/tensorflow#37235) nor takes setup.sh's
# --no-build-isolation. So this stage repeats what NVIDIA's 10.0 images did (ubuntu:18.04 +
# NVIDIA's apt repositories) and the gpu target copies only the shared libraries out of it.
# ubuntu:18.04 digest: docker-library/repo-info, repos/ubuntu/remote/18.04.md
# (commit 72e4be79b9c831d8da7d63a6ce871b20fc9e06c1): the multi-platform index of the
# 2023-01-02 build.
FROM ubuntu:18.04@sha256:c1d0baf2425ecef88a2f0c3543ec43690dc16cc80d3c4e593bb95e4f45390e45 AS cuda10
# TF 1.15.5 was built against exactly CUDA 10.0 and cuDNN 7.6; package versions are pinned.
ARG CUDA_PKG_VERSION=10.0.130-1
ARG CUDNN_PKG_VERSION=7.6.5.32-1+cuda10.0
# NVIDIA's repository keys, checked by full fingerprint before apt trusts them: 3bf863cc signs
# the CUDA repo since the April 2022 rotation, 7fa2af80 signed the older machine-learning repo.
ARG NVIDIA_KEYS="3bf863cc:EB693B3035CD5710E231E123A4B469963BF863CC 7fa2af80:AE09FE4BBD223A84B2CCFCE3F60F4B3D7FA2AF80"
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl gnupg; \
    repos=https://developer.download.nvidia.com/compute; \
    for key in $NVIDIA_KEYS; do \
      id="${key%%:*}"; fpr="${key#*:}"; \
      curl -fsSL "$repos/cuda/repos/ubuntu1804/x86_64/$id.pub" -o "/tmp/$id.pub"; \
      GNUPGHOME="$(mktemp -d)" && export GNUPGHOME; \
      gpg --batch --quiet --import "/tmp/$id.pub"; \
      gpg --batch --with-colons --list-keys | grep "^fpr:::::::::$fpr:" > /dev/null; \
      gpg --batch --dearmor < "/tmp/$id.pub" >> /usr/share/keyrings/nvidia.gpg; \
    done; \
    echo "deb [signed-by=/usr/share/keyrings/nvidia.gpg] $repos/cuda/repos/ubuntu1804/x86_64 /" \
      > /etc/apt/sources.list.d/cuda.list; \
    echo "deb [signed-by=/usr/share/keyrings/nvidia.gpg] $repos/machine-learning/repos/ubuntu1804/x86_64 /" \
      > /etc/apt/sources.list.d/nvidia-ml.list; \
    apt-get update; \
    # Only the libraries TF 1.15 dlopens (cudart, cublas, cufft, curand, cusolver, cusparse, cudnn).
    apt-get install -y --no-install-recommends \
      "cuda-cudart-10-0=$CUDA_PKG_VERSION" "cuda-cublas-10-0=$CUDA_PKG_VERSION" \
      "cuda-cufft-10-0=$CUDA_PKG_VERSION" "cuda-curand-10-0=$CUDA_PKG_VERSION" \
      "cuda-cusolver-10-0=$CUDA_PKG_VERSION" "cuda-cusparse-10-0=$CUDA_PKG_VERSION" \
      "libcudnn7=$CUDNN_PKG_VERSION"; \
    # Collect the versioned libraries and their symlinks in one directory for the gpu target,
    # then fail here, not at run time, if one that TF needs is missing.
    mkdir -p /opt/cuda-10.0/lib64; \
    find /usr/local/cuda-10.0/ /usr/lib/x86_64-linux-gnu/ \( -type f -o -type l \) \
      \( -name 'lib*.so.10.0*' -o -name 'libcudnn.so.7*' \) -exec cp -a {} /opt/cuda-10.0/lib64/ \; ; \
    for lib in cudart cublas cufft curand cusolver cusparse; do \
      test -e "/opt/cuda-10.0/lib64/lib$lib.so.10.0"; \
    done; \
    test -e /opt/cuda-10.0/lib64/libcudnn.so.7; \
    if [ -f /usr/local/cuda-10.0/EULA.txt ]; then cp /usr/local/cuda-10.0/EULA.txt /opt/cuda-10.0/; fi; \
    ls -l /opt/cuda-10.0/lib64

# ---- runtime: CPython 3.7 + the locked venv + the code (shared by both targets) ----
# PYTHON_BASE (top of this file) must provide /usr/local/bin/python3.7, 3.7.1 or later.
FROM ${PYTHON_BASE} AS runtime
ENV BERT_TF1_VENV=/opt/venv \
    BERT_TF1_APP_DIR=/app \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TFHUB_CACHE_DIR=/cache/tfhub
WORKDIR /app
# Only what setup.sh needs: the lock, setup.py (+ README.md, its long_description), the package
# (installed editable, so it stays in /app) and the scripts. .dockerignore keeps .venv, .git and
# caches out of the build context.
COPY requirements-tf1.txt setup.py README.md ./
COPY scripts/ scripts/
COPY bert_tf1/ bert_tf1/
# The cache mount keeps pip's downloads between builds (a code change reinstalls the package, not
# 110 MB of TensorFlow from the network) without putting the cache into the image.
RUN --mount=type=cache,target=/root/.cache/pip \
    BERT_TF1_VENV=/opt/venv BERT_TF1_PYTHON=/usr/local/bin/python3.7 \
    bash scripts/setup.sh --runtime
# Top-level entry scripts (run_classifier_hub.py, run_pretraining.py, ...). The glob always matches
# setup.py, so this works before the scripts exist; they are copied after setup.sh so that editing
# them does not rebuild the venv.
COPY *.py ./
# Mount points (bind them with -v; no VOLUME instruction, so no anonymous volumes pile up):
#   /data    input data, mount read-only      /models  hub modules and checkpoints
#   /output  --output_dir (checkpoints, eval) /cache   TFHUB_CACHE_DIR=/cache/tfhub for URL handles
# Non-root user; /output and /cache are world-writable so `--user "$(id -u):$(id -g)"` also works.
RUN set -eux; \
    useradd --create-home --uid 1000 --shell /bin/bash bert; \
    mkdir -p /data /models /output /cache/tfhub; \
    chmod 1777 /output /cache /cache/tfhub
# bert-tf1-serve's default port (TF Serving's REST port); serve with --host 0.0.0.0 in a container.
EXPOSE 8501
ENTRYPOINT ["/bin/bash", "/app/scripts/docker-entrypoint.sh"]
CMD ["--help"]

# ---- gpu: runtime + CUDA 10.0 / cuDNN 7.6 (the tensorflow 1.15.5 wheel itself has GPU support) ----
# Needs the NVIDIA Container Toolkit on the host (`docker run --gpus all`); it mounts the driver.
FROM runtime AS gpu
USER root
COPY --from=cuda10 /opt/cuda-10.0/ /usr/local/cuda-10.0/
# libgomp1: OpenMP runtime, the one system library cuSOLVER may need that slim images lack. The
# ldd check turns any other missing dependency into a build error instead of a silent CPU run
# (libcuda.so.1 is the driver's, mounted at run time).
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends libgomp1; \
    rm -rf /var/lib/apt/lists/*; \
    echo /usr/local/cuda-10.0/lib64 > /etc/ld.so.conf.d/cuda-10-0.conf; \
    ldconfig; \
    missing="$(ldd /usr/local/cuda-10.0/lib64/*.so.* | grep 'not found' | grep -v 'libcuda\.so\.1' || true)"; \
    if [ -n "$missing" ]; then printf "gpu image: unresolved libraries:\n%s\n" "$missing" >&2; exit 1; fi
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    NVIDIA_REQUIRE_CUDA="cuda>=10.0"
USER bert

# ---- cpu (default target: last stage) ----
FROM runtime AS cpu
USER bert
