set -e
awk 'BEGIN { for (i = 0; i < 16384; i++) printf "%063d\n", i }' > big-1mib.txt
dd if=/dev/zero of=zeros-3mib.bin bs=1024 count=3072 2>/dev/null
