mkdir -p d
printf 'a\n' > a.txt
printf 't\n' > d/t.txt
ln -s /etc/passwd abs-link
ln -s ../../outside up-link
printf 'a.txt\n' > .dockerignore
