#!/usr/bin/env bash
# One-shot GPU check for a lent NVIDIA machine: the WebGPU adapter Deno sees (through Vulkan) and
# training throughput — full steps of `deno task bench:train` (batch 100, after warm-up) of the RNN-SPN
# and the CNN-SPN at DS 3 on webgpu and on wasm, and PyTorch's peer (bench/peers/rnn_spn_torch.py) on
# CUDA when torch imports with CUDA — printed as ONE JSON object on stdout (progress on stderr).
# Bounded to well under 8 minutes: every command has its own timeout, and a part that fails or times out
# is reported in the JSON ("error"), not fatal.
#
#   bash bench/gpu_check.sh                     # the full check (needs the NVIDIA Vulkan ICD for webgpu)
#   bash bench/gpu_check.sh --quick             # 2 timed steps, 1 warm-up, batch 20: the script's paths
#   bash bench/gpu_check.sh --quick --backends wasm --no-torch   # no GPU here: the wasm path alone
#
# Options: --steps N (10), --warmup N (2), --batch N (100), --backends LIST (webgpu,wasm; webgpu is
# reported as skipped when Deno sees no adapter), --no-torch, --python PATH (python3).
# Env: DENO (default "npx -y deno@2.9.6").
set -uo pipefail
cd "$(dirname "$0")/.."

STEPS=10 WARMUP=2 BATCH=100 BACKENDS="webgpu,wasm" TORCH=1 PYTHON=python3
while [ $# -gt 0 ]; do
  case "$1" in
  --quick) STEPS=2 WARMUP=1 BATCH=20 ;;
  --steps) STEPS="$2"; shift ;;
  --warmup) WARMUP="$2"; shift ;;
  --batch) BATCH="$2"; shift ;;
  --backends) BACKENDS="$2"; shift ;;
  --no-torch) TORCH=0 ;;
  --python) PYTHON="$2"; shift ;;
  -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
  *) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in "$STEPS" "$WARMUP" "$BATCH"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "gpu_check: --steps/--warmup/--batch must be integers; got $n" >&2; exit 2; }
done
DENO="${DENO:-npx -y deno@2.9.6}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s)
log() { echo "gpu_check [$(($(date +%s) - started)) s]: $*" >&2; }

# 1. What the machine says about its GPU: nvidia-smi, Vulkan, and Deno's WebGPU adapter.
log "GPU, Vulkan and WebGPU adapter"
nvidia="$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)"
vulkan="$(timeout 30 vulkaninfo --summary 2>/dev/null | grep -E 'deviceName' | sed 's/.*= //' | paste -sd ';' -)"
cat >"$tmp/adapter.ts" <<'TS'
const gpu = (navigator as { gpu?: GPU }).gpu;
const adapter = gpu ? await gpu.requestAdapter({ powerPreference: "high-performance" }) : null;
const info = adapter?.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
console.log(JSON.stringify(adapter ? {
  vendor: info?.vendor, architecture: info?.architecture, device: info?.device, description: info?.description,
  fallback: info?.isFallbackAdapter ?? false,
} : { error: gpu ? "navigator.gpu yields no adapter" : "no navigator.gpu" }));
TS
adapter="$(timeout 90 $DENO run -A "$tmp/adapter.ts" 2>"$tmp/adapter.err" | tail -n 1)"
[ -n "$adapter" ] || adapter="{\"error\":\"adapter probe failed: $(tail -n 1 "$tmp/adapter.err" | tr -d '"\\')\"}"
log "adapter: $adapter"

