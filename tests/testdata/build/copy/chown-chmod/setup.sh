mkdir -p files/sub d/sub
printf 'alpha\n' > files/a.txt
printf 'setting=1\n' > files/b.conf
printf 'charlie\n' > files/sub/c.txt
printf 's\n' > d/sub/s.txt
printf 't\n' > d/t.txt
chmod 0750 d
