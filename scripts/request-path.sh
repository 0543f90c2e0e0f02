#!/usr/bin/env bash
# Lists the files and packages of this module that one warm link request
# runs code in under Lambda (aws backend on moto, Sumsub provider against its
# fake): scripts/requestpath, built with coverage, writes the counters before
# and after the request; the blocks whose count grew are the request's.
#   scripts/request-path.sh            # no Idempotency-Key
#   scripts/request-path.sh -keyed     # a first request with a key
#   scripts/request-path.sh -decision  # a Sumsub decision through the receiver function
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
go build -cover -covermode=atomic -coverpkg=./... -o "$dir/requestpath" ./scripts/requestpath
GOCOVERDIR=$dir "$dir/requestpath" -out "$dir" "$@"
for p in before after; do go tool covdata textfmt -i "$dir/$p" -o "$dir/$p.txt"; done
mod=$(go list -m)/
# "file:start.col,end.col stmts count": a block the request ran counts more after.
awk -v mod="$mod" 'FNR==1 { next } NR==FNR { c[$1]=$NF; next } $NF > c[$1] { split($1, a, ":"); f=a[1]; sub(mod, "", f); print f }' \
  "$dir/before.txt" "$dir/after.txt" | grep -v -e '^internal/' -e '^scripts/' -e 'test/[^/]*$' | sort -u >"$dir/files"
echo "files ($(wc -l <"$dir/files")):"; sed 's/^/  /' "$dir/files"
echo "packages ($(xargs -n1 dirname <"$dir/files" | sort -u | wc -l)):"; xargs -n1 dirname <"$dir/files" | sort -u | sed 's/^/  /'