# 2. Our training steps per backend (both models in one run; webgpu on one instance, wasm on one per core).
: >"$tmp/results.jsonl"
: >"$tmp/errors.jsonl"
for backend in ${BACKENDS//,/ }; do
  if [ "$backend" = webgpu ] && echo "$adapter" | grep -q '"error"'; then
    echo "{\"backend\":\"webgpu\",\"error\":\"skipped: no WebGPU adapter\"}" >>"$tmp/errors.jsonl"
    continue
  fi
  if [ "$backend" = webgpu ] && echo "$adapter" | grep -qiE '"fallback":true|llvmpipe|lavapipe|swiftshader'; then
    # Deno found only a software Vulkan driver: the NVIDIA Vulkan ICD is missing (e.g. the libnvidia-gl
    # package, or /usr/share/vulkan/icd.d/nvidia_icd.json); timing llvmpipe says nothing about the GPU.
    echo "{\"backend\":\"webgpu\",\"error\":\"skipped: software adapter only (no NVIDIA Vulkan ICD visible to Deno)\"}" \
      >>"$tmp/errors.jsonl"
    continue
  fi
  workers=()
  [ "$backend" = webgpu ] && workers=(--workers 1)
  log "bench:train on $backend (rnn-spn and spn, DS 3, batch $BATCH, $STEPS steps after $WARMUP)"
  if ! timeout 200 $DENO run -A bench/train_throughput.ts --models rnn-spn,spn --ds 3 --backends "$backend" \
    --batch "$BATCH" --steps "$STEPS" --warmup "$WARMUP" "${workers[@]}" --json >"$tmp/$backend.out" \
    2>"$tmp/$backend.err"; then
    why="$(tail -n 3 "$tmp/$backend.err" | tr '\n"\\' '   ' | cut -c1-400)"
    echo "{\"backend\":\"$backend\",\"error\":\"bench:train failed or timed out (200 s): $why\"}" >>"$tmp/errors.jsonl"
  fi
  grep '"kind":"result"' "$tmp/$backend.out" >>"$tmp/results.jsonl" || true
done

# 3. PyTorch on CUDA, when torch imports and sees a GPU.
torch_info=null
if [ "$TORCH" = 1 ]; then
  log "PyTorch CUDA peer"
  if torch_info="$(timeout 120 "$PYTHON" -c 'import json, torch; assert torch.cuda.is_available(), "torch.cuda.is_available() is False"; print(json.dumps({"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}))' 2>"$tmp/torch.err")"; then
    for model in rnn-spn spn; do
      if ! timeout 120 "$PYTHON" bench/peers/rnn_spn_torch.py --model "$model" --ds 3 --batch "$BATCH" \
        --steps "$STEPS" --warmup "$WARMUP" --device cuda >>"$tmp/torch.jsonl" 2>>"$tmp/torch.err"; then
        echo "{\"backend\":\"torch-cuda\",\"model\":\"$model\",\"error\":\"peer failed or timed out\"}" >>"$tmp/errors.jsonl"
      fi
    done
  else
    torch_info="{\"error\":\"$(tail -n 1 "$tmp/torch.err" | tr -d '"\\' | cut -c1-300)\"}"
  fi
fi

# 4. One JSON object.
log "done"
NVIDIA="$nvidia" VULKAN="$vulkan" ADAPTER="$adapter" TORCH_INFO="$torch_info" SECONDS_TOTAL=$(($(date +%s) - started)) \
  "$PYTHON" - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]
def lines(name):
    path = os.path.join(tmp, name)
    return [json.loads(l) for l in open(path)] if os.path.exists(path) else []
ours = [{"model": r["model"], "ds": r["ds"], "backend": r["backend"], "batch": r["batch"], "workers": r["workers"],
         "samples_per_s": r["samples_per_s"], "step_ms_median": r["step_ms_median"]} for r in lines("results.jsonl")]
torch = [{"model": r["model"], "ds": r["ds"], "backend": "torch-cuda", "batch": r["batch"],
          "samples_per_s": round(r["samples_per_s"], 1)} for r in lines("torch.jsonl")]
print(json.dumps({
    "nvidia_smi": os.environ["NVIDIA"] or None,
    "vulkan_devices": os.environ["VULKAN"] or None,
    "webgpu_adapter": json.loads(os.environ["ADAPTER"]),
    "torch": json.loads(os.environ["TORCH_INFO"]),
    "results": ours + torch,
    "errors": lines("errors.jsonl"),
    "seconds": int(os.environ["SECONDS_TOTAL"]),
}, indent=2))
PY
