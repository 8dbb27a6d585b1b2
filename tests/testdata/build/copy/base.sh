#!/bin/sh
# base.sh DIR: the base rootfs every case starts FROM (record.sh imports it into docker as
# strata-copy-base; copy_test.cc builds the same tree). Everything 0:0.
set -eu
cd "$1"
umask 022
mkdir -p bin etc tmp root opt x/a.txt
printf 'root:x:0:0:root:/root:/bin/sh\nu1:x:100:200::/:/bin/sh\n' > etc/passwd
printf 'root:x:0:\ng1:x:200:\ng2:x:300:u1,other\n' > etc/group
printf 'busybox\n' > bin/busybox
chmod 0755 bin/busybox
ln -s busybox bin/sh
ln -s /tmp etc/tl
ln -s ../../../../opt etc/rl
printf 'in the way\n' > y-file
