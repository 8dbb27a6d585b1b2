mkdir -p logs sub/deep docs/a/b
printf 'a\n' > a.txt
printf 'x\n' > x.tmp
printf 'top secret\n' > secret.txt
printf 'nested secret\n' > sub/secret.txt
printf 'y\n' > sub/deep/y.tmp
printf 'drop\n' > logs/drop.log
printf 'keep\n' > logs/keep.log
printf 'draft\n' > docs/draft-top.md
printf 'draft1\n' > docs/a/b/draft-1.md
printf 'final\n' > docs/a/final.md
mkdir -p only-excluded && printf 'z\n' > only-excluded/z.tmp
printf '# comment\n**/*.tmp\n/secret.txt\nlogs\n!logs/keep.log\n\ndocs/**/draft-*\nDockerfile\n' > .dockerignore
