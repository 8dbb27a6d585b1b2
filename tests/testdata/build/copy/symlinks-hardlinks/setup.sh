mkdir -p dir sub
printf 'link target\n' > target.txt
printf 'inner\n' > dir/inner.txt
ln -s target.txt rel-link
ln -s /etc/passwd abs-link
ln -s does-not-exist dangling-link
ln -s dir dir-link
ln target.txt hard-link
ln dir/inner.txt dir/inner-hard
printf 'h\n' > sub/ha
ln sub/ha sub/hb
printf 'caf\n' > 'café.txt'
