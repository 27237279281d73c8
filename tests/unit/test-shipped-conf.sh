#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped config file must show the true defaults: with every key uncommented it must parse
# and give exactly the policy of no file at all (plus its example [Node 1]).
set -eu
daemon=$1 conf=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "1..2"
sed -e 's/^#\([A-Z][A-Za-z]*=\)/\1/' -e 's/^#\(\[Dax\]\)$/\1/' -e '/^#\[Node 1\]/,$d' "$conf" > "$tmp/uncommented.conf"
if "$daemon" --check-config -c "$tmp/uncommented.conf" | grep -v '^#' > "$tmp/shipped"; then
        echo "ok 1 - shipped config with every key uncommented parses"
else
        echo "not ok 1 - shipped config with every key uncommented parses"
fi
"$daemon" --check-config -c "$tmp/absent.conf" 2>/dev/null && exit 1
: > "$tmp/empty.conf"
"$daemon" --check-config -c "$tmp/empty.conf" | grep -v '^#' > "$tmp/defaults"
if diff -u "$tmp/defaults" "$tmp/shipped"; then
        echo "ok 2 - its values are the built-in defaults"
else
        echo "not ok 2 - its values are the built-in defaults"
fi
