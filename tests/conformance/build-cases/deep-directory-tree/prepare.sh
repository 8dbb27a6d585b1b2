set -e
p=deep
i=0
while [ $i -lt 60 ]; do p="$p/level$i"; i=$((i+1)); done
mkdir -p "$p"
echo bottom > "$p/bottom.txt"
i=0
while [ $i -lt 30 ]; do mkdir -p "wide/d$i"; echo "$i" > "wide/d$i/f"; i=$((i+1)); done
