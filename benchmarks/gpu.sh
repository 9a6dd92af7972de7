#!/usr/bin/env bash
# Every GPU check of issues 5 and 6 in one go, within about 8 minutes on an H100. Installs nothing.
#
#   python benchmarks/word2vec_throughput.py --export .gpu_data   # once, on a machine with gensim
#   bash benchmarks/gpu.sh OUT_DIR                                 # on the GPU machine, from the repository root
#
# STAGES (default: tests f32 bf16 w2v w2vbig lm, in this order) picks some of: tests f32 bf16 memory w2v w2vbig lm
# (memory is the BPTT memory table, which issue 6 asks for on the CPU; on a GPU it is optional).
# PYTHON picks the interpreter (default: python3, else python).
# Compilations go to a persistent cache (JAX_COMPILATION_CACHE_DIR, default /tmp/jaxseq-jax-cache), so
# a rerun on the same machine (e.g. STAGES=bf16 after a time limit) skips them.
# Writes into OUT_DIR (at most seven files, so that they fit a transfer limit of eight):
#   log.txt                everything printed: devices and versions, the tests, the tables, the ratios
#   rnn_layers_f32.json    benchmarks/rnn_layers.py at ANCHORS.md's shapes, LSTM and GRU, every system, f32
#   rnn_layers_bf16.json   the same in bfloat16
#   memory.json            BPTT temp memory, T = 1k … 16k
#   lm_throughput.json     the char LM experiment (GPU preset) against the layer benchmark (issue 6, item 6)
#   word2vec.json          word2vec words/s and quality with the GPU preset (issue 5: ≥ 10M words/s);
#                          needs .gpu_data (the corpus and benchmark files) where gensim is missing
#   word2vec_big.json      the same at batch 65,536 (one run): how far larger batches go, and at what quality
# Each stage has its own time limit (tests 60, f32 180, bf16 150, memory 30, w2v 60, w2vbig 35, lm 60 s:
# 545 s by default); every script rewrites its JSON as it goes, so a stage cut short keeps what it measured.
# The layer benchmark leaves out "jaxseq scan" (the autodiff reference path; ANCHORS.md has its GPU times)
# to fit: each system costs a compilation per shape and cell.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: bash benchmarks/gpu.sh OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
# JAX and torch share the GPU in one process: leave torch room beside JAX's preallocation
export XLA_PYTHON_CLIENT_MEM_FRACTION="${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.6}"
if [ -d .gpu_data ] && [ -z "${JAXSEQ_DATA:-}" ]; then
    export JAXSEQ_DATA="$PWD/.gpu_data"
fi
PY="${PYTHON:-$(command -v python3 || command -v python)}"
ALL_STAGES="tests f32 bf16 memory w2v w2vbig lm"
STAGES="${STAGES:-tests f32 bf16 w2v w2vbig lm}"
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-/tmp/jaxseq-jax-cache}"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="${JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS:-0.5}"
for name in $STAGES; do
    case " $ALL_STAGES " in *" $name "*) ;; *) echo "unknown stage '$name' in STAGES; the stages are: $ALL_STAGES" >&2; exit 2 ;; esac
done
log="$out/log.txt"
status=0

stage() {  # stage NAME LIMIT_S COMMAND...: run COMMAND under a time limit, its output into the log
    local name=$1 limit=$2
    shift 2
    case " $STAGES " in *" $name "*) ;; *) return 0 ;; esac
    echo "== $name (limit $limit s): $*" | tee -a "$log"
    timeout "$limit" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || { echo "== $name: exit status $rc" | tee -a "$log"; status=1; }
}

{
    date -Is
    nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
    "$PY" -c "import jax, sys; print(sys.version); print('jax', jax.__version__, jax.devices())"
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 || true
    echo "JAXSEQ_DATA=${JAXSEQ_DATA:-}  STAGES=$STAGES"
} 2>&1 | tee "$log"

stage tests 60 "$PY" -m pytest -q -p no:cacheprovider tests/test_fused.py
for prec in f32 bf16; do
    limit=$([ "$prec" = f32 ] && echo 180 || echo 150)
    # unroll candidates: ANCHORS.md's sweeps found 4 best at T = 100 and 16-64 at T = 512
    stage "$prec" "$limit" "$PY" benchmarks/rnn_layers.py --precisions "$prec" --runs 10 --tune-candidates 4 16 32 \
        --systems "jaxseq fused" "jaxseq fused auto" "jaxseq fused bf16-compute" "jaxseq cudnn" flax jax.exp.rnn torch \
        --shapes 100x64x512x512 100x256x1024x1024 512x32x256x256 --json "$out/rnn_layers_$prec.json"
done
stage memory 30 "$PY" benchmarks/rnn_layers.py --memory-only --json "$out/memory.json"
stage w2v 60 "$PY" benchmarks/word2vec_throughput.py --preset gpu --runs 2 --json "$out/word2vec.json"
stage w2vbig 35 "$PY" benchmarks/word2vec_throughput.py --preset gpu --runs 1 --set batch=65536,lr=0.6 \
    --json "$out/word2vec_big.json"
stage lm 60 "$PY" benchmarks/lm_throughput.py --preset gpu --steps 100 --json "$out/lm_throughput.json"

echo "results in $out (exit status $status)" | tee -a "$log"
exit $status
