#!/usr/bin/env bash
# GPU correctness checks and the layer benchmark, in one go. Installs nothing.
#
#   bash benchmarks/gpu.sh OUT_DIR        (from the repository root; PYTHON=... picks the interpreter)
#
# Writes into OUT_DIR: env.txt (devices, versions), pytest_fused.txt (tests/test_fused.py on the GPU,
# including the cuDNN test that is skipped on CPU), rnn_layers_{f32,bf16}.{txt,json,md} (ANCHORS.md's
# shapes, LSTM and GRU, every system), memory.{txt,json} (BPTT temp memory, T = 1k … 16k).
# Each stage has its own time limit so that the whole finishes within about 8 minutes on an H100;
# the benchmark rewrites its JSON after every row, so a stage cut short still leaves its results.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: bash benchmarks/gpu.sh OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# JAX and torch share the GPU in one process: leave torch room beside JAX's preallocation
export XLA_PYTHON_CLIENT_MEM_FRACTION="${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.6}"
PY="${PYTHON:-python}"
status=0

{
    date -Is
    nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
    "$PY" -c "import jax, sys; print(sys.version); print('jax', jax.__version__, jax.devices())"
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 || true
} > "$out/env.txt" 2>&1
cat "$out/env.txt"

backend=$("$PY" -c 'import jax; print(jax.default_backend())' 2>/dev/null)
echo "== tests/test_fused.py on $backend (limit 120 s)"
timeout 120 "$PY" -m pytest -q -p no:cacheprovider tests/test_fused.py 2>&1 | tee "$out/pytest_fused.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# ANCHORS.md's shapes; f32 and bf16 in two runs so that a slow first half cannot starve the second
for prec in f32 bf16; do
    limit=$([ "$prec" = f32 ] && echo 170 || echo 150)
    echo "== benchmarks/rnn_layers.py, ANCHORS shapes, $prec (limit $limit s)"
    timeout "$limit" "$PY" benchmarks/rnn_layers.py --precisions "$prec" --runs 20 --tune-candidates 4 8 16 32 \
        --shapes 100x64x512x512 100x256x1024x1024 512x32x256x256 \
        --json "$out/rnn_layers_$prec.json" --table "$out/rnn_layers_$prec.md" 2>&1 | tee "$out/rnn_layers_$prec.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

echo "== BPTT memory (limit 40 s)"
timeout 40 "$PY" benchmarks/rnn_layers.py --memory-only --json "$out/memory.json" 2>&1 | tee "$out/memory.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "results in $out (exit status $status)"
exit $status
