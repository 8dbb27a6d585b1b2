set -e
printf 'tab\n' > "$(printf 'tab\there.txt')"
printf 'star\n' > 'star*.txt'
printf 'lead\n' > ' leading-space.txt'
