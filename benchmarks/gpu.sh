#!/usr/bin/env bash
# Every GPU check of issues 5 and 6: about 10 minutes on an H200 (2026-11-26). Installs nothing.
#
#   python benchmarks/word2vec_throughput.py --export .gpu_data   # once, on a machine with gensim
#   bash benchmarks/gpu.sh OUT_DIR                                 # on the GPU machine, from the repository root
#   STAGES="f32 bf16" bash benchmarks/gpu.sh OUT_DIR               # a 15-minute lease: this, then on the
#   STAGES="tests w2v w2vlong lm" bash benchmarks/gpu.sh OUT_DIR   # still-warm machine this (≈ 410 + 205 s)
#
# STAGES (default: tests f32 bf16 w2v w2vlong lm, in this order) picks some of: tests f32 bf16 memory w2v
# w2vlong lm (memory is the BPTT memory table, which issue 6 asks for on the CPU; on a GPU it is optional).
# PYTHON picks the interpreter (default: python3, else python).
# Compilations go to a persistent cache (JAX_COMPILATION_CACHE_DIR, default /tmp/jaxseq-jax-cache), so
# a rerun on the same machine (e.g. STAGES=bf16 after a time limit) skips them.
# Writes into OUT_DIR (at most seven files, so that they fit a transfer limit of eight):
#   log.txt                everything printed: devices and versions, the tests, the tables, the ratios
#   rnn_layers_f32.json    benchmarks/rnn_layers.py at the three target shapes (benchmarks/README.md), LSTM and GRU, f32
#   rnn_layers_bf16.json   the same in bfloat16
#   memory.json            BPTT temp memory, T = 1k … 16k
#   word2vec.json          word2vec words/s and quality with the GPU preset (issue 5: ≥ 10M words/s);
#                          needs .gpu_data (the corpus and benchmark files) where gensim is missing
#   word2vec_long.json     the same on the corpus written 10 times: whole-call words/s with the one-off
#                          host work (the pass over the text) weighing as it would on a larger corpus
#   lm_throughput.json     the char LM experiment (GPU preset) against the layer benchmark (issue 6, item 6)
# Each stage has its own time limit (tests 75, f32 240, bf16 170, memory 30, w2v 40, w2vlong 45, lm 45 s);
# every script rewrites its JSON as it goes, so a stage cut short keeps what it measured. On the H200 the
# layer benchmark took ≈ 90 s (f32) and 45 s (bf16) per shape with every system and three unroll
# candidates, nearly all of it compilation, so it runs only what the targets need: jaxseq's default and
# tuned unroll (candidates 4 and 32), flax, torch, and in f32 the two cuDNN LSTMs ("jaxseq scan" and
# "jaxseq fused bf16-compute" were measured on 2026-11-26: benchmarks/README.md).
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
ALL_STAGES="tests f32 bf16 memory w2v w2vlong lm"
STAGES="${STAGES:-tests f32 bf16 w2v w2vlong lm}"
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

# the fused-path tests on the GPU, the cuDNN one included (the data-parallel one runs on forced CPU devices: CI has it)
stage tests 75 "$PY" -m pytest -q -p no:cacheprovider tests/test_fused.py -k "not data_parallel"
for prec in f32 bf16; do
    limit=$([ "$prec" = f32 ] && echo 240 || echo 170)
    # unroll candidates: the H200's tuner chose 4 at T = 100 (16 or 32 once each) and 16-32 at T = 512
    stage "$prec" "$limit" "$PY" benchmarks/rnn_layers.py --precisions "$prec" --runs 10 --tune-candidates 4 32 \
        --systems "jaxseq fused" "jaxseq fused auto" "jaxseq cudnn" flax jax.exp.rnn torch \
        --shapes 100x64x512x512 100x256x1024x1024 512x32x256x256 --json "$out/rnn_layers_$prec.json"
done
stage memory 30 "$PY" benchmarks/rnn_layers.py --memory-only --json "$out/memory.json"
stage w2v 40 "$PY" benchmarks/word2vec_throughput.py --preset gpu --runs 2 --json "$out/word2vec.json"
stage w2vlong 45 "$PY" benchmarks/word2vec_throughput.py --preset gpu --runs 2 --repeat 10 --json "$out/word2vec_long.json"
stage lm 45 "$PY" benchmarks/lm_throughput.py --preset gpu --steps 100 --json "$out/lm_throughput.json"

echo "results in $out (exit status $status)" | tee -a "$log"
exit $status
