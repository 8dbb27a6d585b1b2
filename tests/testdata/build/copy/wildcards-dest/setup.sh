mkdir -p src/nested/deep
printf 'one\n' > src/one.txt
printf 'two\n' > src/two.txt
printf 'spaced name\n' > 'src/with space.txt'
printf 'n1\n' > src/n1.md
printf 'n2\n' > src/n2.md
printf 'top\n' > src/nested/top.txt
printf 'deep\n' > src/nested/deep/f.txt
printf 'b\n' > b.txt
