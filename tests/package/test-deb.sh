#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the Debian package from the tree and checks it installs what a distribution expects.
set -uo pipefail
top=$1 out=$2
n=0 failed=0
check() {
        n=$((n + 1))
        if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi
}

rm -rf "$out"
"$top/scripts/build-deb" "$out" >/dev/null
deb=$(ls "$out"/memhotplugd_*.deb 2>/dev/null | head -1)
check "dpkg-buildpackage -us -uc -b built a package" '[ -n "$deb" ]'
contents=$(dpkg-deb -c "$deb" 2>/dev/null | awk '{print $6}')
for f in ./usr/sbin/memhotplugd ./usr/bin/memhotplugctl ./lib/systemd/system/memhotplugd.service \
        ./usr/share/dbus-1/system-services/org.memhotplug1.service \
        ./usr/share/dbus-1/system.d/org.memhotplug1.conf ./lib/udev/rules.d/60-memhotplugd.rules \
        ./usr/lib/systemd/catalog/memhotplugd.catalog ./etc/memhotplugd/memhotplugd.conf \
        ./usr/share/man/man8/memhotplugd.8.gz ./usr/share/man/man5/memhotplugd.conf.5.gz \
        ./lib/systemd/system/memhotplugd-capacity.path ./lib/systemd/system/memhotplugd-capacity.target \
        ./lib/systemd/system/memhotplugd-kdump-reload.service \
        ./lib/systemd/system/memhotplugd-kubelet-restart.service \
        ./lib/systemd/system/memhotplugd-hugepages@.service ./usr/libexec/memhotplugd/capacity-hook; do
        check "installs ${f#.}" 'grep -qx -- "$f" <<<"$contents"'
done
check "memhotplugd does not ship the Cockpit page" '! grep -q "^./usr/share/cockpit" <<<"$contents"'
cockpit=$(ls "$out"/cockpit-memhotplug_*_all.deb 2>/dev/null | head -1)
check "dpkg-buildpackage built cockpit-memhotplug (Architecture: all)" '[ -n "$cockpit" ]'
cockpit_contents=$(dpkg-deb -c "$cockpit" 2>/dev/null | awk '{print $6}')
for f in manifest.json index.html memhotplug.js memhotplug.css; do
        check "cockpit-memhotplug installs /usr/share/cockpit/memhotplug/$f" \
                'grep -qx -- "./usr/share/cockpit/memhotplug/$f" <<<"$cockpit_contents"'
done
check "cockpit-memhotplug depends on cockpit-bridge and memhotplugd" \
        'dpkg-deb -f "$cockpit" Depends | grep -q "cockpit-bridge" && dpkg-deb -f "$cockpit" Depends | grep -q "memhotplugd (>= "'
check "the config is a conffile" 'dpkg-deb -I "$deb" conffiles | grep -qx /etc/memhotplugd/memhotplugd.conf'
check "postinst enables the service" 'dpkg-deb -I "$deb" postinst | grep -q "deb-systemd-helper enable .memhotplugd.service"'
check "postinst enables memhotplugd-capacity.path" 'dpkg-deb -I "$deb" postinst | grep -q "deb-systemd-helper enable .memhotplugd-capacity.path"'
# dh_installsystemd --no-enable: a hook is enabled again on upgrade only if the administrator had
# enabled it (debian-installed, was-enabled); a fresh install enables none.
check "postinst enables the capacity hooks only where an administrator had" \
        '(for u in memhotplugd-kdump-reload.service memhotplugd-kubelet-restart.service; do dpkg-deb -I "$deb" postinst | grep -q "deb-systemd-helper debian-installed .$u." || exit 1; done)'
check "postinst never names the huge-page hook (a template)" '! dpkg-deb -I "$deb" postinst | grep -q hugepages'
check "the hooks' units name the installed capacity-hook" 'dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/memhotplugd-kdump-reload.service | grep -qx "ExecStart=/usr/libexec/memhotplugd/capacity-hook kdump"'
check "the unit starts before sysinit.target" 'dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/memhotplugd.service | grep -q "^WantedBy=sysinit.target"'
echo "1..$n"
exit $failed
