#!/usr/bin/env bash
# Every model and DS against the PyTorch peer, with FMA on and off, in one window: the record behind
# the README's throughput table (`deno task throughput` writes the table from it).
#
#   bash bench/vs_torch_grid.sh [OUT.jsonl]      (default bench/results/train_throughput.jsonl)
#
# Each configuration runs twice back to back, FMA on and off (RNNSPN_FMA=0), each with the PyTorch peer
# alternating round by round (`--vs-torch`), so both settings share the peer's effect on caches and
# clocks; which setting goes first alternates from row to row. Needs a quiet machine: pause any
# background training first.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/results/train_throughput.jsonl}"
tmp="$(mktemp)"
DENO="npx -y deno@2.9.6"
cpu="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
printf '{"kind":"meta","date":"%s","cpu":"%s","cores":%s,"deno":"2.9.6","torch":"%s","load":"%s"}\n' \
  "$(date -u +%FT%TZ)" "$cpu" "$(nproc)" "$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >"$tmp"
order=(1 0)
run() { # model ds steps warmup
  local flags=(--models "$1" --ds "$2" --workers 2 --steps "$3" --warmup "$4" --rounds 2 --json --vs-torch)
  for fma in "${order[@]}"; do
    RNNSPN_FMA=$fma $DENO run -A bench/train_throughput.ts "${flags[@]}" | grep '"kind":"result"' >>"$tmp"
  done
  order=("${order[1]}" "${order[0]}")
  tail -n 2 "$tmp"
}
run rnn-spn 3 8 2
run spn 3 8 2
run rnn-spn 4 8 2
run spn 4 8 2
run rnn-spn 2 5 1
run spn 2 5 1
run rnn-spn 1 4 1
run spn 1 4 1
run cnn 1 4 1
mv "$tmp" "$out"
echo "wrote $out"
