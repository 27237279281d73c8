#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# units/capacity-hook, the work of the hooks on memhotplugd-capacity.target, against a fake sysfs
# tree (MEMHOTPLUGD_SYSFS): kdump is skipped when the kernel keeps the crash kernel's memory map
# itself (crash_hotplug) or no crash kernel is loaded; hugepages writes the node's nr_hugepages and
# fails when the kernel gave fewer pages, or when it is not told how many.
set -u
hook=$1
n=0 failed=0
check() {
	n=$((n + 1))
	if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi
}
sys=$(mktemp -d)
trap 'rm -rf "$sys"' EXIT
export MEMHOTPLUGD_SYSFS="$sys" CAPACITY_SEQUENCE=5
mkdir -p "$sys/devices/system/memory" "$sys/kernel" "$sys/devices/system/node/node1/hugepages/hugepages-2048kB"
nr="$sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"
echo 0 >"$nr"

# A PATH with the tools the script uses, and no kdumpctl or kdump-config.
nokdump=$(mktemp -d)
for t in sh cat; do ln -s "$(command -v $t)" "$nokdump/$t"; done
trap 'rm -rf "$sys" "$nokdump"' EXIT
echo 1 >"$sys/devices/system/memory/crash_hotplug"
echo 1 >"$sys/kernel/kexec_crash_loaded"
out=$(PATH="$nokdump" "$hook" kdump 2>&1)
rc=$?
check "kdump: crash_hotplug=1, nothing reloaded" \
	'[ $rc -eq 0 ] && echo "$out" | grep -q "capacity event 5: the kernel updates the crash kernel.s memory map itself"'
echo 0 >"$sys/devices/system/memory/crash_hotplug"
echo 0 >"$sys/kernel/kexec_crash_loaded"
out=$(PATH="$nokdump" "$hook" kdump 2>&1)
rc=$?
check "kdump: crash_hotplug=0 and no crash kernel loaded: nothing to reload" \
	'[ $rc -eq 0 ] && echo "$out" | grep -q "no crash kernel is loaded"'
echo 1 >"$sys/kernel/kexec_crash_loaded"
bin=$(mktemp -d)
printf '#!/bin/sh\necho "kdumpctl $*" >"%s/called"\n' "$bin" >"$bin/kdumpctl"
chmod +x "$bin/kdumpctl"
out=$(PATH="$bin:/usr/bin:/bin" "$hook" kdump 2>&1)
rc=$?
check "kdump: crash_hotplug=0, a crash kernel loaded: kdumpctl reload" \
	'[ $rc -eq 0 ] && [ "$(cat "$bin/called")" = "kdumpctl reload" ]'
rm -rf "$bin"
rm "$sys/devices/system/memory/crash_hotplug"
out=$(PATH="$nokdump" "$hook" kdump 2>&1)
rc=$?
check "kdump: a kernel without crash_hotplug, a crash kernel loaded, no kdump tool: fails and says so" \
	'[ $rc -ne 0 ] && echo "$out" | grep -q "neither kdumpctl nor kdump-config"'

out=$(HUGEPAGES=16 "$hook" hugepages 1 2>&1)
rc=$?
check "hugepages 1: nr_hugepages of node 1 set to 16" '[ $rc -eq 0 ] && [ "$(cat "$nr")" = 16 ]'
check "hugepages: says what was asked and what the kernel gave" \
	'echo "$out" | grep -q "capacity event 5: node 1: 16 huge pages of 2048kB asked for, 16 reserved (were 0)"'
out=$("$hook" hugepages 1 2>&1)
rc=$?
check "hugepages without HUGEPAGES=: refused, nothing written" \
	'[ $rc -eq 2 ] && [ "$(cat "$nr")" = 16 ] && echo "$out" | grep -q "systemctl edit memhotplugd-hugepages@1.service"'
out=$(HUGEPAGES=16 "$hook" hugepages 2 2>&1)
rc=$?
check "hugepages on a node without that page size: fails" '[ $rc -eq 1 ]'
out=$(HUGEPAGES=16 "$hook" hugepages ../1 2>&1)
rc=$?
check "hugepages: a node that is not a number is refused" '[ $rc -eq 2 ]'
echo "1..$n"
exit $failed
